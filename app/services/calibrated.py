"""Calibrated scoring for the services: the track records in force, applied to a backlog
before it is ranked, and named in what the views show ("×0.52: alice's 7 measured
estimates") (docs/model.md, "Calibration"; docs/configuration.md, "[calibration]")."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from scoring.model import Backlog
from scoring.outcomes import Calibration
from scoring.outcomes.apply import calibrate_backlog, link_estimators

_lock = threading.Lock()


@dataclass
class Applied:
    """The calibration a ranking was made with: the model, and per link its factor and estimator."""
    model: Calibration
    factors: np.ndarray
    estimators: list[str]

    def why(self, estimator: str) -> str:
        return why(self.model, estimator)

    def factors_in_force(self) -> dict[str, float]:
        """estimator -> factor for every estimator the backlog names (for a snapshot)."""
        return {e: round(float(self.model.factor(e)), 10) for e in sorted(set(self.estimators))}


def model(ws) -> Calibration:
    """The track records for the store's current data (cached per data version and date)."""
    from app.services.outcomes import calibration_model
    key = (ws.store.data_version(), ws.as_of())
    with _lock:
        hit = ws.__dict__.get("_calibration")
    if hit is not None and hit[0] == key:
        return hit[1]
    cal = calibration_model(ws)
    with _lock:
        ws.__dict__["_calibration"] = (key, cal)
    return cal


def apply(ws, backlog: Backlog, cal: Calibration | None = None) -> tuple[Backlog, Applied]:
    cal = model(ws) if cal is None else cal
    scaled, f = calibrate_backlog(backlog, cal.factor)
    return scaled, Applied(cal, f, link_estimators(backlog))


def why(cal: Calibration, estimator: str) -> str:
    rec = cal.record(estimator)
    f = cal.factor(estimator)
    if rec is not None:
        n = rec.resolved
        return f"×{f:.2f}: {estimator}'s {n} measured estimate{'s' if n != 1 else ''}"
    n = cal.team.resolved
    who = "nobody named" if estimator == "unknown" else f"{estimator} has none measured yet"
    return f"×{f:.2f}: the team's {n} measured estimate{'s' if n != 1 else ''} ({who})"


def annotate(r, items: list[dict]) -> list[dict]:
    """Each shown item's links gain `factor` and `factor_why` when `r` was calibrated."""
    applied: Applied | None = getattr(r, "calibration", None)
    if applied is None:
        return items
    for d in items:
        i = r.index_of(d["key"])
        if i is None or "links" not in d:
            continue
        for link, j in zip(d["links"], r.links_of(i).tolist()):
            if isinstance(link, dict):
                link["factor"] = float(applied.factors[j])
                link["factor_why"] = applied.why(applied.estimators[j])
    return items
