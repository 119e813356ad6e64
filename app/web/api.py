"""The JSON API under /api/v1 (docs/http.md), described by /api/v1/openapi.json."""
from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from app import services
from app.web.openapi import spec
from app.web.state import (MAX_OFFSET, MAX_PAGE, ApiError, as_of_arg, cache, calibrated_arg, int_arg, method_arg,
                           ranking, ranking_for, workspace)
from app.services import published
from app.services.whatif import WhatIfBody, big_changes, what_if

api = Blueprint("api", __name__)


def selection(r):
    """The ranked items passing this request's filters (objective, q, status, flag); an
    unknown objective is a BadInput (400)."""
    return services.select(r, objective=request.args.get("objective"), q=request.args.get("q"),
                           status=request.args.get("status"), flag=request.args.get("flag"), ws=workspace())


def page_of(r, rows: bool = False) -> dict:
    limit, offset = int_arg("limit", 50, 0, MAX_PAGE), int_arg("offset", 0, 0, MAX_OFFSET)
    among = selection(r)
    items = None
    if not rows and len(among) == r.total:      # no filter: the published ranking's stored items
        items = published.top_items(workspace(), r, offset, limit)
    if items is None and rows:
        items = services.rows(workspace(), r, offset, limit, among=among)
    elif items is None:
        items = services.items(workspace(), r, offset, limit, among=among, texts=cache().texts)
    extra = {"calibrated": True} if getattr(r, "calibration", None) is not None else {}
    return {"as_of": r.params.as_of.isoformat(), "method": r.params.method, "total": len(among),
            "offset": offset, "limit": limit, **extra, "items": items}


@api.get("/healthz")
def healthz():
    from app.services import chain
    runs = [r for r in workspace().store.runs(50) if r["status"] in ("ok", "partial")]
    last = runs[0]["ended_at"] if runs else None
    snapshots = chain.status(workspace().store)     # a broken chain: alive, but "degraded"
    return jsonify({"status": "ok" if snapshots["ok"] else "degraded", "last_sync": last.isoformat() if last else None,
                    "snapshot_chain": {"ok": snapshots["ok"], "head": snapshots["head"] or None,
                                       "problem": snapshots["problem"]}})


@api.get("/api/v1/roadmap")
def roadmap():
    body = cache().response(lambda: json.dumps(page_of(ranking())), "roadmap", request.full_path)
    return Response(body, mimetype="application/json")


@api.get("/api/v1/roadmap.csv")
def roadmap_csv():
    body = cache().response(_csv_body, "csv", request.full_path)
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=roadmap.csv"})


def _csv_body() -> str:
    """The published ranking's stored CSV; with filters, the selected rows written from columns."""
    r = ranking()
    among = selection(r)
    if len(among) == r.total:
        text = published.csv_of(workspace(), r)
        if text is not None:
            return text
    return published.csv_for(workspace(), r, among)


@api.get("/api/v1/initiatives/<key>")
def initiative(key: str):
    item = services.explain(workspace(), key, with_done=ranking(include_done=True))
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
    as_of, method, calibrated = as_of_arg(), method_arg(), calibrated_arg()
    req = WhatIfBody.read(body)           # a WhatIfError (400) names the key
    as_of = req.as_of or as_of
    r, before = what_if(workspace(), req, as_of=as_of, method=method,
                        baseline=ranking_for(as_of, method, calibrated=calibrated), currents=cache().currents(as_of))
    page = page_of(r)
    for it in page["items"]:
        was = before.get(it["key"])
        it["previous_rank"] = was
        it["moved"] = None if was is None or it["rank"] is None else was - it["rank"]
    # a KPI value more than 10x off the current one is applied, and flagged for confirmation
    page["warnings"] = [w["message"] for w in big_changes(req.kpi_values, cache().currents(r.params.as_of),
                                                           workspace().settings.kpis)]
    return jsonify(page)


@api.get("/api/v1/openapi.json")
def openapi():
    return jsonify(spec())
