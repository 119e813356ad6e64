"""The plain data the scoring model works on: objectives, KPIs, edges, initiatives.

Small things (objectives, KPIs, edges) are pydantic models validated once from the
config. A backlog can hold hundreds of thousands of initiatives, so the scoring kernel
reads it as columns (`Backlog`), built either from `Initiative` models or straight from
the store.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from scoring.frameworks import FACTOR_NAMES as _FACTOR_NAMES

StatusCategory = Literal["new", "indeterminate", "done"]
Direction = Literal["up", "down"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Bounds on weights: a weight beyond these is a typo or an attack (1e308 turns every
# score into 0 with overflow warnings), never a strategy.
MAX_OBJECTIVE_WEIGHT = 1e6
MAX_EDGE_WEIGHT = 1e3

Aggregate = Literal["last", "mean", "sum", "median"]


class Objective(_Strict):
    id: str = Field(min_length=1)
    name: str = ""
    weight: float = Field(ge=0, le=MAX_OBJECTIVE_WEIGHT, allow_inf_nan=False)


class Kpi(_Strict):
    id: str = Field(min_length=1)
    name: str = ""
    unit: str = ""
    direction: Direction = "up"
    baseline: float | None = Field(default=None, allow_inf_nan=False)
    target: float | None = Field(default=None, allow_inf_nan=False)
    start: date | None = None
    deadline: date | None = None
    window_days: int = Field(default=1, ge=1, le=3660)   # current = aggregate of this many days
    aggregate: Aggregate = "last"

    @property
    def sign(self) -> int:
        return 1 if self.direction == "up" else -1


class Edge(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    source: str = Field(alias="from", min_length=1)
    target: str = Field(alias="to", min_length=1)
    weight: float = Field(ge=-MAX_EDGE_WEIGHT, le=MAX_EDGE_WEIGHT, allow_inf_nan=False)
    # a 90 % interval [low, high] for the weight, read only by the uncertainty analysis
    weight_range: tuple[float, float] | None = None

    @field_validator("weight_range")
    @classmethod
    def _range(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is None:
            return v
        low, high = v
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError("both ends must be finite numbers")
        if low > high:
            raise ValueError(f"low {low:g} is above high {high:g}; write [low, high]")
        if max(abs(low), abs(high)) > MAX_EDGE_WEIGHT:
            raise ValueError(f"must lie from -{MAX_EDGE_WEIGHT:g} to {MAX_EDGE_WEIGHT:g}")
        return v


# How a link's `low`/`high` are written: relative lifts (""), percentage points ("pp",
# stored as fractions: +2pp = 0.02) or points of the KPI's own unit ("pt").
LinkUnit = Literal["", "pp", "pt"]
LINK_UNITS: tuple[str, ...] = ("", "pp", "pt")     # code per unit in `Backlog.link_unit`


class Link(_Strict):
    """One initiative -> KPI estimate. `low`/`high` are relative lifts (-0.05 = -5 %),
    or absolute changes when `unit` is "pp" or "pt" (converted at scoring time with the
    KPI's current value); both None for an unestimated link (a bare `kpi:<id>` label)."""
    kpi: str
    low: float | None = None
    high: float | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    unit: LinkUnit = ""
    by: str | None = None      # the estimator's display name (`... by NAME`); None: the item's estimator

    @property
    def lift(self) -> float | None:
        if self.low is None or self.high is None:
            return None
        return (self.low + self.high) / 2


class Initiative(_Strict):
    key: str = Field(min_length=1)
    title: str = ""
    status: str = ""
    status_category: StatusCategory = "new"
    effort: float | None = None
    confidence: float | None = None
    links: tuple[Link, ...] = ()
    flags: tuple[str, ...] = ()          # flags found while reading the source record
    url: str = ""
    parent: str = ""
    labels: tuple[str, ...] = ()
    blocked_by: tuple[str, ...] = ()
    team: str = ""
    mandatory: bool = False
    factors: dict[str, float] = Field(default_factory=dict)  # rice / ice / wsjf inputs
    estimator: str | None = None         # who estimated, for lines without `by` (else "unknown")
    launched_on: date | None = None      # when it reached users (docs/model.md, "Outcomes")
    done_on: date | None = None          # the day it became done

    @property
    def launch_date(self) -> date | None:
        """The day it launched: `launched_on`, else the day it became done while it is done
        (an item reopened since is not launched)."""
        if self.launched_on is not None:
            return self.launched_on
        return self.done_on if self.status_category == "done" else None

    @field_validator("effort", "confidence")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v


def person_key(name: str | None) -> str | None:
    """How two estimators' names compare: case-insensitively, spaces collapsed."""
    return " ".join(name.split()).casefold() if name else None


def latest_per_person(links: list[Link], estimator: str | None = None) -> list[Link]:
    """Each person's last estimate per KPI (a later line replaces an earlier one), in the
    order written; a line without `by` is the initiative's `estimator`'s. Unestimated
    links (labels) are left as they are."""
    seen: dict[tuple[str, str | None], int] = {}
    for n, ln in enumerate(links):
        if ln.low is not None:
            seen[(ln.kpi, person_key(ln.by or estimator))] = n
    return [ln for n, ln in enumerate(links)
            if ln.low is None or seen[(ln.kpi, person_key(ln.by or estimator))] == n]


@dataclass
class Backlog:
    """A backlog as columns of plain data. Link arrays are parallel; `link_item` indexes
    `keys` and `link_kpi_code` indexes `kpi_names`. Missing numbers are NaN. `texts` holds
    (title, status, url) per item when the backlog was built in memory; a store's backlog
    leaves it None and the services join the text of the items on show by key.
    `source_flags` are the flags found while reading the source records (item -> flags),
    for the few items that have any."""
    keys: list[str]
    done: np.ndarray                      # bool per item
    effort: np.ndarray                    # float, NaN = not given
    confidence: np.ndarray                # float, NaN = not given
    has_source_flags: np.ndarray          # bool: the source record was flagged
    link_item: np.ndarray                 # int per link
    link_kpi_code: np.ndarray             # int per link
    kpi_names: list[str]                  # KPI id per code
    link_low: np.ndarray                  # float, NaN = unestimated
    link_high: np.ndarray
    link_confidence: np.ndarray           # float, NaN = not given
    factors: dict[str, np.ndarray] = field(default_factory=dict)  # classic-framework inputs, NaN = not given
    link_unit: np.ndarray | None = None   # int8 code per link into LINK_UNITS; None = all relative
    source_flags: dict[int, tuple[str, ...]] = field(default_factory=dict)
    texts: list[tuple[str, str, str] | None] | None = None   # (title, status, url); None = in the store
    # who estimated each link: a code into `estimator_names`, -1 unknown; None = all unknown.
    # Several links of one item to one KPI are several raters, pooled (docs/model.md "Several estimators").
    link_by: np.ndarray | None = None
    estimator_names: list[str] = field(default_factory=list)

    def by_codes(self) -> np.ndarray:
        """The estimator code per link (-1 = unknown)."""
        if self.link_by is None:
            return np.full(len(self.link_item), -1, dtype=np.int64)
        return self.link_by

    def by_of(self, link: int) -> str | None:
        """The display name of who estimated a link, None when unknown."""
        code = -1 if self.link_by is None else int(self.link_by[link])
        return self.estimator_names[code] if code >= 0 else None

    def units(self) -> np.ndarray:
        """The unit code per link (0 = relative lift, 1 = pp, 2 = pt)."""
        if self.link_unit is None:
            return np.zeros(len(self.link_item), dtype=np.int8)
        return self.link_unit

    def __len__(self) -> int:
        return len(self.keys)

    def kpi_of(self, link: int) -> str:
        return self.kpi_names[self.link_kpi_code[link]]

    @property
    def link_kpi(self) -> list[str]:
        return [self.kpi_names[c] for c in self.link_kpi_code.tolist()]

    def text(self, i: int) -> tuple[str, str, str] | None:
        """(title, status, url) when the backlog holds it, else None (ask the store)."""
        return None if self.texts is None else self.texts[i]

    def title(self, i: int) -> str:
        t = self.text(i)
        return t[0] if t else ""

    @classmethod
    def from_initiatives(cls, items: list[Initiative]) -> "Backlog":
        nan = float("nan")
        link_item, codes, low, high, conf, unit, by = [], [], [], [], [], [], []
        names: dict[str, int] = {}
        people: dict[str, int] = {}
        shown: list[str] = []
        for n, it in enumerate(items):
            for ln in latest_per_person(list(it.links), it.estimator):
                name = (ln.by or it.estimator) if ln.low is not None else None
                if name:
                    code = people.setdefault(person_key(name), len(people))
                    if code == len(shown):
                        shown.append(" ".join(name.split()))
                by.append(people[person_key(name)] if name else -1)
                link_item.append(n)
                codes.append(names.setdefault(ln.kpi, len(names)))
                low.append(nan if ln.low is None else ln.low)
                high.append(nan if ln.high is None else ln.high)
                conf.append(nan if ln.confidence is None else ln.confidence)
                unit.append(LINK_UNITS.index(ln.unit))
        return cls(
            keys=[it.key for it in items],
            done=np.array([it.status_category == "done" for it in items], dtype=bool),
            effort=np.array([nan if it.effort is None else it.effort for it in items], dtype=float),
            confidence=np.array([nan if it.confidence is None else it.confidence for it in items], dtype=float),
            has_source_flags=np.array([bool(it.flags) for it in items], dtype=bool),
            link_item=np.array(link_item, dtype=np.int64),
            link_kpi_code=np.array(codes, dtype=np.int64),
            kpi_names=list(names),
            link_low=np.array(low, dtype=float),
            link_high=np.array(high, dtype=float),
            link_confidence=np.array(conf, dtype=float),
            texts=[(it.title, it.status, it.url) for it in items],
            source_flags={n: tuple(it.flags) for n, it in enumerate(items) if it.flags},
            factors={name: np.array([it.factors.get(name, nan) for it in items], dtype=float)
                     for name in sorted({f for it in items for f in it.factors})},
            link_unit=np.array(unit, dtype=np.int8) if any(unit) else None,
            link_by=np.array(by, dtype=np.int64) if shown else None, estimator_names=shown,
        )


# The classic scorers' inputs a tracker mapping or a file column may provide (from the
# one registry of scorers, scoring/frameworks.py).
FACTOR_NAMES = _FACTOR_NAMES


def join_backlogs(a: Backlog, b: Backlog) -> Backlog:
    """`a` then `b` as one backlog (for what-if initiatives added to the real backlog)."""
    names = list(a.kpi_names)
    index = {n: i for i, n in enumerate(names)}
    for n in b.kpi_names:
        if n not in index:
            index[n] = len(names)
            names.append(n)
    remap = np.array([index[n] for n in b.kpi_names] + [0], dtype=np.int64)
    factor_names = set(a.factors) | set(b.factors)

    def col(bl: Backlog, name: str) -> np.ndarray:
        return bl.factors.get(name, np.full(len(bl), np.nan))
    people = list(a.estimator_names)
    seen = {p.casefold(): n for n, p in enumerate(people)}
    for p in b.estimator_names:
        if p.casefold() not in seen:
            seen[p.casefold()] = len(people)
            people.append(p)
    by_remap = np.array([seen[p.casefold()] for p in b.estimator_names] + [-1], dtype=np.int64)
    return Backlog(
        keys=a.keys + b.keys, done=np.concatenate([a.done, b.done]),
        effort=np.concatenate([a.effort, b.effort]), confidence=np.concatenate([a.confidence, b.confidence]),
        has_source_flags=np.concatenate([a.has_source_flags, b.has_source_flags]),
        link_item=np.concatenate([a.link_item, b.link_item + len(a)]),
        link_kpi_code=np.concatenate([a.link_kpi_code, remap[b.link_kpi_code]]), kpi_names=names,
        link_low=np.concatenate([a.link_low, b.link_low]), link_high=np.concatenate([a.link_high, b.link_high]),
        link_confidence=np.concatenate([a.link_confidence, b.link_confidence]),
        texts=None if a.texts is None and b.texts is None else
        (a.texts or [None] * len(a)) + (b.texts or [None] * len(b)),
        source_flags={**a.source_flags, **{i + len(a): f for i, f in b.source_flags.items()}},
        factors={n: np.concatenate([col(a, n), col(b, n)]) for n in factor_names},
        link_unit=None if a.link_unit is None and b.link_unit is None else np.concatenate([a.units(), b.units()]),
        link_by=None if not people else np.concatenate([a.by_codes(), by_remap[b.by_codes()]]),
        estimator_names=people)
