"""API tokens for tools and the people seen at sign-in (docs/cli.md, "roadmap token",
"roadmap users").

A token is shown once, when made; the store keeps only its sha256 (a token is 256 random
bits, so a plain hash is enough) and compares it timing-safe. Every request looks its
token up in the store, so `roadmap token revoke` holds at once on every replica.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, update

from app.auth import ROLES, Person
from app.auth import audit
from app.store import schema as s
from scoring.errors import BadInput, NotFound

PREFIX = "rmt_"
LAST_USED_EVERY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create(store, name: str, role: str, *, by: Person | None = None) -> tuple[dict, str]:
    """A new token: its row and the token itself (shown once, never stored)."""
    name = (name or "").strip()
    if not name or len(name) > 255 or not name.isprintable():
        raise BadInput("NAME: give the tool a short printable name (at most 255 characters)")
    if role not in ROLES:
        raise BadInput(f"--role: '{role}' is not a role; use one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    row = {"name": name, "role": role, "hash": _hash(token), "created_at": _now(),
           "created_by": (by.name if by else "local")[:255]}
    with store.engine.begin() as c:
        row["id"] = c.execute(insert(s.api_tokens).values(**row)).inserted_primary_key[0]
        audit.record(c, "token.create", f"token {row['id']} '{name}' role {role}", person=by)
    return _public(row), token


def revoke(store, token_id: str | int, *, by: Person | None = None) -> dict:
    t = s.api_tokens
    try:
        tid = int(token_id)
    except (TypeError, ValueError):
        raise BadInput(f"ID: '{str(token_id)[:40]}' is not a token id; `roadmap users` lists them") from None
    with store.engine.begin() as c:
        row = c.execute(select(t).where(t.c.id == tid)).mappings().first()
        if row is None:
            raise NotFound(f"no token with id {tid}; `roadmap users` lists them")
        if row["revoked_at"] is None:
            c.execute(update(t).where(t.c.id == tid).values(revoked_at=_now()))
        audit.record(c, "token.revoke", f"token {tid} '{row['name']}'", person=by)
        row = c.execute(select(t).where(t.c.id == tid)).mappings().first()
    return _public(dict(row))


def lookup(store, token: str) -> Person | None:
    """The person a bearer token stands for; None when unknown or revoked."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    want = _hash(token)
    t = s.api_tokens
    with store.engine.connect() as c:
        row = c.execute(select(t.c.id, t.c.name, t.c.role, t.c.hash, t.c.revoked_at, t.c.last_used)
                        .where(t.c.hash == want)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.hash, want):
        return None
    stamp = _now()
    last = row.last_used.replace(tzinfo=timezone.utc) if row.last_used and row.last_used.tzinfo is None \
        else row.last_used
    if last is None or stamp - last > LAST_USED_EVERY:        # `roadmap users` shows it; one write per minutes
        with store.engine.begin() as c:
            c.execute(update(t).where(t.c.id == row.id).values(last_used=stamp))
    return Person(name=f"token:{row.name}", role=row.role, id=f"token-{row.id}", via="token")


def _public(row: dict) -> dict:
    def iso(v):
        return v.isoformat() if isinstance(v, datetime) else v
    return {"id": row["id"], "name": row["name"], "role": row["role"], "created_at": iso(row["created_at"]),
            "created_by": row["created_by"], "revoked_at": iso(row.get("revoked_at")),
            "last_used": iso(row.get("last_used")),
            "status": "revoked" if row.get("revoked_at") else "active"}


def listing(store) -> list[dict]:
    t = s.api_tokens
    with store.engine.connect() as c:
        return [_public(dict(r)) for r in c.execute(select(t).order_by(t.c.id)).mappings()]


def seen(store, person: Person) -> None:
    """Remember a person at sign-in: first and last seen, and the role they got."""
    p = s.people
    stamp = _now()
    with store.engine.begin() as c:
        done = c.execute(update(p).where(p.c.id == person.id[:255]).values(
            name=person.name[:255], via=person.via, role=person.role, last_seen=stamp)).rowcount
        if not done:
            c.execute(insert(p).values(id=person.id[:255], name=person.name[:255], via=person.via,
                                       role=person.role, first_seen=stamp, last_seen=stamp))


def people(store) -> list[dict]:
    p = s.people
    with store.engine.connect() as c:
        return [{"id": r["id"], "name": r["name"], "via": r["via"], "role": r["role"],
                 "first_seen": r["first_seen"].isoformat(), "last_seen": r["last_seen"].isoformat()}
                for r in c.execute(select(p).order_by(p.c.name)).mappings()]
