"""The database: initiatives with their raw records and links, KPI observations as
history, sync runs and bookmarks. SQLite by default; the same code runs on PostgreSQL.

The sync side (runs, staging, publish, recovery) is `app.store.staging`; this module
opens and migrates the database and reads what the ranking and the views show.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import and_, create_engine, delete, event, func, insert, or_, select, text
from sqlalchemy.engine import Engine, make_url

from app.store import migrations as m
from app.store import schema as s
from app.store.details import link_url
from app.store.staging import (RemovalRefused, StagedInitiative, Staging, StoreError,  # noqa: F401
                               SyncBusy)
from scoring.model import FACTOR_NAMES, Backlog
from scoring.goals.progress import Current, describe_window, window_current, window_start


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class Store(Staging):
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

    # -- read side ------------------------------------------------------------
    def load_backlog(self, include_done: bool = False, *, factors: bool = False) -> Backlog:
        """The active initiatives and their links as columns. Numbers stream from the
        driver's cursor straight into numpy, all from one published version; source flags
        are read for the flagged rows only; titles and the like are fetched by the services
        for the rows on show (`texts`)."""
        where = "active" + ("" if include_done else " AND status_category <> 'done'")
        factor_cols = "".join(f", {f}" for f in FACTOR_NAMES) if factors else ""
        item_dtype = [("id", "i8"), ("effort", "f8"), ("effort_null", "?"), ("confidence", "f8"),
                      ("confidence_null", "?"), ("done", "?"), ("flagged", "?")]
        link_dtype = [("item", "i8"), ("position", "i8"), ("code", "i8"), ("low", "f8"), ("low_null", "?"),
                      ("high", "f8"), ("confidence", "f8"), ("confidence_null", "?"), ("unit", "i1")]
        with self.engine.connect() as c, self._driver_errors():
            # one published version for every read below: a sync may publish meanwhile
            if c.dialect.name == "postgresql":
                c = c.execution_options(isolation_level="REPEATABLE READ")
            cur = c.connection.driver_connection.cursor()
            if c.dialect.name == "sqlite":
                cur.execute("BEGIN")
            cur.execute(f"SELECT id, COALESCE(effort, 0), effort IS NULL, COALESCE(confidence, 0), "
                        f"confidence IS NULL, status_category = 'done', flags <> '' "
                        f"FROM initiatives WHERE {where} ORDER BY id")
            items = np.fromiter(cur, dtype=item_dtype)
            cur.execute(f"SELECT key{factor_cols} FROM initiatives WHERE {where} ORDER BY id")
            rows = cur.fetchall()
            cur.execute("SELECT item_id, position, kpi_code, COALESCE(low, 0), low IS NULL, COALESCE(high, 0), "
                        "COALESCE(confidence, 0), confidence IS NULL, unit FROM links")
            links = np.fromiter(cur, dtype=link_dtype)
            cur.execute("SELECT item_id, position, estimator FROM links WHERE estimator IS NOT NULL")
            attributed = cur.fetchall()
            cur.execute("SELECT code, name FROM kpi_refs")
            refs = dict(cur.fetchall())
            cur.execute(f"SELECT id, flags FROM initiatives WHERE {where} AND flags <> '' ORDER BY id")
            flagged = cur.fetchall()
            cur.close()
            c.connection.driver_connection.rollback()
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

        link_by, people = _estimators(links, pos, ids, attributed)
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
            link_by=link_by, estimator_names=people,
            source_flags={int(n): tuple(f.split()) for n, f in
                          zip(np.searchsorted(ids, [r[0] for r in flagged]), (r[1] for r in flagged))})

    def texts(self, keys: list[str]) -> dict[str, tuple[str, str, str]]:
        """(title, status, url) of the initiatives with these keys, in batches. Only an
        http(s) URL is given out (`javascript:` or `data:` becomes "", never a link)."""
        it = s.initiatives
        out: dict[str, tuple[str, str, str]] = {}
        wanted = list(dict.fromkeys(keys))
        cols = (it.c.key, it.c.title, it.c.status, it.c.url)
        with self.engine.connect() as c:
            if len(wanted) > 2000:       # most of the backlog: one scan beats many look-ups
                want = set(wanted)
                rows = [r for r in c.execute(select(*cols)) if r[0] in want]
            else:
                rows = [r for n in range(0, len(wanted), 500)
                        for r in c.execute(select(*cols).where(it.c.key.in_(wanted[n:n + 500])))]
        out.update((r[0], (r[1], r[2], link_url(r[3]))) for r in rows)
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
        the window ending on that newest day (scoring.goals.progress.window_current)."""
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
        """One stored initiative's row (estimates and outcomes check an item exists and read
        its launch dates), done items included."""
        with self.engine.connect() as c:
            row = c.execute(select(s.initiatives).where(s.initiatives.c.key == key)).mappings().first()
        return dict(row) if row else None

    def data_version(self) -> int:
        """Changes whenever a sync publishes: the id of the newest published run."""
        r = s.sync_runs
        with self.engine.connect() as c:
            return c.execute(select(func.max(r.c.id)).where(r.c.status.in_(("ok", "partial")))).scalar() or 0

    # one plain statement, run as text: asked on every cached read, and compiling the same
    # query through SQLAlchemy's expression layer cost 25x the query itself
    _CACHE_VERSION_SQL = (
        "SELECT (SELECT MAX(id) FROM sync_runs WHERE status IN ('ok', 'partial')), "
        "(SELECT COUNT(*) FROM estimates), (SELECT MAX(id) FROM estimates), "
        "(SELECT MAX(created_at) FROM estimates), (SELECT COUNT(*) FROM estimate_rounds)")

    def cache_version(self) -> tuple:
        """What a cached ranking depends on in the store: the published run and the
        estimates kept here (added, replaced, deleted, revealed)."""
        with self.engine.connect() as c:
            run, *stamp = c.exec_driver_sql(self._CACHE_VERSION_SQL).one()
        return (run or 0, *stamp)

    def runs(self, limit: int = 20) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(select(s.sync_runs).order_by(s.sync_runs.c.id.desc()).limit(limit)).mappings().all()
        return [dict(r, counts=json.loads(r["counts"] or "{}")) for r in rows]

    def count(self, table: str) -> int:
        with self.engine.connect() as c:
            return c.execute(select(func.count()).select_from(s.metadata.tables[table])).scalar_one()

    def close(self) -> None:
        self.engine.dispose()


def _estimators(links: np.ndarray, pos: np.ndarray, ids: np.ndarray, attributed: list) -> tuple:
    """Who estimated each link (codes into a list of display names, -1 unknown) from the
    (item_id, position, estimator) rows that name someone; (None, []) when none does.
    `links` is sorted by (item index `pos`, position)."""
    if not attributed or not len(links):
        return None, []
    from scoring.notation import person_key
    width = int(max(links["position"].max(), max(r[1] for r in attributed))) + 1
    where = pos.astype(np.int64) * width + links["position"]
    item_pos = np.searchsorted(ids, np.array([r[0] for r in attributed], dtype=np.int64))
    known = item_pos < len(ids)
    known[known] = ids[item_pos[known]] == np.array([r[0] for r in attributed], dtype=np.int64)[known]
    codes = np.full(len(links), -1, dtype=np.int64)
    people: dict[str, int] = {}
    shown: list[str] = []
    for (_item, position, name), ok, p in zip(attributed, known.tolist(), item_pos.tolist()):
        if not ok:
            continue
        j = np.searchsorted(where, p * width + position)
        if j < len(where) and where[j] == p * width + position:
            k = people.setdefault(person_key(name), len(people))
            if k == len(shown):
                shown.append(name)
            codes[j] = k
    return (codes, shown) if shown else (None, [])
