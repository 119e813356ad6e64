"""Webhook benchmark: how long a Jira edit takes to reach the ranked roadmap.

A Jira stand-in on loopback (tests/jira_standin.py) holds a backlog; gunicorn serves the
app (2 workers) on loopback. Each of 50 edits changes one issue's impact line so that it
should rank first, then delivers the signed `jira:issue_updated` webhook Jira would send;
the clock stops when `GET /api/v1/roadmap?limit=1` shows that issue first. Printed: p50 /
p95 / max per setup, for
  - `roadmap worker` (default --poll 0.25 s: a job waits up to a poll for pickup), and
  - no worker: the web process runs the job itself at once (the SQLite default).

Run: python3 bench/webhook.py [--edits 50] [--issues 200] [--database URL]
(default database: a temporary SQLite file; pass a PostgreSQL URL to measure that).
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.jira_standin import JiraStandIn, make_issue  # noqa: E402

SECRET = "bench-webhook-secret"
CONFIG = """[service]
database = "{database}"
webhook_secret_env = "ROADMAP_WEBHOOK_SECRET"

[scoring]
as_of = 2026-07-02

[[objectives]]
id = "revenue"
weight = 1

[[kpis]]
id = "activation"
baseline = 0.30
target = 0.40
start = 2026-01-01
deadline = 2026-12-31
source = {{ connector = "obs" }}

[[edges]]
from = "activation"
to = "revenue"
weight = 1.0

[connectors.backlog]
type = "jira"
url = "{jira}"
deployment = "cloud"
email = "pm@acme.com"
token_env = "JIRA_API_TOKEN"
jql = "project = ROAD"
[connectors.backlog.fields]
effort = "customfield_10016"
impact = "customfield_10040"

[connectors.obs]
type = "csv"
path = "observations.csv"
holds = "observations"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, deadline: float, what: str):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            got = check()
        except requests.RequestException:
            got = None
        if got:
            return got
        time.sleep(0.005)
    raise SystemExit(f"timed out after {deadline} s waiting for {what}")


def deliver(base: str, key: str, delivery: str) -> None:
    raw = json.dumps({"timestamp": int(time.time() * 1000), "webhookEvent": "jira:issue_updated",
                      "issue_event_type_name": "issue_generic", "issue": {"key": key, "fields": {}},
                      "changelog": {"items": [{"field": "Impact", "fieldtype": "custom",
                                               "fieldId": "customfield_10040"}]}}).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    res = requests.post(base + "/api/v1/webhooks/jira", data=raw, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature": sig, "X-Atlassian-Webhook-Identifier": delivery})
    assert res.status_code in (200, 202), res.text


def workers(engine) -> int:
    from sqlalchemy import text
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM workers")).scalar()


def top(base: str) -> str | None:
    items = requests.get(base + "/api/v1/roadmap?limit=1", timeout=10).json()["items"]
    return items[0]["key"] if items else None


def run(setup: str, database: str, edits: int, issues: int, tmp: Path) -> list[float]:
    jira = JiraStandIn([make_issue(n, f"activation +{1 + n % 9}% @50%", points=1 + n % 5)
                        for n in range(1, issues + 1)]).start()
    (tmp / "roadmap.toml").write_text(CONFIG.format(database=database, jira=jira.url))
    (tmp / "observations.csv").write_text("kpi,date,value\nactivation,2026-07-01,0.32\n")
    env = {**os.environ, "ROADMAP_CONFIG": str(tmp / "roadmap.toml"), "JIRA_API_TOKEN": "t",
           "ROADMAP_WEBHOOK_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    env.pop("ROADMAP_DATABASE", None)
    subprocess.run([sys.executable, "-m", "app.cli", "sync"], env=env, check=True, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                               "-w", "2", "-b", f"127.0.0.1:{port}", "--access-logfile", "/dev/null",
                               "app:create_app()"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    if setup == "worker":
        procs.append(subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        wait_for(lambda: requests.get(base + "/healthz", timeout=1).status_code == 200, 60, "the web")
        if setup == "worker":
            from sqlalchemy import create_engine, text
            eng = create_engine(database)
            wait_for(lambda: workers(eng), 60, "the worker")
            eng.dispose()
        times = []
        for i in range(edits):
            key = f"ROAD-{1 + (i * 7) % issues}"
            started = time.perf_counter()
            jira.edit(key, customfield_10040=f"activation +{200 + i}% @90%", customfield_10016=1)
            deliver(base, key, f"{setup}-{i}")
            wait_for(lambda: top(base) == key, 60, f"{key} to rank first")
            times.append(time.perf_counter() - started)
        return times
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        jira.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--issues", type=int, default=200)
    ap.add_argument("--database", default=None, help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    print(f"{args.edits} Jira edits -> webhook -> sync -> ranked roadmap, {args.issues}-issue backlog, loopback")
    for setup in ("worker", "web"):
        with tempfile.TemporaryDirectory() as d:
            database = args.database or f"sqlite:///{Path(d) / 'roadmap.db'}"
            if args.database:
                from sqlalchemy import create_engine, text
                eng = create_engine(database)
                with eng.begin() as c:
                    c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                    c.execute(text("CREATE SCHEMA public"))
                eng.dispose()
            t = sorted(run(setup, database, args.edits, args.issues, Path(d)))
            p50, p95 = statistics.median(t), t[min(len(t) - 1, int(round(0.95 * len(t))) - 1)]
            name = "roadmap worker (poll 0.25 s)" if setup == "worker" else "no worker: the web runs the job"
            print(f"{name:34} p50 {p50 * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms   max {t[-1] * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
