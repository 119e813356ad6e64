"""`POST /api/v1/sync` and `GET /api/v1/sync/<id>`: sync requests are jobs in the store
(app/store/jobs.py), so a status URL answers the same on every replica and a second
request joins the sync already queued or running."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for

from app.worker import WebRunner
from app.store import queue as q
from app.web.state import ApiError, workspace

sync_api = Blueprint("sync_api", __name__)


def runner() -> WebRunner:
    """This process's runner of queued jobs (used only while no `roadmap worker` is alive)."""
    ext = current_app.extensions
    if "roadmap.jobs" not in ext:
        ext["roadmap.jobs"] = WebRunner(workspace())
    return ext["roadmap.jobs"]


def job_json(job: dict) -> dict:
    def iso(t):
        return t.isoformat() if t else None
    return {"id": str(job["id"]), "status": job["status"], "kind": job["kind"],
            "status_url": url_for("sync_api.sync_status", job=str(job["id"])),
            "scope": job["scope"].split() or "all", "requested_at": iso(job["requested_at"]),
            "started_at": iso(job["started_at"]), "ended_at": iso(job["ended_at"]), "attempts": job["attempts"],
            "connectors": job["result"], "message": job["message"]}


@sync_api.post("/api/v1/sync")
def start_sync():
    body = request.get_json(silent=True)
    connector = body.get("connector") if isinstance(body, dict) else None
    known = workspace().settings.connectors
    if connector is not None and (not isinstance(connector, str) or connector not in known):
        raise ApiError(400, "bad-request", f"connector: no connector named {str(connector)[:100]!r}; "
                                           f"configured: {', '.join(known) or 'none'}")
    job, how = q.enqueue(workspace().store, "api", scope=[connector] if connector else None, join_running=True)
    runner().kick()
    out = job_json(job)
    out["joined"] = how == "joined"
    resp = jsonify(out)
    resp.status_code = 202
    resp.headers["Location"] = out["status_url"]
    return resp


@sync_api.get("/api/v1/sync/<job>")
def sync_status(job: str):
    found = q.get(workspace().store, int(job)) if job.isdigit() and len(job) < 12 else None
    if found is None:
        raise ApiError(404, "not-found", f"no sync job '{job[:100]}'")
    if found["status"] in ("running", "failed"):
        q.expire_lost(workspace().store)      # its worker died: say so now, not after another sync
        found = q.get(workspace().store, found["id"])
    if found["status"] == "queued":
        runner().kick()      # a job queued while a worker was alive, and the worker is gone since
    return jsonify(job_json(found))
