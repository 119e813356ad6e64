"""The classic prioritisation frameworks on mapped tracker fields.

- RICE (Intercom): reach · impact · confidence / effort, impact on 3 / 2 / 1 / 0.5 / 0.25.
- ICE: impact · confidence · ease.
- WSJF (SAFe): (business value + time criticality + risk reduction) / job size.

>>> float(rice(450, 3, 1.0, 2))
675.0
>>> float(wsjf(100, 50, 20, 10))
17.0
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Factors(Protocol):
    """What a scorer reads of a backlog (`scoring.model.Backlog` is one): its length and its
    factor columns. A protocol, so this module needs nothing from `scoring.model`, which
    imports `FACTOR_NAMES` from here."""
    factors: dict[str, np.ndarray]

    def __len__(self) -> int: ...


@dataclass(frozen=True)
class Scorer:
    """A scoring method: its name (`[scoring] method`, `--method`, `?method=`), the
    tracker factors it reads (besides the shared confidence and effort) and one line
    saying what it computes."""
    name: str
    factors: tuple[str, ...]
    formula: str


# The one registry of scorers: METHODS, the factor names, the config's and CLI's choices
# and the OpenAPI enum all derive from it.
SCORERS: dict[str, Scorer] = {s.name: s for s in (
    Scorer("kpi-impact", (), "urgency-weighted KPI impact on the strategy / effort (docs/model.md)"),
    Scorer("rice", ("reach", "factor_impact"), "reach · impact · confidence / effort"),
    Scorer("ice", ("factor_impact", "ease"), "impact · confidence · ease"),
    Scorer("wsjf", ("business_value", "time_criticality", "risk_reduction", "job_size"),
           "(business value + time criticality + risk reduction) / job size"),
)}
METHODS: tuple[str, ...] = tuple(SCORERS)
# Every factor any scorer reads from a tracker mapping or a file column.
FACTOR_NAMES: tuple[str, ...] = tuple(dict.fromkeys(f for s in SCORERS.values() for f in s.factors))
# The factors a method must have (job_size falls back to the effort).
FACTORS = {name: tuple(f for f in s.factors if f != "job_size") for name, s in SCORERS.items() if s.factors}


def rice(reach, impact, confidence, effort):
    return np.asarray(reach, dtype=float) * impact * confidence / effort


def ice(impact, confidence, ease):
    return np.asarray(impact, dtype=float) * confidence * ease


def wsjf(business_value, time_criticality, risk_reduction, job_size):
    return (np.asarray(business_value, dtype=float) + time_criticality + risk_reduction) / job_size


def _column(backlog: Factors, name: str) -> np.ndarray:
    col = backlog.factors.get(name)
    return np.full(len(backlog), np.nan) if col is None else np.asarray(col, dtype=float)


def factor_table(backlog: Factors, method: str, confidence: np.ndarray,
                 effort: np.ndarray, effort_given: np.ndarray) -> dict[str, np.ndarray]:
    """The inputs of `method` per item as arrays; NaN where the tracker gave nothing."""
    table = {name: _column(backlog, name) for name in FACTORS[method]}
    if method in ("rice", "ice"):
        table["confidence"] = confidence
    if method == "rice":
        table["effort"] = effort
        table["effort_defaulted"] = ~effort_given
    if method == "wsjf":
        job = _column(backlog, "job_size")
        job_given = ~np.isnan(job) & (np.nan_to_num(job) > 0)
        table["job_size"] = np.where(job_given, job, effort)
        table["effort_defaulted"] = ~job_given & ~effort_given
    return table


def score(method: str, t: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(impact, score, effort) per item. A missing factor counts as 0 and is flagged.
    For RICE the impact is reach · impact · confidence, for WSJF the cost of delay;
    ICE has no effort, so its impact is its score."""
    z = {k: np.nan_to_num(v) if v.dtype.kind == "f" else v for k, v in t.items()}
    if method == "rice":
        num = rice(z["reach"], z["factor_impact"], z["confidence"], 1.0)
        return num, num / z["effort"], t["effort"]
    if method == "ice":
        s = ice(z["factor_impact"], z["confidence"], z["ease"])
        return s, s, np.full(len(s), np.nan)
    num = z["business_value"] + z["time_criticality"] + z["risk_reduction"]
    return num, num / z["job_size"], t["job_size"]


def missing_flags(t: dict[str, np.ndarray], i: int) -> list[str]:
    out = [f"missing-factor:{name}" for name, col in t.items()
           if col.dtype.kind == "f" and np.isnan(col[i])]
    if "effort_defaulted" in t and t["effort_defaulted"][i]:
        out.append("effort-defaulted")
    return out


def factors_of(t: dict[str, np.ndarray], i: int) -> dict[str, float | None]:
    """The item's factors as the score used them (for the explanation)."""
    return {name: (None if np.isnan(col[i]) else float(col[i]))
            for name, col in t.items() if col.dtype.kind == "f"}
