"""What moved: the edits people made, listed apart from drift, and exact zeros below 1e-9
of an item's score (docs/model.md "What moved")."""
from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np

from app.services.changes import diff_json, summary
from scoring.changes.attribution import attribute
from scoring.changes.edits import edits_between
from scoring.changes.shapley import exact_zeros, shapley
from scoring.changes.snapshot import rescore, seal, snapshot_of
from scoring.model import Edge, Initiative, Kpi, Link, Objective
from scoring.goals.progress import Current
from scoring.ranking import ScoringParams

AS_OF = date(2026, 7, 2)


def backlog(seed: int = 3):
    rng = random.Random(seed)
    window = dict(start=date(2026, 1, 1), deadline=date(2026, 12, 31))
    kpis = [Kpi(id=f"k{i}", baseline=100.0, target=130.0, **window) for i in range(4)]
    objectives = [Objective(id="o1", weight=2), Objective(id="o2", weight=1)]
    edges = [Edge(**{"from": "k0", "to": "o1", "weight": 1.0}), Edge(**{"from": "k1", "to": "o1", "weight": 0.5}),
             Edge(**{"from": "k2", "to": "o2", "weight": 1.0}), Edge(**{"from": "k3", "to": "o2", "weight": 0.7})]
    currents = {k.id: Current(round(rng.uniform(100, 115), 2), AS_OF) for k in kpis}
    items = [Initiative(key=f"FO-{100 + i}", effort=rng.choice([1.0, 2.0, 3.0, 5.0]),
                        links=(Link(kpi=f"k{rng.randrange(4)}", low=(v := round(rng.uniform(0.01, 0.2), 3)), high=v,
                                    confidence=0.7),))
             for i in range(24)]
    return kpis, objectives, edges, currents, items


def test_two_estimate_edits_among_drift_are_both_listed_and_no_part_is_below_1e_9():
    kpis, objectives, edges, currents, items = backlog()
    a = seal(snapshot_of(items, objectives, kpis, edges, currents, ScoringParams(as_of=AS_OF), name="A"))
    ra = rescore(a)
    order = [ra.backlog.keys[i] for i in ra.ranked.tolist()]
    eighth, last = order[7], order[-1]
    # drift: every KPI moved, two weeks passed
    drifted = {k: Current(c.value * (1.02 if k in ("k0", "k2") else 0.99), AS_OF + timedelta(days=14))
               for k, c in currents.items()}
    params_b = ScoringParams(as_of=AS_OF + timedelta(days=14))

    def b_with(lift8: float):
        edited = []
        for it in items:
            if it.key == eighth:
                ln = it.links[0]
                it = it.model_copy(update={"links": (ln.model_copy(update={"low": lift8, "high": lift8}),)})
            elif it.key == last:
                ln = it.links[0]
                it = it.model_copy(update={"links": (ln.model_copy(update={"low": ln.low * 1.1,
                                                                           "high": ln.high * 1.1}),)})
            edited.append(it)
        return seal(snapshot_of(edited, objectives, kpis, edges, drifted, params_b, name="B"), a.hash)

    # the reproduction: the 8th item's estimate revised so it rises to #4
    base = items[[it.key for it in items].index(eighth)].links[0].low
    b = next(s for f in np.linspace(1.0, 4.0, 301) if (s := b_with(round(base * f, 5)))
             and [rescore(s).backlog.keys[i] for i in rescore(s).ranked.tolist()].index(eighth) == 3)
    d = attribute(a, b)
    c = d.item(eighth)
    assert (c.rank_from, c.rank_to) == (8, 4)
    assert {(e.key, e.field) for e in d.edits} == {(eighth, "link:" + c_kpi(items, eighth)),
                                                  (last, "link:" + c_kpi(items, last))}
    assert all(e.group == "estimates" for e in d.edits)
    assert [c.key for c in d.items if c.edited] == sorted([eighth, last], key=lambda k: d.item(k).rank_to)
    # many items moved by drift alone; none of them is "edited"
    moved_by_drift = [c for c in d.items if c.status == "moved" and not c.edited]
    assert len(moved_by_drift) > 10
    # exact zeros: no part is nonzero and below 1e-9 of the item's score; parts still sum
    for item in d.items:
        if item.score_from is None or item.score_to is None:
            continue
        scale = max(abs(item.score_from), abs(item.score_to))
        for g, p in item.change.items():
            assert p == 0 or abs(p) >= 1e-9 * scale, (item.key, g, p)
        assert abs(sum(item.change.values()) - (item.score_to - item.score_from)) < 1e-9
    # an item whose only change is drift has an exact-zero estimates part
    assert d.item(order[0]).change.get("estimates") == 0.0 or order[0] in (eighth, last)
    # the JSON of the contract and what the page and the CLI lead with
    j = diff_json(d)
    assert [e["key"] for e in j["edits"]] == [eighth, last] or [e["key"] for e in j["edits"]] == [last, eighth]
    assert set(j["edits"][0]) == {"key", "group", "field", "from", "to", "by"}
    assert next(x for x in j["items"] if x["key"] == eighth)["edited"] is True
    s = summary(d)
    assert s["edits"][0]["key"] == eighth and s["edits"][0]["move"] == "#8 -> #4"
    assert {g["key"] for g in s["edits"]} == {eighth, last}


def c_kpi(items, key):
    return next(it for it in items if it.key == key).links[0].kpi


def test_edits_of_every_kind_and_drift_is_not_an_edit():
    kpis, objectives, edges, currents, items = backlog()
    a = seal(snapshot_of(items, objectives, kpis, edges, currents, ScoringParams(as_of=AS_OF)))
    items_b = [it.model_copy(update={"effort": 8.0}) if it.key == "FO-101" else
               it.model_copy(update={"status": "In Progress", "team": "web"}) if it.key == "FO-102" else it
               for it in items]
    b = seal(snapshot_of(items_b, [objectives[0].model_copy(update={"weight": 3}), objectives[1]],
                         [kpis[0].model_copy(update={"target": 140.0})] + kpis[1:],
                         edges[:-1] + [Edge(**{"from": "k3", "to": "o2", "weight": 0.9})],
                         {k: Current(c.value + 1, AS_OF + timedelta(days=7)) for k, c in currents.items()},
                         ScoringParams(as_of=AS_OF + timedelta(days=7))), a.hash)
    got = [(e.key, e.group, e.field, e.from_, e.to) for e in edits_between(a, b)]
    assert got == [("FO-101", "effort", "effort", items[1].effort, 8.0),
                   ("FO-102", "backlog", "status", "new", "In Progress"),
                   ("FO-102", "backlog", "team", None, "web"),
                   ("o1", "objective-weights", "weight", 2.0, 3.0),
                   ("k3 -> o2", "edges", "weight", 0.7, 0.9),
                   ("k0", "targets", "target", 130.0, 140.0)]


def test_exact_zeros_keep_the_sum_and_the_shapley_kernel_is_its_own_module():
    parts = np.array([[0.3, 1e-17], [-2e-12, 0.0], [0.1, 0.25]])
    out = exact_zeros(parts, np.array([1.0, 2.0]), np.array([1.4, 2.25]))
    assert out[1, 0] == 0.0 and out[0, 1] == 0.0
    assert np.allclose(out.sum(axis=0), parts.sum(axis=0), rtol=0, atol=1e-15)
    # two groups: S(∅)=1, S(a)=3, S(b)=2, S(ab)=6 -> φ_a = (2 + 4)/2 = 3, φ_b = (1 + 3)/2 = 2
    assert shapley(np.array([[1.0], [3.0], [2.0], [6.0]]), 2)[:, 0].tolist() == [3.0, 2.0]


def test_edits_carry_the_estimator_and_two_raters_on_one_link_are_told_apart():
    kpis, objectives, edges, currents, items = backlog()
    base = items[0]
    ln = base.links[0]
    a_item = base.model_copy(update={"links": (ln.model_copy(update={"by": "alice"}),
                                               ln.model_copy(update={"by": "Bob", "low": 0.02, "high": 0.02}))})
    b_item = base.model_copy(update={"links": (ln.model_copy(update={"by": "alice", "low": 0.3, "high": 0.3}),
                                               ln.model_copy(update={"by": "Bob", "low": 0.02, "high": 0.02}))})
    c_item = items[1].model_copy(update={"estimator": "carol"})
    c_new = c_item.model_copy(update={"confidence": 0.9})
    a = seal(snapshot_of([a_item, c_item] + items[2:], objectives, kpis, edges, currents, ScoringParams(as_of=AS_OF)))
    b = seal(snapshot_of([b_item, c_new] + items[2:], objectives, kpis, edges, currents, ScoringParams(as_of=AS_OF)),
             a.hash)
    got = [(e.key, e.field, e.by) for e in edits_between(a, b)]
    assert got == [(base.key, f"link:{ln.kpi}", "alice"), (items[1].key, "confidence", "carol")]
    s = summary(attribute(a, b))
    assert {g["key"]: g["people"] for g in s["edits"]} == {base.key: ["alice"], items[1].key: ["carol"]}
    assert any("(by alice)" in e["text"] for g in s["edits"] for e in g["edits"])
    assert s["people"] == [("alice", 1), ("carol", 1)]
