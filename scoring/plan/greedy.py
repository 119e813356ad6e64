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
    impact = np.ascontiguousarray(np.broadcast_to(prep.impact if impact is None else impact, (B, n)))
    if mandatory_first:   # pinned (one period allowed) first, then mandatory, then the rest
        tied = prep.mandatory & (prep.allowed.sum(axis=1) == 1)
        rank = np.where(tied[order], 0, np.where(prep.mandatory[order], 1, 2))
        order = np.take_along_axis(order, np.argsort(rank, axis=1, kind="stable"), axis=1)
    groups, glen, blockers = tables(prep)
    team, effort, cap, f = prep.team, prep.effort, prep.capacity, prep.f
    span, allowed = prep.span, prep.allowed
    # int8 periods (at most 24): the walk reads one item per row at each position, so a
    # small state stays in cache
    assign = np.full((B, n), -1, dtype=np.int8) if start is None else np.array(start, dtype=np.int8, ndmin=2)
    load = np.zeros((B,) + cap.shape)
    if start is not None:
        for b in range(B):
            load[b] = loads(prep, assign[b])
    rows = np.arange(B)
    periods = np.arange(P)
    K = groups.shape[1]
    placed = np.full((B, K), -1, dtype=np.int64)
    used = np.zeros((B, K, P))
    # the most room a team has left in one period (all of its periods, for a spanning item):
    # an item alone that is bigger cannot go in, a cheap test that skips most rows once full
    room = np.where(span_any := prep.span.any(), np.inf, 0.0) + (cap[None] - load).max(axis=2)
    alone = glen == 1
    T = cap.shape[0]
    flat_assign, flat_room, flat_load = assign.reshape(-1), room.reshape(-1), load.reshape(B * T, P)
    row_n, row_t = rows * n, rows * T
    # what does not change along the walk: worth taking (impact > 0 or mandatory) and plannable
    wanted = np.take_along_axis(impact, order, axis=1) > 0
    wanted |= prep.mandatory[order]
    wanted &= prep.plannable[order]
    order_t, wanted_t = np.ascontiguousarray(order.T, dtype=np.int32), np.ascontiguousarray(wanted.T)   # one row per position
    for j in range(order.shape[1]):
        item = order_t[j]
        go = wanted_t[j] & (flat_assign[row_n + item] < 0)
        go &= ~alone[item] | (effort[item] <= flat_room[row_t + team[item]] + TOL)
        if not go.any():
            continue
        live = rows[go]
        it = item[go]
        solo = alone[it]
        if solo.any():      # an item without blockers to place: no group to undo
            ls, gs = live[solo], it[solo]
            ts = team[gs]
            at = ls * T + ts
            free = cap[ts] - flat_load[at]
            es = effort[gs]
            fits = free >= es[:, None] - TOL
            if span_any:
                fits = np.where(span[gs][:, None], np.cumsum(np.maximum(free, 0), axis=1) >= es[:, None] - TOL, fits)
            fits &= allowed[gs]
            p = fits.argmax(axis=1)
            if prefer is not None:
                pp = prefer[gs]
                p = np.where((pp >= 0) & fits[np.arange(gs.size), np.maximum(pp, 0)], pp, p)
            a = np.flatnonzero(fits.any(axis=1))
            if a.size:
                at, pa = at[a], p[a]
                if span_any and span[gs[a]].any():
                    flat_load[at] += _takes(free[a], pa, es[a], span[gs[a]])
                else:
                    flat_load[at, pa] += es[a]
                if not span_any:
                    flat_room[at] = (cap[ts[a]] - flat_load[at]).max(axis=1)
                flat_assign[ls[a] * n + gs[a]] = pa
            if solo.all():
                continue
            live, it = live[~solo], it[~solo]
        size = int(glen[it].max()) if pull_blockers else 1
        ok = np.ones(live.size, dtype=bool)
        gain = np.zeros(live.size)
        placed[:live.size, :size] = -1
        used[:live.size, :size] = 0.0
        for k in range(size):
            g = groups[it, k] if pull_blockers else it
            sel = np.flatnonzero(ok & (g >= 0))
            if not sel.size:
                continue
            g, lr = g[sel], live[sel]
            keep = flat_assign[lr * n + g] < 0
            if not keep.all():
                sel, g, lr = sel[keep], g[keep], lr[keep]
                if not sel.size:
                    continue
            bl = blockers[g]
            bper = np.where(bl >= 0, assign[lr[:, None], np.maximum(bl, 0)], 0)
            missing = ((bl >= 0) & (bper < 0)).any(axis=1)
            first = bper.max(axis=1, initial=0)
            t = team[g]
            free = cap[t] - flat_load[lr * T + t]
            e = effort[g][:, None]
            if span_any:
                fits = np.where(span[g][:, None], np.cumsum(np.maximum(free, 0), axis=1) >= e - TOL,
                                free >= e - TOL)
            else:
                fits = free >= e - TOL
            fits &= allowed[g] & (periods[None, :] >= first[:, None])
            can = fits.any(axis=1) & ~missing
            p = fits.argmax(axis=1)
            if prefer is not None:
                pp = prefer[g]
                p = np.where((pp >= 0) & fits[np.arange(sel.size), np.maximum(pp, 0)], pp, p)
            ok[sel[~can]] = False
            a = np.flatnonzero(can)
            if not a.size:
                continue
            ga, ta, pa, ea, ra = g[a], t[a], p[a], effort[g[a]], lr[a]
            take = _takes(free[a], pa, ea, span[ga])
            at = ra * T + ta
            flat_load[at] += take
            if not span_any:
                flat_room[at] = (cap[ta] - flat_load[at]).max(axis=1)
            flat_assign[ra * n + ga] = pa
            placed[sel[a], k] = ga
            used[sel[a], k] = take
            gain[sel[a]] += impact[ra, ga] * f[pa]
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
                if not span_any:
                    room[live[r], team[gk]] = (cap[team[gk]] - load[live[r], team[gk]]).max(axis=1)
    return assign.astype(np.int64)


def _takes(free: np.ndarray, period: np.ndarray, effort: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Effort per period [m, P] of items placed in `period`: all of it there, or for a
    spanning item the room `free` from the first period on."""
    m, P = free.shape
    take = np.zeros((m, P))
    simple = ~spans
    take[np.flatnonzero(simple), period[simple]] = effort[simple]
    if not simple.all():
        s = np.flatnonzero(spans)
        left = effort[s].copy()
        avail = np.maximum(free[s], 0)
        for q in range(P):
            use = np.where(q <= period[s], np.minimum(avail[:, q], left), 0.0)
            take[s, q] = use
            left -= use
    return take


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
