"""Sync jobs and schedules: `roadmap worker`'s loop, and the web process's own runner when
no worker is running.

Like Healthchecks.io's `sendalerts`, a worker is a plain loop over the database: it
claims the next job under a lease (app/store/jobs.py), runs the sync, renews the lease
from a heartbeat thread while it runs, and records the result. Any number of workers on
any number of machines is safe; one sync runs at a time across all of them. A worker
killed mid-sync stops renewing its lease; when the lease passes, another worker takes the
job over once (the store's atomic publish makes a re-run safe).

Schedules (`[service] sync_every`): each interval's start is a slot; the first worker to
insert `(sync, slot)` into the schedule table queues that interval's sync, so it runs
exactly once whatever the number of workers.
"""
from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timezone

from app.logs import log
from app.secrets import redact, secret_values
from app.store import queue as q

logger = logging.getLogger("roadmap.jobs")
UNITS = {"s": 1, "m": 60, "h": 3600}
WORKER_SEEN = 30.0        # a worker not seen for this long is taken as gone (web runs jobs itself)
SEEN_EVERY = 5.0          # how often an idle worker says it is alive
PRUNE_EVERY = 600.0       # how often a worker forgets old jobs (7 days) and schedule slots (1 day)


def parse_every(text: str | None) -> float | None:
    """`[service] sync_every` in seconds: "30s" -> 30.0, "15m" -> 900.0, "1h" -> 3600.0.

    >>> parse_every("15m"), parse_every(None)
    (900.0, None)
    """
    if not text:
        return None
    return float(int(text[:-1]) * UNITS[text[-1]])


def slot_of(t: float, every: float) -> tuple[str, float]:
    """The interval holding time `t` (seconds since the epoch): its key and its start.

    >>> slot_of(3725.4, 60)
    ('1970-01-01T01:02:00+00:00', 3720.0)
    """
    start = math.floor(t / every) * every
    return datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds"), start


def worker_id(prefix: str = "") -> str:
    return f"{prefix}{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_job(ws, job: dict, worker: str, lease: float) -> str:
    """Run a claimed job's sync, renewing its lease meanwhile; record and return its status.
    Interrupted (Ctrl+C, a second SIGTERM): the job goes back to the queue, then re-raises."""
    from app.services.sync import sync
    store = ws.store
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(max(lease / 3, 0.05)):
            try:
                if not q.renew(store, job["id"], worker, lease):
                    log(logger, "lost the lease of a job", level=logging.WARNING, job=job["id"], worker=worker)
                    return
                q.seen_worker(store, worker)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again; the lease says the rest
                log(logger, "could not renew a job's lease", level=logging.WARNING, job=job["id"],
                    error=type(exc).__name__)

    beat = threading.Thread(target=heartbeat, name=f"lease-{job['id']}", daemon=True)
    beat.start()
    started = time.monotonic()
    log(logger, "sync started", job=job["id"], kind=job["kind"], attempt=job["attempts"],
        scope=job["scope"] or "all", hint=len(job["hint"].split()))
    result, message, status = [], "", "ok"
    try:
        names = job["scope"].split()
        # the page's analyses wait for the worker's idle time (`Analyses`): queued syncs first
        reports = [r for n in names for r in sync(ws, connector=n, precompute=False)] if names \
            else sync(ws, precompute=False)
        result = [{"connector": r.connector, "status": r.status, **r.counts()} for r in reports]
        failed = [r for r in reports if r.failures]
        status = "failed" if failed else "ok"
        message = "; ".join(f"{r.connector}: {why}" for r in failed for _, why in r.failures[:3])
    except (KeyboardInterrupt, SystemExit):
        stop.set()
        q.release(store, job["id"], worker)
        log(logger, "sync interrupted; job back in the queue", level=logging.WARNING, job=job["id"])
        raise
    except Exception as exc:  # noqa: BLE001 - recorded on the job, never raised into the loop
        status, message = "failed", str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    finally:
        stop.set()
    message = redact(message, secret_values(ws.settings))[:1000]
    if not q.finish(store, job["id"], worker, status, result, message):
        log(logger, "job was taken over before it ended; result not recorded", level=logging.WARNING,
            job=job["id"])
    if status == "failed":
        try:
            q.reap_runs(store)        # a run the failed sync left "running": failed now, its staging dropped
        except Exception as exc:  # noqa: BLE001 - the next sync recovers it too
            log(logger, "could not recover the failed sync's runs", level=logging.WARNING, error=type(exc).__name__)
    log(logger, "sync ended", level=logging.INFO if status == "ok" else logging.WARNING, job=job["id"],
        status=status, seconds=round(time.monotonic() - started, 3), why=message)
    return status


class Analyses:
    """The roadmap page's plan and risk analysis of the newest data, computed when the
    queue is empty (app/services/sync.py `precompute_analyses`): once per store version
    (a sync, a web estimate), after the syncs waiting, so that a burst of webhooks is
    published first and the first page after it does not wait for the analyses. A sync
    queued meanwhile waits at most for the analysis under way (the plan or the risk), then
    goes first."""

    def __init__(self, ws):
        self.ws = ws
        self.done_for = None

    def when_idle(self) -> None:
        version = self.ws.store.cache_version()
        if version == self.done_for:
            return
        from app.services.sync import precompute_analyses
        if precompute_analyses(self.ws, go_on=lambda: q.pending(self.ws.store) == 0):
            self.done_for = version


class Worker:
    """`roadmap worker`: queued and scheduled syncs, one at a time across the deployment."""

    def __init__(self, ws, *, lease: float = 60.0, poll: float = 0.25):
        self.ws, self.lease, self.poll = ws, lease, poll
        self.id = worker_id()
        self._seen = self._pruned = -math.inf
        self.every = parse_every(ws.settings.service.sync_every)
        self.stop = threading.Event()
        self.analyses = Analyses(ws)

    def tick(self, t: float | None = None) -> dict | None:
        """Queue this interval's scheduled sync if no worker did yet."""
        if not self.every:
            return None
        key, _ = slot_of(time.time() if t is None else t, self.every)
        job, how = q.enqueue(self.ws.store, "schedule", slot=("sync", key))
        if how != "duplicate":
            log(logger, "scheduled sync queued", slot=key, job=job["id"] if job else None, how=how)
        return job if how != "duplicate" else None

    def step(self) -> bool:
        """Claim and run one job; False when there was none to run."""
        job = q.claim(self.ws.store, self.id, self.lease)
        if job is None:
            return False
        run_job(self.ws, job, self.id, self.lease)
        return True

    def run(self, *, once: bool = False) -> None:
        """Loop until `stop` is set (SIGTERM); `once`: until nothing is queued or running."""
        store = self.ws.store
        log(logger, "worker started", worker=self.id, every=self.ws.settings.service.sync_every, lease=self.lease)
        try:
            while not self.stop.is_set():
                try:
                    if time.monotonic() - self._seen > SEEN_EVERY:
                        q.seen_worker(store, self.id)
                        self._seen = time.monotonic()
                    if time.monotonic() - self._pruned > PRUNE_EVERY:
                        q.prune(store)
                        self._pruned = time.monotonic()
                    self.tick()
                    if self.step():
                        continue
                    self.analyses.when_idle()
                    if once and q.pending(store) == 0:
                        break
                except Exception as exc:  # noqa: BLE001 - a database away or busy: say so, wait, go on
                    log(logger, "worker could not reach the database; retrying", level=logging.WARNING,
                        error=redact(f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
                                     secret_values(self.ws.settings)))
                    self.stop.wait(min(max(self.poll * 8, 1.0), 10.0))
                    continue
                wait = self.poll
                if self.every:
                    _, start = slot_of(time.time(), self.every)
                    wait = min(wait, start + self.every - time.time() + 0.005)
                self.stop.wait(max(wait, 0.005))
        finally:
            q.forget_worker(store, self.id)
            log(logger, "worker stopped", worker=self.id)


class WebRunner:
    """With no worker running (the SQLite default), the web process runs queued jobs
    itself, in one background thread per process, through the same claim."""

    def __init__(self, ws, *, lease: float = 60.0, poll: float = 0.2):
        self.ws, self.lease, self.poll = ws, lease, poll
        self.id = worker_id("web:")
        self.analyses = Analyses(ws)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def kick(self) -> bool:
        """Start the thread unless one runs or a worker is alive; True when started."""
        try:
            if q.live_workers(self.ws.store, WORKER_SEEN):
                return False
        except Exception:  # noqa: BLE001 - a busy database: the next request kicks again
            return False
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(target=self._drain, name="roadmap-jobs", daemon=True)
            self._thread.start()
            return True

    def _drain(self) -> None:
        store = self.ws.store
        while True:
            try:
                job = q.claim(store, self.id, self.lease)
                if job is not None:
                    run_job(self.ws, job, self.id, self.lease)
                    continue
                if q.pending(store) == 0:
                    self.analyses.when_idle()
                    if q.pending(store) == 0:
                        return
                    continue
            except Exception as exc:  # noqa: BLE001 - never kill the web process; retry after a pause
                log(logger, "web job runner error", level=logging.WARNING, error=type(exc).__name__)
            time.sleep(self.poll)
