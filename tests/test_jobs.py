"""Sync jobs in the store (app/store/jobs.py, app/jobs.py), on SQLite and PostgreSQL:
a second request joins the queued one, one claim at a time even when many processes race,
a lost worker's job is retried once, each schedule slot is queued once, and the web runs
queued jobs itself when no worker is alive."""
from __future__ import annotations

import threading

import pytest

from app import create_app
from app.config import load_settings
from app.worker import Worker, parse_every, slot_of
from app.services import Workspace
from app.store import Store
from app.store import queue as q
from tests.conftest import add_service, wait_until


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def test_every_and_slots():
    assert [parse_every(t) for t in ("30s", "15m", "1h", None)] == [30.0, 900.0, 3600.0, None]
    # 3725.4 s after the epoch is 01:02:05.4; its 60 s slot starts at 01:02:00 (3720 s)
    assert slot_of(3725.4, 60) == ("1970-01-01T01:02:00+00:00", 3720.0)
    assert slot_of(3779.99, 60)[0] == slot_of(3720.0, 60)[0] != slot_of(3780.0, 60)[0]


def test_a_second_request_joins_the_queued_one_and_widens_it(store):
    first, how = q.enqueue(store, "webhook", scope=["backlog"], hint=["ROAD-1"])
    assert how == "queued" and first["status"] == "queued" and first["scope"] == "backlog"
    again, how = q.enqueue(store, "webhook", scope=["backlog"], hint=["ROAD-2", "ROAD-1"])
    assert how == "joined" and again["id"] == first["id"] and again["hint"] == "ROAD-1 ROAD-2"
    api, how = q.enqueue(store, "api", join_running=True)
    assert how == "joined" and api["id"] == first["id"] and api["scope"] == ""   # every connector now


def test_a_running_sync_answers_the_api_but_a_webhook_queues_behind_it(store):
    job, _ = q.enqueue(store, "api", join_running=True)
    assert q.claim(store, "w1", 60)["id"] == job["id"]
    same, how = q.enqueue(store, "api", join_running=True)
    assert (same["id"], same["status"], how) == (job["id"], "running", "joined")
    later, how = q.enqueue(store, "webhook", scope=["backlog"], hint=["ROAD-7"])
    assert how == "queued" and later["id"] != job["id"]


def test_one_job_runs_at_a_time(store):
    a, _ = q.enqueue(store, "api")
    q.claim(store, "w1", 60)
    b, _ = q.enqueue(store, "webhook", hint=["ROAD-1"])
    assert q.claim(store, "w2", 60) is None                 # a's lease is live
    assert q.finish(store, a["id"], "w1", "ok", [{"connector": "backlog", "status": "ok"}])
    got = q.claim(store, "w2", 60)
    assert (got["id"], got["worker"], got["attempts"]) == (b["id"], "w2", 1)
    assert q.get(store, a["id"])["result"] == [{"connector": "backlog", "status": "ok"}]


def test_a_lost_worker_s_job_is_retried_once_then_failed(store):
    job, _ = q.enqueue(store, "api")
    q.claim(store, "w1", -1)                                # w1's lease already passed: w1 died
    taken = q.claim(store, "w2", 60)
    assert (taken["id"], taken["worker"], taken["attempts"], taken["status"]) == (job["id"], "w2", 2, "running")
    assert not q.finish(store, job["id"], "w1", "ok", [])   # w1 no longer holds it
    assert q.renew(store, job["id"], "w2", -1)              # w2 dies too
    assert q.claim(store, "w3", 60) is None                 # not a third time
    failed = q.get(store, job["id"])
    assert failed["status"] == "failed" and "not retried again" in failed["message"]


def test_racing_claims_from_many_processes_give_the_job_to_one(db_url, store):
    job, _ = q.enqueue(store, "api")
    stores = [Store(db_url) for _ in range(6)]
    got, barrier = [], threading.Barrier(len(stores))

    def racer(n, s):
        barrier.wait()
        got.append(q.claim(s, f"w{n}", 60))
    threads = [threading.Thread(target=racer, args=(n, s)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [g for g in got if g is not None]
    assert len(won) == 1 and won[0]["id"] == job["id"] and len(got) == 6
    for s in stores:
        s.close()


def test_racing_requests_queue_one_job(db_url, store):
    stores = [Store(db_url) for _ in range(6)]
    out, barrier = [], threading.Barrier(len(stores))

    def racer(s):
        barrier.wait()
        out.append(q.enqueue(s, "api", join_running=True))
    threads = [threading.Thread(target=racer, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(how for _, how in out) == ["joined"] * 5 + ["queued"]
    assert len({job["id"] for job, _ in out}) == 1
    for s in stores:
        s.close()


@pytest.fixture
def ws(workspace_dir, db_url, monkeypatch):
    monkeypatch.setenv("ROADMAP_DATABASE", db_url)
    add_service(workspace_dir, 'sync_every = "1m"')
    w = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    yield w
    w.close()


def test_each_schedule_slot_is_queued_once_whatever_the_workers(ws):
    a, b = Worker(ws), Worker(ws)
    t = 1_800_000_000.0                                     # 2027-01-15T08:00:00Z, a slot start
    assert a.tick(t + 5)["kind"] == "schedule"
    assert b.tick(t + 30) is None                           # same minute: b finds the slot taken
    joined = b.tick(t + 65)                                 # the next minute, while the first is queued
    with ws.store.engine.connect() as c:
        rows = c.execute(q.s.schedule.select().order_by(q.s.schedule.c.slot)).all()
    assert [(r.slot, r.job_id) for r in rows] == [("2027-01-15T08:00:00+00:00", joined["id"]),
                                                  ("2027-01-15T08:01:00+00:00", joined["id"])]


def test_a_worker_runs_the_queue_and_stops_when_once(ws):
    job, _ = q.enqueue(ws.store, "api")
    w = Worker(ws, lease=5)
    w.every = None                                          # no schedule: just the queue
    w.run(once=True)
    done = q.get(ws.store, job["id"])
    assert (done["status"], done["attempts"]) == ("ok", 1)
    assert {r["connector"]: r["initiatives"] for r in done["result"]} == {"backlog": 5, "obs": 0}
    assert ws.store.count("initiatives") == 5 and q.live_workers(ws.store, 60) == 0


def _wait_done(client, url, deadline=20.0):
    def ended():
        state = client.get(url).get_json()
        return state if state["status"] not in ("queued", "running") else None
    return wait_until(ended, deadline, f"the job at {url} did not end")


def test_with_no_worker_the_web_runs_the_job_and_every_replica_answers_its_status(ws, db_url, monkeypatch):
    import app.services.sync as sync_service
    real, started, release = sync_service.sync, threading.Event(), threading.Event()

    def held(*args, **kwargs):          # the web's runner holds the job running until released
        started.set()
        assert release.wait(30)
        return real(*args, **kwargs)
    monkeypatch.setattr(sync_service, "sync", held)
    one = create_app(workspace=ws).test_client()
    other = create_app(workspace=Workspace(ws.settings)).test_client()   # a second replica, its own store
    res = one.post("/api/v1/sync")
    assert res.status_code == 202 and res.get_json()["status"] in ("queued", "running")
    url = res.get_json()["status_url"]
    wait_until(started.is_set, 20, "the web's runner did not start the job")
    again = other.post("/api/v1/sync").get_json()
    assert (again["id"], again["status"]) == (res.get_json()["id"], "running")   # joined, not a second job
    release.set()
    state = _wait_done(other, url)
    assert state["status"] == "ok" and {c["connector"] for c in state["connectors"]} == {"backlog", "obs"}
    assert one.get(url).get_json() == other.get(url).get_json()
    assert other.get("/api/v1/sync/99999").status_code == 404


def test_the_web_leaves_jobs_to_a_live_worker(ws):
    q.seen_worker(ws.store, "elsewhere:1:abc")
    client = create_app(workspace=ws).test_client()
    job = client.post("/api/v1/sync").get_json()
    assert job["status"] == "queued"
    assert client.get(job["status_url"]).get_json()["status"] == "queued"   # nobody here ran it
    q.forget_worker(ws.store, "elsewhere:1:abc")
    assert _wait_done(client, job["status_url"])["status"] == "ok"          # the worker is gone: the web runs it


def test_an_unknown_connector_is_refused(ws):
    res = create_app(workspace=ws).test_client().post("/api/v1/sync", json={"connector": "nope"})
    assert res.status_code == 400 and "no connector named 'nope'" in res.get_json()["error"]["message"]
    assert q.pending(ws.store) == 0


def test_old_finished_jobs_and_slots_are_forgotten(store):
    from datetime import timedelta
    old, _ = q.enqueue(store, "schedule", slot=("sync", "2026-01-01T00:00:00+00:00"))
    q.claim(store, "w1", 60)
    q.finish(store, old["id"], "w1", "ok", [])
    waiting, _ = q.enqueue(store, "api")
    assert q.prune(store, jobs_kept=timedelta(seconds=-1), slots_kept=timedelta(seconds=-1)) == 1
    assert q.get(store, old["id"]) is None and q.get(store, waiting["id"])["status"] == "queued"
    with store.engine.connect() as c:
        assert c.execute(q.s.schedule.select()).all() == []


def test_a_worker_rides_out_a_database_error(ws, monkeypatch):
    from sqlalchemy.exc import OperationalError
    job, _ = q.enqueue(ws.store, "api")
    real, calls = q.claim, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        return real(*args, **kwargs)
    monkeypatch.setattr(q, "claim", flaky)
    w = Worker(ws, lease=5, poll=0.05)
    w.every = None
    w.run(once=True)
    assert q.get(ws.store, job["id"])["status"] == "ok" and len(calls) >= 2
