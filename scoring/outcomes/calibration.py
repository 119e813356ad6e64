"""Whose estimates to trust: each estimator's track-record factor from their resolved
outcomes, shrunk toward the team's, and how calibrated their confidences and ranges were
(docs/model.md, "Calibration").

With `x_j = ℓ_j c_j` claimed and `r_j`, `se_j` measured (`w_j = 1/se_j²`): the raw slope
through the origin `b̂ = Σ w x r / Σ w x²` with precision `P = Σ w x²`; the team's
`b_T = (P_T b̂_T + 1/τ²) / (P_T + 1/τ²)`; an estimator's
`b_e = (P_e b̂_e + b_T/τ²) / (P_e + 1/τ²)` clipped to [0, 3].

>>> recs = [Resolved("alice", 0.10, 0.05, 0.02, 0.5, "moved"),
...         Resolved("bob", 0.04, 0.04, 0.02, 0.8, "moved")]
>>> cal = calibrate(recs, prior_sd=0.5)
>>> round(cal.team.raw, 4), round(cal.team.factor, 4)
(0.569, 0.6212)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

MIN_SE = 1e-6              # a standard error below this is taken as this (never divide by 0)
FACTOR_BOUNDS = (0.0, 3.0)


@dataclass(frozen=True)
class Resolved:
    """One resolved estimate: who, what they expected (ℓ·c), what was measured (r, se),
    their confidence c, the verdict, and their range of ℓ when they gave one."""
    estimator: str
    expected: float
    realised: float
    se: float
    confidence: float
    verdict: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class TrackRecord:
    estimator: str
    factor: float
    raw: float
    precision: float
    resolved: int
    brier: float | None
    inside_range: float | None

    def as_dict(self) -> dict:
        return {"estimator": self.estimator, "factor": self.factor, "raw": self.raw, "precision": self.precision,
                "resolved": self.resolved, "brier": self.brier, "inside_range": self.inside_range}


@dataclass(frozen=True)
class Calibration:
    prior_sd: float
    team: TrackRecord
    estimators: list[TrackRecord]

    def factor(self, estimator: str | None) -> float:
        """The factor to apply to an estimate by `estimator` (case-insensitive); someone
        with no record gets the team's."""
        name = (estimator or "unknown").strip().lower()
        for e in self.estimators:
            if e.estimator == name:
                return e.factor
        return self.team.factor

    def record(self, estimator: str | None) -> TrackRecord | None:
        name = (estimator or "unknown").strip().lower()
        return next((e for e in self.estimators if e.estimator == name), None)

    def as_dict(self) -> dict:
        t = self.team.as_dict()
        return {"prior_sd": self.prior_sd,
                "team": {k: t[k] for k in ("factor", "raw", "precision", "resolved", "brier")},
                "estimators": [e.as_dict() for e in self.estimators]}


def _slope(x: np.ndarray, r: np.ndarray, se: np.ndarray) -> tuple[float, float, float]:
    """(Σ w x r, P = Σ w x², b̂) with b̂ = 0 when P = 0."""
    w = 1.0 / np.maximum(se, MIN_SE) ** 2
    num, prec = float((w * x * r).sum()), float((w * x * x).sum())
    return num, prec, (num / prec if prec > 0 else 0.0)


def _brier(c: np.ndarray, moved: np.ndarray) -> float | None:
    return float(((c - moved) ** 2).mean()) if len(c) else None


def _inside(recs: Sequence[Resolved]) -> float | None:
    ranged = [r for r in recs if r.low is not None and r.high is not None and r.low != r.high]
    if not ranged:
        return None
    return sum(min(r.low, r.high) <= r.realised <= max(r.low, r.high) for r in ranged) / len(ranged)


def calibrate(records: Sequence[Resolved], *, prior_sd: float = 0.5) -> Calibration:
    """Track records from resolved estimates (records with another verdict are ignored).
    Estimator names are compared case-insensitively and reported in lower case."""
    recs = [r for r in records if r.verdict in ("moved", "moved-wrong-way", "no-detectable-move")]
    prior = 1.0 / prior_sd ** 2

    def arrays(rs):
        return (np.array([r.expected for r in rs], float), np.array([r.realised for r in rs], float),
                np.array([r.se for r in rs], float), np.array([r.confidence for r in rs], float),
                np.array([r.verdict == "moved" for r in rs], float))
    x, r, se, c, moved = arrays(recs)
    num_t, prec_t, raw_t = _slope(x, r, se)
    b_t = (num_t + prior) / (prec_t + prior)
    team = TrackRecord("team", b_t, raw_t, prec_t, len(recs), _brier(c, moved), _inside(recs))
    by: dict[str, list[Resolved]] = {}
    for rec in recs:
        by.setdefault((rec.estimator or "unknown").strip().lower(), []).append(rec)
    out = []
    for name in sorted(by):
        xe, re_, se_e, ce, me = arrays(by[name])
        num, prec, raw = _slope(xe, re_, se_e)
        b = (num + b_t * prior) / (prec + prior)
        b = float(min(max(b, FACTOR_BOUNDS[0]), FACTOR_BOUNDS[1]))
        out.append(TrackRecord(name, b, raw, prec, len(by[name]), _brier(ce, me), _inside(by[name])))
    return Calibration(prior_sd, team, out)
