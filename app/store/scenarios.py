"""Saved scenarios in the store (docs/http.md, "Saved scenarios"): a name, the page
(roadmap or plan), the page's URL query string, who saved it and when. Every function
takes the `Store`."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select

from app.store import schema as s


def _row(r) -> dict:
    return {"id": r.id, "name": r.name, "page": r.page, "query": r.query, "saved_by": r.saved_by,
            "saved_at": r.saved_at}


def listing(store, page: str | None = None) -> list[dict]:
    """Every saved scenario (of one page when `page` is given), newest first."""
    t = s.scenarios
    q = select(t).order_by(t.c.saved_at.desc(), t.c.id.desc())
    if page is not None:
        q = q.where(t.c.page == page)
    with store.engine.connect() as c:
        return [_row(r) for r in c.execute(q)]


def get(store, sid: int) -> dict | None:
    with store.engine.connect() as c:
        r = c.execute(select(s.scenarios).where(s.scenarios.c.id == sid)).first()
    return _row(r) if r else None


def save(store, *, name: str, page: str, query: str, saved_by: str, saved_at: datetime) -> dict:
    with store.engine.begin() as c:
        sid = c.execute(insert(s.scenarios).values(name=name, page=page, query=query, saved_by=saved_by,
                                                   saved_at=saved_at)).inserted_primary_key[0]
        from app.auth import audit     # the audit row commits with the scenario
        audit.record(c, "scenario.save", f"scenario {sid} '{name}' ({page})")
    return get(store, int(sid))


def remove(store, sid: int) -> bool:
    with store.engine.begin() as c:
        gone = c.execute(delete(s.scenarios).where(s.scenarios.c.id == sid)).rowcount > 0
        if gone:
            from app.auth import audit
            audit.record(c, "scenario.delete", f"scenario {sid}")
        return gone


def version(store) -> tuple[int, int]:
    """(count, largest id): changes whenever one is saved or deleted (pages cache on it)."""
    with store.engine.connect() as c:
        n, top = c.execute(select(func.count(), func.max(s.scenarios.c.id))).one()
    return int(n or 0), int(top or 0)
