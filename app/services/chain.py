"""The snapshot chain's own checks, shared by `snapshot list`, `diff`, the API, /changes, the
sync and /metrics (docs/cli.md, "roadmap snapshot"; docs/deployment.md, "Monitoring").

The content checks (`scoring.changes.snapshot.verify_stored`) cover what the hash seals; a
snapshot's row in the store has columns of its own, and each must say what its sealed
manifest says: the row's hash and previous hash are the sealed ones, each row chains to the
one before, its name, time (`meta.saved_at`, sealed since this check exists), item count
and whether it is a full manifest are the sealed header's. The hash of the newest snapshot
is kept apart (the `meta` table) when it is saved, so a deleted or replaced head shows too;
it is also logged and exported by /metrics, so an operator can compare it with their own
record.

A sync that finds the chain broken saves no snapshot and says so once ("snapshot chain
broken at <name>: ..."); the finding stays in `meta` until a sync finds the chain whole
again, for /metrics and /healthz.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select

from app.store import schema as s
from app.store import snapshots as store_snapshots
from scoring.changes import snapshot as sn

log = logging.getLogger("roadmap.changes")
HEAD_KEY = store_snapshots.HEAD_KEY   # the hash of the snapshot saved last
STATUS_KEY = "snapshot_chain"     # "" while whole, else "broken at <name>: <why>"


@dataclass
class Finding:
    index: int                    # the row's place in chain order (store_snapshots.rows)
    label: str                    # its name, else its hash prefix
    problem: str

    def __str__(self) -> str:
        return f"snapshot {self.index + 1} ({self.label}): {self.problem}"


@dataclass
class ChainCheck:
    findings: list[Finding] = field(default_factory=list)
    head: str = ""                # the newest snapshot's hash as the rows say
    recorded_head: str = ""       # the one recorded when it was saved

    @property
    def ok(self) -> bool:
        return not self.findings

    def broken(self) -> str | None:
        """'snapshot chain broken at <name>: <why>' for the first finding, None when whole."""
        if not self.findings:
            return None
        f = self.findings[0]
        more = f" (and {len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
        return f"snapshot chain broken at {f.label}: {f.problem}{more}"


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def sealed_lookup(blobs: dict[str, bytes]):
    """A manifest fetcher by *sealed* hash (a delta names its base so), whatever its row says."""
    by_sealed = {}
    for b in blobs.values():
        try:
            by_sealed[sn.header(b)["hash"]] = b
        except Exception:  # noqa: BLE001 - an unreadable manifest is reported by the row checks
            continue

    def fetch(h: str) -> bytes:
        if h not in by_sealed:
            raise LookupError(f"the manifest {h[:12]} a delta is based on is missing")
        return by_sealed[h]
    return fetch


def get_meta(store, key: str) -> str | None:
    with store.engine.connect() as c:
        return c.execute(select(s.meta.c.value).where(s.meta.c.key == key)).scalar()


def set_meta(store, key: str, value: str | None, conn=None) -> None:
    def write(c):
        c.execute(delete(s.meta).where(s.meta.c.key == key))
        if value is not None:
            c.execute(insert(s.meta).values(key=key, value=value))
    if conn is not None:
        write(conn)
        return
    with store.engine.begin() as c:
        write(c)


def row_findings(known: list[dict], blobs: dict[str, bytes], recorded_head: str = "") -> list[Finding]:
    """Every way the rows (in chain order) disagree with their sealed headers or each other."""
    fetch = sealed_lookup(blobs)
    out: list[Finding] = []
    for n, r in enumerate(known):
        label = r["name"] or r["hash"][:12]

        def bad(why: str) -> None:
            out.append(Finding(n, label, why))
        try:
            h = sn.header(blobs[r["hash"]])
            count = len(sn.manifest_index(blobs[r["hash"]], fetch))
        except Exception as exc:  # noqa: BLE001 - unreadable bytes are a finding
            bad(f"its manifest cannot be read ({type(exc).__name__})")
            continue
        if h["hash"] != r["hash"]:
            bad(f"its row's hash {r['hash'][:12]} is not its sealed hash {h['hash'][:12]}")
        if h["prev_hash"] != (r["prev_hash"] or ""):
            bad("its row's previous hash is not the sealed one")
        want_prev = known[n - 1]["hash"] if n else ""
        if (r["prev_hash"] or "") != want_prev:
            bad("it does not chain to the snapshot before it" if n else "it does not start the chain")
        if (r["name"] or "") != (h.get("name") or ""):
            bad(f"its row's name is not the sealed name '{h.get('name') or ''}'")
        saved = (h.get("meta") or {}).get("saved_at")
        if saved:
            try:
                same = _utc(r["created_at"]) == _utc(datetime.fromisoformat(saved))
            except (TypeError, ValueError):
                same = False
            if not same:
                bad(f"its row's time is not the sealed time {saved}")
        if r["item_count"] != count:
            bad(f"its row's item count {r['item_count']} is not the sealed {count}")
        if bool(r["is_full"]) != (h["items"]["base"] is None):
            bad("its row's is_full is not what its manifest is")
    hashes = {r["hash"] for r in known}
    if recorded_head and recorded_head not in hashes:
        out.append(Finding(len(known), recorded_head[:12],
                           "the newest snapshot saved is missing from the store (deleted or its hash rewritten)"))
    elif recorded_head and known and store_snapshots.head_of(known) != recorded_head:
        out.append(Finding(len(known) - 1, known[-1]["name"] or known[-1]["hash"][:12],
                           f"the chain's head is not the snapshot saved last ({recorded_head[:12]})"))
    return out


def check(store, known: list[dict] | None = None, blobs: dict[str, bytes] | None = None) -> ChainCheck:
    """The rows' checks over the whole chain (manifests read, items not)."""
    known = store_snapshots.rows(store) if known is None else known
    blobs = store_snapshots.manifests(store) if blobs is None else blobs
    recorded = get_meta(store, HEAD_KEY) or ""
    return ChainCheck(row_findings(known, blobs, recorded), store_snapshots.head_of(known), recorded)


def before_saving(store) -> str | None:
    """The sync's check before it chains a snapshot on: the 'snapshot chain broken at ...'
    sentence (logged once, kept in `meta` for /metrics and /healthz), or None when whole."""
    found = check(store)
    broken = found.broken()
    if broken:
        log.error("%s; no snapshot saved until the chain is repaired (head %s)", broken, found.head[:64] or "-")
    set_meta(store, STATUS_KEY, broken or "")
    return broken


def saved(row: dict) -> None:
    """Log the new head, so an operator's log holds every head the chain had."""
    log.info("snapshot %s saved; the chain's head is now %s", row.get("name") or "-", row["hash"])


def status(store) -> dict:
    """For /metrics and /healthz, without reading a manifest: the head as the rows say, the
    one recorded at saving, and the last finding of a sync ("" while whole)."""
    known = store_snapshots.rows(store)
    head = store_snapshots.head_of(known)
    recorded = get_meta(store, HEAD_KEY) or ""
    problem = get_meta(store, STATUS_KEY) or ""
    if not problem and recorded and recorded != head:
        problem = f"snapshot chain broken at {recorded[:12]}: the chain's head is not the snapshot saved last"
    return {"ok": not problem, "head": head, "recorded_head": recorded, "problem": problem or None}
