"""A KPI's observations seen through its window (docs/model.md, "KPIs: current value"):
the rolling aggregate a chart draws, so the line is in the unit of the target (a weekly
sum is charted as weekly sums), and the outlier guard, which finds a value in the current
window that alone pulls a mean or a sum (docs/configuration.md, `aggregate`).

>>> from datetime import date
>>> days = [date(2026, 3, d) for d in range(1, 9)]
>>> rolling(days, [1, 1, 1, 1, 1, 1, 1, 2], 7, "sum")
[(datetime.date(2026, 3, 7), 7.0), (datetime.date(2026, 3, 8), 8.0)]
>>> window_outliers(days, [10, 11, 9, 10, 12, 10, 11, 90], 7)
[(datetime.date(2026, 3, 8), 90.0, 79.0)]
"""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np

OUTLIER_MADS = 5.0        # a value further than this many median absolute deviations is an outlier
MAD_SCALE = 1.4826        # the MAD as an estimate of the standard deviation (normal-consistent, as scipy's scale="normal")
REFERENCE_DAYS = 28       # the days whose spread measures "usual" (the window, and more before a short one)
_AGG = {"mean": np.mean, "sum": np.sum, "median": np.median}


def rolling(days: list[date], values: list[float], window_days: int, aggregate: str) -> list[tuple[date, float]]:
    """Per observed day d, the `aggregate` of the values dated in (d - window_days, d] (days
    without data left out, as for the current value). Only days with a whole window of
    history behind them, unless none has one (then every day). `last` or a 1-day window
    gives the values themselves."""
    pairs = sorted((d, float(v)) for d, v in zip(days, values) if v == v)
    if aggregate not in _AGG or window_days <= 1 or not pairs:
        return pairs
    ds = np.array([d for d, _ in pairs], dtype="datetime64[D]")
    vs = np.array([v for _, v in pairs])
    lo = np.searchsorted(ds, ds - np.timedelta64(window_days - 1, "D"), side="left")
    f = _AGG[aggregate]
    out = [(pairs[n][0], float(f(vs[lo[n]:n + 1]))) for n in range(len(pairs))]
    full = pairs[0][0] + timedelta(days=window_days - 1)
    whole = [p for p in out if p[0] >= full]
    return whole or out


def window_outliers(days: list[date], values: list[float], window_days: int,
                    as_of: date | None = None) -> list[tuple[date, float, float]]:
    """The values in the current window (the `window_days` days up to the newest at or
    before `as_of`) more than OUTLIER_MADS median absolute deviations from the window's
    median, as (day, value, distance from the median).

    The deviations are measured against the KPI's usual spread: the MAD around the
    window's median of the values in the window and the days before it, REFERENCE_DAYS at
    least (four windows of a weekly KPI), scaled to estimate a standard deviation
    (MAD_SCALE). A raw MAD of 7 values alone is often small by chance, and would call
    ordinary day-to-day noise (a 2.5-sigma day) an outlier. Nothing is found with fewer than 3
    values in the window or a spread of 0 (nothing to measure a deviation against)."""
    pairs = [(d, float(v)) for d, v in zip(days, values) if v == v and (as_of is None or d <= as_of)]
    if not pairs:
        return []
    newest = max(d for d, _ in pairs)
    inside = [(d, v) for d, v in pairs if d > newest - timedelta(days=window_days)]
    if len(inside) < 3:
        return []
    med = float(np.median([v for _, v in inside]))
    span = max(window_days, REFERENCE_DAYS)
    reference = np.array([v for d, v in pairs if d > newest - timedelta(days=span)])
    mad = MAD_SCALE * float(np.median(np.abs(reference - med)))
    if mad <= 0:
        return []
    return [(d, v, abs(v - med)) for d, v in sorted(inside) if abs(v - med) > OUTLIER_MADS * mad]
