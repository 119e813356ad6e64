"""Web benchmark: a 10,000-initiative store served by gunicorn (2 workers), 8 concurrent
loopback clients. Prints how long the sync that builds the store took (and the parts of it
that store the ranking and the page's plan and risk analysis), p50 / p95 latency and
requests per second for /api/v1/roadmap?limit=50, /, /kpis, /api/v1/kpis and POST
/api/v1/what-if (changed objective weights), their ratio to /healthz on the same server, and the peak RSS of each
gunicorn worker.

Run: python3 bench/web.py [--initiatives N] [--requests N] [--workspace DIR]
(`--workspace` keeps the built workspace in DIR, and serves it without building when DIR
already holds one.)
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build(n: int, where: Path | None = None) -> Path:
    from app.config import load_settings
    from app.services import Workspace
    from app.services import sync as sync_module
    from app.workspaces import build_demo
    if where is not None and (where / "roadmap.toml").is_file():
        print(f"serving the workspace already built in {where}")
        return where / "roadmap.toml"
    tmp = where or Path(tempfile.mkdtemp(prefix="roadmap-web-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = build_demo(tmp)
    kpis = [k.id for k in load_settings(cfg).kpis]
    from tools.big_backlog import write_backlog
    write_backlog(tmp / "initiatives.csv", kpis, n)
    ws = Workspace(load_settings(cfg))
    from app.services import changes
    spent = {"ranking": 0.0, "snapshot ranks": 0.0, "analyses": 0.0}

    def timed(module, name, part):        # the parts of the sync that store what readers read
        inner = getattr(module, name)

        def run(*a, **kw):
            t = time.perf_counter()
            try:
                return inner(*a, **kw)
            finally:
                spent[part] += time.perf_counter() - t
        setattr(module, name, run)
        return inner
    kept = [(sync_module, "publish_ranking", timed(sync_module, "publish_ranking", "ranking")),
            (changes, "_ranked_keys", timed(changes, "_ranked_keys", "snapshot ranks")),
            (sync_module, "precompute_analyses", timed(sync_module, "precompute_analyses", "analyses"))]
    try:
        t = time.perf_counter()
        sync_module.sync(ws)
        took = time.perf_counter() - t
    finally:
        for module, name, inner in kept:
            setattr(module, name, inner)
    print(f"sync of {n:,} initiatives: {took:.1f} s, of which storing the ranking {spent['ranking']:.1f} s "
          f"and the snapshot's ranks (the Moved column's baseline) {spent['snapshot ranks']:.1f} s, "
          f"computing and storing the page's plan and risk analysis {spent['analyses']:.1f} s")
    return cfg


def peak_rss_mib(pid: int) -> dict[int, float]:
    """Peak RSS (VmHWM) of the children of `pid` (gunicorn's workers), in MiB; empty where
    /proc cannot tell."""
    out = {}
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in map(int, children):
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out[child] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


WHAT_IF = "POST /api/v1/what-if?limit=50"
WHAT_IF_BODY = {"objective_weights": {"growth": 1, "retention": 2}}


def load(url: str, total: int, clients: int, body: dict | None = None) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per = total // clients

    def worker():
        s = requests.Session()
        mine = []
        for _ in range(per):
            t = time.perf_counter()
            r = s.post(url, json=body, timeout=60) if body is not None else s.get(url, timeout=60)
            mine.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text[:200]
        with lock:
            latencies.extend(mine)
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return latencies, len(latencies) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--initiatives", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=800)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workspace", type=Path, help="build into (or serve the one already in) this directory")
    args = ap.parse_args()
    cfg = build(args.initiatives, args.workspace)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, ROADMAP_CONFIG=str(cfg))
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                               "app:create_app()"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        cold = {}
        for path in ("/", "/api/v1/roadmap?limit=50", "/kpis", "/api/v1/kpis"):   # warm both workers' caches
            times = []
            for _ in range(8):
                t = time.perf_counter()
                requests.get(base + path, timeout=120)
                times.append(time.perf_counter() - t)
            cold[path] = times
        for _ in range(8):
            requests.post(base + "/api/v1/what-if?limit=50", json=WHAT_IF_BODY, timeout=120)
        print(f"kpi-roadmap web benchmark: {args.initiatives:,} initiatives, gunicorn 2 workers, "
              f"{args.clients} loopback clients, {args.requests} requests per route")
        for path, times in cold.items():     # each worker builds its own response the first time
            print(f"  {path:34} cold: first request {times[0]:.2f} s, slowest of the first 8 {max(times):.2f} s")
        results, p50s = {}, {}
        routes = ("/healthz", "/api/v1/roadmap?limit=50", "/", "/kpis", "/api/v1/kpis", WHAT_IF)
        for path in routes:
            if path == WHAT_IF:
                lat, rps = load(base + "/api/v1/what-if?limit=50", args.requests, args.clients, WHAT_IF_BODY)
            else:
                lat, rps = load(base + path, args.requests, args.clients)
            q = statistics.quantiles(lat, n=100)
            results[path] = rps
            p50s[path] = q[49]
            print(f"  {path:34} p50 {q[49] * 1e3:7.1f} ms  p95 {q[94] * 1e3:7.1f} ms  {rps:7.0f} req/s")
        for path in routes[1:]:
            print(f"  {path:34} req/s ratio to /healthz: {results[path] / results['/healthz']:.2f} (goal >= 0.5)  "
                  f"p50 latency ratio: {p50s[path] / p50s['/healthz']:.2f} (goal <= 2)")
        rss = peak_rss_mib(server.pid)
        print("  peak RSS of the gunicorn workers: "
              + (", ".join(f"{v:.0f} MiB" for v in rss.values()) if rss else "not known (no /proc)"))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
