"""The plan's greedy, vectorised over a batch of score orders (docs/model.md, "The plan").

One walk over ranked positions serves every row of a batch: the plan itself is a batch of
one, the uncertainty analysis passes one row per draw (each with its own drawn impacts
and order), its value of information one row per probe. Per row, in the row's order
(when `mandatory_first`: mandatory items held to one period, by a pin or as work in
progress, first, then the other mandatory items, then the rest):
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

Cost: one pass over the n positions, each a few numpy operations over the batch and one
inner step per member of the largest group met at that position.
"""
from __future__ import annotations

import numpy as np

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
    B, n, P = order.shape[0], prep.n, prep.P
    impact = np.broadcast_to(prep.impact if impact is None else impact, (B, n))
    if mandatory_first:   # pinned (one period allowed) first, then mandatory, then the rest
        tied = prep.mandatory & (prep.allowed.sum(axis=1) == 1)
        rank = np.where(tied[order], 0, np.where(prep.mandatory[order], 1, 2))
        order = np.take_along_axis(order, np.argsort(rank, axis=1, kind="stable"), axis=1)
    groups, glen, blockers = tables(prep)
    team, effort, cap, f = prep.team, prep.effort, prep.capacity, prep.f
    span, allowed = prep.span, prep.allowed
    assign = np.full((B, n), -1, dtype=np.int64) if start is None else np.array(start, dtype=np.int64, ndmin=2)
    load = np.zeros((B,) + cap.shape)
    if start is not None:
        for b in range(B):
            load[b] = loads(prep, assign[b])
    rows = np.arange(B)
    periods = np.arange(P)
    K = groups.shape[1]
    placed = np.full((B, K), -1, dtype=np.int64)
    used = np.zeros((B, K, P))
    for j in range(order.shape[1]):
        item = order[:, j]
        go = (assign[rows, item] < 0) & prep.plannable[item]
        go &= (impact[rows, item] > 0) | prep.mandatory[item]
        if not go.any():
            continue
        live = rows[go]
        it = item[go]
        size = int(glen[it].max()) if pull_blockers else 1
        ok = np.ones(live.size, dtype=bool)
        gain = np.zeros(live.size)
        placed[:live.size, :size] = -1
        used[:live.size, :size] = 0.0
        for k in range(size):
            g = groups[it, k] if pull_blockers else np.where(k == 0, it, -1)
            todo = ok & (g >= 0)
            g = np.where(todo, g, 0)
            todo &= assign[live, g] < 0
            if not todo.any():
                continue
            bl = blockers[g]
            bper = np.where(bl >= 0, assign[live[:, None], np.maximum(bl, 0)], 0)
            missing = ((bl >= 0) & (bper < 0)).any(axis=1)
            first = bper.max(axis=1, initial=0)
            t = team[g]
            free = cap[t] - load[live, t]
            e = effort[g][:, None]
            fits = np.where(span[g][:, None], np.cumsum(np.maximum(free, 0), axis=1) >= e - TOL,
                            free >= e - TOL)
            fits &= allowed[g] & (periods[None, :] >= first[:, None])
            can = fits.any(axis=1) & ~missing
            p = fits.argmax(axis=1)
            if prefer is not None:
                pp = prefer[g]
                p = np.where((pp >= 0) & fits[np.arange(live.size), np.maximum(pp, 0)], pp, p)
            ok &= ~todo | can
            act = todo & can
            if not act.any():
                continue
            a = np.flatnonzero(act)
            ga, ta, pa, ea = g[a], t[a], p[a], effort[g[a]]
            take = np.zeros((a.size, P))
            simple = ~span[ga]
            take[np.flatnonzero(simple), pa[simple]] = ea[simple]
            if (~simple).any():
                s = np.flatnonzero(~simple)
                left = ea[s].copy()
                room = np.maximum(free[a[s]], 0)
                for q in range(P):
                    use = np.where(q <= pa[s], np.minimum(room[:, q], left), 0.0)
                    take[s, q] = use
                    left -= use
            load[live[a], ta] += take
            assign[live[a], ga] = pa
            placed[a, k] = ga
            used[a, k] = take
            gain[a] += impact[live[a], ga] * f[pa]
        undo = ~ok
        if check_gain:
            undo |= (gain <= 0) & ~prep.mandatory[it]
        back = np.flatnonzero(undo)
        for k in range(size if back.size else 0):
            gk = placed[back, k]
            r = back[gk >= 0]
            if r.size:
                gk = placed[r, k]
                assign[live[r], gk] = -1
                load[live[r], team[gk]] -= used[r, k]
    return assign


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
