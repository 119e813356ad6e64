"""The JSON API under /api/v1 (CONTRACT.md, HTTP), described by /api/v1/openapi.json."""
from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, Response, jsonify, request

from app import render, services
from app.web.openapi import spec
from app.web.state import (MAX_PAGE, ApiError, as_of_arg, cache, graph_error, int_arg, method_arg, ranking,
                           workspace)
from app.whatif import WhatIfError, what_if
from scoring.graph import GraphError

api = Blueprint("api", __name__)


def page_of(r, rows: bool = False) -> dict:
    limit, offset = int_arg("limit", 50, 0, MAX_PAGE), int_arg("offset", 0, 0)
    try:
        among = services.select(r, objective=request.args.get("objective"), q=request.args.get("q"),
                                status=request.args.get("status"), flag=request.args.get("flag"), ws=workspace())
    except ValueError as exc:
        raise ApiError(400, "bad-request", str(exc)) from None
    items = (services.rows if rows else services.items)(workspace(), r, offset, limit, among=among)
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
    r = ranking()
    among = services.select(r, objective=request.args.get("objective"), q=request.args.get("q"), ws=workspace())
    return Response(render.ranking_csv(services.rows(workspace(), r, among=among)), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=roadmap.csv"})


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
    data = services.kpis(workspace(), as_of_arg())
    if request.args.get("history") in ("1", "true"):
        store = workspace().store
        for k in data["kpis"]:
            k["history"] = [{"date": d.isoformat(), "value": v} for d, v in store.history(k["id"])]
    return jsonify(data)


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
    try:
        r, before = what_if(workspace(), body, baseline=cache().get())
    except WhatIfError as exc:
        raise ApiError(400, "bad-request", str(exc)) from None
    page = page_of(r)
    for it in page["items"]:
        was = before.get(it["key"])
        it["previous_rank"] = was
        it["moved"] = None if was is None or it["rank"] is None else was - it["rank"]
    return jsonify(page)


@api.get("/api/v1/openapi.json")
def openapi():
    return jsonify(spec())
