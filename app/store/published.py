"""The published rankings in the store (docs/model.md, "The published ranking"): one row
per input key (app/ranking_inputs.py), written once, read by every view.

Every function takes the `Store`. Writing keeps the rows of the newest data version only
(older data is never read again) and at most KEEP of them.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from app.ranking_inputs import store_values as _values
from app.store import schema as s

KEEP = 16          # rankings kept for the newest data (as_of, method, include_done variants)


def store_values(store) -> list:
    """The STORE_INPUTS of app/ranking_inputs.py, read in one connection."""
    with store.engine.connect() as c:
        return _values(lambda sql: c.execute(text(sql)).scalar())


def read(store, key: str, part: str):
    """One part (`head`, `top`, `csv`, `columns`) of the ranking stored under `key`, or None."""
    t = s.published_rankings
    with store.engine.connect() as c:
        got = c.execute(select(t.c[part]).where(t.c.key == key)).scalar()
    return bytes(got) if isinstance(got, (bytes, bytearray, memoryview)) else got


def write(store, key: str, data_version: int, *, head: str, top: bytes, csv: bytes, columns: bytes) -> None:
    """Store a ranking under `key`; another process storing the same key first wins (same content)."""
    t = s.published_rankings
    try:
        with store.engine.begin() as c:
            c.execute(delete(t).where(t.c.data_version < data_version))
            c.execute(t.insert().values(key=key, data_version=data_version, created_at=datetime.now(timezone.utc),
                                        head=head, top=top, csv=csv, columns=columns))
            keys = c.execute(select(t.c.key).order_by(t.c.created_at.desc(), t.c.key)).scalars().all()
            if len(keys) > KEEP:
                c.execute(delete(t).where(t.c.key.in_(keys[KEEP:])))
    except IntegrityError:
        pass


def bump_inputs(store) -> None:
    """Say that an input of the ranking stored outside a sync has changed (an estimate
    added on the web, new calibration factors): every stored ranking is then stale."""
    m = s.meta
    with store.engine.begin() as c:
        n = c.execute(update(m).where(m.c.key == "ranking_inputs")
                      .values(value=text("CAST(CAST(value AS INTEGER) + 1 AS TEXT)"))).rowcount
        if not n:
            c.execute(m.insert().values(key="ranking_inputs", value="1"))


def clear(store) -> None:
    """Drop every stored ranking (tests, and a reset)."""
    with store.engine.begin() as c:
        c.execute(delete(s.published_rankings))
