"""Why the plan is what it is: `enters_if` for excluded items, and which mandatory items
and team-periods conflict when the solver proves the mandatory set infeasible.

`enters_if` for an excluded item i (current optimum V*), by re-solving:
- `value_at_least` (an impact I, not I·f_p): let W_p be the best value of the other items
  with i forced into period p; i enters exactly when some `W_p + I·f_p > V*`. That maximum
  is convex and piecewise linear in I, so Newton's method (from the quick answer below,
  else from the current impact) finds its root exactly in at most P + 1 solves (each solve
  with i forced in gives one line `W_p + I·f_p`; every step lands at or above the root);
  reported rounded up.
"Enters" means every optimal plan holds the item: at the threshold itself it only ties.
- `effort_at_most`: with i forced in at effort e (its own value counted), it enters when
  the best value beats V*. Start at e = 0; a plan that fits at e still fits up to the slack
  left in i's team-period, so the search jumps to that slack and probes just above it
  until a probe fails (exact), or stops after a few jumps (a safe lower value).
Before any solve, `quick_bounds` edits the current plan (pull i's blockers in, push the
cheapest items out) for answers that are already sufficient; the solves then tighten
them. Each solve has a short time limit; a solve cut short gives a feasible plan, so the
figures stay sufficient (the item does enter), if not tight. On large models the
re-solves hold the teams that i and its blockers do not touch at their current plan
(again sufficient). A field is None when nothing was found: exact on small backlogs (no
value, or no effort, brings it in; an item without value never enters by its effort
alone), "none found within its share of the time" on large ones.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from scoring.plan.greedy import loads
from scoring.plan.milp import PlanModel
from scoring.plan.model import TOL, PlanInfeasible, Prepared, closure

JUMPS = 8
FULL_MODEL_COLUMNS = 300     # above this, re-solves hold the other teams' plan fixed


def round_up(x: float, digits: int = 6) -> float:
    """Strictly above `x`, with `digits` significant digits.

    >>> round_up(0.8705), round_up(2.0), round_up(-1.5)
    (0.870501, 2.00001, -1.49999)
    """
    places = digits - 1 - math.floor(math.log10(abs(x))) if x else 9
    return round((math.floor(x * 10 ** places + 1e-6) + 1) / 10 ** places, max(places, 0))


def round_down(x: float, digits: int = 6) -> float:
    """At most `x` (give or take float noise), with `digits` significant digits.

    >>> round_down(4.8999999999999995), round_down(2.900009)
    (4.9, 2.9)
    """
    places = digits - 1 - math.floor(math.log10(abs(x))) if x else 9
    return round(math.floor(x * 10 ** places + 1e-6) / 10 ** places, max(places, 0))


def explain_model(prep: Prepared, items: list[int]) -> PlanModel:
    """A model over every plannable item, where the explained items may go in any period
    with capacity (a smaller effort may fit where the current one does not)."""
    allowed = prep.allowed.copy()
    for i in items:
        allowed[i] = prep.capacity[prep.team[i]] > 0
    return PlanModel(dataclasses.replace(prep, allowed=allowed), prep.plannable)


def enters_if(model: PlanModel, prep: Prepared, i: int, base: float, assign: np.ndarray,
              seconds: float, deadline: float, gap: float) -> dict | None:
    """{"value_at_least", "effort_at_most"} for excluded item i (a field is None when no
    value, or no effort, was found that brings it in); None when out of time first."""
    need = closure([i], prep.blockers)
    free = {int(j): True for j in np.flatnonzero(prep.needed)} | {j: True for j in need}
    if model.size > FULL_MODEL_COLUMNS:
        teams = {prep.team[j] for j in need}
        free = {j: True for j in free if prep.team[j] in teams}
    tol = 1e-9 * max(1.0, abs(base))

    took = [0.0]

    def run(**kw):
        # a solve costs its set-up whatever its time limit (about 0.3 s at 40,000 columns):
        # none is started that the time left could not hold as long as the last one took
        left = deadline - time.perf_counter()
        if left <= 0 or left < took[0]:
            raise TimeoutError
        t = time.perf_counter()
        try:
            return model.solve(min(seconds, left), gap, fixed=assign, free=free, **kw)
        finally:
            took[0] = time.perf_counter() - t

    quick_value, quick_effort = quick_bounds(prep, assign, i)
    value, value_done = _value_at_least(run, prep, i, base, tol, quick_value)
    effort, effort_done = _effort_at_most(run, prep, i, base, tol, quick_effort)
    if value is None and effort is None and not (value_done and effort_done):
        return None   # out of time before any answer: unknown
    return {"value_at_least": value, "effort_at_most": effort}


def _removable(prep: Prepared, assign: np.ndarray, t: int, p: int, keep: set[int]) -> list[int]:
    """Planned items of team t in period p that may be pushed out, cheapest per effort
    first: not mandatory, not kept, blocking nothing planned."""
    blocking = {b for j in np.flatnonzero(assign >= 0) for b in prep.blockers[j]}
    here = np.flatnonzero((assign == p) & (prep.team == t))
    return sorted((int(j) for j in here if not prep.forced[j] and j not in blocking and j not in keep),
                  key=lambda j: prep.impact[j] / prep.effort[j])


def _slack(prep: Prepared, assign: np.ndarray, t: int, p: int) -> float:
    return prep.capacity[t, p] - loads(prep, assign)[t, p]


def quick_bounds(prep: Prepared, assign: np.ndarray, i: int) -> tuple[float | None, float | None]:
    """Sufficient answers without a solver, by editing the current plan: pull i's
    unplanned blockers in first (each where it costs least), then, in one of i's team's
    periods, push out the planned items cheapest per effort (not mandatory, blocking
    nothing planned). The value i needs is what the edits cost; the effort i may have is
    the room freed while the edits cost less than i's own value there."""
    if prep.span.any():
        return None, None      # spread effort: leave it to the solver
    assign = assign.copy()
    group = closure([i], prep.blockers)
    keep = set(group)
    cost = 0.0
    for b in group[:-1]:
        if assign[b] >= 0:
            continue
        t, E = prep.team[b], prep.effort[b]
        best = None
        for p in range(max((assign[c] for c in prep.blockers[b]), default=0), prep.P):
            if prep.capacity[t, p] < E - TOL:
                continue
            freed, lost, out = _slack(prep, assign, t, p), 0.0, []
            for j in _removable(prep, assign, t, p, keep):
                if freed >= E - TOL:
                    break
                freed, lost = freed + prep.effort[j], lost + prep.impact[j] * prep.f[p]
                out.append(j)
            net = lost - prep.impact[b] * prep.f[p]
            if freed >= E - TOL and (best is None or net < best[0]):
                best = (net, p, out)
        if best is None:
            return None, None
        cost += best[0]
        assign[best[2]] = -1
        assign[b] = best[1]
    if any(assign[b] < 0 for b in prep.blockers[i]):
        return None, None   # a blocker cycle: leave it to the solver
    t, E = prep.team[i], prep.effort[i]
    value, effort = None, None
    for p in range(max((assign[b] for b in prep.blockers[i]), default=0), prep.P):
        lost, freed, paid = cost, _slack(prep, assign, t, p), None
        for j in [None] + _removable(prep, assign, t, p, keep):   # push out one by one
            if j is not None:
                lost += prep.impact[j] * prep.f[p]
                freed += prep.effort[j]
            if lost < prep.impact[i] * prep.f[p] - TOL and freed > TOL:
                effort = freed if effort is None else max(effort, freed)
            if paid is None and freed >= E - TOL and prep.capacity[t, p] >= E:
                paid = lost / prep.f[p]
        if paid is not None:
            value = paid if value is None else min(value, paid)
    return value, effort


def _value_at_least(run, prep: Prepared, i: int, base: float, tol: float, quick: float | None):
    """(threshold rounded up or None, finished?); an unfinished one is still sufficient.
    Newton starts from `quick` (at or above the root) when there is one."""
    value, y = (None, prep.impact[i]) if quick is None else (quick, quick)
    try:
        for _ in range(prep.P + 1):   # Newton's method on max_p(W_p + y f_p) - V*, from below
            s = run(impact={i: y}, force={i: None})
            if s.value is None:
                if s.status != "infeasible":
                    raise TimeoutError
                break
            if value is not None and s.value <= base + tol:
                break                  # at y it only ties: y is the threshold
            if value is None and s.status != "optimal":
                raise TimeoutError     # a first step from a plan cut short can land far off
            w = s.value - y * prep.f[s.assign[i]]
            nxt = (base - w) / prep.f[s.assign[i]]
            if value is not None and nxt >= value:
                break
            value = y = nxt
        done = True
    except TimeoutError:
        done = False
    return (None if value is None else round_up(max(value, prep.impact[i]))), done


def _effort_at_most(run, prep: Prepared, i: int, base: float, tol: float, quick: float | None):
    """(largest effort found with which i enters, or None; finished?). `quick` is a start
    (an item without value never enters by its effort alone)."""
    if prep.impact[i] <= 0:
        return None, True
    def slack_if_enters(e):
        s = run(effort={i: e}, force={i: None})
        if s.value is None and s.status != "infeasible":
            raise TimeoutError
        if s.value is None or s.value <= base + tol:
            return None
        t, p = prep.team[i], s.assign[i]
        others = s.assign.copy()
        others[i] = -1
        return prep.capacity[t, p] - loads(prep, others)[t, p]

    effort, done = (None, True) if quick is None else (quick, True)
    try:
        if effort is None:
            effort = slack_if_enters(0.0)
        for _ in range(JUMPS if effort is not None else 0):
            probe = effort + 1e-6 * max(1.0, prep.effort[i])
            more = slack_if_enters(probe)
            if more is None:
                break
            effort = max(more, probe)
    except TimeoutError:
        done = False
    if effort is not None:   # only an effort of 0 would do: no real effort brings it in
        effort = round_down(min(effort, prep.effort[i])) if effort > 1e-9 else None
    return effort, done


def diagnose(prep: Prepared, seconds: float) -> PlanInfeasible:
    """The solver found no plan with every mandatory item: name the team whose mandatory
    items do not fit on their own, else every mandatory item (blockers across teams)."""
    keys, teams, periods = prep.inp.keys, prep.inp.teams, prep.inp.periods
    forced = prep.forced
    for t, name in enumerate(teams):
        mine = forced & (prep.team == t)
        if not mine.any():
            continue
        local = [[b for b in bs if mine[b]] for bs in prep.blockers]
        alone = dataclasses.replace(prep, blockers=local, needed=mine, forced=mine)
        if PlanModel(alone).solve(seconds).status == "infeasible":
            items = [keys[i] for i in np.flatnonzero(mine)]
            return PlanInfeasible(
                f"the mandatory items of team {name} ({', '.join(items)}) do not fit in its "
                f"capacity per period ({', '.join(f'{p}: {c:g}' for p, c in zip(periods, prep.capacity[t]))})",
                items, [(name, p) for p in periods])
    items = [keys[i] for i in np.flatnonzero(forced)]
    touched = sorted({prep.team[i] for i in np.flatnonzero(forced)})
    return PlanInfeasible(
        f"the mandatory items ({', '.join(items)}) fit each team alone, but their blockers "
        "across teams leave no order that fits the capacities",
        items, [(teams[t], p) for t in touched for p in periods])
