"""`solve_plan`: the one entry point. Prepares the problem, computes the greedy plan and
the cut, solves the MILP within `solver_seconds`, keeps the better of the MILP's plan and
the floor, so the answer is never worse than greedy, and explains what was left out.

The floor is the greedy plan or, on backlogs past a few dozen items, a plan rounded from
the LP relaxation and polished by a small MIP over the items the LP leaves undecided,
whichever is better: HiGHS starts from scratch (scipy's `milp` takes no starting plan),
and when the cores are busy its own plan within the limit can fall below these.
"""
from __future__ import annotations

import time

import numpy as np

from scoring.plan.explain import diagnose, enters_if, explain_model
from scoring.plan.greedy import loads
from scoring.plan.heuristics import (cut_value, first_fit_plan, greedy_plan, lp_rounded_plan, plan_value,
                                     prefix_cut_value)
from scoring.plan.milp import PlanModel
from scoring.plan.model import NO_VALUE, PlanInput, PlanResult, Prepared, prepare

NO_ROOM = "did not fit: its team's capacity delivers more value elsewhere"
NO_PLAN = "mandatory, but no plan with it was found within the time limit"
POLISH_SHARE = 0.1         # of solver_seconds, for polishing the floor
LP_FLOOR_COLUMNS = 200    # above this, a plan rounded from the LP relaxation joins greedy as a floor


def solve_plan(inp: PlanInput) -> PlanResult:
    """Plan `inp`; raise `PlanInfeasible` when the mandatory items cannot all be planned.

    >>> import numpy as np
    >>> inp = PlanInput(keys=["A", "B", "C"], impact=np.array([6.0, 4.0, 3.0]),
    ...     effort=np.array([3.0, 2.0, 2.0]), order=np.array([0, 1, 2]), team=np.zeros(3, int),
    ...     done=np.zeros(3, bool), blocked_by=[(), (), ()], mandatory=np.zeros(3, bool),
    ...     teams=["all"], periods=["Q1"], capacity=np.array([[4.0]]), mip_gap=0.0)
    >>> r = solve_plan(inp)
    >>> r.status, r.value, r.greedy_value, [p["key"] for p in r.planned]
    ('optimal', 7.0, 6.0, ['B', 'C'])
    """
    prep = prepare(inp)
    greedy = greedy_plan(prep)
    greedy_ok = bool((greedy[prep.mandatory] >= 0).all())
    gv = plan_value(prep, greedy)
    if inp.greedy_only and greedy_ok:     # (a greedy plan without every must-have: solve)
        result = PlanResult(
            periods=list(inp.periods), teams=list(inp.teams), status="greedy", gap=None, value=gv,
            greedy_value=gv, cut_value=cut_value(prep), planned=[], load=[], excluded=[],
            first_fit_value=plan_value(prep, first_fit_plan(prep)), prefix_cut_value=prefix_cut_value(prep),
            greedy_assignment={inp.keys[i]: inp.periods[greedy[i]] for i in np.flatnonzero(greedy >= 0)})
        result.notes = list(prep.notes)
        report(prep, greedy, result)
        return result
    model = PlanModel(prep)
    start, cpu_start = time.perf_counter(), time.process_time()
    floor, floor_value, floor_ok = greedy, gv, greedy_ok
    if model.size > LP_FLOOR_COLUMNS:
        x = model.relaxation(inp.solver_seconds / 4)
        if x is not None:
            lp = lp_rounded_plan(prep, (model.col_item[:model.n_x], model.col_period[:model.n_x]), x)
            lp_ok, lp_value = bool((lp[prep.mandatory] >= 0).all()), plan_value(prep, lp)
            if (lp_ok, lp_value) > (floor_ok, floor_value):
                floor, floor_value, floor_ok = lp, lp_value, lp_ok
            if floor_ok:
                floor, floor_value = polish(prep, model, x, floor, floor_value, inp)
    s = model.solve(max(0.01, fair_limit(inp, start, cpu_start)), inp.mip_gap)
    solve_seconds = time.perf_counter() - start
    solve_cpu = time.process_time() - cpu_start
    if s.status == "infeasible":
        raise diagnose(prep, max(1.0, inp.solver_seconds / 5))
    status, bound = s.status, s.bound
    assign = None
    if s.assign is not None:
        assign = drop_worthless(prep, s.assign)
        if s.status != "optimal":   # a plan cut short may leave room that still pays
            assign = greedy_plan(prep, start=assign)
    if assign is None or (floor_ok and plan_value(prep, assign) < floor_value):
        assign = floor
        status = "optimal" if s.status == "optimal" and floor_ok else "time-limit"
    value = plan_value(prep, assign)
    gap = None if bound is None else max(0.0, bound - value) / max(abs(value), 1e-12)
    result = PlanResult(
        periods=list(inp.periods), teams=list(inp.teams), status=status,
        gap=None if gap is None else float(gap), value=value, greedy_value=gv,
        cut_value=cut_value(prep), planned=[], load=[], excluded=[],
        solve_seconds=solve_seconds, solve_cpu_seconds=solve_cpu, bound=bound,
        first_fit_value=plan_value(prep, first_fit_plan(prep)), prefix_cut_value=prefix_cut_value(prep),
        greedy_assignment={inp.keys[i]: inp.periods[greedy[i]] for i in np.flatnonzero(greedy >= 0)})
    result.notes = list(prep.notes)
    report(prep, assign, result)
    return result


MAX_STRETCH = 3.0     # a busy machine may stretch the solver's wall-clock limit up to this


def fair_limit(inp: PlanInput, start: float, cpu_start: float) -> float:
    """The main solve's wall-clock limit: what is left of `solver_seconds` counted in CPU
    seconds (HiGHS's own limit is wall-clock), so that a machine busy with other work
    gives the solver about the same effort; the wall-clock stretched at most MAX_STRETCH
    times. The CPU share is measured on the work so far (the LP relaxation and polish)."""
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if not inp.cpu_budget or wall < 0.05:
        return inp.solver_seconds - wall
    share = min(1.0, max(cpu / wall, 1.0 / MAX_STRETCH))
    left = inp.solver_seconds - cpu
    return min(left / share, inp.solver_seconds * MAX_STRETCH - wall)


def explain_plan(inp: PlanInput, assignment: dict[str, str], status: str, gap: float | None,
                 bound: float | None = None) -> PlanResult:
    """The result of a plan already solved (`assignment` key -> period), with `enters_if`
    for its best excluded items: the board's last stage, without solving again."""
    prep = prepare(inp)
    index = {k: i for i, k in enumerate(inp.keys)}
    where = {p: n for n, p in enumerate(inp.periods)}
    assign = np.full(prep.n, -1)
    for k, p in assignment.items():
        assign[index[k]] = where[p]
    greedy = greedy_plan(prep)
    result = PlanResult(
        periods=list(inp.periods), teams=list(inp.teams), status=status, gap=gap,
        value=plan_value(prep, assign), greedy_value=plan_value(prep, greedy), cut_value=cut_value(prep),
        planned=[], load=[], excluded=[], bound=bound,
        first_fit_value=plan_value(prep, first_fit_plan(prep)), prefix_cut_value=prefix_cut_value(prep),
        greedy_assignment={inp.keys[i]: inp.periods[greedy[i]] for i in np.flatnonzero(greedy >= 0)})
    result.notes = list(prep.notes)
    report(prep, assign, result)
    return result


def polish(prep: Prepared, model: PlanModel, x: np.ndarray, floor: np.ndarray,
           floor_value: float, inp: PlanInput) -> tuple[np.ndarray, float]:
    """Re-solve only the items the LP relaxation leaves fractional or places elsewhere than
    the floor, the rest held at the floor (a small MIP, after RINS): a better floor fast."""
    lp_assign = model.decode(x)
    whole = np.zeros(prep.n, dtype=bool)
    np.logical_or.at(whole, model.col_item[:model.n_x], (x > 1e-6) & (x < 1 - 1e-6))
    free = {int(i): True for i in np.flatnonzero(whole | (lp_assign != floor)) if prep.needed[i]}
    if not free:
        return floor, floor_value
    s = model.solve(inp.solver_seconds * POLISH_SHARE, inp.mip_gap, fixed=floor, free=free)
    if s.assign is None:
        return floor, floor_value
    better = greedy_plan(prep, start=drop_worthless(prep, s.assign))
    value = plan_value(prep, better)
    if value > floor_value and (better[prep.mandatory] >= 0).all():
        return better, value
    return floor, floor_value


def drop_worthless(prep: Prepared, assign: np.ndarray) -> np.ndarray:
    """Unplan items with impact <= 0 that are not mandatory and block nothing planned
    (the solver may keep a zero-value item where it costs nothing)."""
    assign = assign.copy()
    planned = [i for i in np.flatnonzero(assign >= 0)]
    keep = set(i for i in planned if prep.impact[i] > 0 or prep.mandatory[i])
    stack = list(keep)
    while stack:
        for b in prep.blockers[stack.pop()]:
            if b not in keep and assign[b] >= 0:
                keep.add(b)
                stack.append(b)
    for i in planned:
        if i not in keep:
            assign[i] = -1
    return assign


def report(prep: Prepared, assign: np.ndarray, result: PlanResult) -> None:
    inp = prep.inp
    keys, teams, periods = inp.keys, inp.teams, inp.periods
    rank = {i: r for r, i in enumerate(prep.order)}
    planned = sorted(np.flatnonzero(assign >= 0), key=lambda i: (assign[i], prep.team[i], rank[i]))
    result.planned = [{"key": keys[i], "team": teams[prep.team[i]], "period": periods[assign[i]],
                       "effort": float(prep.effort[i]), "impact": float(prep.impact[i]),
                       "value": float(prep.impact[i] * prep.f[assign[i]])} for i in planned]
    result.assignment = {keys[i]: periods[assign[i]] for i in planned}
    load = loads(prep, assign)
    for row, i in zip(result.planned, planned):
        if prep.span[i]:
            row["spread"] = spread(prep, assign, i)
    result.load = [{"team": teams[t], "period": periods[p], "effort": float(load[t, p]),
                    "capacity": float(prep.capacity[t, p])}
                   for p in range(prep.P) for t in range(len(teams))]
    out = [i for i in prep.order if assign[i] < 0]
    result.excluded = [{"key": keys[i], "impact": float(prep.impact[i]),
                        "effort": float(prep.effort[i]), "reason": why_out(prep, assign, i),
                        "enters_if": None} for i in out]
    top = [k for k, i in enumerate(out) if prep.plannable[i]][:inp.explain_top]
    if not top:
        return
    start = time.perf_counter()
    budget = inp.solver_seconds if inp.explain_seconds is None else inp.explain_seconds
    model = explain_model(prep, [out[k] for k in top])
    end = start + budget
    for n, k in enumerate(top, 1):   # each item gets its share of the budget, none past its end
        share = start + budget * n / len(top) - time.perf_counter()
        result.excluded[k]["enters_if"] = enters_if(
            model, prep, out[k], result.value, assign, max(0.05, share / 3),
            min(time.perf_counter() + max(share, 0.05), end), inp.mip_gap)
    result.enters_if_seconds = time.perf_counter() - start


def spread(prep: Prepared, assign: np.ndarray, i: int) -> list[dict]:
    """Where a spanning item's effort goes: the room its team has left in each period up
    to its delivery, from the first period on (as `loads` counts it)."""
    others = assign.copy()
    others[i] = -1
    t = prep.team[i]
    room = np.maximum(prep.capacity[t] - loads(prep, others)[t], 0.0)
    left, out = prep.effort[i], []
    for q in range(assign[i] + 1):
        use = min(room[q], left)
        left -= use
        if use > 0:
            out.append({"period": prep.inp.periods[q], "effort": float(use)})
    return out


def why_out(prep: Prepared, assign: np.ndarray, i: int) -> str:
    if prep.reason[i]:
        return prep.reason[i]
    if prep.mandatory[i]:
        return NO_PLAN
    missing = [b for b in prep.blockers[i] if assign[b] < 0]
    if missing:
        return f"blocked by {prep.inp.keys[missing[0]]}, not planned"
    if not prep.needed[i] or prep.impact[i] <= 0:
        return NO_VALUE
    return NO_ROOM
