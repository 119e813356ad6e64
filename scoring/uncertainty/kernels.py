"""The simulation's per-draw loops, compiled (`scoring.plan.compiled`) and spread over the
cores by rows (draws): one pass per draw where numpy needed a temporary array per step.

- `add_contributions`: every link's drawn contribution summed into its item's impact;
- `ranking_orders`: each draw's ranking (score desc, then impact desc, then key asc).
"""
from __future__ import annotations

import numpy as np

from scoring.plan.compiled import by_rows, compiled


def add_contributions(out: np.ndarray, happens: np.ndarray, normal: np.ndarray, value: np.ndarray,
                      link_item: np.ndarray, link_mean: np.ndarray, ranged: np.ndarray,
                      link_sd: np.ndarray) -> None:
    """out[r, item] += (mean + sd · normal[r, ranged]) · value[r] over the links whose effect
    `happens` [m, L] in draw r, in link order; `ranged` [L] indexes `normal` [m, R] (-1:
    a point estimate); `value` [m, L] (a broadcast row is fine)."""
    by_rows(_contributions, out.shape[0], (out, happens, normal, value),
            (link_item, link_mean, ranged, link_sd))


@compiled
def _contributions(out, happens, normal, value, link_item, link_mean, ranged, link_sd):
    m, L = happens.shape
    for r in range(m):
        for j in range(L):
            if happens[r, j]:
                lift = link_mean[j]
                k = ranged[j]
                if k >= 0:
                    lift = lift + link_sd[j] * normal[r, k]
                out[r, link_item[j]] += lift * value[r, j]


def ranking_orders(score: np.ndarray, impact: np.ndarray, key_rank: np.ndarray) -> np.ndarray:
    """[m, n] items by score desc, then impact desc, then key asc, per row of `score`."""
    by_key = np.argsort(key_rank, kind="stable").astype(np.int64)
    order = np.empty(score.shape, np.int64)
    by_rows(_orders, score.shape[0], (order, score, impact), (by_key,))
    return order


@compiled
def _orders(order, score, impact, by_key):
    """One stable sort by score of the items in key order; a run of equal scores whose
    impacts differ is then sorted stably by impact (rare: scores are rounded ratios)."""
    m, n = score.shape
    s = np.empty(n)
    for r in range(m):
        for c in range(n):
            s[c] = -score[r, by_key[c]]
        o = np.argsort(s, kind="mergesort")
        for c in range(n):
            order[r, c] = by_key[o[c]]
        c = 0
        while c < n:
            e = c + 1
            while e < n and s[o[e]] == s[o[c]]:
                e += 1
            if e - c > 1:
                differ = False
                for q in range(c + 1, e):
                    if impact[r, order[r, q]] != impact[r, order[r, c]]:
                        differ = True
                        break
                if differ:
                    run = order[r, c:e].copy()
                    neg = np.empty(e - c)
                    for q in range(e - c):
                        neg[q] = -impact[r, run[q]]
                    w = np.argsort(neg, kind="mergesort")
                    for q in range(e - c):
                        order[r, c + q] = run[w[q]]
            c = e
