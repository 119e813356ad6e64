"""Who overtook whom between two rankings (docs/model.md, "What moved"): per
item, the nearest items that overtook it and that it overtook, vectorised with numpy so a
diff of 50,000 items stays fast."""
from __future__ import annotations

import numpy as np


def _counts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For dense ranks `a` (a permutation of 0..n-1) in B's order: per position, how
    many items overtook it (before it, larger in A) and how many it overtook (after it,
    smaller in A). A bottom-up merge sort in numpy: at each width, every element of a
    right half counts the larger elements of its left half with one searchsorted."""
    n = len(a)
    greater_before = np.zeros(n, dtype=np.int64)
    vals, origin, pos = a.astype(np.int64), np.arange(n), np.arange(n)
    w = 1
    while w < n:
        pair = pos // (2 * w)
        right = pos % (2 * w) >= w
        keys = pair * n + vals                  # sorted within each half already
        left = keys[~right]
        below = np.searchsorted(left, keys[right], side="right")
        end = np.searchsorted(left, (pair[right] + 1) * n, side="left")
        greater_before[origin[right]] += end - below
        order = np.argsort(keys, kind="stable")
        vals, origin = vals[order], origin[order]
        w *= 2
    smaller_after = a - (np.arange(n) - greater_before)
    return greater_before, smaller_after


def _overtaking(order_b: list[str], rank_a: dict[str, int], cap: int) -> dict[str, tuple[list[str], list[str]]]:
    """For each common item (in B's order): the nearest `cap` items that overtook it
    (behind it in A, ahead in B) and that it overtook (ahead in A, behind in B). Looks at
    neighbours in B's order, nearest first, vectorised by distance; an item whose lists
    are still short while more exist (known from the counts) gets one full scan."""
    n = len(order_b)
    a = np.argsort(np.argsort(np.array([rank_a[k] for k in order_b]), kind="stable"), kind="stable")
    n_ahead, n_behind = _counts(a)
    need_ahead, need_behind = np.minimum(n_ahead, cap), np.minimum(n_behind, cap)
    ahead, behind = np.zeros((n, cap), np.int64), np.zeros((n, cap), np.int64)
    got_ahead, got_behind = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for d in range(1, min(n, 64)):
        if (got_ahead >= need_ahead).all() and (got_behind >= need_behind).all():
            break
        q = np.flatnonzero(a[:n - d] > a[d:])          # q overtook q + d
        t = q + d
        ok = got_ahead[t] < cap
        ahead[t[ok], got_ahead[t[ok]]] = q[ok]
        got_ahead[t[ok]] += 1
        ok = got_behind[q] < cap
        behind[q[ok], got_behind[q[ok]]] = t[ok]
        got_behind[q[ok]] += 1
    lists_ahead = [ahead[q, :got_ahead[q]].tolist() for q in range(n)]
    lists_behind = [behind[q, :got_behind[q]].tolist() for q in range(n)]
    for q in np.flatnonzero(got_ahead < need_ahead).tolist():
        lists_ahead[q] = np.flatnonzero(a[:q] > a[q])[::-1][:cap].tolist()
    for q in np.flatnonzero(got_behind < need_behind).tolist():
        lists_behind[q] = (np.flatnonzero(a[q + 1:] < a[q])[:cap] + q + 1).tolist()
    ahead, behind = lists_ahead, lists_behind
    return {order_b[q]: ([order_b[j] for j in ahead[q]], [order_b[j] for j in behind[q]]) for q in range(n)}
