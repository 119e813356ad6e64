"""The goal graph: validation names what is wrong; values need no path walk."""
from __future__ import annotations

import random
from datetime import date

import pytest

from scoring.errors import BadInput
from scoring.goals.graph import GoalGraph, GraphError, find_problems
from scoring.goals.impact import kpi_values
from scoring.model import Backlog, Initiative, Kpi, Link, Objective
from scoring.goals.progress import Current
from scoring.ranking import ScoringParams, rank_backlog
from tests.conftest import AS_OF, edge
from tests.reference import path_walk_impact


def test_cycle_is_named_with_its_nodes_in_order():
    objs = [Objective(id="rev", weight=1)]
    kpis = [Kpi(id=k) for k in ("a", "b", "c")]
    with pytest.raises(GraphError) as err:
        GoalGraph.build(objs, kpis, [edge("a", "b", 1), edge("b", "c", 1), edge("c", "a", 1), edge("c", "rev", 1)])
    (p,) = err.value.problems
    assert (p.code, p.subject) == ("cycle", "a -> b -> c -> a")
    assert "cycle: a -> b -> c -> a" in p.message


def test_self_loop_is_a_cycle():
    problems = find_problems([Objective(id="o", weight=1)], [Kpi(id="a")], [edge("a", "a", 0.5)])
    assert [(p.code, p.subject) for p in problems] == [("cycle", "a -> a")]


def test_unknown_ids_and_objective_edges_are_each_named():
    objs = [Objective(id="rev", weight=1)]
    problems = find_problems(objs, [Kpi(id="mrr")],
                             [edge("mrr", "revenu", 1), edge("actvation", "mrr", 1), edge("rev", "mrr", 1)])
    got = [(p.code, p.subject) for p in problems]
    assert got == [("unknown-node", "revenu"), ("unknown-node", "actvation"), ("unknown-node", "rev")]
    assert "'revenu' is not a KPI or objective id" in problems[0].message
    assert "objectives have no outgoing edges" in problems[2].message


def test_objective_weights_all_zero_is_refused():
    g = GoalGraph.build([Objective(id="o", weight=0)], [Kpi(id="k")], [edge("k", "o", 1)])
    with pytest.raises(BadInput, match="all zero"):
        g.objective_weights()


def diamond_lattice(layers: int) -> GoalGraph:
    """Two KPIs per layer, each feeding both of the next: 2**layers paths to the top."""
    kpis, edges = [], []
    for n in range(layers):
        for side in "ab":
            kpis.append(Kpi(id=f"{side}{n}"))
            if n:
                edges += [edge(f"{side}{n - 1}", f"a{n}", 0.5), edge(f"{side}{n - 1}", f"b{n}", 0.5)]
    edges += [edge(f"a{layers - 1}", "top", 1.0), edge(f"b{layers - 1}", "top", 1.0)]
    return GoalGraph.build([Objective(id="top", weight=1)], kpis, edges)


def test_lattice_value_counts_every_path_without_walking_them():
    # 2**39 paths from a0 to the top layer, each with product 0.5**39, then weight 1 into
    # the objective: V(a0) = 1. Urgency 2 on the top KPIs doubles it.
    g = diamond_lattice(40)
    V, reach = kpi_values(g, {})
    assert V[g.kpi_order.index("a0"), 0] == pytest.approx(1.0, rel=1e-12)
    V2, _ = kpi_values(g, {"a39": 2.0, "b39": 2.0})
    assert V2[g.kpi_order.index("b0"), 0] == pytest.approx(2.0, rel=1e-12)
    assert reach.all()
    # v2: urgency on a KPI in the middle multiplies every path through it: half the
    # paths from a0 go through a20, so u = 3 there gives 0.5 · 1 + 0.5 · 3 = 2
    V3, _ = kpi_values(g, {"a20": 3.0})
    assert V3[g.kpi_order.index("a0"), 0] == pytest.approx(2.0, rel=1e-12)
    # and the KPI's own urgency counts: V(a0) with u(a0) = 1.5
    V4, _ = kpi_values(g, {"a0": 1.5})
    assert V4[g.kpi_order.index("a0"), 0] == pytest.approx(1.5, rel=1e-12)


def random_graph(rng: random.Random, n_kpis: int, n_objs: int):
    objs = [Objective(id=f"o{j}", weight=rng.choice([0, 1, 2, 5])) for j in range(n_objs)]
    if not any(o.weight for o in objs):
        objs[0] = Objective(id="o0", weight=1)
    window = dict(baseline=100.0, target=120.0, start=date(2026, 1, 1), deadline=date(2026, 12, 31))
    kpis = [Kpi(id=f"k{i}", direction=rng.choice(["up", "down"]), **(window if rng.random() < 0.7 else {}))
            for i in range(n_kpis)]
    edges = []
    for i in range(n_kpis):
        for target in rng.sample(range(i + 1, n_kpis + n_objs), k=min(2, n_kpis + n_objs - i - 1)):
            to = f"k{target}" if target < n_kpis else f"o{target - n_kpis}"
            edges.append(edge(f"k{i}", to, round(rng.uniform(-1, 1.5), 2)))
    return GoalGraph.build(objs, kpis, edges)


@pytest.mark.parametrize("seed", range(12))
def test_vectorised_impact_equals_the_walk_over_all_paths(seed):
    rng = random.Random(seed)
    g = random_graph(rng, 12, 3)
    items = []
    for n in range(30):
        links = []
        for _ in range(rng.randint(0, 4)):
            low = rng.uniform(-0.2, 0.3)
            high = low + rng.choice([0, rng.uniform(0, 0.1)])
            links.append(Link(kpi=f"k{rng.randrange(12)}", low=low, high=high,
                              confidence=rng.choice([None, rng.random()])))
        links = list({link.kpi: link for link in links}.values())   # one person's later line on a KPI replaces the earlier
        items.append(Initiative(key=f"I-{n}", confidence=rng.choice([None, 0.9]), effort=rng.choice([None, 2.0]),
                                links=tuple(links)))
    # currents from 90 to 121: most KPIs lag, some keep pace or meet their target
    currents = {k.id: Current(rng.uniform(90, 121), AS_OF) for k in g.kpis}
    r = rank_backlog(Backlog.from_initiatives(items), g, ScoringParams(as_of=AS_OF), currents)
    urgency = {k: s.urgency for k, s in r.states.items()}
    assert len(set(urgency.values())) > 2
    for i, it in enumerate(items):
        assert r.impact[i] == pytest.approx(path_walk_impact(it, g, urgency), abs=1e-9)
        assert sum(c["impact"] for c in r.contributions(i)) == pytest.approx(r.impact[i], abs=1e-9)


# -- absurd weights are refused with a located message ------------------------
@pytest.mark.parametrize("section,value,message", [
    ("objectives", "1e308", "objectives[0].weight: input should be less than or equal to 1000000"),
    ("objectives", "inf", "objectives[0].weight: input should be a finite number"),
    ("edges", "1e308", "edges[0].weight: input should be less than or equal to 1000"),
    ("edges", "-1e308", "edges[0].weight: input should be greater than or equal to -1000"),
    ("edges", "nan", "edges[0].weight: input should be a finite number"),
])
def test_absurd_or_non_finite_weights_are_refused_with_their_location(tmp_path, section, value, message):
    from app.config import ConfigError, load_settings
    objective = f"weight = {value if section == 'objectives' else 1}"
    edge = f"weight = {value if section == 'edges' else 1}"
    (tmp_path / "roadmap.toml").write_text(
        f'[[objectives]]\nid = "rev"\n{objective}\n\n[[kpis]]\nid = "mrr"\n\n'
        f'[[edges]]\nfrom = "mrr"\nto = "rev"\n{edge}\n')
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "roadmap.toml")
    assert any(p.endswith(message) for p in err.value.problems), err.value.problems


def test_the_largest_allowed_weights_still_score_without_overflow():
    g = GoalGraph.build([Objective(id="o", weight=1e6), Objective(id="p", weight=1)], [Kpi(id="k"), Kpi(id="j")],
                        [edge("k", "j", 1e3), edge("j", "o", 1e3)])
    r = rank_backlog(Backlog.from_initiatives([Initiative(key="I", effort=1, links=(Link(kpi="k", low=0.1, high=0.1),))]),
                     g, ScoringParams(as_of=AS_OF))
    # 0.1 · 0.5 · 1e3 · 1e3 · 100 · 1e6 / (1e6 + 1)
    assert r.impact[0] == pytest.approx(5e6 * 1e6 / (1e6 + 1), rel=1e-12)
