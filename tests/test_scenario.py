"""What-if in part (scoring/scenario.py, docs/model.md "What-if"): new objective weights,
KPI values and edge weights re-score only what they touch, and the result is the ranking a
full scoring gives, on the demo workspace and on a random graph."""
from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from scoring.goals.graph import GoalGraph
from scoring.model import Backlog, Edge, Kpi, Objective
from scoring.goals.progress import Current
from scoring.ranking import ScoringParams, rank_backlog
from scoring.scenario import rescore

AS_OF = date(2026, 7, 2)


def _same(part, full) -> None:
    assert part.ranked.tolist() == full.ranked.tolist()
    assert np.array_equal(part.score, full.score) and np.array_equal(part.impact, full.impact)
    assert np.allclose(part.objective_impact, full.objective_impact, atol=1e-9)
    for i in full.ranked[:25].tolist():
        assert part.item(i) == full.item(i)


def _random_case(seed: int):
    rng = random.Random(seed)
    objectives = [Objective(id=f"o{j}", weight=rng.randint(1, 5)) for j in range(3)]
    kpis, edges = [], []
    for lv in range(4):
        for n in range(6):
            kid = f"k{lv}_{n}"
            kpis.append(Kpi(id=kid, direction=rng.choice(["up", "down"]), unit=rng.choice(["", "%"]),
                            baseline=0.5, target=0.7, start=date(2026, 1, 1), deadline=date(2026, 12, 31)))
            targets = {f"o{rng.randrange(3)}"} if lv == 3 else {f"k{lv + 1}_{rng.randrange(6)}",
                                                                  f"k{rng.randint(lv + 1, 3)}_{rng.randrange(6)}"}
            edges += [Edge(**{"from": kid, "to": t, "weight": round(rng.uniform(-0.2, 0.9), 3)}) for t in targets]
    graph = GoalGraph.build(objectives, kpis, edges)
    nrng = np.random.default_rng(seed)
    n = 3000
    each = nrng.integers(0, 4, n)
    item = np.repeat(np.arange(n), each)
    m = len(item)
    low = nrng.uniform(-0.1, 0.2, m).round(2)
    low[nrng.random(m) < 0.05] = np.nan                       # unestimated links
    unit = nrng.choice([0, 0, 0, 1, 2], m).astype(np.int8)    # some absolute: converted with the KPI's value
    names = list(graph.kpi_order) + ["unknown"]
    effort = nrng.choice([1, 2, 3, 5, np.nan], n).astype(float)
    b = Backlog(keys=[f"R-{nrng.integers(0, 50)}-{i}" for i in range(n)], done=nrng.random(n) < 0.1,
                effort=effort, confidence=np.full(n, np.nan), has_source_flags=np.zeros(n, bool), link_item=item,
                link_kpi_code=nrng.integers(0, len(names), m), kpi_names=names, link_low=low,
                link_high=low + nrng.choice([0, 0.05], m), link_confidence=nrng.uniform(0.3, 1, m).round(1),
                link_unit=unit)
    currents = {k: Current(round(rng.uniform(0.3, 0.8), 3), AS_OF) for k in graph.kpi_order[::2]}
    return graph, b, currents


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_new_objective_weights_kpi_values_and_edge_weights_equal_a_full_scoring(seed):
    graph, b, currents = _random_case(seed)
    params = ScoringParams(as_of=AS_OF)
    base = rank_backlog(b, graph, params, currents)
    weights = {"o0": 0.5, "o2": 9.0}
    _same(rescore(base, objective_weights=weights), rank_backlog(b, graph, params, currents, objective_weights=weights))
    changed = {**currents, graph.kpi_order[3]: Current(0.9, AS_OF), graph.kpi_order[0]: Current(0.0, AS_OF)}
    _same(rescore(base, currents=changed), rank_backlog(b, graph, params, changed))
    edges = [Edge(**{"from": e.source, "to": e.target, "weight": e.weight * (3 if n % 7 == 0 else 1)})
             for n, e in enumerate(graph.edges)]
    g2 = GoalGraph.build(graph.objectives, graph.kpis, edges)
    _same(rescore(base, graph=g2, currents=changed, objective_weights=weights),
          rank_backlog(b, g2, params, changed, objective_weights=weights))


def test_a_kpi_value_rescores_only_the_items_linked_to_what_it_reaches():
    graph, b, currents = _random_case(4)
    base = rank_backlog(b, graph, ScoringParams(as_of=AS_OF), currents)
    top = "k0_0"                                # nothing feeds it: only its own value changes
    assert not list(graph.graph.predecessors(top))
    changed = {**currents, top: Current(0.1, AS_OF)}
    part = rescore(base, currents=changed)
    k = graph.kpi_order.index(top)
    linked = np.zeros(len(b), bool)
    linked[b.link_item[base.link_kpi_index == k]] = True
    moved = part.impact != base.impact
    assert moved.any() and not (moved & ~linked).any()


def test_the_demo_what_if_through_the_api_equals_a_full_scoring(tmp_path, monkeypatch):
    monkeypatch.setenv("ROADMAP_CACHE_DIR", str(tmp_path / "cache"))
    from app import create_app, services
    from app.config_cache import load
    from app.services.sync import sync
    from app.workspaces import build_demo
    cfg = build_demo(tmp_path / "demo")
    ws = services.Workspace(load(cfg))
    sync(ws)
    client = create_app(workspace=ws).test_client()
    body = {"objective_weights": {"growth": 1, "retention": 4}, "kpi_values": {"nps": 20},
            "edge_weights": [{"from": ws.graph.edges[0].source, "to": ws.graph.edges[0].target, "weight": 0.05}]}
    got = client.post("/api/v1/what-if?limit=500", json=body).get_json()
    base = services.compute_ranking(ws)
    graph = GoalGraph.build(ws.graph.objectives, ws.graph.kpis,
                            [Edge(**{"from": e.source, "to": e.target, "weight": 0.05 if n == 0 else e.weight})
                             for n, e in enumerate(ws.graph.edges)])
    now = {**services.currents(ws, base.params.as_of), "nps": Current(20.0, base.params.as_of)}
    full = rank_backlog(base.backlog, graph, base.params, now, objective_weights=body["objective_weights"])
    want = services.items(ws, full, 0, 500)
    assert [it["key"] for it in got["items"]] == [it["key"] for it in want]
    assert [(it["score"], it["impact"], it["contributions"]) for it in got["items"]] == \
        [(it["score"], it["impact"], it["contributions"]) for it in want]
    assert all(it["previous_rank"] == base.rank_of[base.index_of(it["key"])] for it in got["items"])


def test_round10_of_one_float_is_numpys_bit_for_bit():
    from scoring.goals.impact import round10, round10_float
    rng = np.random.default_rng(3)
    xs = np.concatenate([rng.normal(0, 10, 20000), rng.integers(-10**6, 10**6, 5000) / 2**rng.integers(0, 40, 5000),
                         np.round(rng.uniform(-5, 5, 5000), 11), [0.0, -0.0, 1e300, -1e-300, 2.0**60, 5e-11, -5e-11,
                                                               np.nan, np.inf]])
    with np.errstate(over="ignore"):
        want = round10(xs)
    got = np.array([round10_float(float(x)) for x in xs])
    assert np.array_equal(got, want, equal_nan=True)
    assert not np.signbit(got[~np.isnan(got)] == 0).any()


def test_a_weights_what_if_shows_the_items_a_full_scoring_shows_and_its_items_are_the_callers():
    graph, b, currents = _random_case(4)
    params = ScoringParams(as_of=AS_OF)
    base = rank_backlog(b, graph, params, currents)
    shown = [base.item(i) for i in base.ranked[:200].tolist()]     # the base keeps what weights do not change
    weights = {"o1": 7.0}
    part = rescore(base, objective_weights=weights)
    _same(part, rank_backlog(b, graph, params, currents, objective_weights=weights))
    first = part.ranked[0]
    mine = part.item(first)
    mine["flags"].append("discuss:x")
    mine["links"][0]["factor"] = 0.5
    assert part.item(first) == rank_backlog(b, graph, params, currents, objective_weights=weights).item(first)
    assert shown == [base.item(i) for i in base.ranked[:200].tolist()]


def _contributions_link_by_link(r, i: int) -> list[dict]:
    """The reference: item i's links in source order, each adding (100 · ŵ_o) · δ · V[k, o]
    to its (KPI, objective) from 0.0, in the order each pair first appears."""
    acc: dict = {}
    ids = [o.id for o in r.graph.objectives]
    for j in r.links_of(i).tolist():
        k = int(r.link_kpi_index[j])
        if k < 0 or np.isnan(r.link_low[j]):
            continue
        for o, reached in enumerate(r.reach[k].tolist()):
            if reached:
                key = (r.graph.kpi_order[k], ids[o])
                acc[key] = acc.get(key, 0.0) + (100.0 * r.weights[ids[o]]) * float(r.link_delta[j]) * float(r.V[k, o])
    return [{"kpi": k, "objective": o, "impact": float(np.round(v, 10) + 0.0)} for (k, o), v in acc.items()]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_page_of_contributions_equals_each_item_summed_link_by_link(seed):
    graph, b, currents = _random_case(seed)
    r = rank_backlog(b, graph, ScoringParams(as_of=AS_OF), currents, objective_weights={"o0": 3, "o1": 0})
    page = r.ranked[:400].tolist() + [int(np.flatnonzero(b.done)[0])]    # a done item has contributions too
    got = r.contributions_of(page)
    assert got == [_contributions_link_by_link(r, i) for i in page]
    assert sum(len(c) for c in got) > 400 and any(len({x["kpi"] for x in c}) < len(c) for c in got)
    assert r.contributions_of([]) == [] and r.contributions(page[7]) == got[7]
    for i, c in zip(page, got):                   # they sum to the impact
        assert sum(x["impact"] for x in c) == pytest.approx(r.impact[i], abs=1e-8)
