"""Where each KPI stands at `as_of`: current value (a window aggregate), progress,
expected progress, status, urgency.

Urgency (docs/model.md step 3) makes initiatives that move a lagging KPI, or a KPI that
feeds one, more valuable; status is what `roadmap kpis` and the alignment check report
(docs/cli.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from scoring.model import Kpi

AGGREGATES = ("last", "mean", "sum", "median")


@dataclass(frozen=True)
class Current:
    """A KPI's current value at `as_of` and the date it stands for (the newest
    observation at or before `as_of`); `window` says how it was computed, in words."""
    value: float
    date: date
    window: str = ""


def describe_window(aggregate: str, window_days: int, newest: date, observed: int | None = None) -> str:
    """"mean of 7 days to 2026-11-24" (with how many days had data when some had none)."""
    if aggregate == "last":
        return f"value of {newest.isoformat()}"
    days = "1 day" if window_days == 1 else f"{window_days} days"
    text = f"{aggregate} of {days} to {newest.isoformat()}"
    if observed is not None and observed < window_days:
        text += f" ({observed} with data)"
    return text


def window_current(days, values, as_of: date, window_days: int = 1, aggregate: str = "last") -> Current | None:
    """The KPI's current value from its observations `(days, values)` (any order; one per
    day) per docs/model.md: with n the newest day at or before `as_of`, the aggregate of the
    values dated in (n - window_days, n]; days with no observation are left out, not
    counted as zero; `last` ignores the window. None when nothing is at or before `as_of`.

    >>> d = np.array(["2026-11-20", "2026-11-23", "2026-11-24", "2026-11-25"], dtype="datetime64[D]")
    >>> window_current(d, np.array([1.0, 2.0, 4.0, 9.0]), date(2026, 11, 24), 3, "mean")
    Current(value=3.0, date=datetime.date(2026, 11, 24), window='mean of 3 days to 2026-11-24 (2 with data)')
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}")
    days = np.asarray(days, dtype="datetime64[D]")
    values = np.asarray(values, dtype=float)
    ok = (days <= np.datetime64(as_of, "D")) & np.isfinite(values)
    if not ok.any():
        return None
    days, values = days[ok], values[ok]
    newest = days.max()
    n = newest.astype(date)
    if aggregate == "last":
        return Current(float(values[days == newest][-1]), n, describe_window("last", 1, n))
    inside = days > newest - np.timedelta64(window_days, "D")
    taken = values[inside]
    value = {"mean": np.mean, "sum": np.sum, "median": np.median}[aggregate](taken)
    return Current(float(value), n, describe_window(aggregate, window_days, n, int(inside.sum())))


def window_start(newest: date, window_days: int) -> date:
    """The first day inside the window that ends on `newest`."""
    return newest - timedelta(days=window_days - 1)


@dataclass(frozen=True)
class KpiState:
    kpi: str
    current: float | None          # observed value, None when no observation
    current_date: date | None
    progress: float | None         # (x - b) / (t - b); None when it cannot be computed
    expected_progress: float | None  # share of the start..deadline window elapsed
    status: str                    # met | on-track | off-track | no-target | no-data
    urgency: float


def _clamp01(v: float) -> float:
    return min(1.0, max(0.0, v))


def progress_of(kpi: Kpi, x: float | None) -> float | None:
    """p_k with the special cases of docs/model.md; x falls back to the baseline."""
    if kpi.target is None:
        return None
    if x is None:
        x = kpi.baseline
    if x is None:
        return None
    b = kpi.baseline if kpi.baseline is not None else x
    t = kpi.target
    if t == b:
        return 1.0 if kpi.sign * (x - t) >= 0 else 0.0
    return (x - b) / (t - b)


def expected_progress_of(kpi: Kpi, as_of: date) -> float | None:
    """π_k: the elapsed share of the start..deadline window, clamped to [0, 1]."""
    if kpi.start is None or kpi.deadline is None or kpi.deadline <= kpi.start:
        return None
    return _clamp01((as_of - kpi.start).days / (kpi.deadline - kpi.start).days)


def kpi_state(kpi: Kpi, current: Current | None, as_of: date, *,
              urgency: float = 1.0, met_target_factor: float = 0.5) -> KpiState:
    x = current.value if current else None
    p = progress_of(kpi, x)
    pi = expected_progress_of(kpi, as_of)
    if p is None:
        u = 1.0
    elif p >= 1:
        u = met_target_factor
    elif pi is not None:
        u = 1.0 + urgency * _clamp01(pi - p)
    else:
        u = 1.0
    if kpi.target is None:
        status = "no-target"
    elif current is None:
        status = "no-data"
    elif p is not None and p >= 1:
        status = "met"
    elif p is not None and pi is not None and p < pi:
        status = "off-track"
    else:
        status = "on-track"
    return KpiState(kpi.id, x, current.date if current else None, p, pi, status, u)


def _share(v: float) -> str:
    return f"{100 * v:.0f} %"


def urgency_reason(state: KpiState, met_target_factor: float | None = None) -> str:
    """Why a KPI's urgency factor is what it is, in words:
    "20 % of the way, 50 % expected by now"."""
    p, pi = state.progress, state.expected_progress
    if p is None:
        return "no target" if state.status == "no-target" else "no current value or baseline"
    if p >= 1:
        return f"target met ({_share(p)} of the way)"
    if pi is None:
        return f"{_share(p)} of the way, no start and deadline to judge the pace"
    return f"{_share(p)} of the way, {_share(pi)} expected by now"
