"""Calibrated scoring: every estimate's ℓ·c multiplied by its estimator's track-record
factor before anything else (docs/model.md, "Calibration"). The backlog's lifts (and
ranges) are scaled, so the ranking, the plan and the uncertainty analysis's draws all see
the calibrated estimates.

>>> import numpy as np
>>> from scoring.model import Backlog, Initiative, Link
>>> b = Backlog.from_initiatives([Initiative(key="A", links=(Link(kpi="k", low=0.1, high=0.2, by="Alice"),
...                                                          Link(kpi="k", low=0.1, high=0.1)))])
>>> scaled, f = calibrate_backlog(b, {"alice": 0.5, "unknown": 2.0}.get)
>>> scaled.link_low.tolist(), scaled.link_high.tolist(), f.tolist()
([0.05, 0.2], [0.1, 0.2], [0.5, 2.0])
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from scoring.model import Backlog


def link_estimators(backlog: Backlog) -> list[str]:
    """Who made each link's estimate, in lower case ("unknown" when nobody is named)."""
    names = [n.strip().lower() for n in backlog.estimator_names] + ["unknown"]
    return [names[c] for c in backlog.by_codes().tolist()]


def calibrate_backlog(backlog: Backlog, factor_of: Callable[[str], float]) -> tuple[Backlog, np.ndarray]:
    """The backlog with each link's low and high multiplied by `factor_of(estimator)`
    (estimator in lower case, "unknown" for nobody), and the factor per link."""
    names = [n.strip().lower() for n in backlog.estimator_names] + ["unknown"]
    per_code = np.array([float(factor_of(n)) for n in names], dtype=float)
    f = per_code[backlog.by_codes()] if len(backlog.link_item) else np.zeros(0)
    return dataclasses.replace(backlog, link_low=backlog.link_low * f, link_high=backlog.link_high * f), f


def frozen(factors: dict[str, float], default: float) -> dict:
    """The factors in force as a snapshot keeps them: {"factors": {estimator: b}, "default": b_T}."""
    return {"factors": {k: round(float(v), 10) for k, v in sorted(factors.items())},
            "default": round(float(default), 10)}


def from_frozen(data: dict) -> Callable[[str], float]:
    """The factor of an estimator from what a snapshot kept (the default for anyone else)."""
    factors, default = dict(data.get("factors") or {}), float(data.get("default", 1.0))
    return lambda estimator: float(factors.get(estimator, default))
