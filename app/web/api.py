"""The JSON API under /api/v1 (CONTRACT.md, HTTP), described by /api/v1/openapi.json."""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import date

from flask import Blueprint, Response, jsonify, request, url_for

from app import render, services
from app.web.openapi import spec
from app.web.state import (MAX_OFFSET, MAX_PAGE, ApiError, as_of_arg, cache, graph_error, int_arg, method_arg,
                           ranking, ranking_for, require_token, workspace)
from app.whatif import WhatIfBody, WhatIfError, what_if
from scoring.graph import GraphError

api = Blueprint("api", __name__)
_jobs: dict[str, dict] = {}
_jobs_lock = threading.Lock()


def selection(r):
    """The ranked items passing this request's filters (objective, q, status, flag)."""
    try:
        return services.select(r, objective=request.args.get("objective"), q=request.args.get("q"),
                               status=request.args.get("status"), flag=request.args.get("flag"))
    except ValueError as exc:
        raise ApiError(400, "bad-request", str(exc)) from None


def page_of(r, rows: bool = False) -> dict:
    limit, offset = int_arg("limit", 50, 0, MAX_PAGE), int_arg("offset", 0, 0, MAX_OFFSET)
    among = selection(r)
    items = (r.rows if rows else r.items)(offset, limit, among=among)
    return {"as_of": r.params.as_of.isoformat(), "method": r.params.method, "total": len(among),
            "offset": offset, "limit": limit, "items": items}


@api.get("/healthz")
def healthz():
    runs = [r for r in workspace().store.runs(50) if r["status"] in ("ok", "partial")]
    last = runs[0]["ended_at"] if runs else None
    return jsonify({"status": "ok", "last_sync": last.isoformat() if last else None})


@api.get("/api/v1/roadmap")
def roadmap():
    body = cache().response(lambda: json.dumps(page_of(ranking())), "roadmap", request.full_path)
    return Response(body, mimetype="application/json")


@api.get("/api/v1/roadmap.csv")
def roadmap_csv():
    body = cache().response(lambda: render.ranking_csv(ranking_rows()), "csv", request.full_path)
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=roadmap.csv"})


def ranking_rows() -> list[dict]:
    r = ranking()
    return r.rows(among=selection(r))


@api.get("/api/v1/initiatives/<key>")
def initiative(key: str):
    try:
        item = services.explain(workspace(), key, with_done=ranking(include_done=True))
    except GraphError as exc:
        raise graph_error(exc) from None
    if item is None:
        raise ApiError(404, "not-found", f"no initiative with key '{key}'")
    return jsonify(item)


@api.get("/api/v1/kpis")
def kpis():
    history = request.args.get("history") in ("1", "true")
    as_of = as_of_arg()

    def build() -> str:
        data = cache().kpis(as_of)
        if history:
            store = workspace().store
            data = {**data, "kpis": [{**k, "history": [{"date": d.isoformat(), "value": v}
                                                       for d, v in store.history(k["id"])]} for k in data["kpis"]]}
        return json.dumps(data)
    return Response(cache().response(build, "kpis", as_of, history), mimetype="application/json")


@api.get("/api/v1/objectives")
def objectives():
    ws = workspace()
    weights = ws.graph.objective_weights()
    return jsonify({"objectives": [{"id": o.id, "name": o.name or o.id, "weight": o.weight,
                                    "weight_share": weights[o.id],
                                    "kpis": sorted(ws.graph.graph.predecessors(o.id))} for o in ws.graph.objectives]})


@api.get("/api/v1/graph")
def graph():
    return jsonify(services.graph_data(workspace(), cache().check()))


@api.get("/api/v1/alignment")
def alignment():
    return jsonify(cache().check())


@api.post("/api/v1/what-if")
def whatif():
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "bad-request", "send a JSON object (Content-Type: application/json)")
    as_of, method = as_of_arg(), method_arg()
    try:
        req = WhatIfBody.read(body)
        as_of = req.as_of or as_of
        r, before = what_if(workspace(), req, as_of=as_of, method=method, baseline=ranking_for(as_of, method),
                            currents=cache().currents(as_of))
    except WhatIfError as exc:
        raise ApiError(400, "bad-request", str(exc)) from None
    page = page_of(r)
    for it in page["items"]:
        was = before.get(it["key"])
        it["previous_rank"] = was
        it["moved"] = None if was is None or it["rank"] is None else was - it["rank"]
    return jsonify(page)


@api.post("/api/v1/sync")
def start_sync():
    require_token()
    from app.sync import sync
    job = uuid.uuid4().hex[:12]
    ws = workspace()
    state = {"id": job, "status": "running", "started": time.time(), "connectors": []}
    with _jobs_lock:
        _jobs[job] = state

    def work():
        try:
            reports = sync(ws, connector=(request_body or {}).get("connector"))
            state["connectors"] = [{"connector": r.connector, "status": r.status, **r.counts()} for r in reports]
            state["status"] = "failed" if any(r.failures for r in reports) else "ok"
        except Exception as exc:  # noqa: BLE001 - reported to the caller, never raised into the server
            state["status"], state["message"] = "failed", str(exc).splitlines()[0][:300]
    request_body = request.get_json(silent=True)
    threading.Thread(target=work, daemon=True).start()
    resp = jsonify({"id": job, "status": "running", "status_url": url_for("api.sync_status", job=job)})
    resp.status_code = 202
    return resp


@api.get("/api/v1/sync/<job>")
def sync_status(job: str):
    with _jobs_lock:
        state = _jobs.get(job)
    if state is None:
        raise ApiError(404, "not-found", f"no sync job '{job}'")
    return jsonify(state)


@api.get("/api/v1/openapi.json")
def openapi():
    return jsonify(spec())
