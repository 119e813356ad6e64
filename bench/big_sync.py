"""Large-sync benchmark: the store side of big syncs, each `roadmap sync` a
separate process with its wall time and peak memory (ru_maxrss).

- a 70,000-initiative backlog file into PostgreSQL (above its 65,535 bound parameters per
  statement: this failed every time before staging was batched), then the same file again
  (every row re-published in place), then with 1,000 items gone;
- a 1,000,000-row KPI observations file (100 KPIs x 10,000 days) into SQLite, then again.

Reading the file itself is the file connector's; what this measures on the store side is
that every statement is batched and staging does not slow down as it grows.

Run: python3 bench/big_sync.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/DB
     (that database's public schema is dropped and made again) [--items N] [--rows N]
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEASURE = ("import atexit, resource, sys\n"
           "atexit.register(lambda: print(f'PEAK_KIB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}',"
           " file=sys.stderr))\n"
           "from app.cli import main\nmain()\n")


def sync(cfg: Path, env: dict, *extra: str) -> tuple[float, float, str]:
    """Seconds, peak MiB and the summary line of one `roadmap sync` process."""
    started = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", MEASURE, "sync", "--config", str(cfg), *extra], cwd=ROOT,
                       env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak = next((int(line.split()[1]) for line in p.stderr.splitlines() if line.startswith("PEAK_KIB")), 0)
    summary = next((line for line in p.stdout.splitlines() if line.startswith("synced")), "")
    if p.returncode != 0:
        raise SystemExit(f"sync failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return seconds, peak / 1024, summary


def backlog_workspace(tmp: Path, items: int) -> Path:
    with (tmp / "initiatives.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "title", "status", "effort", "impact"])
        for n in range(items):
            w.writerow([f"BIG-{n}", f"Initiative {n} of the large backlog", "To Do", 1 + n % 8,
                        f"activation +{1 + n % 9}% @{40 + n % 50}%"])
    (tmp / "roadmap.toml").write_text(
        '[[objectives]]\nid = "revenue"\nweight = 1\n\n[[kpis]]\nid = "activation"\nbaseline = 0.3\ntarget = 0.4\n\n'
        '[[edges]]\nfrom = "activation"\nto = "revenue"\nweight = 1\n\n'
        '[connectors.backlog]\ntype = "csv"\npath = "initiatives.csv"\nholds = "initiatives"\n')
    return tmp / "roadmap.toml"


def observations_workspace(tmp: Path, rows: int) -> Path:
    kpis, days = 100, max(1, rows // 100)
    start = date(2000, 1, 1)
    with (tmp / "observations.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["kpi", "date", "value"])
        for d in range(days):
            day = (start + timedelta(days=d)).isoformat()
            for k in range(kpis):
                w.writerow([f"kpi{k}", day, 1000 + k + d / 10])
    toml = '[[objectives]]\nid = "revenue"\nweight = 1\n\n'
    for k in range(kpis):
        toml += (f'[[kpis]]\nid = "kpi{k}"\nsource = {{ connector = "obs" }}\n\n'
                 f'[[edges]]\nfrom = "kpi{k}"\nto = "revenue"\nweight = 0.01\n\n')
    toml += '[connectors.obs]\ntype = "csv"\npath = "observations.csv"\nholds = "observations"\n'
    (tmp / "roadmap.toml").write_text(toml)
    return tmp / "roadmap.toml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", default=os.environ.get("ROADMAP_TEST_POSTGRES_URL"))
    ap.add_argument("--items", type=int, default=70_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("ROADMAP_CONFIG", "ROADMAP_DATABASE")}
    print(f"kpi-roadmap large-sync benchmark (each sync a separate process; peak = its ru_maxrss)")
    if args.postgres:
        sys.path.insert(0, str(ROOT))
        from tests.conftest import _fresh_postgres
        url = _fresh_postgres(args.postgres)
        tmp = Path(tempfile.mkdtemp(prefix="roadmap-big-pg-"))
        cfg = backlog_workspace(tmp, args.items)
        pg = {**env, "ROADMAP_DATABASE": url}
        for label, extra in (("first sync", ()), ("same file again", ())):
            s, peak, line = sync(cfg, pg, *extra)
            print(f"  PostgreSQL, {args.items:,} initiatives, {label:18} {s:7.1f} s  peak {peak:6.0f} MiB  | {line}")
        lines = (tmp / "initiatives.csv").read_text().splitlines()
        (tmp / "initiatives.csv").write_text("\n".join(lines[:-1000]) + "\n")
        s, peak, line = sync(cfg, pg)
        print(f"  PostgreSQL, {args.items - 1000:,} initiatives, 1,000 gone   {s:7.1f} s  peak {peak:6.0f} MiB  | {line}")
    else:
        print("  (no --postgres URL: the PostgreSQL part is skipped)")
    tmp = Path(tempfile.mkdtemp(prefix="roadmap-big-sqlite-"))
    cfg = observations_workspace(tmp, args.rows)
    lite = {**env, "ROADMAP_DATABASE": f"sqlite:///{tmp / 'roadmap.db'}"}
    for label in ("first sync", "same file again"):
        s, peak, line = sync(cfg, lite)
        print(f"  SQLite, {args.rows:,} observation rows, {label:15} {s:7.1f} s  peak {peak:6.0f} MiB  | {line}")


if __name__ == "__main__":
    main()
