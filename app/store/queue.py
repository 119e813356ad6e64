"""Sync jobs in the store: queue, join, claim under a lease, finish; schedule slots, webhook
deliveries and live workers. Safe across processes and machines with no broker.

Every write that decides something (queue or join, claim, take over a lost job) runs in
one transaction holding the deployment's job lock: `pg_advisory_xact_lock` on
PostgreSQL, `BEGIN IMMEDIATE` (SQLite's single writer) on SQLite. So one sync runs at a
time across every worker and replica, and a second request joins the queued one.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, delete, func, insert, or_, select, text, update

from app.store import schema as s

JOB_LOCK = 7243002          # the advisory lock key of the job queue (7243001 is the migrations')
MAX_ATTEMPTS = 2            # a job whose worker died is retried once, then marked failed
MAX_HINT = 1000             # issue keys kept as a job's hint
DELIVERIES_KEPT = timedelta(days=1)   # Jira retries and may deliver up to 30 minutes late
FINISHED = ("ok", "failed")


def now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(t: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is written in UTC."""
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


@contextmanager
def locked(store):
    """A write transaction holding the job lock (see the module's docstring)."""
    with store.engine.connect() as c:
        if c.dialect.name == "sqlite":
            c.exec_driver_sql("BEGIN IMMEDIATE")
        elif c.dialect.name == "postgresql":
            c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": JOB_LOCK})
        try:
            yield c
        except BaseException:
            c.rollback()
            raise
        c.commit()


def as_dict(row) -> dict:
    """A job row as the API shows it (dates in ISO 8601 UTC, reports parsed)."""
    d = dict(row._mapping)
    for k in ("requested_at", "started_at", "ended_at", "lease_until"):
        d[k] = _utc(d[k])
    d["result"] = json.loads(d["result"] or "[]")
    return d


def _merge(a: str, b: str) -> str:
    """Two scopes as one: "" (every connector) wins."""
    if not a or not b:
        return ""
    return " ".join(dict.fromkeys(a.split() + b.split()))


def enqueue(store, kind: str, *, scope: list[str] | None = None, hint: list[str] = (),
            join_running: bool = False, slot: tuple[str, str] | None = None,
            delivery: str | tuple[str, ...] | None = None) -> tuple[dict | None, str]:
    """Queue a sync, or join the one already queued (widening its scope and hint).

    `join_running`: a running sync answers the request too (the API's "a sync already
    running is returned"); a webhook or a schedule slot queues behind it instead, since the
    running one may have read the changed issue before the change. `slot` = (name, slot):
    insert-if-absent; the first caller runs it, the rest get "duplicate". `delivery`: a
    webhook delivery id (or several: the id and the body's hash), a repeat of any of them
    within DELIVERIES_KEPT gets "duplicate". Returns (job, "queued" | "joined" | "duplicate")."""
    j = s.jobs
    scope_text = " ".join(scope or [])
    hint = [h for h in dict.fromkeys(hint)][:MAX_HINT]
    stamp = now()
    ids = list(dict.fromkeys([delivery] if isinstance(delivery, str) else delivery or ()))
    with locked(store) as c:
        if ids:
            wd = s.webhook_deliveries
            seen = c.execute(select(wd.c.job_id).where(wd.c.id.in_(ids), wd.c.received_at >= stamp - DELIVERIES_KEPT)
                             .limit(1)).first()
            if seen is not None:
                return _get(c, seen.job_id), "duplicate"
        if slot is not None:
            seen = c.execute(select(s.schedule.c.job_id).where(s.schedule.c.name == slot[0],
                                                               s.schedule.c.slot == slot[1])).first()
            if seen is not None:
                return _get(c, seen.job_id), "duplicate"
        queued = c.execute(select(j).where(j.c.status == "queued").order_by(j.c.id).limit(1)).first()
        running = None if queued is not None or not join_running else c.execute(
            select(j).where(j.c.status == "running").order_by(j.c.id).limit(1)).first()
        if queued is not None:
            merged_hint = " ".join(list(dict.fromkeys(queued.hint.split() + hint))[:MAX_HINT])
            c.execute(update(j).where(j.c.id == queued.id).values(scope=_merge(queued.scope, scope_text),
                                                                  hint=merged_hint))
            job_id, how = queued.id, "joined"
        elif running is not None:
            job_id, how = running.id, "joined"
        else:
            job_id = c.execute(insert(j).values(kind=kind, status="queued", scope=scope_text, hint=" ".join(hint),
                                                requested_at=stamp, attempts=0, result="[]", message="")
                               ).inserted_primary_key[0]
            how = "queued"
        if ids:
            c.execute(delete(s.webhook_deliveries).where(s.webhook_deliveries.c.received_at < stamp - DELIVERIES_KEPT))
            c.execute(delete(s.webhook_deliveries).where(s.webhook_deliveries.c.id.in_(ids)))
            c.execute(insert(s.webhook_deliveries), [{"id": i, "job_id": job_id, "received_at": stamp} for i in ids])
        if slot is not None:
            c.execute(insert(s.schedule).values(name=slot[0], slot=slot[1], job_id=job_id, created_at=stamp))
        from app.auth import audit     # the audit row commits with the job (docs/http.md, "Who may do what")
        audit.record(c, "sync.queue", f"job {job_id} ({kind}{': ' + scope_text if scope_text else ''})", how)
        return _get(c, job_id), how


def _get(c, job_id) -> dict | None:
    if job_id is None:
        return None
    row = c.execute(select(s.jobs).where(s.jobs.c.id == job_id)).first()
    return as_dict(row) if row else None


def get(store, job_id: int) -> dict | None:
    with store.engine.connect() as c:
        return _get(c, job_id)


def claim(store, worker: str, lease: float) -> dict | None:
    """Take the next job, or None while one is running under a live lease (one sync at a
    time). A running job whose lease passed lost its worker: it is taken over once
    (attempts 2), then marked failed."""
    j = s.jobs
    stamp = now()
    until = stamp + timedelta(seconds=lease)
    with store.engine.connect() as c:       # a plain read first: an idle poll takes no lock
        work = c.execute(select(j.c.id).where(or_(j.c.status == "queued", and_(
            j.c.status == "running", or_(j.c.lease_until.is_(None), j.c.lease_until < stamp)))).limit(1)).first()
    if work is None:
        return None
    lost: list[int] = []
    try:
        return _claim_locked(store, worker, stamp, until, lost)
    finally:
        if lost:
            reap_runs(store)      # the dead worker's runs: failed, staging dropped, before this one syncs


def _claim_locked(store, worker: str, stamp: datetime, until: datetime, lost: list[int]) -> dict | None:
    j = s.jobs
    with locked(store) as c:
        for r in c.execute(select(j).where(j.c.status == "running").order_by(j.c.id)).all():
            if _utc(r.lease_until) is not None and _utc(r.lease_until) >= stamp:
                return None
            lost.append(r.id)
            if r.attempts >= MAX_ATTEMPTS:
                c.execute(update(j).where(j.c.id == r.id).values(
                    status="failed", ended_at=stamp, lease_until=None, message=_gave_up(r)))
                continue
            c.execute(update(j).where(j.c.id == r.id).values(worker=worker, attempts=r.attempts + 1,
                                                             lease_until=until))
            return _get(c, r.id)
        q = c.execute(select(j.c.id).where(j.c.status == "queued").order_by(j.c.id).limit(1)).first()
        if q is None:
            return None
        c.execute(update(j).where(j.c.id == q.id, j.c.status == "queued").values(
            status="running", worker=worker, attempts=j.c.attempts + 1, started_at=stamp, lease_until=until))
        return _get(c, q.id)


def _gave_up(r) -> str:
    return f"its worker stopped during {r.attempts} attempts ({r.worker}); not retried again"


def expire_lost(store) -> int:
    """Whoever notices first (the web's status read, /metrics, a claiming worker): jobs whose
    worker's lease passed go back to the queue for their next attempt, or fail after their
    last; the sync runs a dead process left "running" are failed and their staging dropped
    (`reap_runs`). Returns how many jobs changed. An idle store costs two plain reads."""
    j, stamp = s.jobs, now()
    changed = 0
    with store.engine.connect() as c:
        lost = c.execute(select(j.c.id).where(j.c.status == "running", j.c.lease_until < stamp).limit(1)).first()
    if lost is not None:
        with locked(store) as c:
            for r in c.execute(select(j).where(j.c.status == "running", j.c.lease_until < stamp)).all():
                if r.attempts >= MAX_ATTEMPTS:
                    values = dict(status="failed", ended_at=stamp, lease_until=None, message=_gave_up(r))
                else:
                    values = dict(status="queued", worker=None, lease_until=None,
                                  message=f"its worker stopped during attempt {r.attempts} ({r.worker}); queued again")
                changed += c.execute(update(j).where(j.c.id == r.id, j.c.status == "running").values(**values)
                                     ).rowcount
    reap_runs(store)
    return changed


def reap_runs(store) -> list[str]:
    """Sync runs still "running" whose process is gone (its connector's lock is free: the OS
    or PostgreSQL released it when the process died) marked failed, their staging dropped
    (`Store.recover`; the pages an interrupted sync can resume from stay). Runs of a live
    sync, here or elsewhere, are left alone. Returns the connectors recovered."""
    from sqlalchemy.engine import make_url

    from app.store.staging import SyncBusy
    if store.engine.dialect.name == "sqlite" and make_url(store.url).database in (None, "", ":memory:"):
        return []                 # no lock to tell a live sync from a dead one
    r = s.sync_runs
    with store.engine.connect() as c:
        names = [n for (n,) in c.execute(select(r.c.connector).where(r.c.status == "running").distinct())]
    out = []
    for name in names:
        try:
            with store.connector_lock(name):
                if store.recover(name):
                    out.append(name)
        except SyncBusy:
            continue
    return out


def renew(store, job_id: int, worker: str, lease: float) -> bool:
    """Extend a running job's lease; False when it is no longer this worker's."""
    j = s.jobs
    with store.engine.begin() as c:
        return c.execute(update(j).where(j.c.id == job_id, j.c.worker == worker, j.c.status == "running")
                         .values(lease_until=now() + timedelta(seconds=lease))).rowcount == 1


def finish(store, job_id: int, worker: str, status: str, result: list[dict], message: str = "") -> bool:
    j = s.jobs
    with store.engine.begin() as c:
        return c.execute(update(j).where(j.c.id == job_id, j.c.worker == worker, j.c.status == "running").values(
            status=status, ended_at=now(), lease_until=None, result=json.dumps(result), message=message)
        ).rowcount == 1


def release(store, job_id: int, worker: str) -> None:
    """Give a running job back to the queue (the worker is stopping before it ends)."""
    j = s.jobs
    with store.engine.begin() as c:
        c.execute(update(j).where(j.c.id == job_id, j.c.worker == worker, j.c.status == "running").values(
            status="queued", worker=None, lease_until=None))


def pending(store) -> int:
    """Jobs queued or running."""
    j = s.jobs
    with store.engine.connect() as c:
        return c.execute(select(func.count()).where(j.c.status.in_(("queued", "running")))).scalar_one()


def prune(store, *, jobs_kept: timedelta = timedelta(days=7), slots_kept: timedelta = timedelta(days=1)) -> int:
    """Forget finished jobs, schedule slots and dead workers past their keeping time;
    returns how many jobs were removed."""
    j, stamp = s.jobs, now()
    with store.engine.begin() as c:
        c.execute(delete(s.schedule).where(s.schedule.c.created_at < stamp - slots_kept))
        c.execute(delete(s.workers).where(s.workers.c.seen_at < stamp - slots_kept))   # killed, never came back
        return c.execute(delete(j).where(j.c.status.in_(FINISHED), j.c.ended_at < stamp - jobs_kept)).rowcount


# -- workers -------------------------------------------------------------------------
def seen_worker(store, worker: str) -> None:
    w = s.workers
    stamp = now()
    with store.engine.begin() as c:
        if c.execute(update(w).where(w.c.id == worker).values(seen_at=stamp)).rowcount == 0:
            c.execute(insert(w).values(id=worker, started_at=stamp, seen_at=stamp))   # ids are per process


def forget_worker(store, worker: str) -> None:
    with store.engine.begin() as c:
        c.execute(delete(s.workers).where(s.workers.c.id == worker))


def live_workers(store, within: float) -> int:
    """Workers seen in the last `within` seconds."""
    w = s.workers
    cutoff = now() - timedelta(seconds=within)
    with store.engine.connect() as c:
        return c.execute(select(func.count()).where(w.c.seen_at >= cutoff)).scalar_one()


# -- what /metrics reads -------------------------------------------------------------
def figures(store) -> dict:
    """Everything /metrics reads from the store, so every replica reports the same."""
    r, j = s.sync_runs, s.jobs
    with store.engine.connect() as c:
        runs = c.execute(select(r.c.connector, r.c.status, func.count()).group_by(r.c.connector, r.c.status)).all()
        good = c.execute(select(r.c.connector, func.max(r.c.ended_at)).where(r.c.status.in_(("ok", "partial")))
                         .group_by(r.c.connector)).all()
        it = s.initiatives
        initiatives = c.execute(select(it.c.active, func.count()).group_by(it.c.active)).all()
        observations = c.execute(select(func.count()).select_from(s.observations)).scalar_one()
        jobs = c.execute(select(j.c.status, func.count()).group_by(j.c.status)).all()
        version = c.execute(select(func.max(r.c.id)).where(r.c.status.in_(("ok", "partial")))).scalar() or 0
    return {"runs": [(a, b, n) for a, b, n in runs], "last_good": {a: _utc(t) for a, t in good},
            "initiatives": {bool(a): n for a, n in initiatives}, "observations": observations,
            "jobs": dict(jobs), "data_version": version}
