"""Running it for a company, on PostgreSQL with real processes on loopback: 3 gunicorn web
replicas (2 workers each, prometheus multiprocess mode, deploy/gunicorn.conf.py) and 2
`roadmap worker` processes with `sync_every = "1s"`, against a Jira stand-in
(tests/jira_standin.py) and a CSV of KPI observations.

- over 30 intervals every interval's sync ran exactly once, and never two at a time;
- a worker killed (SIGKILL) mid-sync: the other retries the job once, and the ranking
  equals a clean run's (a fresh SQLite database synced from the same sources);
- the same webhook delivered 3 times (once to each replica) queues 1 sync; a bad
  signature is 401 and queues none; the status URL answers the same on every replica;
  once that sync has ended every replica serves the new ranking on its next request;
- /metrics parses with prometheus_client's parser on every replica and they agree.
Skips without $ROADMAP_TEST_POSTGRES_URL. Waits poll the database with deadlines.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from app import services
from app.config import load_settings
from app.worker import slot_of
from app.services import Workspace
from app.services.sync import sync
from tests.conftest import EXAMPLE_OBSERVATIONS, EXAMPLE_TOML, missing, wait_until
from tests.jira_standin import JiraStandIn, make_issue

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("ROADMAP_TEST_POSTGRES_URL")
SECRET = "replica-webhook-secret"


@pytest.fixture(autouse=True)
def _postgres():
    if not PG_URL:
        missing("no PostgreSQL: set ROADMAP_TEST_POSTGRES_URL")


# the worked example's goal graph and KPI values; the backlog comes from a Jira stand-in
KPIS = EXAMPLE_TOML.split("[connectors.backlog]")[0] + (
    '[connectors.obs]\ntype = "csv"\npath = "observations.csv"\nholds = "observations"\n')
OBSERVATIONS = EXAMPLE_OBSERVATIONS


def config(database: str, jira_url: str, every: str = "1s") -> str:
    return (f'[service]\ndatabase = "{database}"\n' + (f'sync_every = "{every}"\n' if every else "") +
            'webhook_secret_env = "ROADMAP_WEBHOOK_SECRET"\nlog_format = "json"\n' + KPIS +
            f'\n[connectors.backlog]\ntype = "jira"\nurl = "{jira_url}"\ndeployment = "cloud"\n'
            'email = "pm@acme.com"\ntoken_env = "JIRA_API_TOKEN"\njql = "project = ROAD"\n'
            '[connectors.backlog.fields]\neffort = "customfield_10016"\nimpact = "customfield_10040"\n'
            'score = "customfield_10050"\nrank = "customfield_10051"\n')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


START = 120.0     # seconds a process may take to start: importing the app takes tens of seconds on busy cores


class Deployment:
    def __init__(self, tmp: Path, db_url: str, jira: JiraStandIn):
        self.tmp, self.db = tmp, create_engine(db_url)
        (tmp / "roadmap.toml").write_text(config(db_url, jira.url))
        (tmp / "unscheduled.toml").write_text(config(db_url, jira.url, every=""))
        (tmp / "observations.csv").write_text(OBSERVATIONS)
        self.env = {**os.environ, "ROADMAP_CONFIG": str(tmp / "roadmap.toml"), "JIRA_API_TOKEN": "jira-token",
                    "ROADMAP_WEBHOOK_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
        self.env.pop("ROADMAP_DATABASE", None)
        self.webs: list[tuple[str, subprocess.Popen]] = []
        self.workers: list[subprocess.Popen] = []

    def _spawn(self, args: list[str], name: str, **env) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**self.env, **env}, stdout=log,
                                stderr=subprocess.STDOUT)

    def start_web(self, n: int, workers: int) -> None:
        port = free_port()
        metrics_dir = self.tmp / f"metrics-{n}"
        proc = self._spawn(["-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "-w", str(workers),
                            "-b", f"127.0.0.1:{port}", "app:create_app()"], f"web{n}",
                           PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
        self.webs.append((f"http://127.0.0.1:{port}", proc))

    def start_worker(self, n: int, config: str = "roadmap.toml") -> subprocess.Popen:
        proc = self._spawn(["-m", "app.cli", "worker", "--config", str(self.tmp / config), "--lease", "6",
                            "--poll", "0.2"], f"worker{n}")
        self.workers.append(proc)
        return proc

    def migrated(self) -> bool:
        """The store every process polls is at this code's schema version (its tables exist)."""
        from app.store.migrations import SCHEMA_VERSION
        with self.db.connect() as c:
            if c.execute(text("SELECT to_regclass('public.meta')")).scalar() is None:
                return False
            version = c.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
        return version is not None and int(version) >= SCHEMA_VERSION

    def rows(self, sql: str, **params) -> list:
        with self.db.connect() as c:
            return c.execute(text(sql), params).all()

    def stop(self) -> None:
        for p in self.workers:
            if p.poll() is None:
                p.terminate()
        for _, p in self.webs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)                       # gunicorn's quick shutdown
        for p in self.workers + [p for _, p in self.webs]:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.db.dispose()


def answers(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def ranking(base: str) -> list[tuple]:
    res = requests.get(base + "/api/v1/roadmap?limit=500", timeout=10)
    assert res.status_code == 200, res.text
    items = res.json()["items"]
    return [(i["key"], i["rank"], round(i["score"], 9)) for i in items]


def webhook(base: str, key: str, delivery: str, *, secret: str = SECRET) -> requests.Response:
    # the shape of Atlassian's documented issue event (see tests/test_webhooks.py)
    raw = json.dumps({"timestamp": int(time.time() * 1000), "webhookEvent": "jira:issue_updated",
                      "issue_event_type_name": "issue_generic", "issue": {"id": "10001", "key": key, "fields": {}},
                      "changelog": {"id": "10105", "items": [{"field": "Impact", "fieldtype": "custom",
                                                              "fieldId": "customfield_10040"}]}}).encode()
    sig = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return requests.post(base + "/api/v1/webhooks/jira", data=raw, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature": sig, "X-Atlassian-Webhook-Identifier": delivery})


@pytest.fixture
def deployment(tmp_path):
    import gunicorn  # noqa: F401 - in the test extra; a missing one fails loudly
    engine = create_engine(PG_URL)
    with engine.begin() as c:
        c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    from app.store import Store
    store = Store(PG_URL)                                          # the schema, before any process polls it
    store.migrate()
    store.close()
    jira = JiraStandIn([make_issue(n, f"{('activation', 'nps')[n % 2]} +{n}% @{40 + n}%", points=1 + n % 3)
                        for n in range(1, 13)]).start()
    d = Deployment(tmp_path, PG_URL, jira)
    d.jira = jira
    try:
        yield d
    finally:
        d.stop()
        jira.stop()


def test_three_replicas_and_two_workers_on_postgresql(deployment, tmp_path, monkeypatch):
    d = deployment
    w1, w2 = d.start_worker(1), d.start_worker(2)
    for n in range(3):
        d.start_web(n, workers=2 if n == 0 else 1)   # replica 0: two gunicorn workers share their metrics

    # -- schedule: 30 consecutive intervals, each synced exactly once, one sync at a time -------
    wait_until(d.migrated, START, "the store was not migrated")             # before any poll reads its tables
    wait_until(lambda: d.rows("SELECT count(*) FROM workers")[0][0] == 2, START, "the workers did not start")
    both = time.time()
    start = slot_of(both, 1)[1] + 1                                   # the first interval both workers saw whole
    window = [slot_of(start + k, 1)[0] for k in range(30)]
    wait_until(lambda: d.rows("SELECT count(*) FROM schedule s JOIN jobs j ON j.id = s.job_id WHERE s.slot = :last "
                         "AND j.status IN ('ok', 'failed')", last=window[-1])[0][0] == 1, 90,
          "the 30th interval's sync did not end")
    slots = d.rows("SELECT s.slot, j.status, j.attempts, j.kind FROM schedule s JOIN jobs j ON j.id = s.job_id "
                   "WHERE s.slot >= :a AND s.slot <= :b ORDER BY s.slot", a=window[0], b=window[-1])
    assert [s.slot for s in slots] == window                       # no interval missed, none twice (primary key)
    assert {(s.status, s.attempts, s.kind) for s in slots} == {("ok", 1, "schedule")}
    spans = d.rows("SELECT started_at, ended_at FROM jobs WHERE status = 'ok' ORDER BY started_at")
    assert all(a.ended_at <= b.started_at for a, b in zip(spans, spans[1:])), "two syncs overlapped"
    wait_until(lambda: all(answers(base) for base, _ in d.webs), START, "the web replicas did not answer")

    # -- SIGTERM: each worker ends the sync in hand and stops; two unscheduled ones take over ----
    for w in (w1, w2):
        w.terminate()
    assert [w1.wait(timeout=60), w2.wait(timeout=60)] == [0, 0]
    assert d.rows("SELECT count(*) FROM jobs WHERE status = 'running'")[0][0] == 0
    w3, w4 = d.start_worker(3, "unscheduled.toml"), d.start_worker(4, "unscheduled.toml")
    wait_until(lambda: d.rows("SELECT count(*) FROM workers")[0][0] == 2, START, "the new workers did not start")

    # -- a worker killed mid-sync: the other retries the job once, same ranking as a clean run ---
    d.jira.hold()
    queued = requests.post(d.webs[2][0] + "/api/v1/sync", timeout=10)
    assert queued.status_code == 202
    wait_until(d.jira.held.is_set, 30, "no sync reached Jira")
    job_id, holder = wait_until(lambda: d.rows("SELECT id, worker FROM jobs WHERE status = 'running'"), 15,
                           "no running job")[0]
    victim = {w3.pid: w3, w4.pid: w4}[int(holder.split(":")[1])]
    survivor = w4 if victim is w3 else w3
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    d.jira.release()
    done = wait_until(lambda: d.rows("SELECT status, attempts, worker FROM jobs WHERE id = :j AND status <> 'running'",
                                j=job_id), 40, "the killed worker's job was not retried")[0]
    assert (done.status, done.attempts, int(done.worker.split(":")[1])) == ("ok", 2, survivor.pid)
    wait_until(lambda: d.rows("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")[0][0] == 0, 40,
          "the queue did not drain")
    monkeypatch.setenv("ROADMAP_DATABASE", f"sqlite:///{tmp_path / 'clean.db'}")
    monkeypatch.setenv("JIRA_API_TOKEN", "jira-token")
    clean_ws = Workspace(load_settings(tmp_path / "unscheduled.toml"))   # a clean run from the same sources
    assert [r.status for r in sync(clean_ws)] == ["ok", "ok"]
    clean = [(i["key"], i["rank"], round(i["score"], 9)) for i in services.ranking(clean_ws).items(0, None)]
    clean_ws.close()
    assert len(clean) == 12 and all(ranking(base) == clean for base, _ in d.webs)

    # -- webhooks: one delivery 3 times (one per replica) queues 1 sync; a bad signature none -----
    d.jira.edit("ROAD-1", customfield_10040="activation +90% @90%")
    got = [webhook(base, "ROAD-1", "delivery-road-1") for base, _ in d.webs]
    assert [r.status_code for r in got] == [202, 200, 200]
    job = got[0].json()
    assert [r.json()["job"]["id"] for r in got[1:]] == [job["id"], job["id"]]
    assert d.rows("SELECT count(*) FROM webhook_deliveries WHERE id = 'delivery-road-1'")[0][0] == 1
    assert d.rows("SELECT count(*) FROM jobs WHERE hint LIKE '%ROAD-1%'")[0][0] == 1
    bad = webhook(d.webs[1][0], "ROAD-2", "delivery-forged", secret="guess")
    assert bad.status_code == 401
    assert d.rows("SELECT count(*) FROM webhook_deliveries WHERE id = 'delivery-forged'")[0][0] == 0
    assert d.rows("SELECT count(*) FROM jobs WHERE hint LIKE '%ROAD-2%'")[0][0] == 0
    url = job["status_url"]
    wait_until(lambda: requests.get(d.webs[0][0] + url, timeout=5).json()["status"] == "ok", 45, "webhook sync")
    states = [requests.get(base + url, timeout=5).json() for base, _ in d.webs]
    assert states[0] == states[1] == states[2] and states[0]["kind"] == "webhook"
    after = [ranking(base) for base, _ in d.webs]                  # each replica's next request after the publish
    assert after[0] == after[1] == after[2] and after[0] != clean and after[0][0][0] == "ROAD-1"

    # -- metrics: every replica parses and agrees on what the store holds -----------------------
    scraped = []
    for n, (base, _) in enumerate(d.webs):
        for _ in range(4):
            requests.get(base + url, timeout=5)
        body = requests.get(base + "/metrics", timeout=5).text
        families = {f.name: f for f in text_string_to_metric_families(body)}
        scraped.append({n: sorted((s.name, tuple(sorted(s.labels.items())), s.value) for s in families[n].samples)
                        for n in ("roadmap_initiatives", "roadmap_observations", "roadmap_sync_runs",
                                  "roadmap_data_version")})
        polls = sum(s.value for s in families["roadmap_http_requests"].samples if s.name.endswith("_total")
                    and s.labels["route"] == "/api/v1/sync/<job>" and s.labels["status"] == "200")
        assert polls >= 4 + 1                                      # replica 0: summed over its two workers
    assert scraped[0] == scraped[1] == scraped[2]
    assert [s[2] for s in scraped[0]["roadmap_initiatives"]] == [12, 0]
