"""The plan's plain data: its input, its result, the infeasibility error, and `prepare`.

`prepare` turns a `PlanInput` into a `Prepared` problem: blockers resolved to indices
(done blockers dropped, unknown ones flagged), the pre-solve reductions (effort above
every capacity of the team, blocked by something that cannot be planned, periods too
early for a blocker), the items worth planning, and the cheap mandatory checks that raise
`PlanInfeasible` before any solver runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scoring.errors import Conflict

TOL = 1e-9
EFFORT_TOO_BIG = "effort above any period's capacity"
NO_VALUE = "no value: impact <= 0 and it blocks nothing planned"


@dataclass
class PlanInput:
    """One planning problem, as plain data (arrays indexed by item).

    `order` is the ranked order (item indices, best score first); items missing from it
    follow in key order. `team` holds an index into `teams`; `capacity[t][p]` is team
    t's effort in period p. Done items count as delivered blockers and are never planned.
    """
    keys: list[str]
    impact: np.ndarray
    effort: np.ndarray
    order: np.ndarray
    team: np.ndarray
    done: np.ndarray
    blocked_by: list[tuple[str, ...]]
    mandatory: np.ndarray
    teams: list[str]
    periods: list[str]
    capacity: np.ndarray
    value_of_time: str = "linear"
    solver_seconds: float = 5.0
    mip_gap: float = 1e-4           # HiGHS stops once the proven relative gap is this small
    explain_top: int = 10           # how many excluded items get `enters_if`
    explain_seconds: float | None = None  # budget for `enters_if` (default: solver_seconds)
    latest: np.ndarray | None = None   # per item, the last period it may be delivered in (due date); -1: none
    pin: np.ndarray | None = None      # per item, the period it is pinned to, else -1
    in_progress: np.ndarray | None = None  # committed: mandatory, delivered in the first period it can be
    spanning: bool = True              # an item too big for any one period may spread its effort
    why: list[str | None] | None = None    # per item, a reason from the caller it cannot be planned
    greedy_only: bool = False          # the greedy plan at once (status "greedy"), no solver
    cpu_budget: bool = True            # solver_seconds counted in CPU seconds (wall-clock stretched, at most 3x)


class PlanInfeasible(Conflict):
    """The mandatory items cannot all be planned: 422, exit 2.

    `items` names the mandatory items (and the blockers they force) in conflict;
    `overflows` the team-periods `(team, period)` whose capacity they exceed.
    """
    status, code = 422, "infeasible"

    def __init__(self, message: str, items: list[str], overflows: list[tuple[str, str]]):
        super().__init__(message)
        self.items = items
        self.overflows = overflows


@dataclass
class PlanResult:
    """The plan; `as_dict()` has the shape of docs/cli.md's `plan --format json`
    (without `as_of` and the titles, which the application adds).

    `planned` rows: key, team, period, effort, impact, value (= impact · f_p), ordered by
    period, team, rank. `load`: one row per period and team. `excluded`: every item not
    done and not planned, in rank order, with `reason` and `enters_if`: for the best
    `explain_top` plannable ones {"value_at_least": impact it would need (not impact · f_p),
    "effort_at_most": effort it would need}, a field None when none brings it in (or none
    was found in time on large backlogs); `enters_if` itself is None for the other items
    and for those the time budget did not reach. "Enters" means every optimal plan holds it.
    """
    periods: list[str]
    teams: list[str]
    status: str                      # optimal | time-limit | greedy (no solver run)
    gap: float | None                # proven relative gap: (bound - value) / value
    value: float
    greedy_value: float
    cut_value: float
    planned: list[dict]
    load: list[dict]
    excluded: list[dict]
    solve_seconds: float = 0.0       # the LP floor, its polish and the main MILP (wall-clock)
    solve_cpu_seconds: float = 0.0   # the same in CPU seconds of this process
    enters_if_seconds: float = 0.0   # every re-solve behind `enters_if`
    bound: float | None = None       # the solver's proven upper bound on the value
    assignment: dict[str, str] = field(default_factory=dict)  # key -> period
    first_fit_value: float = 0.0     # the ranked list placed first-fit by team and period
    prefix_cut_value: float = 0.0    # the roadmap's cut line: the ranked prefix that fits the capacity
    greedy_assignment: dict[str, str] = field(default_factory=dict)  # the greedy plan, key -> period
    notes: list[str] = field(default_factory=list)   # rules relaxed (work in progress that does not fit)

    def simple_plans(self) -> dict[str, float]:
        return {"greedy": self.greedy_value, "cut": self.cut_value, "first_fit": self.first_fit_value,
                "prefix_cut": self.prefix_cut_value}

    def as_dict(self) -> dict:
        simple = self.simple_plans()
        best = max(simple, key=lambda k: simple[k])
        return {"periods": list(self.periods), "teams": list(self.teams), "status": self.status,
                "gap": self.gap, "value": self.value, "greedy_value": self.greedy_value,
                "cut_value": self.cut_value, "planned": self.planned, "load": self.load,
                "excluded": self.excluded, "first_fit_value": self.first_fit_value,
                "prefix_cut_value": self.prefix_cut_value, "simple_plans": simple, "notes": list(self.notes),
                "best_simple": {"name": best, "value": simple[best],
                                "gain": (self.value / simple[best] - 1) if simple[best] > 0 else None}}


@dataclass
class Prepared:
    inp: PlanInput
    n: int
    P: int
    impact: np.ndarray
    effort: np.ndarray
    team: np.ndarray
    capacity: np.ndarray             # teams x periods
    f: np.ndarray                    # value of delivery per period
    order: list[int]                 # ranked order of the items that are not done
    blockers: list[list[int]]        # blockers not done, as indices
    allowed: np.ndarray              # n x P: item i may go in period p
    reason: list[str | None]         # why an item cannot be planned (pre-solve)
    plannable: np.ndarray            # not done, no reason
    needed: np.ndarray               # plannable and worth planning (value, mandatory, or blocks one)
    forced: np.ndarray               # mandatory, or a blocker of a mandatory item
    mandatory: np.ndarray
    span: np.ndarray = None          # spreads its effort over the periods up to its delivery
    notes: list[str] = field(default_factory=list)   # rules relaxed, said to the user


def time_factors(P: int, value_of_time: str) -> np.ndarray:
    """f_p = (P - p + 1) / P (linear) or 1 (none), for p = 1..P.

    >>> time_factors(4, "linear").tolist()
    [1.0, 0.75, 0.5, 0.25]
    """
    if value_of_time == "none":
        return np.ones(P)
    if value_of_time != "linear":
        raise ValueError(f"value_of_time must be 'linear' or 'none', not {value_of_time!r}")
    return (P - np.arange(P)) / P


def closure(start: list[int], blockers: list[list[int]]) -> list[int]:
    """`start` and every item they transitively need, blockers first (DFS post-order)."""
    seen: set[int] = set()
    out: list[int] = []
    for s in start:
        if s in seen:
            continue
        seen.add(s)
        stack = [(s, iter(blockers[s]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                out.append(node)
            elif nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(blockers[nxt])))
    return out


def prepare(inp: PlanInput, check: bool = True) -> Prepared:
    n, P = len(inp.keys), len(inp.periods)
    impact = np.asarray(inp.impact, dtype=float)
    effort = np.asarray(inp.effort, dtype=float)
    team = np.asarray(inp.team, dtype=int)
    done = np.asarray(inp.done, dtype=bool)
    mandatory = np.asarray(inp.mandatory, dtype=bool) & ~done
    capacity = np.asarray(inp.capacity, dtype=float)
    if capacity.shape != (len(inp.teams), P):
        raise ValueError(f"plan input: capacity is {capacity.shape}, expected (teams, periods) = "
                         f"({len(inp.teams)}, {P})")
    for name, arr in (("impact", impact), ("effort", effort), ("team", team), ("done", done),
                      ("mandatory", inp.mandatory), ("blocked_by", inp.blocked_by)):
        if len(arr) != n:
            raise ValueError(f"plan input: {name} has {len(arr)} entries for {n} keys")
    if (effort <= 0).any() or not np.isfinite(impact).all() or not np.isfinite(effort).all():
        raise ValueError("plan input: every effort must be > 0 and every impact finite")
    if n and (team.min() < 0 or team.max() >= len(inp.teams)):
        raise ValueError("plan input: a team index is outside `teams`")
    index = {k: i for i, k in enumerate(inp.keys)}
    seen = set()
    order = []
    for i in list(np.asarray(inp.order, dtype=int)) + sorted(range(n), key=lambda j: inp.keys[j]):
        if i not in seen and not done[i]:
            seen.add(i)
            order.append(int(i))
    reason: list[str | None] = [None] * n
    blockers: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for b in inp.blocked_by[i]:
            j = index.get(b)
            if j is None:
                reason[i] = reason[i] or f"blocked-by-unknown:{b}"
            elif not done[j] and j != i and j not in blockers[i]:
                blockers[i].append(j)
    for i, why in enumerate(inp.why or ()):
        if why and reason[i] is None:
            reason[i] = why
    allowed = capacity[team] >= effort[:, None] - TOL
    span = np.zeros(n, dtype=bool)
    if inp.spanning:
        span = ~allowed.any(axis=1)
        allowed[span] = np.cumsum(capacity[team[span]], axis=1) >= effort[span, None] - TOL
    latest = np.full(n, P - 1) if inp.latest is None else np.asarray(inp.latest, dtype=int)
    pin = np.full(n, -1) if inp.pin is None else np.asarray(inp.pin, dtype=int)
    in_progress = np.zeros(n, dtype=bool) if inp.in_progress is None else np.asarray(inp.in_progress, dtype=bool)
    for i in range(n):
        if reason[i] is None and not allowed[i].any():
            reason[i] = EFFORT_TOO_BIG
            continue
        fit = allowed[i].copy()
        allowed[i, latest[i] + 1:] = False
        if reason[i] is None and not allowed[i].any():
            reason[i] = (f"due before {inp.periods[0]} ends" if latest[i] < 0 else
                         f"due by the end of {inp.periods[latest[i]]}; its effort fits no period up to it")
        if pin[i] >= 0:
            allowed[i] &= np.arange(P) == pin[i]
            if reason[i] is None and not allowed[i].any():
                reason[i] = (f"pinned to {inp.periods[pin[i]]}, "
                             + ("after its due date" if pin[i] > latest[i] else
                                "where its effort does not fit" if not fit[pin[i]] else "where it cannot go"))
    # an item goes no earlier than its blockers can: propagate to a fixed point
    earliest = np.where(allowed.any(axis=1), allowed.argmax(axis=1), P)
    for i in range(n):
        if reason[i] is not None or done[i]:
            earliest[i] = P
    changed = True
    while changed:
        changed = False
        for i in range(n):
            if done[i] or earliest[i] >= P:
                continue
            need = max((earliest[b] for b in blockers[i]), default=0)
            new = earliest[i]
            while new < P and (new < need or not allowed[i, new]):
                new += 1
            if new != earliest[i]:
                earliest[i], changed = new, True
    for i in range(n):
        if reason[i] is None and not done[i] and earliest[i] >= P:
            bad = [b for b in blockers[i] if earliest[b] >= P]
            reason[i] = (f"blocked by {inp.keys[bad[0]]}, which cannot be planned" if bad
                         else "its blockers cannot be planned early enough")
        allowed[i, :min(earliest[i], P)] = False
        if reason[i] is not None and reason[i].startswith("pinned"):
            continue
        if reason[i] is None and pin[i] >= 0 and not allowed[i].any():
            reason[i] = f"pinned to {inp.periods[pin[i]]}, before its blockers can be delivered"
    notes = commit_in_progress(inp, allowed, reason, in_progress & ~done & (pin < 0) & (latest >= P - 1),
                               team, effort, capacity, span)
    mandatory = mandatory | ((pin >= 0) | in_progress) & ~done
    plannable = ~done & np.array([r is None for r in reason], dtype=bool)
    seeds = [i for i in range(n) if plannable[i] and (impact[i] > 0 or mandatory[i])]
    needed = np.zeros(n, dtype=bool)
    needed[closure(seeds, blockers)] = True
    needed &= plannable
    forced = np.zeros(n, dtype=bool)
    forced[closure([i for i in range(n) if mandatory[i]], blockers)] = True
    prep = Prepared(inp, n, P, impact, effort, team, capacity, time_factors(P, inp.value_of_time),
                    order, blockers, allowed, reason, plannable, needed, forced, mandatory, span)
    prep.notes = notes
    if check:
        check_mandatory(prep)
    return prep


def commit_in_progress(inp: PlanInput, allowed: np.ndarray, reason: list, held: np.ndarray, team: np.ndarray,
                       effort: np.ndarray, capacity: np.ndarray, span: np.ndarray) -> list[str]:
    """Work in progress (without a due date or pin) is delivered in the first period it can
    be: per team, when the first period holds all of it; when it does not, the items stay
    committed (mandatory), in any period, and a note says so."""
    notes = []
    for t in range(capacity.shape[0]):
        mine = [i for i in np.flatnonzero(held & (team == t)) if reason[i] is None and allowed[i].any()]
        if not mine:
            continue
        first = {i: int(allowed[i].argmax()) for i in mine}
        need = {}
        for i in mine:
            if not span[i]:
                need[first[i]] = need.get(first[i], 0.0) + effort[i]
        over = [p for p, e in need.items() if e > capacity[t, p] + TOL]
        if over or any(span[i] for i in mine):
            notes.append(f"work in progress of team {inp.teams[t]} ({', '.join(inp.keys[i] for i in mine)}) "
                         f"does not all fit {inp.periods[min(first.values())]}: committed to the plan, "
                         "in whichever periods hold it")
            continue
        for i in mine:
            allowed[i] = np.arange(allowed.shape[1]) == first[i]
    return notes


def check_mandatory(prep: Prepared) -> None:
    """The cheap refusals: a forced item that cannot be planned, or a team whose forced
    effort exceeds its capacity over the whole horizon."""
    keys, periods, teams = prep.inp.keys, prep.inp.periods, prep.inp.teams
    forced = np.flatnonzero(prep.forced)
    stuck = [i for i in forced if not prep.plannable[i]]
    if stuck:
        items = sorted({keys[i] for i in stuck} | {keys[i] for i in forced if prep.mandatory[i]
                                                   and set(closure([i], prep.blockers)) & set(stuck)})
        why = "; ".join(f"{keys[i]}: {prep.reason[i]}" for i in stuck)
        overflows = [(teams[prep.team[i]], p) for i in stuck if prep.reason[i] == EFFORT_TOO_BIG
                     for p in periods]
        raise PlanInfeasible(f"mandatory items cannot be planned ({why})", items, overflows)
    for t, name in enumerate(teams):
        mine = [i for i in forced if prep.team[i] == t]
        need, have = prep.effort[mine].sum(), prep.capacity[t].sum()
        if need > have + TOL:
            raise PlanInfeasible(
                f"mandatory effort of team {name} is {need:g}, above its capacity of {have:g} "
                f"over {periods[0]}..{periods[-1]} (items: {', '.join(keys[i] for i in mine)})",
                [keys[i] for i in mine], [(name, p) for p in periods])
