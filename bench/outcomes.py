"""Outcomes benchmark: prints figures measured in this one run.

- measuring: N launched links (default 500, two launches on each of N/2 KPIs) over 400
  days of daily observations, measured from the store as `roadmap sync` does after a
  sync (every link recomputed: `refresh(force=True)`), against the goal of 30 s on 2
  cores; seconds in all, per link, and the kernel alone (in memory) for the ratio;
- recomputation: one more day of observations synced, then the refresh that follows it:
  how many links it recomputed and kept, against how many were still in their post
  window (or not launched yet) the day before, which are the only ones it should touch.

Run: python3 bench/outcomes.py [--links N]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.config import load_settings  # noqa: E402
from app.services import Workspace  # noqa: E402
from app.services import outcomes as svc  # noqa: E402
from app.services.sync import sync  # noqa: E402
from scoring.outcomes import LaunchedLink, measure_links  # noqa: E402

START = date(2025, 10, 1)
DAYS = 400
SEASON = np.array([1.0, 1.03, 1.04, 1.02, 0.99, 0.93, 0.90])


def write(d: Path, n_kpis: int, days: int, rng: np.random.Generator) -> list[tuple[str, str, date, float]]:
    """Config, initiatives and observations; returns (key, kpi, launch, true lift) per link."""
    kpis = [f"k{n:03d}" for n in range(n_kpis)]
    toml = ['[service]\ndatabase = "sqlite:///roadmap.db"\n', f"[scoring]\nas_of = {START + timedelta(days - 1)}\n",
            '[[objectives]]\nid = "o"\nweight = 1\n']
    toml += [f'[[kpis]]\nid = "{k}"\nsource = {{ connector = "obs" }}\n\n[[edges]]\nfrom = "{k}"\nto = "o"\n'
             f'weight = 1\n' for k in kpis]
    toml.append('[connectors.backlog]\ntype = "csv"\npath = "initiatives.csv"\nholds = "initiatives"\n\n'
                '[connectors.obs]\ntype = "csv"\npath = "observations.csv"\nholds = "observations"\n')
    (d / "roadmap.toml").write_text("\n".join(toml))
    links, rows = [], ["key,title,status,status_category,effort,impact,done_on"]
    for n, k in enumerate(kpis):
        first = START + timedelta(int(rng.integers(250, 300)))
        second = first + timedelta(int(rng.integers(40, 100)))         # some still in their post window
        for m, launch in enumerate((first, second)):
            key = f"L-{n}-{m}"
            lift = float(rng.choice([0.0, 0.05, 0.15]))
            links.append((key, k, launch, lift))
            rows.append(f"{key},Launch {key},Done,done,1,{k} +8% @60% by est{n % 7},{launch.isoformat()}")
    (d / "initiatives.csv").write_text("\n".join(rows) + "\n")
    write_observations(d, kpis, links, days)
    return links


def write_observations(d: Path, kpis: list[str], links, days: int) -> None:
    out = ["kpi,date,value"]
    day_list = [START + timedelta(i) for i in range(days)]
    dow = np.array([x.weekday() for x in day_list])
    for n, k in enumerate(kpis):
        walk = 100 * np.exp(np.cumsum(np.random.default_rng(n).normal(0, 0.002, days)))
        y = walk * SEASON[dow] * (1 + np.random.default_rng(10_000 + n).normal(0, 0.03, days))
        for _key, kpi, launch, lift in links:
            if kpi == k:
                y[(launch - START).days:] *= 1 + lift
        out += [f"{k},{x.isoformat()},{v:.4f}" for x, v in zip(day_list, y)]
    (d / "observations.csv").write_text("\n".join(out) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--links", type=int, default=500)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    d = Path(tempfile.mkdtemp(prefix="bench-outcomes-"))
    links = write(d, args.links // 2, DAYS, rng)
    ws = Workspace(load_settings(d / "roadmap.toml"))
    t = time.perf_counter()
    sync(ws)                                    # measures once after publishing, as every sync does
    print(f"sync of {len(links)} launched items and {args.links // 2 * DAYS:,} observations, with its refresh: "
          f"{time.perf_counter() - t:.1f} s")
    t, c = time.perf_counter(), time.process_time()
    counts = svc.refresh(ws, force=True)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"measuring {counts['estimates']} links from the store (every one recomputed): {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU, {wall / counts['estimates'] * 1000:.1f} ms per link (goal: < 30 s in all)")
    ev = svc.evaluate(ws)
    verdicts = {}
    for r in ev.rows:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    print("verdicts:", ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    # the kernel alone, on the same series in memory
    from app.store import outcomes as so
    data = so.series(ws.store, sorted({k for _, k, _, _ in links}), START, ws.as_of())
    kernel = [LaunchedLink(key, k, launch, 0.048) for key, k, launch, _ in links]
    t = time.perf_counter()
    measure_links(kernel, data, as_of=ws.as_of(), params=svc.params(ws))
    kt = time.perf_counter() - t
    print(f"kernel alone (in memory): {kt:.2f} s, {kt / len(links) * 1000:.1f} ms per link; "
          f"store and bookkeeping add {wall / kt:.1f}x")
    # one new day of observations
    before = ws.as_of()
    in_window = sum(1 for r in ev.rows if r["post_end"] is None or r["post_end"] > before
                    or r["verdict"] == "measuring")
    write_observations(d, sorted({k for _, k, _, _ in links}), links, DAYS + 1)
    ws.settings.scoring.as_of = before + timedelta(1)
    sync(ws, connector="obs")                   # publishes the new day and refreshes
    rows = so.rows(ws.store)
    touched = sum(r["as_of"] == before + timedelta(1) for r in rows)     # a recomputed row carries the new date
    print(f"after one new day: links still in their post window (or not launched) the day before: {in_window}; "
          f"the refresh after that sync recomputed {touched} and kept {len(rows) - touched}")
    t = time.perf_counter()
    again = svc.refresh(ws)
    print(f"a refresh with nothing new: recomputes {again['recomputed']} (still measuring), keeps {again['kept']} "
          f"({time.perf_counter() - t:.2f} s)")
    ws.close()


if __name__ == "__main__":
    main()
