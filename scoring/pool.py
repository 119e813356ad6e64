"""Several estimators on one link, pooled as a mixture (docs/model.md "Several estimators").

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

from typing import TYPE_CHECKING

import numpy as np

from scoring.goals.impact import round10

if TYPE_CHECKING:
    from scoring.model import Backlog

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


def pooled_link(raters: list[dict]) -> dict:
    """One link's raters (each {"by", "lift", "range"?, "confidence"}) pooled: `lift` ×
    `confidence` is the mean of their ℓ·c (`expected`), `confidence` the mean of theirs,
    and `disagreement` D."""
    x = [r["lift"] * r["confidence"] for r in raters]
    conf = sum(r["confidence"] for r in raters) / len(raters)
    expected = sum(x) / len(x)
    return {"lift": float(round10(expected / conf)) if conf > 0 else float(round10(sum(r["lift"] for r in raters)
                                                                                     / len(raters))),
            "confidence": float(round10(conf)), "expected": float(round10(expected)),
            "disagreement": float(round10(disagreement(x))),
            "estimators": [{"by": r.get("by") or "unknown", "lift": r["lift"], "range": r.get("range"),
                            "confidence": r["confidence"], **({"written": r["written"]} if "written" in r else {})}
                           for r in raters]}


def with_raters(backlog: Backlog, rows: list[tuple]) -> Backlog:
    """`backlog` with more estimators' estimates: `rows` of (key, kpi, low, high,
    confidence, unit, by), each replacing the same person's row of that link (and an
    unestimated row of that KPI); rows of keys not in the backlog are left out. The new
    rows come after the item's own, so its links keep their order."""
    from scoring.model import LINK_UNITS, Backlog
    from scoring.notation import person_key
    if not rows:
        return backlog
    index = {k: n for n, k in enumerate(backlog.keys)} if len(rows) * 20 > len(backlog) else None
    items = [(index.get(r[0]) if index is not None else _find(backlog.keys, r[0]), r) for r in rows]
    items = [(i, r) for i, r in items if i is not None]
    if not items:
        return backlog
    names = list(backlog.kpi_names)
    code_of = {n: c for c, n in enumerate(names)}
    people = list(backlog.estimator_names)
    person_of = {person_key(p): c for c, p in enumerate(people)}
    by = backlog.by_codes().copy()
    touched = {i for i, _ in items}
    keep = np.ones(len(backlog.link_item), dtype=bool)
    rows_of_item = np.flatnonzero(np.isin(backlog.link_item, list(touched)))
    new = {(i, r[1], person_key(r[6])) for i, r in items}
    new_kpis = {(i, r[1]) for i, r in items}
    for j in rows_of_item.tolist():
        i, kpi = int(backlog.link_item[j]), backlog.kpi_names[backlog.link_kpi_code[j]]
        who = person_key(people[by[j]]) if by[j] >= 0 else None
        if (i, kpi, who) in new or (np.isnan(backlog.link_low[j]) and (i, kpi) in new_kpis):
            keep[j] = False
    add_item, add_code, add_low, add_high, add_conf, add_unit, add_by = [], [], [], [], [], [], []
    for i, (_key, kpi, low, high, conf, unit, name) in items:
        add_item.append(i)
        add_code.append(code_of.setdefault(kpi, len(code_of)))
        if len(code_of) > len(names):
            names.append(kpi)
        add_low.append(low)
        add_high.append(high)
        add_conf.append(np.nan if conf is None else conf)
        add_unit.append(LINK_UNITS.index(unit or ""))
        pk = person_key(name)
        if pk not in person_of:
            person_of[pk] = len(people)
            people.append(" ".join(name.split()))
        add_by.append(person_of[pk])

    def cat(a, b, dtype):
        return np.concatenate([a[keep], np.array(b, dtype=dtype)])
    units = backlog.units()
    return Backlog(
        keys=backlog.keys, done=backlog.done, effort=backlog.effort, confidence=backlog.confidence,
        has_source_flags=backlog.has_source_flags, link_item=cat(backlog.link_item, add_item, np.int64),
        link_kpi_code=cat(backlog.link_kpi_code, add_code, np.int64), kpi_names=names,
        link_low=cat(backlog.link_low, add_low, float), link_high=cat(backlog.link_high, add_high, float),
        link_confidence=cat(backlog.link_confidence, add_conf, float), factors=backlog.factors,
        link_unit=cat(units, add_unit, np.int8) if any(add_unit) or backlog.link_unit is not None else None,
        source_flags=backlog.source_flags, texts=backlog.texts,
        link_by=cat(by, add_by, np.int64), estimator_names=people)


def _find(keys: list[str], key: str) -> int | None:
    try:
        return keys.index(key)
    except ValueError:
        return None
