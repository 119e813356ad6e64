"""The counterfactual of a KPI around a launch, and its in-time placebos (docs/model.md,
"Outcomes").

A least-squares fit on the pre window only (level, linear trend, day of week) predicts
what the KPI would have done without the launch; the realised lift is the relative gap
between the observed post-window mean and the predicted one. Gaps in the series are
allowed: days with no observation are left out of both the fit and the means.

The real launch and its placebos are fitted at once: each is one slice of a stacked
array (weights 0 for days not observed), solved by batched normal equations through a
pseudo-inverse, so one link costs a few small numpy calls whatever its placebo count.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_COLUMNS = 8           # intercept, trend, six day-of-week dummies


@dataclass(frozen=True)
class Fit:
    """One window's measure: the observed and predicted post means, the relative lift and
    the model's own standard error of that lift (NaN when it cannot be had)."""
    observed: float           # ȳ_post
    expected: float           # ŷ_post
    lift: float               # (ȳ - ŷ) / |ŷ|
    model_se: float           # of `lift`
    pre_days: int             # observed days in the pre window
    post_days: int            # observed days in the post window
    pre_scale: float          # spread of the pre-window values (to judge a level of ~0)


def design(days: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Rows (level, trend in hundreds of days from `origin`, weekday dummies Tue..Sun) for
    integer day numbers `days` (days since 1970-01-01, a Thursday), broadcast over
    `origin` when it is a column of pseudo-launches."""
    t = (days - origin) / 100.0
    dow = ((days + 3) % 7).astype(np.int64)   # 0 = Monday
    out = np.zeros(t.shape + (N_COLUMNS + 1,))      # one spare column takes Monday's 1, then goes
    np.put_along_axis(out, np.where(dow > 0, dow + 1, N_COLUMNS)[..., None], 1.0, axis=-1)
    out[..., 0] = 1.0
    out[..., 1] = t
    return out[..., :N_COLUMNS]


def measure_windows(day: np.ndarray, value: np.ndarray, launches: np.ndarray, *, pre_days: int,
                    post_days: int, ramp_days: int, post_length: np.ndarray | None = None) -> list[Fit]:
    """Measure each (pseudo-)launch in `launches` (day numbers) on the series (`day`
    sorted day numbers, `value` floats): fit on `[launch - pre_days, launch)`, compare over
    `[launch + ramp, launch + ramp + post_length)` (`post_length` per launch, default
    `post_days`). Returns one Fit per launch."""
    launches = np.asarray(launches, dtype=np.int64)
    lengths = np.full(len(launches), post_days, dtype=np.int64) if post_length is None \
        else np.asarray(post_length, dtype=np.int64)
    span = pre_days + ramp_days + int(lengths.max(initial=post_days))
    rel = np.arange(-pre_days, span - pre_days)                        # days relative to launch
    grid = launches[:, None] + rel[None, :]                            # (P, L) day numbers
    pos = np.searchsorted(day, grid)
    hit = (pos < len(day)) & (day[np.minimum(pos, len(day) - 1)] == grid) if len(day) else np.zeros_like(grid, bool)
    y = np.where(hit, value[np.minimum(pos, max(len(day) - 1, 0))] if len(day) else 0.0, 0.0)
    pre = hit & (rel < 0)[None, :]
    post = hit & (rel >= ramp_days)[None, :] & (rel < (ramp_days + lengths)[:, None])
    X = design(grid, launches[:, None].astype(float))                  # (P, L, K)
    Xp = X * pre[..., None]
    Xt = Xp.swapaxes(1, 2)
    xtx = Xt @ Xp
    # one symmetric eigen-decomposition per window gives both the pseudo-inverse and the
    # rank (a weekday never observed, say, leaves its column at 0)
    w, V = np.linalg.eigh(xtx)
    keep = w > (w[:, -1:] * 1e-10)
    inv = (V * np.where(keep, 1.0 / np.where(keep, w, 1.0), 0.0)[:, None, :]) @ V.swapaxes(1, 2)
    beta = inv @ (Xt @ (y * pre)[..., None])
    fitted = (X @ beta)[..., 0]
    n_pre, n_post = pre.sum(1), post.sum(1)
    resid = np.where(pre, y - fitted, 0.0)
    rank = keep.sum(1)
    dof = np.maximum(n_pre - rank, 1)
    sigma2 = (resid ** 2).sum(1) / dof
    safe_post = np.maximum(n_post, 1)
    y_post = (y * post).sum(1) / safe_post
    f_post = (fitted * post).sum(1) / safe_post
    a = (X * post[..., None]).sum(1) / safe_post[:, None]              # mean post design row
    var_mean = sigma2 * (1.0 / safe_post + ((a[:, None, :] @ inv) @ a[..., None])[:, 0, 0])
    pre_mean = (y * pre).sum(1) / np.maximum(n_pre, 1)
    pre_sd = np.sqrt(((y - pre_mean[:, None]) ** 2 * pre).sum(1) / np.maximum(n_pre - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = (y_post - f_post) / np.abs(f_post)
        se = np.sqrt(var_mean) / np.abs(f_post)
    return [Fit(float(y_post[i]), float(f_post[i]), float(lift[i]), float(se[i]), int(n_pre[i]), int(n_post[i]),
                float(pre_sd[i])) for i in range(len(launches))]
