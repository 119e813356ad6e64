"""Honest run states (app/store/queue.py `expire_lost`, `reap_runs`): a worker killed by
SIGKILL mid-sync leaves a job and a sync run "running" with staged rows; the first to
notice (the web's status read, a claiming worker, /metrics) marks the run failed and drops
its staging at once, without another sync. A live sync's run is never touched.

The worker is a real subprocess: it claims the job, starts a run and stages rows under the
connector's lock (as a sync does), says "ready" and waits to be killed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app import create_app
from app.config import load_settings
from app.services import Workspace
from app.store import queue as q
from app.store import schema as s

ROOT = Path(__file__).resolve().parents[1]
WORKER = textwrap.dedent("""
    import sys, time
    from app.store import Store
    from app.store import queue as q
    store = Store(sys.argv[1])
    job = q.claim(store, "doomed", float(sys.argv[2]))
    with store.connector_lock("backlog"):
        run = store.start_run("backlog", False)
        store.stage_seen(run, ["A", "B", "C"])
        print(job["id"], run, flush=True)
        time.sleep(600)
""")


def start_doomed_worker(url: str, lease: float) -> tuple[subprocess.Popen, int, int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", WORKER, url, str(lease)], stdout=subprocess.PIPE, env=env,
                            text=True)
    line = proc.stdout.readline()
    job, run = map(int, line.split())
    return proc, job, run


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


def run_status(store, run: int) -> str:
    with store.engine.connect() as c:
        return c.execute(select(s.sync_runs.c.status).where(s.sync_runs.c.id == run)).scalar_one()


def staged(store, run: int) -> int:
    with store.engine.connect() as c:
        return c.execute(select(func.count()).select_from(s.staged_seen).where(s.staged_seen.c.run_id == run)
                         ).scalar_one()


def lease_passed(store, job: int) -> None:
    """The lease as if it had run out (the worker stopped renewing it)."""
    with store.engine.begin() as c:
        c.execute(update(s.jobs).where(s.jobs.c.id == job).values(lease_until=q.now() - timedelta(seconds=1)))


@pytest.fixture
def ws(workspace_dir, db_url, monkeypatch):
    monkeypatch.setenv("ROADMAP_DATABASE", db_url)
    w = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    w.store.migrate()
    yield w
    w.close()


def test_a_killed_workers_run_reads_failed_at_the_next_status_read(ws, db_url):
    store = ws.store
    job, _ = q.enqueue(store, "api")
    with store.engine.begin() as c:                    # its last attempt: no retry will follow
        c.execute(update(s.jobs).where(s.jobs.c.id == job["id"]).values(attempts=q.MAX_ATTEMPTS - 1))
    proc, job_id, run = start_doomed_worker(db_url, 60)
    client = create_app(workspace=ws).test_client()
    try:
        lease_passed(store, job_id)
        assert client.get(f"/api/v1/sync/{job_id}").get_json()["status"] == "failed"
        assert run_status(store, run) == "running" and staged(store, run) == 3     # alive: its run is left alone
    finally:
        kill(proc)
    got = client.get(f"/api/v1/sync/{job_id}").get_json()
    assert got["status"] == "failed" and "not retried again" in got["message"]
    assert run_status(store, run) == "failed"
    assert staged(store, run) == 0
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'roadmap_sync_runs_total{connector="backlog",status="failed"} 1.0' in metrics
    assert 'roadmap_sync_jobs{status="running"} 0.0' in metrics


def test_a_killed_workers_first_attempt_is_queued_again_and_its_run_failed(ws, db_url):
    store = ws.store
    q.enqueue(store, "api")
    proc, job_id, run = start_doomed_worker(db_url, 60)
    kill(proc)
    lease_passed(store, job_id)
    q.seen_worker(store, "another-worker")        # a live worker will retry it: the web runs nothing itself
    client = create_app(workspace=ws).test_client()
    got = client.get(f"/api/v1/sync/{job_id}").get_json()
    assert (got["status"], got["attempts"]) == ("queued", 1)
    assert "queued again" in got["message"]
    assert run_status(store, run) == "failed" and staged(store, run) == 0


def test_a_claiming_worker_fails_the_dead_workers_run_before_it_syncs(ws, db_url):
    store = ws.store
    q.enqueue(store, "api")
    proc, job_id, run = start_doomed_worker(db_url, 60)
    kill(proc)
    lease_passed(store, job_id)
    taken = q.claim(store, "w2", 60)
    assert (taken["id"], taken["attempts"]) == (job_id, 2)
    assert run_status(store, run) == "failed" and staged(store, run) == 0


def test_metrics_never_count_a_dead_workers_job_running(ws, db_url):
    store = ws.store
    q.enqueue(store, "api")
    proc, job_id, run = start_doomed_worker(db_url, 60)
    kill(proc)
    lease_passed(store, job_id)
    q.seen_worker(store, "another-worker")
    metrics = create_app(workspace=ws).test_client().get("/metrics").get_data(as_text=True)
    assert 'roadmap_sync_jobs{status="running"} 0.0' in metrics
    assert 'roadmap_sync_jobs{status="queued"} 1.0' in metrics
    assert run_status(store, run) == "failed"
