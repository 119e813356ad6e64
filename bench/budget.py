"""Analysis budgets on a 10,000-item store (app/services/planning/budget.py): the time and the memory
of the requests a hostile client sends (`/api/v1/risk` with any draws and seeds, `POST
/api/v1/plan` with many periods), against the goal of 10 s and 500 MB per request.

Prints, per request: status, wall time, the process's resident memory after it (VmRSS) and
its peak (VmHWM), and the ratio of time to the goal. Everything runs in this one process.

Run: python3 bench/budget.py [--items N]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_SECONDS, GOAL_MB = 10.0, 500.0


def rss() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    got = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            k, v = line.split(":", 1)
            got[k] = int(v.split()[0]) / 1024
    return got.get("VmRSS", 0.0), got.get("VmHWM", 0.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000)
    args = ap.parse_args()
    from tests.test_budget import big_store
    from app.web import build_app
    t = time.perf_counter()
    ws = big_store(Path(tempfile.mkdtemp(prefix="roadmap-budget-bench-")), args.items)
    print(f"store of {args.items:,} items built in {time.perf_counter() - t:.1f} s; RSS {rss()[0]:.0f} MB")
    client = build_app(workspace=ws).test_client()
    client.get("/api/v1/roadmap?limit=1")       # the ranking, cached as a server would have it
    caps = {team.id: 100 for team in ws.settings.planning.teams}
    requests = [("GET", "/api/v1/risk", None), ("GET", "/api/v1/risk?draws=1000", None),
                ("GET", "/api/v1/risk?draws=5000&seed=7", None), ("GET", "/api/v1/risk?draws=50000&seed=8", None),
                ("POST", "/api/v1/plan", {}), ("POST", "/api/v1/plan", {"capacity": caps}),
                ("POST", "/api/v1/plan", {"capacity": caps, "periods": [f"P{n}" for n in range(1, 13)]}),
                ("POST", "/api/v1/plan", {"capacity": caps, "periods": [f"P{n}" for n in range(1, 25)]})]
    worst = 0.0
    for method, url, body in requests:
        t = time.perf_counter()
        res = client.open(url, method=method, json=body)
        took = time.perf_counter() - t
        worst = max(worst, took)
        now, peak = rss()
        label = f"{method} {url}" + (f" {len(body.get('periods', []))} periods" if body and "periods" in body else "")
        print(f"{label:<52} {res.status_code}  {took:6.2f} s (ratio {took / GOAL_SECONDS:.2f})  "
              f"RSS {now:6.0f} MB  peak {peak:6.0f} MB (goal {GOAL_MB:.0f})")
    print(f"slowest {worst:.2f} s of the {GOAL_SECONDS:.0f} s goal; peak RSS {rss()[1]:.0f} MB")


if __name__ == "__main__":
    main()
