"""The sync side of the store: runs, staging page by page, publishing a run in one
transaction, resuming an interrupted run, one sync per connector at a time, and
recovery after a process died mid-sync. `Store` (app.store.database) mixes it in.

A sync stages what it pulls under its run id and `publish` moves it into the tables the
ranking reads in one transaction, so a failed or interrupted sync leaves the ranking
exactly as the last good sync left it. Every IN (...) and multi-row insert is batched
below the databases' parameter limits.
"""
from __future__ import annotations

import json
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterable

from sqlalchemy import (Boolean, DateTime, Integer, String, and_, any_, bindparam, delete, exists, func, insert,
                        literal, select, text, true, update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url

try:
    import fcntl
except ImportError:  # Windows: no lock file; one sync at a time is then the operator's care
    fcntl = None  # type: ignore[assignment]

from app.store import schema as s
from scoring.model import LINK_UNITS
from scoring.errors import Busy, Conflict, RoadmapError


class StoreError(RoadmapError):
    """The database cannot be used as it is (newer schema, unreachable server): 503, exit 2."""
    status, code = 503, "store-unavailable"


class RemovalRefused(Conflict):
    """Publishing would take more initiatives out of the ranking than the caller allows."""
    code = "removal-refused"

    def __init__(self, removing: int, active: int):
        self.removing, self.active = removing, active
        super().__init__(f"the source no longer lists {removing} of the {active} initiatives it held "
                         "(more than half); kept the last good data. If that is right, sync again with "
                         "--allow-removal (or --full)")


class SyncBusy(Busy, StoreError):
    """Another process is syncing this connector now: 503 with Retry-After, exit 3."""
    code = "sync-busy"

    def __init__(self, connector: str):
        self.connector = connector
        super().__init__(f"another sync of '{connector}' is running; try again when it has finished")


# Bound parameters per statement: SQLite allows 32,766 and PostgreSQL 65,535; every IN (...)
# and multi-row insert goes in batches well below both.
BATCH = 1000


def batches(values: list, size: int = BATCH):
    for n in range(0, len(values), size):
        yield values[n:n + size]


def _among(c, column, values: list):
    """`column IN values` for one batch. On PostgreSQL as `= ANY(:array)`: one parameter,
    and the server hashes the array (a list of 1,000 parameters is compared row by row,
    which made staging 70,000 keys take minutes)."""
    if c.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def _upsert(c, table, rows: list[dict], unique: list[str], update: list[str]) -> None:
    """Insert rows; a row whose `unique` columns exist already updates `update` (or is skipped)."""
    if c.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table)
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=unique, set_={n: stmt.excluded[n] for n in update})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=unique)
    c.execute(stmt, rows)


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class StagedInitiative:
    """One initiative as a sync hands it to the store: its columns plus parsed links
    `(kpi, low, high, confidence)`."""
    key: str
    row: dict
    links: list[tuple]    # (kpi, low, high, confidence[, unit[, estimator]]) with unit "", "pp" or "pt"


_ROW_DEFAULTS = {col.name: (col.default.arg if col.default is not None else None)
                 for col in s.staged_initiatives.columns if col.name not in ("run_id", "key")}


def _full_row(row: dict, **extra) -> dict:
    """Every column present (executemany needs the same keys in every row)."""
    unknown = set(row) - set(_ROW_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown initiative columns: {sorted(unknown)}")
    return {**_ROW_DEFAULTS, **row, **extra}


class Staging:
    """Store methods a sync uses (needs `self.engine` and `self.url`)."""

    # -- sync side ------------------------------------------------------------
    @contextmanager
    def connector_lock(self, connector: str):
        """Held while a sync of `connector` runs, so one runs at a time; raises SyncBusy when
        another process holds it. The server (PostgreSQL advisory lock) or the OS (a lock
        file beside the SQLite file) releases it when the holder dies, even by SIGKILL."""
        if self.engine.dialect.name == "postgresql":
            key = (7243002 << 32) | zlib.crc32(connector.encode())
            with self.engine.connect() as c:
                if not c.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                    raise SyncBusy(connector)
                c.commit()
                try:
                    yield
                finally:
                    c.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    c.commit()
            return
        database = make_url(self.url).database
        if fcntl is None or database in (None, "", ":memory:"):
            yield
            return
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in connector)
        with open(f"{database}.sync-{safe}.lock", "a+b") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SyncBusy(connector) from None
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def recover(self, connector: str) -> int:
        """After a process died mid-sync (SIGKILL, power loss): mark the connector's runs
        still "running" as failed and drop every staged row no sync will resume (the pages
        under the saved resume bookmark stay). Call it holding `connector_lock`. Returns
        how many runs were marked."""
        r, b = s.sync_runs, s.bookmarks
        with self.engine.begin() as c:
            dead = c.execute(update(r).where(r.c.connector == connector, r.c.status == "running").values(
                status="failed", ended_at=now(),
                message="interrupted: the process ended before the sync finished")).rowcount
            pending = c.execute(select(b.c.pending_run).where(b.c.connector == connector)).scalar()
            runs = select(r.c.id).where(r.c.connector == connector)
            if pending is not None:
                runs = runs.where(r.c.id != pending)
            for t in (s.staged_initiatives, s.staged_links, s.staged_observations, s.staged_seen):
                c.execute(delete(t).where(t.c.run_id.in_(runs)))
        return dead

    def start_run(self, connector: str, full: bool) -> int:
        with self.engine.begin() as c:
            return c.execute(insert(s.sync_runs).values(
                connector=connector, started_at=now(), status="running", full=full)).inserted_primary_key[0]

    def stage_initiatives(self, run_id: int, items: list[StagedInitiative]) -> None:
        if not items:
            return
        items = list({it.key: it for it in items}.values())   # a key twice in one page: the later wins
        si, sl = s.staged_initiatives, s.staged_links
        staged = self._staged_keys(run_id)
        again = [it.key for it in items if it.key in staged]
        with self.engine.begin() as c:
            # a record seen twice in one run (a re-fetched page): the later one wins. Only
            # those keys are deleted: a delete per page over a growing table is what made
            # large syncs slow, so first-time keys are known from memory
            for keys in batches(again):
                c.execute(delete(si).where(si.c.run_id == run_id, _among(c, si.c.key, keys)))
                c.execute(delete(sl).where(sl.c.run_id == run_id, _among(c, sl.c.key, keys)))
            for chunk in batches(items):
                c.execute(insert(si), [_full_row(it.row, run_id=run_id, key=it.key) for it in chunk])
                link_rows = [dict(run_id=run_id, key=it.key, position=n, kpi=ln[0], low=ln[1], high=ln[2],
                                  confidence=ln[3], unit=LINK_UNITS.index(ln[4]) if len(ln) > 4 else 0,
                                  estimator=ln[5] if len(ln) > 5 else None)
                             for it in chunk for n, ln in enumerate(it.links)]
                if link_rows:
                    c.execute(insert(sl), link_rows)
        staged.update(it.key for it in items)

    def _staged_keys(self, run_id: int) -> set[str]:
        """The keys this run has staged (read once: a resumed run adopted some)."""
        cache = self.__dict__.setdefault("_staged", {})
        if run_id not in cache:
            si = s.staged_initiatives
            with self.engine.connect() as c:
                cache[run_id] = set(c.execute(select(si.c.key).where(si.c.run_id == run_id)).scalars())
        return cache[run_id]

    def stage_observations(self, run_id: int, kpi: str, rows: dict[date, float]) -> None:
        if not rows:
            return
        t = s.staged_observations
        with self.engine.begin() as c:
            for days in batches(list(rows)):       # a day staged before in this run: the later value wins
                _upsert(c, t, [dict(run_id=run_id, kpi=kpi, day=d, value=rows[d]) for d in days],
                        ["run_id", "kpi", "day"], ["value"])

    def stage_seen(self, run_id: int, keys: Iterable[str]) -> None:
        keys = list(dict.fromkeys(keys))
        t = s.staged_seen
        with self.engine.begin() as c:
            for chunk in batches(keys):
                _upsert(c, t, [dict(run_id=run_id, key=k) for k in chunk], ["run_id", "key"], [])

    def save_pending_bookmark(self, connector: str, run_id: int, value) -> None:
        with self.engine.begin() as c:
            self._ensure_bookmark(c, connector)
            c.execute(update(s.bookmarks).where(s.bookmarks.c.connector == connector).values(
                pending=json.dumps(value), pending_run=run_id, updated_at=now()))

    def _ensure_bookmark(self, c, connector: str) -> None:
        if c.execute(select(s.bookmarks.c.connector).where(s.bookmarks.c.connector == connector)).first() is None:
            c.execute(insert(s.bookmarks).values(connector=connector))

    def bookmark(self, connector: str) -> tuple[object, str | None]:
        """The bookmark published by the last good sync and the settings fingerprint it was made under."""
        with self.engine.connect() as c:
            row = c.execute(select(s.bookmarks.c.value, s.bookmarks.c.fingerprint)
                            .where(s.bookmarks.c.connector == connector)).first()
        if row is None or row.value is None:
            return None, row.fingerprint if row else None
        return json.loads(row.value), row.fingerprint

    def publish(self, run_id: int, connector: str, *, complete_listing: bool, failed_kpis: set[str],
                bookmark=None, fingerprint: str | None = None, status: str = "ok",
                counts: dict | None = None, message: str = "", max_removed: int | None = None) -> int:
        """Move a run's staged rows into the tables the ranking reads, in one transaction.
        Returns how many initiatives left the ranking (not in a complete listing).

        An initiative keeps its row (and id) across publishes: it is updated in place, so a
        ranking read before this publish still finds each item's own title by id. With
        `max_removed`, a complete listing that would take more items out of the ranking
        raises RemovalRefused and nothing changes."""
        si, sl, so, ss = s.staged_initiatives, s.staged_links, s.staged_observations, s.staged_seen
        it, obs = s.initiatives, s.observations
        stamp = now()
        with self.engine.begin() as c:
            staged_keys = select(si.c.key).where(si.c.run_id == run_id)
            removed = 0
            if complete_listing:
                # NOT EXISTS, not NOT IN (subquery): PostgreSQL hashes a NOT IN list only while it
                # fits in work_mem, and goes quadratic beyond (130 s for 70,000 items)
                leaving = and_(it.c.connector == connector, it.c.active == true(),
                               ~exists().where(ss.c.run_id == run_id, ss.c.key == it.c.key),
                               ~exists().where(si.c.run_id == run_id, si.c.key == it.c.key))
                if max_removed is not None:
                    removing = c.execute(select(func.count()).select_from(it).where(leaving)).scalar_one()
                    if removing > max_removed:
                        active = c.execute(select(func.count()).select_from(it).where(
                            it.c.connector == connector, it.c.active == true())).scalar_one()
                        raise RemovalRefused(removing, active)
                removed = c.execute(update(it).where(leaving).values(active=False, synced_at=stamp)).rowcount
            c.execute(delete(s.links).where(s.links.c.item_id.in_(select(it.c.id).where(it.c.key.in_(staged_keys)))))
            cols = [col.name for col in si.columns if col.name not in ("run_id", "key")]
            c.execute(update(it).where(it.c.key == si.c.key, si.c.run_id == run_id).values(
                {**{n: si.c[n] for n in cols}, "connector": connector, "active": True, "synced_at": stamp,
                 "run_id": run_id}))
            c.execute(insert(it).from_select(
                ["key", *cols, "connector", "active", "synced_at", "run_id"],
                select(si.c.key, *[si.c[n] for n in cols], literal(connector, String), literal(True, Boolean),
                       literal(stamp, DateTime(timezone=True)), literal(run_id, Integer))
                .where(si.c.run_id == run_id, ~exists().where(it.c.key == si.c.key))))
            refs = s.kpi_refs
            c.execute(insert(refs).from_select(["name"], select(sl.c.kpi).where(
                sl.c.run_id == run_id, sl.c.kpi.not_in(select(refs.c.name))).distinct()))
            c.execute(insert(s.links).from_select(
                ["item_id", "position", "kpi_code", "low", "high", "confidence", "unit", "estimator"],
                select(it.c.id, sl.c.position, refs.c.code, sl.c.low, sl.c.high, sl.c.confidence, sl.c.unit,
                       sl.c.estimator)
                .join(it, it.c.key == sl.c.key).join(refs, refs.c.name == sl.c.kpi)
                .where(sl.c.run_id == run_id).order_by(it.c.id, sl.c.position)))
            keep = and_(so.c.run_id == run_id, so.c.kpi.not_in(sorted(failed_kpis)) if failed_kpis else true())
            c.execute(delete(obs).where(exists().where(keep, so.c.kpi == obs.c.kpi, so.c.day == obs.c.day)))
            c.execute(insert(obs).from_select(
                ["kpi", "day", "value", "connector", "run_id"],
                select(so.c.kpi, so.c.day, so.c.value, literal(connector, String),
                       literal(run_id, Integer)).where(keep)))
            self._ensure_bookmark(c, connector)
            values = dict(pending=None, pending_run=None, updated_at=stamp)
            if bookmark is not None:
                values.update(value=json.dumps(bookmark), fingerprint=fingerprint)
            c.execute(update(s.bookmarks).where(s.bookmarks.c.connector == connector).values(**values))
            self._end_run(c, run_id, status, dict(counts or {}, removed=removed), message)
            self._clear_staging(c, run_id)
        return removed

    def fail_run(self, run_id: int, message: str, counts: dict | None = None, *, keep_staged: bool = False) -> None:
        """End a run without publishing: what the ranking reads stays as it was. With
        `keep_staged`, its pages stay staged for the next sync to resume from. A run that
        has ended (published, say, just before an interrupt) is left as it is."""
        with self.engine.begin() as c:
            if not self._end_run(c, run_id, "failed", counts, message, only_running=True):
                return
            if not keep_staged:
                self._clear_staging(c, run_id)

    def resume(self, connector: str, run_id: int) -> object:
        """Adopt the pages an interrupted sync of `connector` staged, under `run_id`, and
        return the bookmark it saved after its last page (None when there is nothing to resume)."""
        b, r = s.bookmarks, s.sync_runs
        with self.engine.begin() as c:
            row = c.execute(select(b.c.pending, b.c.pending_run).where(b.c.connector == connector)).first()
            if row is None or row.pending is None or row.pending_run == run_id:
                return None
            status = c.execute(select(r.c.status).where(r.c.id == row.pending_run)).scalar()
            if status != "failed":
                return None
            for t in (s.staged_initiatives, s.staged_links, s.staged_observations, s.staged_seen):
                c.execute(update(t).where(t.c.run_id == row.pending_run).values(run_id=run_id))
            c.execute(update(b).where(b.c.connector == connector).values(pending_run=run_id))
            return json.loads(row.pending)

    def discard_pending(self, connector: str) -> None:
        """Forget what an interrupted sync staged (a --full sync starts over)."""
        with self.engine.begin() as c:
            run = c.execute(select(s.bookmarks.c.pending_run).where(s.bookmarks.c.connector == connector)).scalar()
            if run is not None:
                self._clear_staging(c, run)
            c.execute(update(s.bookmarks).where(s.bookmarks.c.connector == connector).values(
                pending=None, pending_run=None))

    def known(self, connector: str) -> dict[str, str | None]:
        """Active initiatives of a connector: key -> the source's own id."""
        it = s.initiatives
        with self.engine.connect() as c:
            return dict(c.execute(select(it.c.key, it.c.external_id).where(
                it.c.connector == connector, it.c.active == true())).all())

    def raw_records(self, connector: str) -> dict[str, tuple[str, bool]]:
        """key -> (raw JSON, active) for a connector's initiatives."""
        it = s.initiatives
        q = select(it.c.key, it.c.raw, it.c.active).where(it.c.connector == connector)
        with self.engine.connect() as c:
            return {r.key: (r.raw, bool(r.active)) for r in c.execute(q)}

    def push_state(self, connector: str) -> dict[str, tuple[float | None, int | None]]:
        p = s.push_state
        with self.engine.connect() as c:
            return {r.key: (r.score, r.rank) for r in c.execute(select(p).where(p.c.connector == connector))}

    def record_push(self, connector: str, key: str, score: float | None, rank: int | None) -> None:
        p = s.push_state
        with self.engine.begin() as c:
            c.execute(delete(p).where(p.c.key == key))
            c.execute(insert(p).values(key=key, connector=connector, score=score, rank=rank, pushed_at=now()))

    def _end_run(self, c, run_id: int, status: str, counts: dict | None, message: str, *,
                 only_running: bool = False) -> bool:
        r = s.sync_runs
        q = update(r).where(r.c.id == run_id)
        if only_running:
            q = q.where(r.c.status == "running")
        return c.execute(q.values(ended_at=now(), status=status, counts=json.dumps(counts or {}),
                                  message=message)).rowcount > 0

    def _clear_staging(self, c, run_id: int) -> None:
        self.__dict__.get("_staged", {}).pop(run_id, None)
        for t in (s.staged_initiatives, s.staged_links, s.staged_observations, s.staged_seen):
            c.execute(delete(t).where(t.c.run_id == run_id))
