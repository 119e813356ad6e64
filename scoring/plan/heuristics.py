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

- `first_fit_plan`: the ranked list placed first-fit by team and period under the plan's
  rules (blockers placed first, not pulled in); `prefix_cut_value`: the roadmap's cut line
  (the ranked prefix that fits the total capacity) placed like the cut.

All return an assignment: period index per item, -1 when not planned.
"""
from __future__ import annotations

import numpy as np

from scoring.plan.greedy import batch_greedy
from scoring.plan.model import TOL, Prepared


def plan_value(prep: Prepared, assign: np.ndarray) -> float:
    on = assign >= 0
    return float((prep.impact[on] * prep.f[assign[on]]).sum())


def greedy_plan(prep: Prepared, order: list[int] | None = None,
                prefer: np.ndarray | None = None, start: np.ndarray | None = None) -> np.ndarray:
    """The greedy plan over `order` (default: the ranked order), mandatory items first;
    each item goes in its `prefer`red period when it has room, else the earliest.
    From `start`, it completes a plan: what still fits and pays goes in. (The batch
    greedy of `scoring.plan.greedy`, one row.)"""
    order = prep.order if order is None else order
    return batch_greedy(prep, np.asarray(order, dtype=np.int64)[None, :], prefer=prefer,
                        start=None if start is None else start[None, :])[0]


def first_fit_plan(prep: Prepared) -> np.ndarray:
    """The ranked list placed first-fit by team and period: every item in rank order
    (mandatory ones not first), in the earliest period with room, once its blockers are
    placed (no pulling them in); items with impact <= 0 left out."""
    return batch_greedy(prep, np.asarray(prep.order, dtype=np.int64)[None, :], mandatory_first=False,
                        pull_blockers=False, check_gain=False)[0]


def prefix_cut_value(prep: Prepared) -> float:
    """The plain cut of the ranked list as the roadmap draws it: the longest prefix whose
    total effort fits the total capacity, placed like `cut_plan`, counted the same way."""
    effort = prep.effort[prep.order]
    fits = np.cumsum(effort) <= prep.capacity.sum() + TOL
    size = int(fits.argmin()) if not fits.all() else len(fits)
    assign, counts = cut_plan(prep, prep.order[:size])
    return plan_value(prep, np.where(counts, assign, -1))


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


def cut_plan(prep: Prepared, order: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The cut's placement and which placed items count (see the module's docstring)."""
    assign = np.full(prep.n, -1)
    load = np.zeros_like(prep.capacity)
    for i in (prep.order if order is None else order):
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
