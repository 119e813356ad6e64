"""The uncertainty analysis's decision under every rule of the plan (docs/model.md,
"Uncertainty"): on a seeded backlog with teams, periods, blockers, must-haves, due dates
and pins, P(in plan) obeys the plan, and the batch greedy on the expected scores is the
plan's own greedy."""
from __future__ import annotations

import numpy as np

from scoring.plan import PlanInput
from scoring.plan.heuristics import greedy_plan
from scoring.plan.model import prepare as prepare_plan
from scoring.uncertainty import RiskInput, analyse_risk
from scoring.uncertainty.decision import decide
from scoring.uncertainty.inputs import prepare


def backlog(n=60, seed=5, draws=3000, **plan_changes):
    """n items on one KPI worth V = 100; 3 teams (team 2 has no capacity), 4 periods; 15 %
    blocked by an earlier item; items 0 and 1 must be planned; item 7 is blocked by a key
    that does not exist; item 9 is bigger than the horizon."""
    rng = np.random.default_rng(seed)
    keys = [f"IT-{i}" for i in range(n)]
    effort = rng.choice([1.0, 2.0, 3.0, 5.0, 8.0], n)
    effort[9] = 100.0
    team = rng.integers(0, 3, n)
    team[[0, 1]] = 0
    blocked = [() for _ in range(n)]
    for i in range(2, n):
        if rng.random() < 0.15:
            blocked[i] = (keys[int(rng.integers(0, i))],)
    blocked[7] = ("NOPE-1",)
    mandatory = np.zeros(n, bool)
    mandatory[[0, 1]] = True
    capacity = np.array([[8.0, 8, 8, 8], [6.0, 6, 6, 6], [0.0, 0, 0, 0]])
    mid = rng.uniform(0.0, 0.1, n)
    width = rng.uniform(0.0, 0.1, n)
    conf = rng.choice([0.5, 0.8, 1.0], n)
    plan = dict(keys=keys, impact=np.zeros(n), effort=effort, order=np.arange(n), team=team,
                done=np.zeros(n, bool), blocked_by=blocked, mandatory=mandatory,
                teams=["a", "b", "c"], periods=["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"],
                capacity=capacity)
    plan.update(plan_changes)
    return RiskInput(
        keys=keys, effort=effort, eligible=[True] * n, kpis=["k"], urgency=[1.0], objective_weight=[1.0],
        link_initiative=np.arange(n), link_kpi=np.zeros(n, int), link_direction=np.ones(n),
        link_low=mid - width / 2, link_high=mid + width / 2, link_confidence=conf,
        link_line=np.ones(n, int), edge_child=[0], edge_parent=[0], edge_to_objective=[True],
        edge_weight=[1.0], draws=draws, seed=3, plan=PlanInput(**plan))


def test_p_in_plan_obeys_the_plan():
    inp = backlog()
    r = analyse_risk(inp)
    p = dict(zip(r.keys, r.simulation.p_in_plan))
    assert p["IT-0"] == 1.0 and p["IT-1"] == 1.0                    # must-haves
    assert p["IT-7"] == 0.0 and p["IT-9"] == 0.0                    # unknown blocker, too big
    team = np.asarray(inp.plan.team)
    assert all(p[k] == 0.0 for k, t in zip(inp.keys, team) if t == 2)   # a team with no capacity
    assert any(0 < v < 1 for v in p.values())
    for k, blockers in zip(inp.keys, inp.plan.blocked_by):
        for b in blockers:
            if b in p:
                assert p[k] <= p[b], (k, b)                           # never above a blocker
    # an unplannable item's estimate is worth nothing to refine
    assert r.voi[7] == 0.0 and r.voi[9] == 0.0


def test_the_decision_at_the_expected_scores_is_the_plans_greedy():
    inp = backlog()
    p = prepare(inp)
    taken = decide(p, p.impact[None, :], p.order[None, :])[0]
    plan = PlanInput(**{**inp.plan.__dict__, "impact": p.impact, "order": p.order})
    greedy = greedy_plan(prepare_plan(plan))
    assert (taken == (greedy >= 0)).all()


def test_a_pin_and_a_due_date_hold_in_every_draw():
    """IT-3 pinned to 2027-Q2 is in every draw's plan; IT-4, due by the end of 2027-Q1 with
    an effort no period up to it holds (team a's 8 minus the must-haves), is in none."""
    n = 60
    base = backlog()
    pin = np.full(n, -1)
    pin[3] = 1
    latest = np.full(n, 3)
    latest[4] = 0
    effort = np.array(base.effort, float)
    effort[4] = 8.0
    team = np.array(base.plan.team)
    team[[3, 4]] = 0
    inp = backlog(pin=pin, latest=latest, effort=effort, team=team)
    inp = RiskInput(**{**inp.__dict__, "effort": effort})
    r = analyse_risk(inp, with_voi=False)
    p = dict(zip(r.keys, r.simulation.p_in_plan))
    assert p["IT-3"] == 1.0
    pp = prepare(inp).plan
    assert not pp.allowed[4, 1:].any()
    # the must-haves take part of Q1: IT-4 (8) fits only when they leave it the whole 8
    assert pp.effort[[0, 1]].sum() > 0 and p["IT-4"] == 0.0


def test_without_a_plan_the_top_n_takes_only_items_with_a_drawn_impact_above_zero():
    inp = backlog(draws=500)
    inp = RiskInput(**{**inp.__dict__, "plan": None, "top": 5})
    r = analyse_risk(inp, with_voi=False)
    assert r.simulation.p_in_plan.sum() <= 5 + 1e-12
    assert r.simulation.p_in_plan.max() <= 1.0


def test_each_draws_ranking_is_score_then_impact_then_key_whatever_the_ties():
    from scoring.uncertainty.kernels import ranking_orders
    rng = np.random.default_rng(11)
    n, rows = 40, 300
    impact = rng.choice([0.0, 0.0, 1e-12, 0.5, 1.0, 2.0], (rows, n))     # many ties, some below rounding
    effort = rng.choice([1.0, 2.0, 4.0], n)
    score = np.round(impact / effort, 10)
    key_rank = rng.permutation(n)
    got = ranking_orders(score, impact, key_rank)
    for r in range(rows):
        assert got[r].tolist() == np.lexsort((key_rank, -impact[r], -score[r])).tolist()


def test_a_batch_split_over_threads_decides_each_row_as_it_would_alone():
    from scoring.plan.compiled import ROWS_PER_THREAD
    from scoring.plan.greedy import batch_greedy
    inp = backlog()
    prep = prepare_plan(inp.plan)
    rng = np.random.default_rng(2)
    rows = 4 * ROWS_PER_THREAD + 3
    impact = rng.uniform(-0.2, 1.0, (rows, prep.n))
    order = np.argsort(-impact / prep.effort, axis=1, kind="stable")
    batch = batch_greedy(prep, order, impact)
    alone = np.stack([batch_greedy(prep, order[r:r + 1], impact[r:r + 1])[0] for r in range(rows)])
    assert np.array_equal(batch, alone)
    assert (batch >= 0).any() and (batch < 0).any()
