"""Snapshots through the real store (app/store/snapshots.py): prints figures measured in
this one run.

- storage: a backlog of M items (default 50,000) synced daily with 1 % of the items
  changing each day, saved with `snapshots.save` into a fresh database (SQLite by
  default, or --url postgresql+psycopg://...); bytes of payload (manifests + item blobs)
  and of the database itself, per day and per year (a full manifest every 30 snapshots,
  so every 30-day cycle grows the database alike: year = first + 365/30 cycles);
- round trip: two stored N-item snapshots (default 10,000) where every group of inputs
  changed, loaded back from the store and diffed (`scoring.changes.attribution.attribute`),
  against the issue's goal of 1 s for the diff; and `listing`-style verification.

Run: python3 bench/snapshots.py [--backlog M] [--days D] [--items N] [--url URL]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.store import Store  # noqa: E402
from app.store import snapshots as ss  # noqa: E402
from bench.diff import AS_OF, changed_everything, workspace  # noqa: E402
from scoring.changes import snapshot as sn  # noqa: E402
from scoring.changes.attribution import attribute  # noqa: E402
from scoring.ranking import ScoringParams  # noqa: E402

MB = 1024 * 1024
T0 = datetime(2026, 7, 2, 6, 0, tzinfo=timezone.utc)


def _fresh(url: str | None, name: str) -> tuple[Store, Path | None]:
    if url:
        from sqlalchemy import create_engine, text
        eng = create_engine(url)
        with eng.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
        eng.dispose()
        return Store(url), None
    path = Path(tempfile.mkdtemp()) / f"{name}.db"
    return Store(f"sqlite:///{path}"), path


def _db_bytes(store: Store, path: Path | None) -> int:
    if path is not None:
        from sqlalchemy import text
        with store.engine.begin() as c:
            c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        return path.stat().st_size
    from sqlalchemy import text
    with store.engine.connect() as c:
        return int(c.execute(text("SELECT pg_total_relation_size('snapshots') + "
                                  "pg_total_relation_size('snapshot_items')")).scalar())


def bench_storage(m: int, days: int, url: str | None) -> None:
    rng = random.Random(2)
    objectives, kpis, edges, currents, items = workspace(rng, m)
    params = ScoringParams(as_of=AS_OF)
    store, path = _fresh(url, "storage")
    base = _db_bytes(store, path)
    t_save, sizes, db = 0.0, [], []
    for day in range(days):
        if day:
            for j in rng.sample(range(len(items)), len(items) // 100):
                items[j] = items[j].model_copy(update={"effort": rng.choice([1, 2, 3, 5, 8, 13]),
                                                       "status": rng.choice(["To Do", "In Progress"])})
        snap = sn.snapshot_of(items, objectives, kpis, edges, currents, params, name=f"sync-{day + 1}")
        t = time.perf_counter()
        ss.save(store, snap, run_id=day + 1, created_at=T0 + timedelta(days=day))
        t_save += time.perf_counter() - t
        s = ss.sizes(store)
        sizes.append(s["manifest_bytes"] + s["item_bytes"])
        db.append(_db_bytes(store, path) - base)
    per_day = (sizes[-1] - sizes[0]) / (days - 1)
    db_per_day = (db[-1] - db[0]) / (days - 1)
    cycle = min(30, days - 1)
    print(f"storage through the store ({store.engine.dialect.name}): {m:,} items, 1 % changed per day, "
          f"{days} daily snapshots")
    print(f"  first snapshot: payload {sizes[0] / MB:.2f} MiB, database {db[0] / MB:.2f} MiB")
    print(f"  each later day: payload {per_day / 1024:.0f} KiB, database {db_per_day / 1024:.0f} KiB "
          f"(averaged over {days - 1} days, full manifests included)")
    print(f"  per year: payload {(sizes[0] + per_day * 364) / MB:.0f} MiB, database "
          f"{(db[0] + db_per_day * 364) / MB:.0f} MiB (first + 364 days at the measured daily rate)")
    print(f"  save() {t_save / days:.2f} s per snapshot on average (seal, encode, insert)")
    t = time.perf_counter()
    back = ss.load(store, ss.rows(store)[-1]["hash"])
    t_load = time.perf_counter() - t
    assert back.initiatives == sorted(items, key=lambda it: it.key)
    t = time.perf_counter()
    rows = ss.rows(store)
    blobs = ss.manifests(store)
    problems = sn.verify_stored([blobs[r["hash"]] for r in rows], lambda hs: ss.items(store, hs), blobs.__getitem__)
    t_verify = time.perf_counter() - t
    assert problems == []
    print(f"  load of the last: {t_load:.2f} s; verifying the whole chain ({ss.sizes(store)['items']:,} item "
          f"versions): {t_verify:.2f} s; cycle of full manifests: every {cycle}")
    store.close()


def bench_round_trip(n: int, url: str | None) -> None:
    rng = random.Random(1)
    objectives, kpis, edges, currents, items = workspace(rng, n)
    a = sn.snapshot_of(items, objectives, kpis, edges, currents, ScoringParams(as_of=AS_OF), name="A")
    o2, k2, e2, c2, i2 = changed_everything(rng, objectives, kpis, edges, currents, items)
    b = sn.snapshot_of(i2, o2, k2, e2, c2, ScoringParams(as_of=AS_OF + timedelta(days=7), urgency=1.5), name="B")
    store, _path = _fresh(url, "roundtrip")
    ra = ss.save(store, a, run_id=1, created_at=T0)
    rb = ss.save(store, b, run_id=2, created_at=T0 + timedelta(days=7))
    best = (float("inf"),) * 3
    for _ in range(3):
        t0 = time.perf_counter()
        sa, sb = ss.load(store, ra["hash"]), ss.load(store, rb["hash"])
        t1 = time.perf_counter()
        ok = sn.verify([sa]) == [] and sn.verify([sb]) == []
        t2 = time.perf_counter()
        d = attribute(sa, sb)
        t3 = time.perf_counter()
        assert ok
        if t3 - t0 < best[0]:
            best = (t3 - t0, t1 - t0, t3 - t2, t2 - t1)
    worst = max(abs(sum(c.change.values()) - (c.score_to - c.score_from)) for c in d.items
                if c.status in ("moved", "unchanged"))
    print(f"round trip ({store.engine.dialect.name}): two stored {n:,}-item snapshots, every group changed "
          f"({len(d.groups)} groups)")
    print(f"  load both {best[1]:.3f} s + verify both {best[3]:.3f} s + diff {best[2]:.3f} s = {best[0]:.3f} s "
          f"(best of 3; diff goal < 1 s: {'met' if best[2] < 1 else 'NOT met'}); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  largest |sum of parts - change|: {worst:.2e}")
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backlog", type=int, default=50_000)
    ap.add_argument("--days", type=int, default=31)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--url", default=None, help="a PostgreSQL URL (its public schema is dropped!)")
    args = ap.parse_args()
    bench_round_trip(args.items, args.url)
    bench_storage(args.backlog, args.days, args.url)


if __name__ == "__main__":
    main()
