"""The decision D(s) of the uncertainty analysis (docs/model.md, "Uncertainty"): the plan's
own greedy run on drawn scores, under every rule of the plan, for a batch of rows at once
(one row per draw, or per probe of the value of information).

With a plan (`Prepared.plan`): pinned and mandatory items first, blockers before what they
block, each team's capacity in each period, due dates, spanning, items whose drawn impact
is <= 0 only when mandatory or blocking a taken item, an unplannable item never
(`scoring.plan.greedy.batch_greedy`). Without one: the top N by drawn score among items
with a drawn impact > 0.
"""
from __future__ import annotations

import numpy as np

from scoring.plan.greedy import batch_greedy
from scoring.uncertainty.inputs import Prepared


def decide(p: Prepared, impact: np.ndarray, order: np.ndarray) -> np.ndarray:
    """taken [B, n] for drawn `impact` [B, n] and each row's `order` [B, n] (eligible
    indices, best drawn score first)."""
    B, n = impact.shape
    taken = np.zeros((B, n), dtype=bool)
    if n == 0:
        return taken
    if p.plan is None:
        head = order[:, :p.top]
        rows = np.arange(B)[:, None]
        taken[rows, head] = impact[rows, head] > 0
        return taken
    full = np.zeros((B, p.plan.n))
    full[:, p.ids] = impact
    assign = batch_greedy(p.plan, p.ids[order], full)
    return assign[:, p.ids] >= 0


def insert_orders(base: np.ndarray, item: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """Rows of `base` (one order [n]) with `item[r]` moved to position `slot[r]` among the
    others (0: first). [R, n]."""
    n = base.size
    if n == 1:
        return np.asarray(item, np.int64)[:, None]
    position = np.empty(n, np.int64)
    position[base] = np.arange(n)
    col = np.arange(n)[None, :]
    src = np.where(col < slot[:, None], col, col - 1)          # index among the others
    src = np.clip(src, 0, max(n - 2, 0))
    others = base[src + (src >= position[item][:, None])]
    return np.where(col == slot[:, None], item[:, None], others)
