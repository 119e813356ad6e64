"""The OpenAPI 3.1 description of /api/v1 (docs/http.md). Its schemas are JSON Schema
2020-12, which a test checks real responses against; a request body's schema is generated
from the pydantic model its route validates with (`request_schema`), never written twice."""
from __future__ import annotations

import copy

from scoring.frameworks import METHODS

NUM = {"type": "number"}
NUM_OR_NULL = {"type": ["number", "null"]}
STR = {"type": "string"}


def _obj(props: dict, required: list[str] | None = None, extra: bool = True) -> dict:
    out = {"type": "object", "properties": props, "required": required if required is not None else list(props)}
    if not extra:
        out["additionalProperties"] = False
    return out


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def request_schema(model, name: str | None = None) -> dict[str, dict]:
    """The components that describe a request body validated by the pydantic `model`: its
    JSON Schema (validation mode, by alias) under `name` (default: the model's name) and
    each model it nests under its own name, every `$ref` pointing into
    `#/components/schemas`.
    """
    doc = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    parts = dict(doc.pop("$defs", {}))
    parts[name or model.__name__] = doc
    return parts


def request_schemas() -> dict[str, dict]:
    """Every request body's schema, from the models the routes validate with."""
    from app.services.whatif import WhatIfBody
    from app.web.changes import SnapshotBody
    from app.web.estimates import EstimateBody
    from app.web.plan.api import PlanBody
    from app.web.scenarios import ScenarioBody
    return {**request_schema(WhatIfBody, "WhatIf"), **request_schema(PlanBody, "PlanRequest"),
            **request_schema(SnapshotBody, "SnapshotRequest"), **request_schema(EstimateBody, "EstimateLine"),
            **request_schema(ScenarioBody, "ScenarioRequest")}


SCHEMAS = {
    "Error": _obj({"error": _obj({"code": STR, "message": STR})}),
    "Link": _obj({"kpi": STR, "lift": NUM_OR_NULL, "confidence": NUM,
                  "range": {"type": "array", "items": NUM, "minItems": 2, "maxItems": 2},
                  "by": STR, "expected": NUM, "disagreement": NUM,     # several estimators: the pool
                  "estimators": {"type": "array", "items": _obj({"by": STR, "lift": NUM, "confidence": NUM,
                                                                 "range": {"type": ["array", "null"], "items": NUM}},
                                                                ["by", "lift", "confidence"])}},
                 ["kpi", "lift", "confidence"]),
    "Contribution": _obj({"kpi": STR, "objective": STR, "impact": NUM}),
    "Item": _obj({"rank": {"type": ["integer", "null"]}, "key": STR, "title": STR, "status": STR, "url": STR,
                  "score": NUM, "impact": NUM, "effort": NUM_OR_NULL,
                  "flags": {"type": "array", "items": STR},
                  "links": {"type": "array", "items": _ref("Link")},
                  "contributions": {"type": "array", "items": _ref("Contribution")},
                  "factors": {"type": "object"},
                  "previous_rank": {"type": ["integer", "null"]}, "moved": {"type": ["integer", "null"]}},
                 ["rank", "key", "title", "status", "url", "score", "impact", "effort", "flags", "links",
                  "contributions"]),
    "Roadmap": _obj({"as_of": {"type": "string", "format": "date"}, "method": {"enum": list(METHODS)},
                     "total": {"type": "integer"}, "offset": {"type": "integer"},
                     "limit": {"type": "integer", "maximum": 500}, "items": {"type": "array", "items": _ref("Item")},
                     "warnings": {"type": "array", "items": STR,
                                  "description": "what-if only: KPI values more than 10x off the current one"}},
                    ["as_of", "method", "total", "offset", "limit", "items"]),
    "Explanation": None,          # an Item whose flags are explained, below
    "Kpi": _obj({"id": STR, "name": STR, "unit": STR, "direction": {"enum": ["up", "down"]},
                 "current": NUM_OR_NULL, "current_date": {"type": ["string", "null"]}, "baseline": NUM_OR_NULL,
                 "target": NUM_OR_NULL, "progress": NUM_OR_NULL, "expected_progress": NUM_OR_NULL,
                 "status": {"enum": ["met", "on-track", "off-track", "no-target", "no-data"]}, "urgency": NUM,
                 "history": {"type": "array", "items": _obj({"date": STR, "value": NUM})}},
                ["id", "name", "unit", "direction", "current", "current_date", "baseline", "target", "progress",
                 "expected_progress", "status", "urgency"]),
    "Kpis": _obj({"as_of": STR, "kpis": {"type": "array", "items": _ref("Kpi")}}),
    "Objectives": _obj({"objectives": {"type": "array", "items": _obj({
        "id": STR, "name": STR, "weight": NUM, "weight_share": NUM, "kpis": {"type": "array", "items": STR}})}}),
    "Graph": _obj({"nodes": {"type": "array", "items": _obj({"id": STR, "kind": {"enum": ["objective", "kpi"]},
                                                               "name": STR, "layer": {"type": "integer"}},
                                                              ["id", "kind", "name", "layer"])},
                   "edges": {"type": "array", "items": _obj({"from": STR, "to": STR, "weight": NUM})}}),
    "Finding": _obj({"level": {"enum": ["error", "warning", "info"]}, "code": STR, "subject": STR, "message": STR}),
    "Alignment": _obj({"as_of": STR, "findings": {"type": "array", "items": _ref("Finding")},
                       "allocation": {"type": "array", "items": _obj({"objective": STR, "weight_share": NUM,
                                                                      "effort_share": NUM})}}),
    "SyncJob": _obj({"id": STR, "status": {"enum": ["queued", "running", "ok", "failed"]}, "status_url": STR},
                    ["id", "status"]),
    "Health": _obj({"status": {"enum": ["ok", "degraded"]}, "last_sync": {"type": ["string", "null"]},
                    "snapshot_chain": _obj({"ok": {"type": "boolean"}, "head": {"type": ["string", "null"]},
                                            "problem": {"type": ["string", "null"]}})}, ["status", "last_sync"]),
    "Snapshot": _obj({"name": {"type": ["string", "null"]}, "hash": STR, "prev_hash": {"type": ["string", "null"]},
                      "created_at": STR, "run_id": {"type": ["integer", "null"]}, "items": {"type": "integer"},
                      "full": {"type": "boolean"}, "verified": {"type": "boolean"}}, ["name", "hash", "created_at",
                                                                                       "items"]),
    "Snapshots": _obj({"snapshots": {"type": "array", "items": _ref("Snapshot")}, "verified": {"type": "boolean"},
                       "problems": {"type": "array", "items": STR}}),
    "Diff": _obj({"from": STR, "to": STR, "edits": {"type": "array", "items": _obj({
        "key": STR, "group": STR, "field": STR, "from": {}, "to": {}, "by": {"type": ["string", "null"]}})},
        "items": {"type": "array", "items": _obj({
        "key": STR, "rank_from": {"type": ["integer", "null"]}, "rank_to": {"type": ["integer", "null"]},
        "score_from": NUM_OR_NULL, "score_to": NUM_OR_NULL, "change": {"type": "object", "additionalProperties": NUM},
        "status": {"enum": ["moved", "added", "removed", "unchanged"]}, "edited": {"type": "boolean"}})}}),
}

# One initiative: an Item's fields, but each flag with its fix ({"flag", "fix"}, not the code alone).
SCHEMAS["Explanation"] = _obj({
    **{k: v for k, v in SCHEMAS["Item"]["properties"].items() if k != "flags"},
    "flags": {"type": "array", "items": _obj({"flag": STR, "fix": STR})},
    "forecasts": {"type": "array", "items": _obj({"kpi": STR, "name": STR, "unit": STR, "improvement": NUM,
                                                    "current": NUM_OR_NULL, "forecast": NUM_OR_NULL})},
    "paths": {"type": "array", "items": _obj({"path": {"type": "array", "items": STR}, "weight": NUM,
                                                "impact": NUM})}},
    SCHEMAS["Item"]["required"] + ["forecasts", "paths"])
# Writes: the bearer token when [service] api_token_env names a set variable; with none set,
# no credential, and only loopback clients (and same-origin pages) may write.
WRITE_SECURITY = [{"bearer": []}, {}]

PAGING = [{"name": n, "in": "query", "required": False, "schema": s} for n, s in (
    ("limit", {"type": "integer", "minimum": 0, "maximum": 500, "default": 50,
               "description": "Items per page; above 500 (the cap) is a 400."}),
    ("offset", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0}),
    ("objective", STR), ("q", STR), ("status", STR), ("flag", STR),
    ("method", {"enum": list(METHODS)}), ("as_of", {"type": "string", "format": "date"}),
    ("calibrated", {"enum": ["0", "1"], "description": "1: scale each estimate by its estimator's track record "
                                                       "first (default: [calibration] apply)"}))]


def _error(desc: str) -> dict:
    return {"description": desc, "content": {"application/json": {"schema": _ref("Error")}}}


# Every operation can answer these (the Error schema); 405 carries `Allow`.
ERRORS = {
    "400": _error("Bad request: a parameter or the body is not usable, or the Host is not served "
                  "([service] allowed_hosts); the message names what"),
    "404": _error("No such resource"),
    "409": _error("The goal graph cannot be scored (a cycle, an unknown id); the message names the problems"),
    "413": _error("The request body is larger than the limit (1 MiB)"),
    "500": _error("An unexpected error (logged); never an answer to bad input"),
}


# A write endpoint with no token configured answers only loopback clients and same-origin pages.
WRITE_REFUSED = _error("No token configured and the client is not loopback, or a page of another origin")


def _ok(schema: str, status: str = "200", desc: str = "OK") -> dict:
    return {status: {"description": desc, "content": {"application/json": {"schema": _ref(schema)}}}, **ERRORS}


def spec() -> dict:
    from app.web import estimates
    from app.web.outcomes import blueprint as outcomes
    from app.web.plan.api import OPENAPI_PATHS, OPENAPI_SCHEMAS
    from app.web.scenarios import OPENAPI_PATHS as SCENARIO_PATHS, OPENAPI_SCHEMAS as SCENARIO_SCHEMAS
    from app.auth.openapi import secure
    # built from module-level parts that secure() and _with_plan() write into: a deep copy
    # each time, so the document served is the same on every call (not one note longer)
    return secure(copy.deepcopy(_with_plan(_with_plan({
        "openapi": "3.1.0",
        "info": {"title": "kpi-roadmap API", "version": "1",
                 "description": "The ranked roadmap, explanations, KPIs and alignment. Errors are "
                                "{\"error\": {\"code\", \"message\"}}."},
        "paths": {
            "/healthz": {"get": {"summary": "Liveness and the last sync's time", "responses": _ok("Health")}},
            "/api/v1/roadmap": {"get": {"summary": "The ranked roadmap, paged", "parameters": PAGING,
                                        "responses": _ok("Roadmap")}},
            "/api/v1/roadmap.csv": {"get": {"summary": "The ranking as CSV (text cells that a spreadsheet would "
                                                       "run as a formula start with an apostrophe)",
                                            "parameters": [p for p in PAGING if p["name"] not in ("limit", "offset")],
                                            "responses": {"200": {"description": "CSV", "content": {
                                                "text/csv": {"schema": STR}}}, **ERRORS}}},
            "/api/v1/initiatives/{key}": {"get": {
                "summary": "One initiative with its explanation",
                "parameters": [{"name": "key", "in": "path", "required": True, "schema": STR}],
                "responses": _ok("Explanation")}},
            "/api/v1/kpis": {"get": {"summary": "KPIs with current value, progress and urgency",
                                     "parameters": [{"name": "history", "in": "query", "schema": STR},
                                                    {"name": "as_of", "in": "query",
                                                     "schema": {"type": "string", "format": "date"}}],
                                     "responses": _ok("Kpis")}},
            "/api/v1/objectives": {"get": {"summary": "Objectives and their weights", "responses": _ok("Objectives")}},
            "/api/v1/graph": {"get": {"summary": "The goal graph", "responses": _ok("Graph")}},
            "/api/v1/alignment": {"get": {"summary": "Alignment findings and allocation",
                                          "responses": _ok("Alignment")}},
            "/api/v1/what-if": {"post": {
                "summary": "The ranking under changed weights, values or extra initiatives; stores nothing",
                "description": "At most 1000 extra initiatives and 1000 edge changes (a 400 names the limit); "
                               "a body above 1 MiB is a 413. `?method` and `?as_of` apply (the body's as_of wins).",
                "parameters": PAGING,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("WhatIf")}}},
                "responses": _ok("Roadmap")}},
            "/api/v1/sync": {"post": {"summary": "Start a sync (needs the API token when one is set)",
                                      "security": WRITE_SECURITY,
                                      "responses": {**_ok("SyncJob", "202", "Started"),
                                                    "401": _error("Token missing or wrong"),
                                                    "403": WRITE_REFUSED}}},
            "/api/v1/sync/{id}": {"get": {"summary": "A sync's status",
                                          "parameters": [{"name": "id", "in": "path", "required": True,
                                                          "schema": STR}],
                                          "responses": _ok("SyncJob")}},
            "/api/v1/snapshots": {
                "get": {"summary": "Every snapshot, oldest first, and whether each verifies against its hash",
                        "responses": _ok("Snapshots")},
                "post": {"summary": "Save the current data as a named snapshot (needs the API token when one is set)",
                         "security": WRITE_SECURITY,
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": _ref("SnapshotRequest")}}},
                         "responses": {**_ok("Snapshot", "201", "Saved"), **{c: {"description": d, "content": {
                             "application/json": {"schema": _ref("Error")}}} for c, d in (
                             ("401", "Token missing or wrong"), ("409", "The name is taken"))}, "403": WRITE_REFUSED}}},
            "/api/v1/diff": {"get": {
                "summary": "What moved between two snapshots and why (per group of inputs; parts sum to the change)",
                "parameters": [{"name": "from", "in": "query", "required": False, "schema": STR,
                                "description": "name, sync-N or hash prefix; default: the one before the last sync"},
                               {"name": "to", "in": "query", "required": False, "schema": STR,
                                "description": "as from; default: now (the current data)"}],
                "responses": {**_ok("Diff"), "409": {"description": "A snapshot was tampered with", "content": {
                    "application/json": {"schema": _ref("Error")}}}}}},
            "/api/v1/webhooks/jira": {"post": {
                "summary": "A Jira webhook delivery, signed with HMAC-SHA256 of the raw body; queues a sync",
                "parameters": [{"name": n, "in": "header", "required": False, "schema": STR}
                               for n in ("X-Hub-Signature", "X-Atlassian-Webhook-Identifier")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {**_ok("SyncJob", "202", "Queued, or joined the queued sync"),
                              "200": {"description": "A repeated delivery, or an event that does not change the "
                                                     "ranking: nothing queued",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **{c: {"description": d, "content": {"application/json": {"schema": _ref("Error")}}}
                                 for c, d in (("401", "Signature missing or wrong"), ("409", "No Jira connector"),
                                              ("413", "Body above 1 MiB"), ("404", "Webhooks are off: no webhook secret set"))}}}},
        },
        "components": {"schemas": {**SCHEMAS, **request_schemas()},
                       "securitySchemes": {"bearer": {
                           "type": "http", "scheme": "bearer",
                           "description": "The API token ([service] api_token_env) for writes. While no token is "
                                          "set, writes need no credential but are answered only for loopback "
                                          "clients (the empty alternative of each write's `security`)."}}},
    }, {**OPENAPI_PATHS, **SCENARIO_PATHS, **outcomes.OPENAPI_PATHS}, {**OPENAPI_SCHEMAS, **SCENARIO_SCHEMAS, **outcomes.OPENAPI_SCHEMAS}),
        estimates.OPENAPI_PATHS, estimates.OPENAPI_SCHEMAS)))
    # secure(): each operation's security and 401/403, from app/auth/rules.py


def _with_plan(doc: dict, paths: dict, schemas: dict) -> dict:
    """The plan's and the risk analysis's parts (app/web/plan/api.py), and the outcomes'
    (app/web/outcomes/blueprint.py), merged in."""
    paths = copy.deepcopy(paths)          # the callers' module-level dicts stay as written
    for ops in paths.values():
        for op in ops.values():
            op["responses"] = {**ERRORS, **op["responses"]}    # every operation documents its errors
    doc["paths"].update(paths)
    doc["components"]["schemas"] = {**doc["components"]["schemas"], **schemas}
    return doc
