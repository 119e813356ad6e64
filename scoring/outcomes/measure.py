"""Did a launch move its KPI? The realised lift of one estimated link, its interval
widened by in-time placebos, and its verdict (docs/model.md, "Outcomes").

`measure` takes one KPI's daily series and one launch date; `measure_links` takes every
launched link, groups launches of different initiatives on the same KPI that fall within
each other's post window (`confounded`: measured once, against the sum of their expected
lifts) and measures the rest one by one. Nothing here reads a clock: `as_of` is given.

>>> import numpy as np
>>> from datetime import date, timedelta
>>> days = [date(2026, 1, 1) + timedelta(n) for n in range(200)]
>>> values = [100.0 * (1.2 if d >= date(2026, 6, 1) else 1.0) for d in days]
>>> m = measure(days, values, date(2026, 6, 1), 0.1, as_of=date(2026, 7, 19))
>>> (m.verdict, round(m.realised, 3))
('moved', 0.2)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import NormalDist
from typing import Sequence

import numpy as np

from scoring.outcomes.counterfactual import measure_windows

EPOCH = date(1970, 1, 1)
VERDICTS = ("moved", "moved-wrong-way", "no-detectable-move", "measuring", "not-measurable", "confounded")
RESOLVED = ("moved", "moved-wrong-way", "no-detectable-move")
MIN_PRE_DAYS = 56
POST_SHARE = 0.75          # of the post window's days observed, at least
NEAR_ZERO = 0.1            # |ŷ_post| below this share of the pre window's spread: a level of ~0


@dataclass(frozen=True)
class OutcomeParams:
    """`[outcomes]` (docs/configuration.md, "[outcomes]")."""
    post_days: int = 28
    ramp_days: int = 0
    pre_days: int = 140
    placebos: int = 12
    level: float = 0.90

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf((1 + self.level) / 2)


@dataclass(frozen=True)
class Measure:
    """What one launch did to one KPI. Numbers are None when not measured; `reason` says
    why in words (for `measuring` and `not-measurable`)."""
    verdict: str
    reason: str = ""
    realised: float | None = None          # r
    low: float | None = None
    high: float | None = None
    se: float | None = None
    observed: float | None = None          # ȳ_post
    expected_level: float | None = None    # ŷ_post
    placebos: int = 0                      # placebo effects that widened (or not) the interval
    placebo_effects: tuple[float, ...] = ()
    model_half_width: float | None = None
    post_start: date | None = None
    post_end: date | None = None
    pre_observed: int = 0
    post_observed: int = 0


def day_numbers(days: Sequence[date] | np.ndarray) -> np.ndarray:
    """Dates (or datetime64, or integer day numbers already) as integer days since 1970-01-01."""
    if isinstance(days, np.ndarray) and np.issubdtype(days.dtype, np.datetime64):
        return days.astype("datetime64[D]").astype(np.int64)
    if isinstance(days, np.ndarray) and np.issubdtype(days.dtype, np.integer):
        return days.astype(np.int64)
    return np.array([(d - EPOCH).days for d in days], dtype=np.int64)


def _series(days, values) -> tuple[np.ndarray, np.ndarray]:
    d = day_numbers(days)
    v = np.asarray(values, dtype=float)
    keep = np.isfinite(v)
    d, v = d[keep], v[keep]
    order = np.argsort(d, kind="stable")
    return d[order], v[order]


def half_width(model_half: float, placebo_abs: np.ndarray, level: float) -> float:
    """The larger of the model's half-width and the ⌈(n+1)·level⌉-th smallest absolute
    placebo effect (the largest when that rank exceeds n).

    >>> half_width(0.01, np.array([0.05, 0.01, 0.03, 0.02]), 0.9)
    0.05
    >>> half_width(0.01, np.array([0.005 * k for k in range(1, 13)]), 0.9)
    0.06
    """
    n = len(placebo_abs)
    if n == 0:
        return model_half
    k = math.ceil(round((n + 1) * level, 9))
    q = float(np.sort(placebo_abs)[min(k, n) - 1])
    return max(model_half, q) if math.isfinite(model_half) else q


def verdict_of(low: float, high: float, expected: float | None) -> str:
    """`moved` when the interval excludes 0 on the estimate's side, `moved-wrong-way` on
    the other side, else `no-detectable-move` (an estimate of 0 counts as upward)."""
    side = -1 if (expected is not None and expected < 0) else 1
    if low > 0:
        return "moved" if side > 0 else "moved-wrong-way"
    if high < 0:
        return "moved" if side < 0 else "moved-wrong-way"
    return "no-detectable-move"


def measure(days, values, launch: date, expected: float | None, *, as_of: date,
            params: OutcomeParams = OutcomeParams(), post_length: int | None = None) -> Measure:
    """The realised lift of a launch on `launch` on the series (`days`, `values`), seen on
    `as_of` (only observations up to `as_of` are used), and its verdict against the
    `expected` lift's sign. `post_length` lengthens the post window (a confounded group)."""
    p = params
    length = post_length or p.post_days
    post_start = launch + timedelta(days=p.ramp_days)
    post_end = post_start + timedelta(days=length - 1)
    base = dict(post_start=post_start, post_end=post_end)
    d, v = _series(days, values)
    seen = d <= (as_of - EPOCH).days
    d, v = d[seen], v[seen]
    if not len(d):
        return Measure("not-measurable", "the KPI has no observations", **base)
    L = (launch - EPOCH).days
    if launch > as_of:
        return Measure("measuring", f"launches on {launch.isoformat()}, after {as_of.isoformat()}", **base)
    pre_observed = int(((d >= L - p.pre_days) & (d < L)).sum())
    if pre_observed < MIN_PRE_DAYS:
        return Measure("not-measurable", f"only {pre_observed} observed days in the {p.pre_days} days before "
                       f"launch ({MIN_PRE_DAYS} needed)", pre_observed=pre_observed, **base)
    if post_end > as_of:
        return Measure("measuring", f"the {length}-day window after launch ends on {post_end.isoformat()}",
                       pre_observed=pre_observed, **base)
    # the launch and its placebos in one batch: each placebo's windows end before the launch,
    # so they read only data from before it
    placebo_launches = L - (length + p.ramp_days) - 7 * np.arange(p.placebos)
    fits = measure_windows(d, v, np.concatenate([[L], placebo_launches]), pre_days=p.pre_days, post_days=length,
                           ramp_days=p.ramp_days)
    fit = fits[0]
    if fit.post_days < POST_SHARE * length:
        return Measure("measuring", f"only {fit.post_days} of the {length} days after launch are observed so far",
                       pre_observed=pre_observed, post_observed=fit.post_days, **base)
    if not math.isfinite(fit.expected) or abs(fit.expected) <= max(1e-12, NEAR_ZERO * fit.pre_scale):
        return Measure("not-measurable", f"the KPI's expected level after launch ({fit.expected:.3g}) is too close "
                       "to 0 for a relative change", pre_observed=pre_observed, post_observed=fit.post_days, **base)
    effects = []
    if p.placebos:
        for f in fits[1:]:
            if f.pre_days >= MIN_PRE_DAYS and f.post_days >= POST_SHARE * length and math.isfinite(f.lift) \
                    and abs(f.expected) > max(1e-12, NEAR_ZERO * f.pre_scale):
                effects.append(f.lift)
    z = p.z
    model_half = z * fit.model_se
    h = half_width(model_half, np.abs(np.array(effects)), p.level)
    if not math.isfinite(h):
        return Measure("not-measurable", "its uncertainty cannot be estimated from the history before launch",
                       pre_observed=pre_observed, post_observed=fit.post_days, **base)
    low, high = fit.lift - h, fit.lift + h
    return Measure(verdict_of(low, high, expected), "", fit.lift, low, high, (high - low) / (2 * z),
                   fit.observed, fit.expected, len(effects), tuple(effects),
                   model_half if math.isfinite(model_half) else None, post_start, post_end,
                   pre_observed, fit.post_days)


@dataclass(frozen=True)
class LaunchedLink:
    """One estimated link of a launched initiative: `expected` is ℓ·c (a range's midpoint
    times the confidence)."""
    key: str
    kpi: str
    launched_on: date
    expected: float


@dataclass
class LinkOutcome:
    link: LaunchedLink
    measure: Measure
    verdict: str
    group: tuple[str, ...] | None = None          # the confounded group's keys
    group_expected: float | None = None           # Σ of the group's expected lifts
    extra: dict = field(default_factory=dict)


def confounded_groups(links: Sequence[LaunchedLink], window: int) -> list[list[int]]:
    """Indices of links on the same KPI grouped when different initiatives launch less
    than `window` days apart (chained: A-B and B-C make one group). Singletons included."""
    by_kpi: dict[str, list[int]] = {}
    for n, ln in enumerate(links):
        by_kpi.setdefault(ln.kpi, []).append(n)
    groups: list[list[int]] = []
    for idx in by_kpi.values():
        idx.sort(key=lambda n: (links[n].launched_on, links[n].key))
        current = [idx[0]]
        for n in idx[1:]:
            last = max(links[m].launched_on for m in current)
            if (links[n].launched_on - last).days < window:
                current.append(n)
            else:
                groups.append(current)
                current = [n]
        groups.append(current)
    return groups


def measure_links(links: Sequence[LaunchedLink], series: dict[str, tuple[Sequence[date], Sequence[float]]], *,
                  as_of: date, params: OutcomeParams = OutcomeParams()) -> list[LinkOutcome]:
    """Every link's outcome, in the order given. `series[kpi]` is (days, values); a KPI
    missing from it is `not-measurable` ("no observations"). Links of one initiative on
    one KPI (several estimators) share one measure."""
    out: list[LinkOutcome | None] = [None] * len(links)
    window = params.post_days + params.ramp_days
    for group in confounded_groups(links, window):
        first = links[group[0]]
        days, values = series.get(first.kpi, ((), ()))
        keys = tuple(dict.fromkeys(links[n].key for n in group))
        if len(keys) == 1:
            m = measure(days, values, first.launched_on, first.expected, as_of=as_of, params=params)
            for n in group:
                out[n] = LinkOutcome(links[n], m, m.verdict)
            continue
        starts = [links[n].launched_on for n in group]
        per_key = {links[n].key: links[n].expected for n in group}       # one estimate per initiative
        total = float(sum(per_key.values()))
        length = (max(starts) - min(starts)).days + params.post_days
        m = measure(days, values, min(starts), total, as_of=as_of, params=params, post_length=length)
        verdict = m.verdict if m.verdict in ("measuring", "not-measurable") else "confounded"
        for n in group:
            out[n] = LinkOutcome(links[n], m, verdict, keys, total)
    return out  # type: ignore[return-value]


def counterfactual_path(days, values, launch: date, *, as_of: date, params: OutcomeParams = OutcomeParams(),
                        post_length: int | None = None) -> dict:
    """The series around a launch for a chart: per day of the pre and post windows, the
    observed value (None for a gap) and the counterfactual (the fit on the pre window,
    extended over the post window)."""
    from scoring.outcomes.counterfactual import design
    d, v = _series(days, values)
    keep = d <= (as_of - EPOCH).days
    d, v = d[keep], v[keep]
    L = (launch - EPOCH).days
    length = post_length or params.post_days
    rel = np.arange(-params.pre_days, params.ramp_days + length)
    grid = L + rel
    pos = np.searchsorted(d, grid)
    hit = (pos < len(d)) & (d[np.minimum(pos, max(len(d) - 1, 0))] == grid) if len(d) else np.zeros(len(grid), bool)
    y = np.where(hit, v[np.minimum(pos, max(len(d) - 1, 0))] if len(d) else 0.0, np.nan)
    X = design(grid.astype(float), float(L))
    pre = hit & (rel < 0)
    fitted = np.full(len(grid), np.nan)
    if pre.sum() >= 2:
        beta = np.linalg.lstsq(X[pre], y[pre], rcond=None)[0]
        fitted = X @ beta
    return {"days": [EPOCH + timedelta(days=int(x)) for x in grid],
            "observed": [None if not h else float(val) for h, val in zip(hit, y)],
            "counterfactual": [None if not math.isfinite(f) else float(f) for f in fitted]}
