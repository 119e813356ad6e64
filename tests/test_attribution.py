"""Attribution of score changes between two snapshots (docs/model.md "What moved")."""
from __future__ import annotations

import itertools
import math
import random
from datetime import date, timedelta

import pytest

from scoring.changes.attribution import GROUPS, attribute
from scoring.errors import BadInput
from scoring.model import Edge, Initiative, Kpi, Link, Objective
from scoring.goals.progress import Current
from scoring.ranking import ScoringParams
from scoring.changes.snapshot import rescore, seal, snapshot_of
from tests.conftest import AS_OF


def snap(graph, currents, initiatives, name="A", params=None, prev=""):
    return seal(snapshot_of(initiatives, graph.objectives, graph.kpis, graph.edges, currents,
                            params or ScoringParams(as_of=AS_OF), name=name), prev)


def with_changes(s, name="B", **changes):
    fields = dict(initiatives=s.initiatives, objectives=s.objectives, kpis=s.kpis, edges=s.edges,
                  currents=s.currents, params=s.params)
    fields.update(changes)
    return seal(snapshot_of(name=name, **fields), s.hash)


@pytest.fixture
def example(example_graph, example_currents, example_initiatives):
    return snap(example_graph, example_currents, example_initiatives)


def test_planted_effort_change_is_wholly_effort(example):
    b = with_changes(example, initiatives=[it.model_copy(update={"effort": 4.0}) if it.key == "A" else it
                                           for it in example.initiatives])
    d = attribute(example, b)
    assert d.groups == ["effort"]
    a = d.item("A")
    # A: I = 3.9; S = I/2 -> I/4.
    assert (a.score_from, a.score_to) == (1.95, 0.975)
    assert a.change == {"effort": a.score_to - a.score_from}
    for key in "BCD":
        c = d.item(key)
        assert c.score_to == c.score_from and c.change == {"effort": 0.0}
    assert "effort -0.975 (effort 2 -> 4)" in a.reason


def test_kpi_value_change_moving_urgency_is_kpi_values_for_every_item_feeding_it(example):
    """mrr 140,000 -> 120,000: p = 20,000/50,000 = 0.4 against π = 0.5, lag 0.1, so
    u_mrr 1 -> 1.1. Every item whose KPI feeds mrr gains 10 % of its revenue part:
    A (activation -> mrr), B (churn -> mrr), C (nps -> mrr, not its delight part)."""
    currents = dict(example.currents, mrr=Current(120000, AS_OF))
    d = attribute(example, with_changes(example, currents=currents))
    assert d.groups == ["kpi-values"]
    # A 0.08·1.3·0.5·75/2 = 1.95; B 0.05·1.3·0.8·75/4 = 0.975; C revenue 0.375 of 1.625
    expected = {"A": 0.195, "B": 0.0975, "C": 0.0375, "D": 0.0}
    for key, part in expected.items():
        c = d.item(key)
        assert c.change["kpi-values"] == pytest.approx(part, abs=1e-12)
        assert c.change["kpi-values"] == pytest.approx(c.score_to - c.score_from, abs=1e-12)
    assert "kpi-values +0.0375 (mrr fell further behind)" in d.item("C").reason


def test_activation_value_change_is_attributed_to_kpi_values(example):
    """The worked example: activation 0.32 -> 0.31 makes p = 0.1, lag 0.4, u = 1.4:
    A = 0.08 · 1.4 · 0.5 · 75 / 2 = 2.1, so A's part is 2.1 - 1.95 = +0.15."""
    currents = dict(example.currents, activation=Current(0.31, AS_OF))
    d = attribute(example, with_changes(example, currents=currents))
    assert d.groups == ["kpi-values"]
    assert d.item("A").change["kpi-values"] == pytest.approx(0.15, abs=1e-12)
    assert all(d.item(k).change == {"kpi-values": 0.0} for k in "BCD")


def test_a_median_default_effort_moves_with_the_other_efforts(example):
    """A without an effort gets the median of the others' (B 4, C 1, D 1):
    1, so S_A = 3.9. C's effort 1 -> 5 makes the median 4: S_A = 0.975. A's own inputs
    did not change, yet its whole change (-2.925) is `effort`: the effort group carries
    the backlog the median is taken over."""
    params = ScoringParams(as_of=AS_OF, default_effort="median")
    items = [it.model_copy(update={"effort": None}) if it.key == "A" else it for it in example.initiatives]
    a = with_changes(example, name="A", initiatives=items, params=params)
    b = with_changes(a, initiatives=[it.model_copy(update={"effort": 5.0}) if it.key == "C" else it for it in items])
    d = attribute(a, b)
    assert d.groups == ["effort"]
    assert (d.item("A").score_from, d.item("A").score_to) == (3.9, 0.975)
    assert d.item("A").change == {"effort": pytest.approx(-2.925, abs=1e-12)}
    assert d.item("C").change == {"effort": pytest.approx(0.325 - 1.625, abs=1e-12)}
    assert "(effort 1 (default) -> 4 (default))" in d.item("A").reason


# -- a random case where every group changed ------------------------------------------

def random_pair(seed: int, n_items: int = 40):
    rng = random.Random(seed)
    window = dict(start=date(2026, 1, 1), deadline=date(2026, 12, 31))
    kpis = [Kpi(id=f"k{i}", direction=rng.choice(["up", "down"]), baseline=100.0,
                target=rng.choice([110.0, 90.0, 130.0]), **window) for i in range(8)]
    objectives = [Objective(id="o1", weight=3), Objective(id="o2", weight=1)]
    edges = [Edge(**{"from": f"k{i}", "to": f"k{j}", "weight": round(rng.uniform(-0.3, 0.9), 3)})
             for i in range(5) for j in rng.sample(range(5, 8), 2)]
    edges += [Edge(**{"from": f"k{j}", "to": rng.choice(["o1", "o2"]), "weight": 1.0}) for j in range(5, 8)]
    currents = {k.id: Current(round(rng.uniform(80, 120), 2), AS_OF) for k in kpis}

    def item(i):
        return Initiative(key=f"R-{i}", effort=rng.choice([None, 1.0, 2.0, 3.0, 5.0]),
                          confidence=rng.choice([None, 0.6]),
                          links=tuple(Link(kpi=f"k{rng.randrange(8)}", low=(v := round(rng.uniform(-0.1, 0.2), 3)),
                                           high=v + rng.choice([0, 0.02]), confidence=rng.choice([None, 0.8]))
                                      for _ in range(rng.randint(1, 2))))
    items = [item(i) for i in range(n_items)]
    a = seal(snapshot_of(items, objectives, kpis, edges, currents, ScoringParams(as_of=AS_OF), name="A"))
    items_b = []
    for it in items[2:]:                               # removed
        r = rng.random()
        if r < 0.3:
            it = it.model_copy(update={"links": tuple(ln.model_copy(update={"low": ln.low + 0.03, "high": ln.high + 0.03})
                                                      if ln.low is not None else ln for ln in it.links)})
        elif r < 0.6:
            it = it.model_copy(update={"effort": rng.choice([1.0, 8.0])})
        items_b.append(it)
    items_b += [item(n_items), item(n_items + 1)]      # two added
    b = seal(snapshot_of(
        items_b, [objectives[0], objectives[1].model_copy(update={"weight": 2.5})],
        [k.model_copy(update={"target": 125.0}) if k.id in ("k5", "k1") else k for k in kpis],
        edges[1:] + [Edge(**{"from": "k0", "to": "o2", "weight": 0.4})],
        {k: (Current(c.value * 0.9, c.date) if k in ("k5", "k6", "k2") else c) for k, c in currents.items()},
        ScoringParams(as_of=AS_OF + timedelta(days=30), urgency=1.5, default_confidence=0.4), name="B"), a.hash)
    return a, b


def mixed(a, b, T):
    """An independent reading of S(T): a whole snapshot with the groups in T from B."""
    side = {g: (b if g in T else a) for g in GROUPS}
    est = {it.key: it for it in side["estimates"].initiatives}
    common = {it.key for it in a.initiatives} & {it.key for it in b.initiatives}
    items = [est[it.key].model_copy(update={"effort": it.effort, "status_category": it.status_category})
             if it.key in common else it for it in side["effort"].initiatives]
    weights = {o.id: o.weight for o in side["objective-weights"].objectives}
    objectives = [o.model_copy(update={"weight": weights.get(o.id, 0.0)}) for o in a.objectives] + \
        [o.model_copy(update={"weight": weights.get(o.id, 0.0)}) for o in b.objectives
         if o.id not in {x.id for x in a.objectives}]
    defs = {k.id: k for k in side["targets"].kpis}
    kpis = [defs.get(k.id, k) for k in a.kpis]
    s = snapshot_of(items, objectives, kpis, side["edges"].edges, side["kpi-values"].currents,
                    side["parameters"].params)
    r = rescore(s)
    return {k: float(r.score[i]) for i, k in enumerate(r.backlog.keys) if k in common}


def test_random_case_every_group_changed_parts_sum_and_match_the_shapley_definition():
    a, b = random_pair(7)
    d = attribute(a, b)
    seven = [g for g in GROUPS if g != "calibration"]     # every group but calibration (tests/test_outcomes.py)
    assert d.groups == seven
    # The Shapley value as the mean marginal contribution over all 7! orders of the groups.
    S = {frozenset(T): mixed(a, b, set(T)) for n in range(8) for T in itertools.combinations(seven, n)}
    moved = [c for c in d.items if c.status in ("moved", "unchanged")]
    assert len(moved) == 38
    for c in moved:
        assert sum(c.change.values()) == pytest.approx(c.score_to - c.score_from, abs=1e-9)
        assert (S[frozenset()][c.key], S[frozenset(seven)][c.key]) == (c.score_from, c.score_to)
        mean = dict.fromkeys(seven, 0.0)
        for order in itertools.permutations(seven):
            T: frozenset = frozenset()
            for g in order:
                mean[g] += S[T | {g}][c.key] - S[T][c.key]
                T = T | {g}
        for g in seven:
            assert c.change[g] == pytest.approx(mean[g] / math.factorial(7), abs=1e-9)
    assert sum(abs(v) > 1e-6 for c in moved for v in c.change.values()) > 100   # not a trivial case


def test_result_does_not_depend_on_the_order_of_groups():
    a, b = random_pair(11)
    first = attribute(a, b).as_dict()
    rng = random.Random(3)
    for _ in range(5):
        order = list(GROUPS)
        rng.shuffle(order)
        assert attribute(a, b, groups=order).as_dict() == first


def test_leaving_out_a_changed_group_is_refused():
    a, b = random_pair(5)
    with pytest.raises(BadInput, match="effort"):
        attribute(a, b, groups=[g for g in GROUPS if g != "effort"])
    with pytest.raises(BadInput, match="unknown group"):
        attribute(a, b, groups=["weights"])


def test_added_removed_done_and_overtaking(example_graph, example_currents, example_initiatives):
    """A holds the worked example plus X (no estimate, ranked last). In B, C's effort goes
    1 -> 4, so its score falls below B's (1.625 -> 0.40625; B stays 0.975): B overtakes C. D is done, X is gone, E is new and first."""
    a = snap(example_graph, example_currents, example_initiatives + [Initiative(key="X", effort=1)])
    items = [it.model_copy(update={"effort": 4.0}) if it.key == "C" else it
             for it in a.initiatives if it.key != "X"]
    items = [it.model_copy(update={"status_category": "done", "status": "Done"}) if it.key == "D" else it
             for it in items]
    items.append(Initiative(key="E", effort=1, links=(Link(kpi="nps", low=0.5, high=0.5, confidence=1.0),)))
    d = attribute(a, with_changes(a, initiatives=items))
    got = {c.key: (c.status, c.rank_from, c.rank_to) for c in d.items}
    assert got["D"] == ("removed", 4, None) and d.item("D").reason == "done (was #4)"
    assert got["X"] == ("removed", 5, None) and d.item("X").reason == "left the backlog (was #5)"
    assert got["E"] == ("added", None, 1) and d.item("E").reason == "new at #1"
    assert [c.key for c in d.items] == ["E", "A", "B", "C", "D", "X"]
    b, c = d.item("B"), d.item("C")
    assert (b.rank_from, b.rank_to, c.rank_to) == (3, 3, 4)
    assert b.overtook == ["C"] and b.overtaken_by == [] and c.overtaken_by[0] == "B"
    assert c.change == {"effort": c.score_to - c.score_from} and b.change == {"effort": 0.0}
    assert c.reason.startswith(f"#{c.rank_from} -> #4: effort -") and "(effort 1 -> 4)" in c.reason
    assert "overtaken by B" in c.reason and "1 new item ahead" in c.reason
    assert b.reason == "stays #3: unchanged"


def test_as_dict_is_shaped_like_the_contract(example):
    b = with_changes(example, params=ScoringParams(as_of=AS_OF, urgency=2.0))
    body = attribute(example, b).as_dict()
    assert body["from"] == "A" and body["to"] == "B" and body["groups"] == ["parameters"]
    for item in body["items"]:
        assert {"key", "rank_from", "rank_to", "score_from", "score_to", "change", "status"} <= set(item)
        assert item["status"] in ("moved", "added", "removed", "unchanged")
        assert sum(item["change"].values()) == pytest.approx(item["score_to"] - item["score_from"], abs=1e-9)
    # D has no estimate: its score stays 0 whatever the urgency
    (d,) = [i for i in body["items"] if i["key"] == "D"]
    assert d["status"] == "unchanged" and d["reason"] == "stays #4: unchanged"


def test_no_change_at_all():
    a, _ = random_pair(2)
    d = attribute(a, with_changes(a))
    assert d.groups == [] and d.scorings == 0
    assert all(c.status == "unchanged" and c.change == {} for c in d.items)


def test_classic_scorer_is_split_by_scoring_each_mixed_input_whole():
    """RICE = reach · impact · confidence / effort: B doubles R-1's reach (estimates) and
    its effort 2 -> 4 (effort): score 100·2·0.5/2 = 50 -> 200·2·0.5/4 = 50, so the parts
    are estimates +(100 - 50 + 50 - 25)/2 = +37.5 and effort -37.5 (Shapley over 2 groups)."""
    params = ScoringParams(as_of=AS_OF, method="rice")
    item = Initiative(key="R-1", effort=2.0, factors={"reach": 100.0, "factor_impact": 2.0})
    a = seal(snapshot_of([item, Initiative(key="R-2", effort=1.0, factors={"reach": 10.0, "factor_impact": 1.0})],
                         [Objective(id="o", weight=1)], [], [], {}, params, name="A"))
    b = with_changes(a, initiatives=[item.model_copy(update={"effort": 4.0, "factors": {"reach": 200.0, "factor_impact": 2.0}}),
                                     a.initiatives[1]])
    d = attribute(a, b)
    assert d.groups == ["estimates", "effort"] and d.scorings == 4
    r1 = d.item("R-1")
    assert (r1.score_from, r1.score_to) == (50.0, 50.0)
    assert r1.change == pytest.approx({"estimates": 37.5, "effort": -37.5}, abs=1e-12)
    assert r1.status == "unchanged"


def test_reasons_name_what_changed_in_words(example):
    """A's estimate 10 % -> 15 % (x1.5: +0.975) and revenue's weight
    3 -> 1, so ŵ_revenue 0.75 -> 0.5 and A (all revenue) scales by 2/3."""
    items = [it.model_copy(update={"links": (Link(kpi="activation", low=0.15, high=0.15, confidence=0.8),)})
             if it.key == "A" else it for it in example.initiatives]
    objectives = [o.model_copy(update={"weight": 1.0}) if o.id == "revenue" else o for o in example.objectives]
    d = attribute(example, with_changes(example, initiatives=items, objectives=objectives))
    assert d.groups == ["estimates", "objective-weights"]
    a = d.item("A")
    s0 = 1.95
    # Shapley over two groups: estimates ((1.5·s0 - s0) + (1.5·s0·2/3 - s0·2/3)) / 2
    assert a.change["estimates"] == pytest.approx((0.5 * s0 + 0.5 * s0 * 2 / 3) / 2, abs=1e-9)
    assert a.change["objective-weights"] == pytest.approx((-s0 / 3 - 1.5 * s0 / 3) / 2, abs=1e-9)
    assert a.score_to == pytest.approx(s0, abs=1e-9)                  # x1.5 x2/3
    assert "(activation +10 % -> +15 %)" in a.reason and "(revenue weight 3 -> 1)" in a.reason


def test_an_absolute_estimate_moves_with_the_kpi_value(example):
    """The model converts `+13pt` with the KPI's current value: on nps at 52 it is
    ℓ = 13/52 = 0.25, at 65 it is 0.2 (nps stays met, u = 0.5, V_nps = 16.25). C (@50 %,
    effort 1): 0.125 · 16.25 = 2.03125 -> 0.1 · 16.25 = 1.625, all of it `kpi-values`:
    the estimate as written did not change."""
    items = [it.model_copy(update={"links": (Link(kpi="nps", low=13.0, high=13.0, unit="pt"),)})
             if it.key == "C" else it for it in example.initiatives]
    a = with_changes(example, name="A", initiatives=items)
    d = attribute(a, with_changes(a, currents=dict(a.currents, nps=Current(65, AS_OF))))
    c = d.item("C")
    assert d.groups == ["kpi-values"] and (c.score_from, c.score_to) == (2.03125, 1.625)
    assert c.change == {"kpi-values": pytest.approx(-0.40625, abs=1e-12)}


def test_movers_and_the_cut_line(example_graph, example_currents, example_initiatives):
    """C's effort 1 -> 4 drops it to #4 (from #2), E is new at #1, X is
    gone: C falls the most and nobody ranked in both climbs. The top 2 was {A, C} and is
    {E, A}: E entered, C left."""
    a = snap(example_graph, example_currents, example_initiatives + [Initiative(key="X", effort=1)])
    items = [it.model_copy(update={"effort": 4.0}) if it.key == "C" else it for it in a.initiatives if it.key != "X"]
    items.append(Initiative(key="E", effort=1, links=(Link(kpi="nps", low=0.5, high=0.5, confidence=1.0),)))
    d = attribute(a, with_changes(a, initiatives=items))
    up, down = d.movers(5)
    assert up == [] and [c.key for c in down][0] == "C" and d.item("C").rank_to == 4
    entered, left = d.crossed(2)
    assert [c.key for c in entered] == ["E"] and [c.key for c in left] == ["C"]


def test_overtaking_lists_match_their_definition():
    """On random rank permutations: the nearest 5 that overtook each item (behind it in A,
    ahead in B) and that it overtook, against a direct reading of the definition."""
    import numpy as np
    from scoring.changes.attribution import _counts, _overtaking
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 17, 300):
        a = rng.permutation(n)
        keys = [f"k{i}" for i in range(n)]               # in B's order
        before, after = _counts(a)
        got = _overtaking(keys, {k: int(r) + 1 for k, r in zip(keys, a)}, 5)
        for q in range(n):
            assert before[q] == sum(a[p] > a[q] for p in range(q))
            assert after[q] == sum(a[p] < a[q] for p in range(q + 1, n))
            up = [keys[p] for p in range(q - 1, -1, -1) if a[p] > a[q]][:5]
            down = [keys[p] for p in range(q + 1, n) if a[p] < a[q]][:5]
            assert got[keys[q]] == (up, down)


def test_structure_changes_new_objective_and_a_kpi_dropped(example):
    """B adds an objective `retention` (weight 1, fed by churn) and drops the KPI nps with
    its edges and value: C's link to nps is then to an unknown KPI, worth 0 in B. Each
    mixed input holds every objective and KPI of both sides (an objective absent from the
    weights side weighs 0; a KPI without edges carries nothing), so the parts still sum
    to each change."""
    objectives = list(example.objectives) + [Objective(id="retention", weight=1)]
    kpis = [k for k in example.kpis if k.id != "nps"]
    edges = [e for e in example.edges if "nps" not in (e.source, e.target)] + \
        [Edge(**{"from": "churn", "to": "retention", "weight": 1.0})]
    currents = {k: c for k, c in example.currents.items() if k != "nps"}
    d = attribute(example, with_changes(example, objectives=objectives, kpis=kpis, edges=edges, currents=currents))
    assert d.groups == ["kpi-values", "objective-weights", "edges"]
    assert d.item("C").score_to == 0.0
    for c in d.items:
        assert sum(c.change.values()) == pytest.approx(c.score_to - c.score_from, abs=1e-9)
    assert set(d.item("C").change) == {"kpi-values", "objective-weights", "edges"}
    assert d.item("B").change["edges"] > 0          # churn now also feeds retention
