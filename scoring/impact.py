"""The KPI-impact kernel of SCORING.md: KPI values V_k, the vectorised backlog product,
and per-link contributions.

Because every step is linear, I_i = Σ_links δ_link · W[k_link] with
W[k] = 100 · Σ_o ŵ_o · V[k, o]; V comes from one reverse-topological pass over the graph,
so scoring is O(links) however many paths the graph has.
"""
from __future__ import annotations

import numpy as np

from scoring.graph import GoalGraph


def kpi_values(graph: GoalGraph, urgency: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """V[k, o] (rows in `graph.kpi_order`, columns in `graph.objectives` order): the
    improvement of objective o from a unit improvement of KPI k, summed over all paths,
    each path's product of edge weights times the urgency of the KPI that feeds o.
    Also returns `reach[k, o]`, True where a path exists."""
    kidx = {k: n for n, k in enumerate(graph.kpi_order)}
    oidx = {o.id: n for n, o in enumerate(graph.objectives)}
    V = np.zeros((len(kidx), len(oidx)))
    reach = np.zeros((len(kidx), len(oidx)), dtype=bool)
    for k in reversed(graph.kpi_order):
        i = kidx[k]
        for parent, data in graph.graph[k].items():
            e = data["weight"]
            if parent in oidx:
                V[i, oidx[parent]] += e * urgency.get(k, 1.0)
                reach[i, oidx[parent]] = True
            else:
                j = kidx[parent]
                V[i] += e * V[j]
                reach[i] |= reach[j]
    return V, reach


def direct_improvement(sign: np.ndarray, lift: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """δ per link = d_k · ℓ · c; an unestimated link (NaN lift) contributes 0."""
    return np.where(np.isnan(lift), 0.0, sign * lift * confidence)


def impact_kernel(link_item: np.ndarray, link_kpi: np.ndarray, delta: np.ndarray,
                  unit_impact: np.ndarray, n_items: int) -> np.ndarray:
    """I_i = Σ over i's links of δ · W[k]: the pure numeric kernel, no validation.
    `link_kpi` indexes `unit_impact` (W); `link_item` indexes the items."""
    return np.bincount(link_item, weights=delta * unit_impact[link_kpi], minlength=n_items)


def round10(a):
    """Round to 10 decimal places so that equal estimates tie exactly (SCORING.md)."""
    return np.round(a, 10) + 0.0   # + 0.0 turns -0.0 into 0.0
