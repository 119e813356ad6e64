"""The database: initiatives with their raw records and links, KPI observations as
history, sync runs and bookmarks. SQLite by default; the same code runs on PostgreSQL.

A sync stages what it pulls under its run id and `publish` moves it into the tables the
ranking reads in one transaction, so a failed or interrupted sync leaves the ranking
exactly as the last good sync left it.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
from sqlalchemy import (Boolean, DateTime, Integer, String, and_, create_engine, delete, event, exists, func,
                        insert, literal, or_, select, text, true, update)
from sqlalchemy.engine import Engine, make_url

from app.store import migrations as m
from app.store import schema as s
from scoring.model import FACTOR_NAMES, LINK_UNITS, Backlog
from scoring.progress import Current, describe_window, window_current, window_start


class StoreError(RuntimeError):
    """The database cannot be used as it is (newer schema, unreachable server)."""


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class StagedInitiative:
    """One initiative as a sync hands it to the store: its columns plus parsed links
    `(kpi, low, high, confidence)`."""
    key: str
    row: dict
    links: list[tuple]    # (kpi, low, high, confidence[, unit]) with unit "", "pp" or "pt"


_ROW_DEFAULTS = {col.name: (col.default.arg if col.default is not None else None)
                 for col in s.staged_initiatives.columns if col.name not in ("run_id", "key")}


def _full_row(row: dict, **extra) -> dict:
    """Every column present (executemany needs the same keys in every row)."""
    unknown = set(row) - set(_ROW_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown initiative columns: {sorted(unknown)}")
    return {**_ROW_DEFAULTS, **row, **extra}


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class Store:
    def __init__(self, url: str):
        self.url = url
        try:
            u = make_url(url)
        except Exception as exc:  # noqa: BLE001 - sqlalchemy raises several kinds here
            raise StoreError(f"database URL is not valid: {exc}") from None
        if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.migrate()

    # -- schema ---------------------------------------------------------------
    def schema_version(self) -> int:
        with self.engine.connect() as c:
            return self._version_in(c)

    def migrate(self) -> None:
        try:
            current = self.schema_version()
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"cannot open the database ({make_url(self.url).render_as_string()}): "
                             f"{type(exc).__name__}") from None
        if current > m.SCHEMA_VERSION:
            raise StoreError(f"the database has schema version {current}, newer than this kpi-roadmap "
                             f"understands ({m.SCHEMA_VERSION}); upgrade kpi-roadmap")
        if current < m.SCHEMA_VERSION:
            self.migrate_to(m.SCHEMA_VERSION)

    def migrate_to(self, target: int) -> None:
        """Apply the migrations up to version `target`, each in its own transaction. On
        PostgreSQL an advisory lock makes replicas and workers starting together take turns."""
        while True:
            with self.engine.begin() as c:
                if c.dialect.name == "postgresql":
                    c.execute(text("SELECT pg_advisory_xact_lock(7243001)"))
                version = self._version_in(c)
                if version >= target:
                    return
                m.MIGRATIONS[version](c)
                c.execute(delete(s.meta).where(s.meta.c.key == "schema_version"))
                c.execute(insert(s.meta).values(key="schema_version", value=str(version + 1)))

    def _version_in(self, c) -> int:
        if not c.dialect.has_table(c, "meta"):
            return 0
        v = c.execute(select(s.meta.c.value).where(s.meta.c.key == "schema_version")).scalar()
        return int(v or 0)

    # -- sync side ------------------------------------------------------------
    def start_run(self, connector: str, full: bool) -> int:
        with self.engine.begin() as c:
            return c.execute(insert(s.sync_runs).values(
                connector=connector, started_at=now(), status="running", full=full)).inserted_primary_key[0]

    def stage_initiatives(self, run_id: int, items: list[StagedInitiative]) -> None:
        if not items:
            return
        keys = [it.key for it in items]
        with self.engine.begin() as c:
            # a record seen twice in one run (a re-fetched page): the later one wins
            c.execute(delete(s.staged_initiatives).where(s.staged_initiatives.c.run_id == run_id,
                                                        s.staged_initiatives.c.key.in_(keys)))
            c.execute(delete(s.staged_links).where(s.staged_links.c.run_id == run_id,
                                                  s.staged_links.c.key.in_(keys)))
            c.execute(insert(s.staged_initiatives), [_full_row(it.row, run_id=run_id, key=it.key) for it in items])
            link_rows = [dict(run_id=run_id, key=it.key, position=n, kpi=ln[0], low=ln[1], high=ln[2],
                              confidence=ln[3], unit=LINK_UNITS.index(ln[4]) if len(ln) > 4 else 0)
                         for it in items for n, ln in enumerate(it.links)]
            if link_rows:
                c.execute(insert(s.staged_links), link_rows)

    def stage_observations(self, run_id: int, kpi: str, rows: dict[date, float]) -> None:
        if not rows:
            return
        t = s.staged_observations
        with self.engine.begin() as c:
            c.execute(delete(t).where(t.c.run_id == run_id, t.c.kpi == kpi, t.c.day.in_(list(rows))))
            c.execute(insert(t), [dict(run_id=run_id, kpi=kpi, day=d, value=v) for d, v in rows.items()])

    def stage_seen(self, run_id: int, keys: Iterable[str]) -> None:
        rows = [dict(run_id=run_id, key=k) for k in dict.fromkeys(keys)]
        if rows:
            with self.engine.begin() as c:
                c.execute(delete(s.staged_seen).where(s.staged_seen.c.run_id == run_id,
                                                     s.staged_seen.c.key.in_([r["key"] for r in rows])))
                c.execute(insert(s.staged_seen), rows)

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
                counts: dict | None = None, message: str = "") -> int:
        """Move a run's staged rows into the tables the ranking reads, in one transaction.
        Returns how many initiatives left the ranking (not in a complete listing)."""
        si, sl, so, ss = s.staged_initiatives, s.staged_links, s.staged_observations, s.staged_seen
        it, obs = s.initiatives, s.observations
        stamp = now()
        with self.engine.begin() as c:
            staged_keys = select(si.c.key).where(si.c.run_id == run_id)
            c.execute(delete(s.links).where(s.links.c.item_id.in_(select(it.c.id).where(it.c.key.in_(staged_keys)))))
            c.execute(delete(it).where(it.c.key.in_(staged_keys)))
            cols = [col.name for col in si.columns if col.name != "run_id"]
            c.execute(insert(it).from_select(
                cols + ["connector", "active", "synced_at", "run_id"],
                select(*[si.c[n] for n in cols], literal(connector, String), literal(True, Boolean),
                       literal(stamp, DateTime(timezone=True)), literal(run_id, Integer))
                .where(si.c.run_id == run_id)))
            refs = s.kpi_refs
            c.execute(insert(refs).from_select(["name"], select(sl.c.kpi).where(
                sl.c.run_id == run_id, sl.c.kpi.not_in(select(refs.c.name))).distinct()))
            c.execute(insert(s.links).from_select(
                ["item_id", "position", "kpi_code", "low", "high", "confidence", "unit"],
                select(it.c.id, sl.c.position, refs.c.code, sl.c.low, sl.c.high, sl.c.confidence, sl.c.unit)
                .join(it, it.c.key == sl.c.key).join(refs, refs.c.name == sl.c.kpi)
                .where(sl.c.run_id == run_id).order_by(it.c.id, sl.c.position)))
            removed = 0
            if complete_listing:
                seen = select(ss.c.key).where(ss.c.run_id == run_id).union(staged_keys)
                removed = c.execute(update(it).where(it.c.connector == connector, it.c.active == true(),
                                           it.c.key.not_in(seen)).values(active=False, synced_at=stamp)).rowcount
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
        `keep_staged`, its pages stay staged for the next sync to resume from."""
        with self.engine.begin() as c:
            self._end_run(c, run_id, "failed", counts, message)
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

    def _end_run(self, c, run_id: int, status: str, counts: dict | None, message: str) -> None:
        c.execute(update(s.sync_runs).where(s.sync_runs.c.id == run_id).values(
            ended_at=now(), status=status, counts=json.dumps(counts or {}), message=message))

    def _clear_staging(self, c, run_id: int) -> None:
        for t in (s.staged_initiatives, s.staged_links, s.staged_observations, s.staged_seen):
            c.execute(delete(t).where(t.c.run_id == run_id))

    # -- read side ------------------------------------------------------------
    def load_backlog(self, include_done: bool = False, *, factors: bool = False) -> Backlog:
        """The active initiatives and their links as columns. Numbers stream from the
        driver's cursor straight into numpy; source flags are read for the flagged rows
        only; titles and the like are fetched by the services for the rows on show
        (`texts`)."""
        where = "active" + ("" if include_done else " AND status_category <> 'done'")
        factor_cols = "".join(f", {f}" for f in FACTOR_NAMES) if factors else ""
        item_dtype = [("id", "i8"), ("effort", "f8"), ("effort_null", "?"), ("confidence", "f8"),
                      ("confidence_null", "?"), ("done", "?"), ("flagged", "?")]
        link_dtype = [("item", "i8"), ("position", "i8"), ("code", "i8"), ("low", "f8"), ("low_null", "?"),
                      ("high", "f8"), ("confidence", "f8"), ("confidence_null", "?"), ("unit", "i1")]
        with self.engine.connect() as c, self._driver_errors():
            cur = c.connection.driver_connection.cursor()
            cur.execute(f"SELECT id, COALESCE(effort, 0), effort IS NULL, COALESCE(confidence, 0), "
                        f"confidence IS NULL, status_category = 'done', flags <> '' "
                        f"FROM initiatives WHERE {where} ORDER BY id")
            items = np.fromiter(cur, dtype=item_dtype)
            cur.execute(f"SELECT key{factor_cols} FROM initiatives WHERE {where} ORDER BY id")
            rows = cur.fetchall()
            cur.execute("SELECT item_id, position, kpi_code, COALESCE(low, 0), low IS NULL, COALESCE(high, 0), "
                        "COALESCE(confidence, 0), confidence IS NULL, unit FROM links")
            links = np.fromiter(cur, dtype=link_dtype)
            cur.execute("SELECT code, name FROM kpi_refs")
            refs = dict(cur.fetchall())
            cur.execute(f"SELECT id, flags FROM initiatives WHERE {where} AND flags <> '' ORDER BY id")
            flagged = cur.fetchall()
            cur.close()
        ids = items["id"]
        pos = np.searchsorted(ids, links["item"])
        pos_ok = np.minimum(pos, max(len(ids) - 1, 0))
        keep = (pos < len(ids)) & (ids[pos_ok] == links["item"]) if len(ids) else np.zeros(len(links), bool)
        links, pos = links[keep], pos[keep]
        order = np.lexsort((links["position"], pos))
        links, pos = links[order], pos[order]
        codes = sorted(refs)
        code_index = np.zeros(max(codes, default=0) + 1, dtype=np.int64)
        code_index[codes] = np.arange(len(codes))

        def nan_where(values, null):
            return np.where(null, np.nan, values)

        fcols = {}
        if factors:
            for n, f in enumerate(FACTOR_NAMES, start=1):
                fcols[f] = np.array([r[n] for r in rows], dtype=float)
        return Backlog(
            keys=[r[0] for r in rows], done=items["done"],
            effort=nan_where(items["effort"], items["effort_null"]),
            confidence=nan_where(items["confidence"], items["confidence_null"]),
            has_source_flags=items["flagged"], link_item=pos,
            link_kpi_code=code_index[links["code"]], kpi_names=[refs[c] for c in codes],
            link_low=nan_where(links["low"], links["low_null"]), link_high=nan_where(links["high"], links["low_null"]),
            link_confidence=nan_where(links["confidence"], links["confidence_null"]),
            factors=fcols, link_unit=links["unit"].astype(np.int8) if links["unit"].any() else None,
            source_flags={int(n): tuple(f.split()) for n, f in
                          zip(np.searchsorted(ids, [r[0] for r in flagged]), (r[1] for r in flagged))})

    def texts(self, keys: list[str]) -> dict[str, tuple[str, str, str]]:
        """(title, status, url) of the initiatives with these keys, in batches."""
        it = s.initiatives
        out: dict[str, tuple[str, str, str]] = {}
        wanted = list(dict.fromkeys(keys))
        with self.engine.connect() as c:
            if len(wanted) > 2000:       # most of the backlog: one scan beats many look-ups
                rows = c.execute(select(it.c.key, it.c.title, it.c.status, it.c.url).where(it.c.active == true()))
                want = set(wanted)
                out.update((r[0], (r[1], r[2], r[3])) for r in rows if r[0] in want)
                return out
            for n in range(0, len(wanted), 500):
                q = select(it.c.key, it.c.title, it.c.status, it.c.url).where(it.c.key.in_(wanted[n:n + 500]))
                out.update((r[0], (r[1], r[2], r[3])) for r in c.execute(q))
        return out

    @contextmanager
    def _driver_errors(self):
        """Errors raised by the driver's own cursor, as the store's error."""
        try:
            yield
        except self.engine.dialect.loaded_dbapi.Error as exc:
            raise StoreError(f"the database could not be read ({type(exc).__name__}: {exc}); "
                             "was it made by another program or version?") from None

    def currents(self, as_of: date, windows: dict[str, tuple[int, str]] | None = None) -> dict[str, Current]:
        """Each KPI's current value at `as_of`: its newest observation at or before it, or
        with `windows[kpi] = (window_days, aggregate)` the aggregate of the observations in
        the window ending on that newest day (scoring.progress.window_current)."""
        o = s.observations
        newest = (select(o.c.kpi, func.max(o.c.day).label("day")).where(o.c.day <= as_of)
                  .group_by(o.c.kpi).subquery())
        q = select(o.c.kpi, o.c.day, o.c.value).join(newest, and_(o.c.kpi == newest.c.kpi, o.c.day == newest.c.day))
        with self.engine.connect() as c:
            out = {r.kpi: Current(r.value, r.day, describe_window("last", 1, r.day)) for r in c.execute(q)}
            wide = {k: w for k, w in (windows or {}).items() if k in out and w[1] != "last"}
            if not wide:
                return out
            inside = or_(*[and_(o.c.kpi == k, o.c.day >= window_start(out[k].date, days), o.c.day <= out[k].date)
                           for k, (days, _agg) in wide.items()])
            rows = c.execute(select(o.c.kpi, o.c.day, o.c.value).where(inside).order_by(o.c.kpi, o.c.day)).all()
        kpis = np.array([r[0] for r in rows], dtype=object)
        day = np.array([r[1] for r in rows], dtype="datetime64[D]")
        value = np.array([r[2] for r in rows], dtype=float)
        for k, (days, agg) in wide.items():       # one numpy aggregate per KPI, never a loop over days
            mine = kpis == k
            out[k] = window_current(day[mine], value[mine], as_of, days, agg)
        return out

    def last_day(self, kpi: str) -> date | None:
        o = s.observations
        with self.engine.connect() as c:
            return c.execute(select(func.max(o.c.day)).where(o.c.kpi == kpi)).scalar()

    def history(self, kpi: str, until: date | None = None) -> list[tuple[date, float]]:
        o = s.observations
        q = select(o.c.day, o.c.value).where(o.c.kpi == kpi).order_by(o.c.day)
        if until is not None:
            q = q.where(o.c.day <= until)
        with self.engine.connect() as c:
            return [(r.day, r.value) for r in c.execute(q)]

    def initiative(self, key: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(s.initiatives).where(s.initiatives.c.key == key)).mappings().first()
        return dict(row) if row else None

    def data_version(self) -> int:
        """Changes whenever a sync publishes: the id of the newest published run."""
        r = s.sync_runs
        with self.engine.connect() as c:
            return c.execute(select(func.max(r.c.id)).where(r.c.status.in_(("ok", "partial")))).scalar() or 0

    def runs(self, limit: int = 20) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(select(s.sync_runs).order_by(s.sync_runs.c.id.desc()).limit(limit)).mappings().all()
        return [dict(r, counts=json.loads(r["counts"] or "{}")) for r in rows]

    def count(self, table: str) -> int:
        with self.engine.connect() as c:
            return c.execute(select(func.count()).select_from(s.metadata.tables[table])).scalar_one()

    def close(self) -> None:
        self.engine.dispose()
