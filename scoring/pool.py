"""Several estimators on one link, pooled as a mixture (docs/model.md "Who estimated").

A link `(i, k)` may carry one estimate per person (the raters `r = 1..R`). The ranking
uses the mean of their expected effects, `(1/R) Σ_r ℓ_r c_r` (a linear opinion pool), so
each rater's row is weighted by its `share`, 1/R; the uncertainty analysis picks one
rater per draw. Disagreement `D = (max_r x_r - min_r x_r) / max(|mean_r x_r|, 0.001)`
with `x_r = ℓ_r c_r`. One rater (R = 1) is the plain estimate: share 1, no D.

>>> shares(np.array([0, 0, 1, 1, 1]), np.array([0, 0, 0, 1, 0]), np.ones(5, bool))
array([0.5, 0.5, 0.5, 1. , 0.5])
>>> round(disagreement([0.08 * 0.7, 0.02 * 0.5]), 4)
1.3939
"""
from __future__ import annotations

import numpy as np

TINY_MEAN = 0.001      # the floor of |mean| in D, so that D stays finite around 0
DISCUSS_AT = 1.0       # D at or above this, among the most valuable to refine: `discuss`
DISCUSS_AMONG = 5      # ... the five estimates most worth refining


def groups(link_item: np.ndarray, link_kpi: np.ndarray, counted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pooled link per row (-1 for rows not `counted`) and the number of raters per
    pooled link. Rows of one item on one KPI are one pooled link."""
    group = np.full(len(link_item), -1, dtype=np.int64)
    if not counted.any():
        return group, np.zeros(0, dtype=np.int64)
    width = int(link_kpi.max(initial=0)) + 1
    key = link_item[counted].astype(np.int64) * width + link_kpi[counted]
    _, inverse, count = np.unique(key, return_inverse=True, return_counts=True)
    group[counted] = inverse.reshape(-1)
    return group, count


def shares(link_item: np.ndarray, link_kpi: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """1/R per counted row (R: raters of its pooled link), 1 for the rest."""
    group, count = groups(link_item, link_kpi, counted)
    out = np.ones(len(link_item))
    out[counted] = 1.0 / count[group[counted]]
    return out


def disagreement(x) -> float | None:
    """D of a pooled link's raters' `ℓ_r c_r`; None with fewer than two raters."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return None
    return float((x.max() - x.min()) / max(abs(x.mean()), TINY_MEAN))
