"""The two baselines the optimal plan is measured against.

- `greedy_plan`: the dependency-aware greedy plan. Mandatory items first, then the rest,
  each in score order; an item pulls in its unplanned blockers first (transitively), and
  each goes in the earliest period with room on its team, no earlier than its blockers.
  The group is kept only if all of it fits and, for an item that is not mandatory, it adds
  value. Items with impact <= 0 are only ever pulled in as blockers.
- `cut_plan`: the plain cut of the ranked list, as a sort-based scheduler does it: every
  item that is not done, in rank order, in the earliest period with room on its team,
  blockers ignored. Its value counts `I_i * f_p` for the placed items whose blockers are
  all done or placed in a period no later and themselves counted (an unknown blocker never
  counts); a placed item whose blockers are missing or later delivers nothing.

Both return an assignment: period index per item, -1 when not planned.
"""
from __future__ import annotations

import numpy as np

from scoring.plan.model import TOL, Prepared, closure


def plan_value(prep: Prepared, assign: np.ndarray) -> float:
    on = assign >= 0
    return float((prep.impact[on] * prep.f[assign[on]]).sum())


def greedy_plan(prep: Prepared, order: list[int] | None = None,
                prefer: np.ndarray | None = None, start: np.ndarray | None = None) -> np.ndarray:
    """The greedy plan over `order` (default: the ranked order), mandatory items first;
    each item goes in its `prefer`red period when it has room, else the earliest (a
    mandatory item whose group does not fit that way is placed earliest-first).
    From `start`, it completes a plan: what still fits and pays goes in."""
    assign = np.full(prep.n, -1) if start is None else start.copy()
    load = np.zeros_like(prep.capacity)
    on = np.flatnonzero(assign >= 0)
    np.add.at(load, (prep.team[on], assign[on]), prep.effort[on])
    order = prep.order if order is None else order
    order = [i for i in order if prep.mandatory[i]] + [i for i in order if not prep.mandatory[i]]
    for i in order:
        if assign[i] >= 0 or not prep.needed[i] or (prep.impact[i] <= 0 and not prep.mandatory[i]):
            continue
        group = [j for j in closure([i], prep.blockers) if assign[j] < 0]
        placed = _place(prep, group, assign, load, prefer)
        if placed is None and prefer is not None and prep.mandatory[i]:
            placed = _place(prep, group, assign, load)
        if placed is None:
            continue
        gain = sum(prep.impact[j] * prep.f[p] for j, p in placed)
        if gain <= 0 and not prep.mandatory[i]:
            for j, p in placed:
                assign[j] = -1
                load[prep.team[j], p] -= prep.effort[j]
    return assign


def _place(prep: Prepared, group: list[int], assign: np.ndarray, load: np.ndarray,
           prefer: np.ndarray | None = None):
    """Place `group` (blockers first) in the earliest periods with room; undo and return
    None unless all of it fits with every blocker no later than what it blocks."""
    placed: list[tuple[int, int]] = []
    for j in group:
        start = max((assign[b] for b in prep.blockers[j] if assign[b] >= 0), default=0)
        t = prep.team[j]
        periods = list(range(start, prep.P))
        if prefer is not None and prefer[j] > start:
            periods.remove(prefer[j])
            periods.insert(0, prefer[j])
        spot = next((p for p in periods if prep.allowed[j, p]
                     and load[t, p] + prep.effort[j] <= prep.capacity[t, p] + TOL), None)
        if spot is None:
            break
        assign[j] = spot
        load[t, spot] += prep.effort[j]
        placed.append((j, spot))
    ok = len(placed) == len(group) and all(
        0 <= assign[b] <= assign[j] for j in group for b in prep.blockers[j])
    if ok:
        return placed
    for j, p in placed:
        assign[j] = -1
        load[prep.team[j], p] -= prep.effort[j]
    return None


def lp_rounded_plan(prep: Prepared, cols: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """A floor from the LP relaxation `x` over columns (item, period): the greedy placement
    over the items by their LP share (ties: ranked order), each in its LP period first."""
    col_item, col_period = cols
    share = np.zeros(prep.n)
    np.add.at(share, col_item, x)
    best = np.full(prep.n, -1.0)
    prefer = np.zeros(prep.n, dtype=int)
    for c in np.argsort(x, kind="stable"):  # the largest share of each item wins
        best[col_item[c]], prefer[col_item[c]] = x[c], col_period[c]
    rank = {i: r for r, i in enumerate(prep.order)}
    order = sorted(prep.order, key=lambda i: (-round(share[i], 6), rank[i]))
    plan = greedy_plan(prep, order, prefer)
    missing = [i for i in order if prep.mandatory[i] and plan[i] < 0]
    if missing:  # the preferred periods left a mandatory item out: it goes first
        plan = greedy_plan(prep, missing + [i for i in order if i not in set(missing)], prefer)
    return plan


def cut_plan(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """The cut's placement and which placed items count (see the module's docstring)."""
    assign = np.full(prep.n, -1)
    load = np.zeros_like(prep.capacity)
    for i in prep.order:
        t = prep.team[i]
        spot = next((p for p in range(prep.P)
                     if load[t, p] + prep.effort[i] <= prep.capacity[t, p] + TOL), None)
        if spot is not None:
            assign[i] = spot
            load[t, spot] += prep.effort[i]
    unknown = np.array([bool(r and r.startswith("blocked-by-unknown:")) for r in prep.reason], dtype=bool)
    counts = (assign >= 0) & ~unknown
    changed = True
    while changed:  # the largest set closed under "my blockers count and are no later"
        changed = False
        for i in np.flatnonzero(counts):
            if not all(counts[b] and assign[b] <= assign[i] for b in prep.blockers[i]):
                counts[i], changed = False, True
    return assign, counts


def cut_value(prep: Prepared) -> float:
    assign, counts = cut_plan(prep)
    return plan_value(prep, np.where(counts, assign, -1))
