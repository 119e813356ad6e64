"""The plan and the risk analysis of the published data, stored once computed
(app/services/planning/plan.py and risk.py say what; a sync computes them for a large backlog).
Each gunicorn worker used to solve the plan and simulate the risk on its first roadmap
page after a sync, seconds each at 10,000 items; now the first one to compute stores, and
the others read.

Every function takes the `Store`. Writing keeps the rows of the newest data version only
(older data is never read again) and at most KEEP of them.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from hashlib import sha256

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError

from app.store import schema as s

log = logging.getLogger("app.store")
KEEP = 32           # analyses kept for the newest data (dates, plan requests, draws)


def key_of(kind: str, *parts) -> str:
    """The key an analysis is stored under: its kind and every input it depends on.

    >>> key_of("plan", "digest", (3, 0), "2026-07-02") == key_of("plan", "digest", (3, 0), "2026-07-02")
    True
    >>> key_of("plan", "digest", (3, 0), "2026-07-02") == key_of("plan", "digest", (4, 0), "2026-07-02")
    False
    """
    return sha256(json.dumps([kind, *parts], sort_keys=True, default=str).encode()).hexdigest()


def read(store, key: str) -> bytes | None:
    t = s.stored_analyses
    with store.engine.connect() as c:
        got = c.execute(select(t.c.body).where(t.c.key == key)).scalar()
    return None if got is None else bytes(got)


def write(store, key: str, kind: str, data_version: int, body: bytes) -> None:
    """Store `body` under `key` (over an unreadable one); when another process stores the
    same key at the same moment, one of them wins (the same inputs give the same analysis)."""
    t = s.stored_analyses
    try:
        with store.engine.begin() as c:
            c.execute(delete(t).where((t.c.data_version < data_version) | (t.c.key == key)))
            c.execute(t.insert().values(key=key, kind=kind, data_version=data_version,
                                        created_at=datetime.now(timezone.utc), body=body))
            keys = c.execute(select(t.c.key).order_by(t.c.created_at.desc(), t.c.key)).scalars().all()
            if len(keys) > KEEP:
                c.execute(delete(t).where(t.c.key.in_(keys[KEEP:])))
    except IntegrityError:
        pass
    except OperationalError as exc:   # a busy database: the analysis is served, and computed again later
        log.warning("an analysis was not stored: %s", type(exc).__name__)
