"""The plan's greedy, for a batch of score orders (docs/model.md, "The plan").

One kernel serves every caller: the plan itself is a batch of one row, the uncertainty
analysis passes one row per draw (each with its own drawn impacts and order), its value
of information one row per probe. Per row, in the row's order (when `mandatory_first`:
mandatory items held to one period, by a pin or as work in progress, first, then the
other mandatory items, then the rest):
- an item with impact <= 0 that is not mandatory is skipped (it may still be pulled in
  as a blocker); an item that cannot be planned at all is skipped;
- the item and its unplanned blockers (its closure, blockers first) are placed one by
  one, each in the earliest period that its blockers' periods, its allowed periods (due
  date, pin, first period for work in progress) and its team's room admit; a spanning
  item (too big for any one period) is delivered in the earliest period whose room
  summed from the first period holds its effort, and uses that room from the first
  period on (work starts as early as it can; its delivery period keeps what is left);
- the group is kept only if all of it fits and, unless the item is mandatory, its value
  (impact x f_p) is positive; else it is undone.
With `pull_blockers=False` an item whose blockers are not all planned is skipped instead
(the ranked list placed first-fit, one of the simple plans).

Why compiled (`compiled.py`) and not numpy: the walk is sequential within a row.
Vectorised over rows, each ranked position cost a dozen numpy calls whatever the batch,
so the walk was the simulation's largest cost (5,000 items x 10,000 draws: 24 of 43 s);
compiled, a row is a plain loop and rows are spread over the cores.
"""
from __future__ import annotations

import numpy as np

from scoring.plan.compiled import by_rows, compiled
from scoring.plan.model import TOL, Prepared, closure


def _padded(rows: list[list[int]]) -> np.ndarray:
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), max(width, 1)), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def tables(prep: Prepared):
    """Per item: its closure (blockers first, itself last), its blockers, both padded with -1."""
    cached = prep.__dict__.get("_greedy_tables")
    if cached is None:
        groups = [closure([i], prep.blockers) if prep.plannable[i] else [i] for i in range(prep.n)]
        cached = (_padded(groups), np.array([len(g) for g in groups], dtype=np.int64),
                  _padded(prep.blockers))
        prep.__dict__["_greedy_tables"] = cached
    return cached


def batch_greedy(prep: Prepared, order: np.ndarray, impact: np.ndarray | None = None, *,
                 prefer: np.ndarray | None = None, start: np.ndarray | None = None,
                 mandatory_first: bool = True, pull_blockers: bool = True,
                 check_gain: bool = True) -> np.ndarray:
    """Assignments [B, n] (period index, -1 not planned) for `order` [B, m] (item indices,
    best first; items left out are never planned) and `impact` [B, n] (default: the
    prepared impact). `prefer` [n]: a period tried first when it has room; `start` [B, n]:
    a plan to complete (its load is taken as given)."""
    order = np.atleast_2d(np.asarray(order, dtype=np.int64))
    B, n = order.shape[0], prep.n
    impact = np.ascontiguousarray(np.broadcast_to(
        np.asarray(prep.impact if impact is None else impact, dtype=np.float64), (B, n)))
    # the walk's passes: pinned (one period allowed) first, then mandatory, then the rest
    tied = prep.mandatory & (prep.allowed.sum(axis=1) == 1)
    rank = np.where(tied, 0, np.where(prep.mandatory, 1, 2)).astype(np.int64)
    if not mandatory_first or not (rank < 2).any():
        rank[:] = 2
    order = np.ascontiguousarray(order)
    assign = np.full((B, n), -1, dtype=np.int8)     # at most 24 periods
    load = np.zeros((B,) + prep.capacity.shape)
    if start is not None:
        assign[:] = np.array(start, dtype=np.int8, ndmin=2)
        for b in range(B):
            load[b] = loads(prep, assign[b].astype(np.int64))
    groups, glen, blockers = tables(prep)
    prefer = np.full(n, -1, dtype=np.int64) if prefer is None else np.asarray(prefer, dtype=np.int64)
    args = (groups, glen, blockers, prep.team.astype(np.int64), prep.effort.astype(np.float64),
            np.ascontiguousarray(prep.capacity, dtype=np.float64), np.asarray(prep.f, dtype=np.float64),
            prep.span.astype(np.bool_), np.ascontiguousarray(prep.allowed, dtype=np.bool_),
            prep.mandatory.astype(np.bool_), prep.plannable.astype(np.bool_), prefer,
            rank, bool(pull_blockers), bool(check_gain), float(TOL))
    by_rows(_walk, B, (order, impact, assign, load), args)
    return assign.astype(np.int64)


@compiled
def _walk(order, impact, assign, load, groups, glen, blockers, team, effort, cap, f, span,
          allowed, mandatory, plannable, prefer, rank, pull_blockers, check_gain, tol):
    """Fill `assign` [B, n] and `load` [B, T, P] (both may hold a plan to complete), walking
    each row's order once per pass (`rank` 0, 1, 2), an item in its own pass only."""
    B, m = order.shape
    P = cap.shape[1]
    K = groups.shape[1]
    placed = np.empty(K, np.int64)
    used = np.zeros((K, P))
    free = np.empty(P)
    take = np.empty(P)
    first_pass = 0 if (rank < 2).any() else 2
    for b in range(B):
        for walk in range(first_pass, 3):
            for j in range(m):
                item = order[b, j]
                if rank[item] != walk or assign[b, item] >= 0 or not plannable[item]:
                    continue
                if not (impact[b, item] > 0 or mandatory[item]):
                    continue
                size = glen[item] if pull_blockers else 1
                ok = True
                gain = 0.0
                count = 0
                for k in range(size):
                    g = groups[item, k] if pull_blockers else item
                    if g < 0 or assign[b, g] >= 0:
                        continue
                    first = 0                       # blockers: all planned, delivered no later
                    missing = False
                    for q in range(blockers.shape[1]):
                        bl = blockers[g, q]
                        if bl < 0:
                            break
                        if assign[b, bl] < 0:
                            missing = True
                            break
                        if assign[b, bl] > first:
                            first = assign[b, bl]
                    if missing:
                        ok = False
                        break
                    t = team[g]
                    e = effort[g]
                    p = -1
                    summed = 0.0
                    for q in range(P):
                        free[q] = cap[t, q] - load[b, t, q]
                        summed += max(free[q], 0.0)
                        fits = (summed >= e - tol) if span[g] else (free[q] >= e - tol)
                        if fits and allowed[g, q] and q >= first:
                            if p < 0:
                                p = q
                            if prefer[g] == q:
                                p = q
                                break
                    if p < 0:
                        ok = False
                        break
                    for q in range(P):
                        take[q] = 0.0
                    if span[g]:
                        left = e
                        for q in range(p + 1):
                            use = min(max(free[q], 0.0), left)
                            take[q] = use
                            left -= use
                    else:
                        take[p] = e
                    for q in range(P):
                        load[b, t, q] += take[q]
                        used[count, q] = take[q]
                    assign[b, g] = p
                    placed[count] = g
                    count += 1
                    gain += impact[b, g] * f[p]
                # (an item alone, without blockers, is kept whatever its gain: it is > 0 already)
                if not ok or (check_gain and glen[item] > 1 and gain <= 0 and not mandatory[item]):
                    for k in range(count):
                        g = placed[k]
                        assign[b, g] = -1
                        for q in range(P):
                            load[b, team[g], q] -= used[k, q]


def loads(prep: Prepared, assign: np.ndarray) -> np.ndarray:
    """Team x period effort of a plan; a spanning item uses the room left from the first
    period up to its delivery (items in period order, the others first)."""
    load = np.zeros_like(prep.capacity)
    on = np.flatnonzero(assign >= 0)
    simple = on[~prep.span[on]]
    np.add.at(load, (prep.team[simple], assign[simple]), prep.effort[simple])
    for i in sorted(on[prep.span[on]], key=lambda i: assign[i]):
        t, left = prep.team[i], prep.effort[i]
        for q in range(assign[i] + 1):
            use = min(max(prep.capacity[t, q] - load[t, q], 0.0), left)
            load[t, q] += use
            left -= use
        load[t, assign[i]] += left      # over capacity: shown as such
    return load
