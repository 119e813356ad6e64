"""Estimates added outside the tracker (`roadmap estimate`, the estimates API), kept in
the store so that syncs never touch them, and the blind rounds of the web's estimates
(docs/http.md "JSON API").

One row per item, KPI and person (compared case-insensitively): a person's later
estimate replaces theirs. A web estimate is `blind` until its item's round is revealed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select, update

from app.store import schema as s
from scoring.model import LINK_UNITS
from scoring.notation import person_key


@dataclass(frozen=True)
class StoredEstimate:
    id: int
    key: str
    kpi: str
    low: float
    high: float
    confidence: float | None
    unit: str                 # "", "pp" or "pt"
    by: str                   # display name
    line: str                 # as written
    source: str               # web | cli
    blind: bool
    created_at: datetime

    @property
    def by_key(self) -> str:
        return person_key(self.by) or ""


def _row(r) -> StoredEstimate:
    return StoredEstimate(id=r.id, key=r.key, kpi=r.kpi, low=r.low, high=r.high, confidence=r.confidence,
                          unit=LINK_UNITS[r.unit or 0], by=r.by_name, line=r.line, source=r.source,
                          blind=bool(r.blind), created_at=r.created_at)


def listed(store, key: str | None = None) -> list[StoredEstimate]:
    """Every stored estimate (of one item with `key`), oldest first."""
    t = s.estimates
    q = select(t).order_by(t.c.key, t.c.created_at, t.c.id)
    if key is not None:
        q = q.where(t.c.key == key)
    with store.engine.connect() as c:
        return [_row(r) for r in c.execute(q)]


def revealed(store, keys: list[str] | None = None) -> set[str]:
    """The items whose round has been revealed."""
    t = s.estimate_rounds
    q = select(t.c.key).where(t.c.revealed_at.is_not(None))
    if keys is not None:
        q = q.where(t.c.key.in_(keys))
    with store.engine.connect() as c:
        return {r[0] for r in c.execute(q)}


def put(store, *, key: str, kpi: str, low: float, high: float, confidence: float | None, unit: str, by: str,
        line: str, source: str, blind: bool) -> StoredEstimate:
    """Add `by`'s estimate of (key, kpi), replacing theirs if they had one."""
    t = s.estimates
    row = dict(key=key, kpi=kpi, low=low, high=high, confidence=confidence, unit=LINK_UNITS.index(unit),
               by_name=" ".join(by.split()), by_key=person_key(by), line=line, source=source, blind=blind,
               created_at=datetime.now(timezone.utc))
    with store.engine.begin() as c:
        c.execute(delete(t).where(t.c.key == key, t.c.kpi == kpi, t.c.by_key == row["by_key"]))
        new_id = c.execute(insert(t).values(**row)).inserted_primary_key[0]
        got = c.execute(select(t).where(t.c.id == new_id)).one()
        from app.auth import audit     # the audit row commits with the estimate
        audit.record(c, "estimate.add", f"{key} {kpi} estimate {new_id} ({source})")
    return _row(got)


def get(store, estimate_id: int) -> StoredEstimate | None:
    t = s.estimates
    with store.engine.connect() as c:
        r = c.execute(select(t).where(t.c.id == estimate_id)).first()
    return _row(r) if r is not None else None


def remove(store, estimate_id: int) -> bool:
    t = s.estimates
    with store.engine.begin() as c:
        gone = c.execute(delete(t).where(t.c.id == estimate_id)).rowcount > 0
        if gone:
            from app.auth import audit
            audit.record(c, "estimate.delete", f"estimate {estimate_id}")
        return gone


def reveal(store, key: str, by: str) -> None:
    """Reveal the item's round: its blind estimates count from now on."""
    t = s.estimate_rounds
    now = datetime.now(timezone.utc)
    with store.engine.begin() as c:
        if c.execute(update(t).where(t.c.key == key).values(revealed_at=now, revealed_by=by)).rowcount == 0:
            c.execute(insert(t).values(key=key, revealed_at=now, revealed_by=by))
        from app.auth import audit
        audit.record(c, "estimates.reveal", key)


def counted(store) -> list[StoredEstimate]:
    """The estimates the ranking counts: every one that is not blind, and the blind ones
    of revealed rounds."""
    t, rounds = s.estimates, s.estimate_rounds
    open_keys = select(rounds.c.key).where(rounds.c.revealed_at.is_not(None))
    q = select(t).where((t.c.blind == False) | t.c.key.in_(open_keys)).order_by(t.c.created_at, t.c.id)  # noqa: E712
    with store.engine.connect() as c:
        return [_row(r) for r in c.execute(q)]


def any_stored(store) -> bool:
    with store.engine.connect() as c:
        return c.execute(select(s.estimates.c.id).limit(1)).first() is not None
