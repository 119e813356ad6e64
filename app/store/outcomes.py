"""Outcomes in the store: the launched initiatives, the KPI series around their launches,
the estimate a snapshot froze before launch, and the outcome rows (app/services/outcomes.py
decides what to recompute; this module only reads and writes).

Every function takes the `Store`.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import numpy as np
from sqlalchemy import and_, delete, or_, select, update

from app.store import schema as s
from app.store import snapshots as snaps
from scoring.changes import snapshot as sn
from scoring.model import Initiative

COLUMNS = [c.name for c in s.outcomes.columns]


def launched(store) -> list[Initiative]:
    """Active initiatives with a launch date, or done with a done date (reopened items with
    only a done date are left out by `Initiative.launch_date`)."""
    it = s.initiatives
    got = snaps.initiatives(store, or_(it.c.launched_on.is_not(None),
                                       and_(it.c.done_on.is_not(None), it.c.status_category == "done")))
    return [x for x in got if x.launch_date is not None]


def series(store, kpis: list[str], since: date, until: date) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(day numbers since 1970-01-01, values) per KPI, sorted, for days in [since, until]."""
    o = s.observations
    out: dict[str, tuple[list, list]] = {k: ([], []) for k in kpis}
    with store.engine.connect() as c:
        for n in range(0, len(kpis), 500):
            q = (select(o.c.kpi, o.c.day, o.c.value)
                 .where(o.c.kpi.in_(kpis[n:n + 500]), o.c.day >= since, o.c.day <= until)
                 .order_by(o.c.kpi, o.c.day))
            for kpi, day, value in c.execute(q):
                out[kpi][0].append(day)
                out[kpi][1].append(value)
    return {k: (np.array(d, dtype="datetime64[D]").astype(np.int64), np.array(v, dtype=float))
            for k, (d, v) in out.items()}


def rows(store, *, active_only: bool = True) -> list[dict]:
    t = s.outcomes
    q = select(t).order_by(t.c.launched_on.desc(), t.c.key, t.c.kpi, t.c.estimator)
    if active_only:
        q = q.where(t.c.active)
    with store.engine.connect() as c:
        return [dict(r) for r in c.execute(q).mappings()]


def write(store, fresh: list[dict], retired: list[tuple[str, str, str]]) -> None:
    """Replace the rows of `fresh` (by key, KPI, estimator) and mark `retired` inactive
    (kept: an item reopened or an estimate removed may come back), in one transaction."""
    t = s.outcomes
    with store.engine.begin() as c:
        for n in range(0, len(fresh), 300):
            chunk = fresh[n:n + 300]
            c.execute(delete(t).where(or_(*[and_(t.c.key == r["key"], t.c.kpi == r["kpi"],
                                                 t.c.estimator == r["estimator"]) for r in chunk])))
            c.execute(t.insert(), [{k: r.get(k) for k in COLUMNS} for r in chunk])
        for n in range(0, len(retired), 300):
            chunk = retired[n:n + 300]
            c.execute(update(t).where(or_(*[and_(t.c.key == k, t.c.kpi == kpi, t.c.estimator == e)
                                            for k, kpi, e in chunk])).values(active=False))


class FrozenEstimates:
    """The initiatives as the latest snapshot saved before a day froze them (the estimate
    measured after launch is the one made before it). Manifests and items are read once."""

    def __init__(self, store):
        self.store = store
        self._rows: list[dict] | None = None
        self._index: dict[str, dict[str, str]] = {}
        self._manifests: dict[str, bytes] = {}

    def _fetch(self, h: str) -> bytes:
        if h not in self._manifests:
            self._manifests[h] = snaps.manifest(self.store, h)
        return self._manifests[h]

    def before(self, key: str, day: date) -> tuple[Initiative, str] | None:
        """(the initiative as frozen, the snapshot's name or hash) from the newest snapshot
        saved before `day` began (UTC) that holds `key`; None when there is none."""
        if self._rows is None:
            self._rows = snaps.rows(self.store)
        start = datetime.combine(day, time(0), tzinfo=timezone.utc)
        for r in sorted(self._rows, key=lambda r: r["created_at"], reverse=True):
            created = r["created_at"] if r["created_at"].tzinfo else r["created_at"].replace(tzinfo=timezone.utc)
            if created >= start:
                continue
            if r["hash"] not in self._index:
                try:
                    self._index[r["hash"]] = sn.manifest_index(self._fetch(r["hash"]), self._fetch)
                except (KeyError, ValueError):
                    self._index[r["hash"]] = {}
            ih = self._index[r["hash"]].get(key)
            if ih is None:
                continue
            blob = snaps.items(self.store, [ih]).get(ih)
            if blob is None:
                continue
            return Initiative.model_validate_json(sn.decompress(blob)), r["name"] or r["hash"][:12]
        return None
