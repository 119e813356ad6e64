"""Where each KPI stands at `as_of`: progress, expected progress, status, urgency.

Urgency (SCORING.md step 3) makes initiatives that move a lagging KPI more valuable;
status is what `roadmap kpis` and the alignment check report (CONTRACT.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scoring.model import Kpi


@dataclass(frozen=True)
class Current:
    """The newest observation at or before `as_of`."""
    value: float
    date: date


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
    """p_k with the special cases of SCORING.md; x falls back to the baseline."""
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
