"""Snapshots in the store: the chain of sealed snapshots (scoring.changes.snapshot) as
manifests plus the item versions they share, each stored once; and the initiatives as
full models, which is what a snapshot freezes.

Every function takes the `Store`. Saving is one transaction: the chain has one head
(`prev_hash` is unique), so two savers racing on the same head cannot fork it; the loser
re-reads the head and tries again.
"""
from __future__ import annotations

import json
import re
import zlib
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.store import schema as s
from scoring.changes import snapshot as sn
from scoring.model import FACTOR_NAMES, LINK_UNITS, Initiative, Link
from scoring.errors import Conflict

_BATCH = 500
HEAD_KEY = "snapshot_head"      # `meta`: the hash of the snapshot saved last (app/services/chain.py)


class DuplicateName(Conflict):
    """A snapshot with this name exists already."""
    code = "duplicate-name"


# -- the initiatives as models ----------------------------------------------------------

def initiatives(store, where=None) -> list[Initiative]:
    """Every active initiative (done ones too) as the model the scoring reads, with its
    links, factors and source flags: what a snapshot holds. `where`: an extra condition
    on the initiatives table (the launched ones, say)."""
    it, ln, refs = s.initiatives, s.links, s.kpi_refs
    cols = [it.c.id, it.c.key, it.c.title, it.c.status, it.c.status_category, it.c.effort, it.c.confidence,
            it.c.url, it.c.parent, it.c.labels, it.c.blocked_by, it.c.flags, it.c.team, it.c.mandatory,
            *[it.c[f] for f in FACTOR_NAMES], it.c.launched_on, it.c.done_on, it.c.estimator]
    links: dict[int, list] = {}
    with store.engine.connect() as c:
        names = dict(c.execute(select(refs.c.code, refs.c.name)).all())
        active = it.c.active if where is None else (it.c.active & where)
        q = (select(ln.c.item_id, ln.c.kpi_code, ln.c.low, ln.c.high, ln.c.confidence, ln.c.unit, ln.c.estimator)
             .join(it, it.c.id == ln.c.item_id).where(active).order_by(ln.c.item_id, ln.c.position))
        for item_id, code, low, high, conf, unit, by in c.execute(q):
            links.setdefault(item_id, []).append(Link(kpi=names[code], low=low, high=None if low is None else high,
                                                      confidence=conf, unit=LINK_UNITS[unit or 0], by=by or None))
        rows = c.execute(select(*cols).where(active).order_by(it.c.key)).all()
    extra = _stored_estimates(store)
    out = []
    for r in rows:
        factors = {f: float(v) for f, v in zip(FACTOR_NAMES, r[14:14 + len(FACTOR_NAMES)]) if v is not None}
        out.append(Initiative(key=r.key, title=r.title, status=r.status, status_category=r.status_category,
                              effort=r.effort, confidence=r.confidence,
                              links=_with_stored(links.get(r.id, []), extra.get(r.key, [])),
                              flags=tuple(r.flags.split()), url=r.url, parent=r.parent,
                              labels=tuple(r.labels.split()), blocked_by=tuple(r.blocked_by.split()),
                              team=r.team, mandatory=bool(r.mandatory), factors=factors,
                              launched_on=r.launched_on, done_on=r.done_on, estimator=r.estimator or None))
    return out


def _stored_estimates(store) -> dict[str, list[Link]]:
    """The estimates kept in the store that the ranking counts, per key, frozen per person."""
    from app.store import estimates
    out: dict[str, list[Link]] = {}
    for e in estimates.counted(store):
        out.setdefault(e.key, []).append(Link(kpi=e.kpi, low=e.low, high=e.high, confidence=e.confidence,
                                              unit=e.unit, by=e.by))
    return out


def _with_stored(tracker: list[Link], stored: list[Link]) -> tuple[Link, ...]:
    """The tracker's links, then the stored estimates, each replacing the same person's
    tracker line of that KPI (and an unestimated one)."""
    if not stored:
        return tuple(tracker)
    from scoring.notation import person_key
    mine = {(ln.kpi, person_key(ln.by)) for ln in stored}
    kpis = {ln.kpi for ln in stored}
    kept = [ln for ln in tracker if (ln.kpi, person_key(ln.by)) not in mine and not (ln.low is None and ln.kpi in kpis)]
    return tuple(kept + stored)


# -- reading ------------------------------------------------------------------------------

def rows(store) -> list[dict]:
    """Every snapshot, oldest first, in chain order: hash, prev_hash, name, created_at,
    run_id, items, is_full (manifests not read)."""
    t = s.snapshots
    with store.engine.connect() as c:
        got = [dict(r) for r in c.execute(select(t.c.hash, t.c.prev_hash, t.c.name, t.c.created_at, t.c.run_id,
                                                  t.c.item_count, t.c.is_full)).mappings()]
    return chain_order(got)


def chain_order(got: list[dict]) -> list[dict]:
    """Rows in chain order from the first (prev_hash ""); rows off the chain (an edited
    hash) follow, oldest saved first."""
    by_prev = {r["prev_hash"]: r for r in got}
    out, h, seen = [], "", set()
    while h in by_prev and by_prev[h]["hash"] not in seen:
        r = by_prev[h]
        out.append(r)
        seen.add(r["hash"])
        h = r["hash"]
    rest = sorted((r for r in got if r["hash"] not in seen), key=lambda r: (r["created_at"], r["hash"]))
    return out + rest


def manifest(store, h: str) -> bytes:
    t = s.snapshots
    with store.engine.connect() as c:
        got = c.execute(select(t.c.manifest).where(t.c.hash == h)).scalar()
    if got is None:
        raise KeyError(h)
    return bytes(got)


def manifests(store) -> dict[str, bytes]:
    t = s.snapshots
    with store.engine.connect() as c:
        return {r[0]: bytes(r[1]) for r in c.execute(select(t.c.hash, t.c.manifest))}


def items(store, hashes) -> dict[str, bytes]:
    """The stored (compressed) bytes of these item versions, in batches."""
    t = s.snapshot_items
    wanted = list(hashes)
    out: dict[str, bytes] = {}
    with store.engine.connect() as c:
        for n in range(0, len(wanted), _BATCH):
            q = select(t.c.hash, t.c.blob).where(t.c.hash.in_(wanted[n:n + _BATCH]))
            out.update((r[0], bytes(r[1])) for r in c.execute(q))
    return out


def load(store, h: str, cache: dict[str, bytes] | None = None) -> sn.Snapshot:
    """The snapshot stored under hash `h`, decoded (items read as stored: `verify` says
    whether they were edited)."""
    fetched = cache if cache is not None else {}

    def fetch_manifest(x: str) -> bytes:
        if x not in fetched:
            fetched[x] = manifest(store, x)
        return fetched[x]
    return sn.decode(fetch_manifest(h), lambda hs: items(store, hs), fetch_manifest)


def ranks(store, h: str, fmt: int) -> list[str] | None:
    """The keys snapshot `h` ranks, in rank order, as `save_ranks` stored them for the
    scoring format `fmt`; None when they are not stored (or were for another format)."""
    t = s.snapshot_ranks
    with store.engine.connect() as c:
        blob = c.execute(select(t.c["keys"]).where(t.c.hash == h)).scalar()
    if blob is None:
        return None
    got = json.loads(zlib.decompress(bytes(blob)))
    return got["keys"] if got.get("format") == fmt else None


def save_ranks(store, h: str, fmt: int, keys: list[str]) -> None:
    """Keep the keys snapshot `h` ranks (re-scored with scoring format `fmt`); another
    process storing them first wins (the same keys)."""
    t = s.snapshot_ranks
    blob = zlib.compress(json.dumps({"format": fmt, "keys": keys}, ensure_ascii=False).encode(), 1)
    try:
        with store.engine.begin() as c:
            c.execute(delete(t).where(t.c.hash == h))
            c.execute(t.insert().values(hash=h, keys=blob))
    except IntegrityError:
        pass


def resolve(store, ref: str, known: list[dict] | None = None) -> dict | None:
    """The snapshot row `ref` names: a name (`sync-42` is the automatic one of run 42),
    else a unique hash prefix of 4 characters or more; None when nothing or several match."""
    known = rows(store) if known is None else known
    for r in known:
        if r["name"] == ref:
            return r
    if re.fullmatch(r"[0-9a-fA-F]{4,64}", ref):
        hits = [r for r in known if r["hash"].startswith(ref.lower())]
        if len(hits) == 1:
            return hits[0]
    return None


# -- writing ------------------------------------------------------------------------------

def save(store, snapshot: sn.Snapshot, *, run_id: int | None, created_at: datetime, attempts: int = 3) -> dict:
    """Seal `snapshot` onto the chain's head and store it: its manifest (a delta on the
    head's, a full one every 30) and only the item versions not stored already. Returns
    its row. Raises DuplicateName when the name is taken."""
    t, ti = s.snapshots, s.snapshot_items
    for attempt in range(attempts):
        known = rows(store)
        if snapshot.name and any(r["name"] == snapshot.name for r in known):
            raise DuplicateName(f"a snapshot named '{snapshot.name}' exists already")
        head = head_of(known)
        cache: dict[str, bytes] = {}

        def fetch_manifest(x: str) -> bytes:
            if x not in cache:
                cache[x] = manifest(store, x)
            return cache[x]
        sealed = sn.seal(snapshot, head)
        previous = fetch_manifest(head) if head else None
        blob, new_items = sn.encode(sealed, previous, fetch_manifest)
        try:
            with store.engine.begin() as c:
                hashes = list(new_items)
                have = set()
                for n in range(0, len(hashes), _BATCH):
                    have.update(c.execute(select(ti.c.hash).where(ti.c.hash.in_(hashes[n:n + _BATCH]))).scalars())
                todo = [{"hash": h, "blob": b} for h, b in new_items.items() if h not in have]
                for n in range(0, len(todo), 5000):
                    c.execute(ti.insert(), todo[n:n + 5000])
                row = {"hash": sealed.hash, "prev_hash": head, "name": snapshot.name or None,
                       "created_at": created_at, "run_id": run_id, "item_count": len(sealed.initiatives),
                       "manifest": blob, "is_full": sn.header(blob)["items"]["base"] is None}
                c.execute(t.insert(), row)
                c.execute(delete(s.meta).where(s.meta.c.key == HEAD_KEY))
                c.execute(s.meta.insert().values(key=HEAD_KEY, value=sealed.hash))
                from app.auth import audit     # the audit row commits with the snapshot
                audit.record(c, "snapshot.save", snapshot.name or f"sync run {run_id}")
            return {k: v for k, v in row.items() if k != "manifest"}
        except IntegrityError:
            if snapshot.name and any(r["name"] == snapshot.name for r in rows(store)):
                raise DuplicateName(f"a snapshot named '{snapshot.name}' exists already") from None
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def head_of(known: list[dict]) -> str:
    """The chain's tip: the newest snapshot no other one follows ("" when none)."""
    followed = {r["prev_hash"] for r in known}
    tips = [r for r in known if r["hash"] not in followed]
    return max(tips, key=lambda r: (r["created_at"], r["hash"]))["hash"] if tips else ""


def sizes(store) -> dict[str, int]:
    """Bytes the snapshots take: manifests and item blobs (payload, not the database's
    own overhead) and their counts."""
    t, ti = s.snapshots, s.snapshot_items
    with store.engine.connect() as c:
        m = c.execute(select(func.count(), func.coalesce(func.sum(func.length(t.c.manifest)), 0))).one()
        i = c.execute(select(func.count(), func.coalesce(func.sum(func.length(ti.c.blob)), 0))).one()
    return {"snapshots": m[0], "manifest_bytes": int(m[1]), "items": i[0], "item_bytes": int(i[1])}
