"""File connector benchmark: a 1,000,000-row observations CSV (and the same as JSON) read
by the csv / json connectors. Prints rows per second and the peak memory of the reading
process against its memory before reading, for the connector alone (rows handed to a run
that only counts them) and for a whole `sync` into SQLite.

Each measurement runs in a fresh process, so one peak does not hide another.
Run: python3 bench/file_sync.py [--rows N] [--kpis K]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_files(tmp: Path, rows: int, kpis: int) -> None:
    start = date(2000, 1, 1)
    days = rows // kpis
    with (tmp / "obs.csv").open("w") as fh:
        fh.write("kpi,date,value\n")
        for d in range(days):
            day = (start + timedelta(days=d)).isoformat()
            fh.writelines(f"k{k},{day},{d + k}\n" for k in range(kpis))
    with (tmp / "obs.json").open("w") as fh:
        fh.write('{"observations": [')
        for d in range(days):
            day = (start + timedelta(days=d)).isoformat()
            fh.write(("," if d else "") + ",".join(json.dumps({"kpi": f"k{k}", "date": day, "value": d + k})
                                                   for k in range(kpis)))
        fh.write("]}")
    lines = ["[[objectives]]", 'id = "o"', "weight = 1"]
    for k in range(kpis):
        lines += ["[[kpis]]", f'id = "k{k}"', 'source = { connector = "obs" }']
    lines += ['[connectors.obs]', 'type = "csv"', 'path = "obs.csv"', 'holds = "observations"']
    (tmp / "roadmap.toml").write_text("\n".join(lines) + "\n")


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(tmp: Path, mode: str, kind: str, kpis: int) -> None:
    """In a fresh process: read the file and print one JSON line of figures."""
    from connectors.base import KpiSource
    from connectors.files import CsvConnector, FileOptions, JsonConnector
    if mode == "connector":
        cls = CsvConnector if kind == "csv" else JsonConnector

        wanted = [KpiSource(f"k{k}", {}) for k in range(kpis)]

        class Counting:
            full, bookmark, resume, n = True, None, None, 0
            kpis = wanted

            def observations(self, kpi, rows):
                self.n += len(rows)

            def skip(self, *a):
                pass

            def fail(self, *a):
                pass

            def progress(self, *a):
                pass
        conn = cls("obs", FileOptions(path=str(tmp / f"obs.{kind}"), holds="observations"))
        before = rss_mib()
        run = Counting()
        t = time.perf_counter()
        conn.pull(run)
        seconds, stored = time.perf_counter() - t, run.n
    else:
        from app.config import load_settings
        from app.services import Workspace
        from app.services.sync import sync
        ws = Workspace(load_settings(tmp / "roadmap.toml"))
        ws.store
        before = rss_mib()
        t = time.perf_counter()
        (report,) = sync(ws, full=True)
        seconds, stored = time.perf_counter() - t, report.observations
    print(json.dumps({"before": before, "peak": rss_mib(), "seconds": seconds, "stored": stored}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--kpis", type=int, default=100)
    ap.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(Path(args.measure[0]), args.measure[1], args.measure[2], args.kpis)
        return
    tmp = Path(tempfile.mkdtemp(prefix="roadmap-file-bench-"))
    write_files(tmp, args.rows, args.kpis)
    rows = args.rows // args.kpis * args.kpis
    print(f"kpi-roadmap file connector benchmark: {rows:,} observation rows, {args.kpis} KPIs "
          f"(CSV {(tmp / 'obs.csv').stat().st_size / 2**20:.0f} MiB, JSON {(tmp / 'obs.json').stat().st_size / 2**20:.0f} MiB)")
    for mode, kind in (("connector", "csv"), ("connector", "json"), ("sync", "csv")):
        out = subprocess.run([sys.executable, __file__, "--kpis", str(args.kpis), "--measure", str(tmp), mode, kind],
                             capture_output=True, text=True, check=True, cwd=ROOT).stdout
        f = json.loads(out.strip().splitlines()[-1])
        label = f"{kind} connector alone" if mode == "connector" else "sync csv into SQLite"
        print(f"  {label:<22} {f['stored']:>9,} rows in {f['seconds']:6.1f} s = {f['stored'] / f['seconds']:>9,.0f} rows/s; "
              f"peak RSS {f['peak']:.0f} MiB, {f['peak'] - f['before']:+.0f} MiB over the {f['before']:.0f} MiB before reading")


if __name__ == "__main__":
    main()
