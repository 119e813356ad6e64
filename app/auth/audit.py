"""The audit log (docs/http.md, "Who may do what"; docs/cli.md, "roadmap audit"): who did
what, when, to which object, with what outcome, under which request id. Append-only, each
row chained by hash to the one before, so an edited or deleted row breaks the chain at
that row and `verify` names it.

A write that goes through the store records itself in its own transaction:
`audit.record(conn, "snapshot.save", name)`; the person and request id come from the
request (or the CLI's person). Never pass a secret, a token or a cookie as the object.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select, text

from app.store import schema as s

GENESIS = "0" * 64
FIELDS = ("seq", "at", "who", "via", "role", "action", "object", "outcome", "request_id")
MAX_OBJECT = 500
_LOCK_KEY = 7243022          # the PostgreSQL advisory lock that makes appends take turns
_cli_request: ContextVar[str | None] = ContextVar("roadmap_cli_request", default=None)


def row_hash(prev_hash: str, row: dict) -> str:
    """sha256 over the previous row's hash and this row's fields, canonical JSON.

    >>> row_hash(GENESIS, {f: "" for f in FIELDS})[:12]
    'f9999767a791'
    """
    body = json.dumps([prev_hash] + [row[f] for f in FIELDS], separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def request_id() -> str:
    """The current request's id (`X-Request-Id` answered on every response), or the CLI
    command's."""
    try:
        from flask import g, has_request_context
        if has_request_context():
            rid = getattr(g, "request_id", None)
            if rid is None:
                rid = g.request_id = uuid.uuid4().hex
            return rid
    except ImportError:      # pragma: no cover
        pass
    rid = _cli_request.get()
    if rid is None:
        rid = uuid.uuid4().hex
        _cli_request.set(rid)
    return rid


def _clean(value, limit: int) -> str:
    text_ = "".join(ch if ch.isprintable() else "?" for ch in str(value if value is not None else ""))
    return text_[:limit]


def record(conn, action: str, obj: str = "", outcome: str = "ok", *, person=None) -> None:
    """Append one row in the caller's transaction `conn` (so the row and the change it
    records commit or roll back together)."""
    from app.auth import current_person
    p = person or current_person()
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
    t = s.audit_log
    last = conn.execute(select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    row = {"seq": (last.seq + 1) if last else 1,
           "at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
           "who": _clean(p.name, 255), "via": _clean(p.via, 16), "role": _clean(p.role, 16),
           "action": _clean(action, 64), "object": _clean(obj, MAX_OBJECT), "outcome": _clean(outcome, 64),
           "request_id": _clean(request_id(), 64)}
    conn.execute(insert(t).values(**row, prev_hash=prev, hash=row_hash(prev, row)))
    _mark_recorded()


def _mark_recorded() -> None:
    try:
        from flask import g, has_request_context
        if has_request_context():
            g.audited = True
    except ImportError:      # pragma: no cover
        pass


def record_alone(store, action: str, obj: str = "", outcome: str = "ok", *, person=None) -> None:
    """A row in a transaction of its own (sign-ins, refusals, writes outside the store)."""
    from sqlalchemy.exc import DBAPIError
    for attempt in range(3):
        try:
            with store.engine.connect() as c:
                if c.dialect.name == "sqlite":
                    c.exec_driver_sql("BEGIN IMMEDIATE")     # read the head and append under one write lock
                record(c, action, obj, outcome, person=person)
                c.commit()
            return
        except DBAPIError:          # two writers raced for the same row: the chain refuses a fork; retry
            if attempt == 2:
                raise


@dataclass
class Verdict:
    verified: bool
    rows: int
    broken_at: int | None = None    # the first row whose hash or link does not hold
    problem: str = ""


def verify(rows: list[dict]) -> Verdict:
    """Walk the chain oldest first: each row must follow the one before (`prev_hash`), carry
    the next seq, and hash to its `hash`."""
    prev, seq = GENESIS, 0
    for r in rows:
        seq += 1
        if r["seq"] != seq:
            return Verdict(False, len(rows), seq, f"row {seq} is missing (the next row is {r['seq']})")
        if r["prev_hash"] != prev:
            return Verdict(False, len(rows), r["seq"], f"row {r['seq']} does not follow row {seq - 1}")
        if row_hash(prev, r) != r["hash"]:
            return Verdict(False, len(rows), r["seq"], f"row {r['seq']} was changed after it was written")
        prev = r["hash"]
    return Verdict(True, len(rows))


def rows(store) -> list[dict]:
    """Every row, oldest first."""
    t = s.audit_log
    with store.engine.connect() as c:
        return [dict(r) for r in c.execute(select(t).order_by(t.c.seq)).mappings()]


def report(store, since: datetime | None = None) -> dict:
    """The log (from `since`) and whether the whole chain holds."""
    every = rows(store)
    v = verify(every)
    shown = every
    if since is not None:
        stamp = (since if since.tzinfo else since.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()
        shown = [r for r in every if r["at"] >= stamp]
    return {"verified": v.verified, "broken_at": v.broken_at, "problem": v.problem or None, "total": len(every),
            "entries": [{k: r[k] for k in FIELDS} for r in shown]}
