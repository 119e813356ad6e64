"""GET/POST /api/v1/plan and GET /api/v1/risk (docs/http.md, "Plan" and "Risk"), the
scenario of a GET read from its URL (`cap.<team>=40` or `=40,30,30,30`, `periods=P`,
`pin.<key>=<period>`), and their OpenAPI parts (`OPENAPI_SCHEMAS`, `OPENAPI_PATHS`),
merged by app/web/openapi.py."""
from __future__ import annotations

import json

from flask import jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app import render
from app.config import validation_problems
from app.services.planning import plan as plans
from app.services.planning import risk as risks
from app.web.plan.blueprint import planning
from app.web.state import ApiError, as_of_arg, cache, int_arg, workspace
from scoring.numbers import finite_number


MAX_BODY = 256 * 1024
MAX_TOP = 100_000          # /api/v1/risk?top= (documented as the maximum)
Capacity = float | list[float]


class PlanBody(BaseModel):
    """POST /api/v1/plan: the plan's overrides plus the what-if keys (checked by app.services.whatif).
    The OpenAPI document's `PlanRequest` is generated from this model."""
    model_config = ConfigDict(extra="forbid")
    capacity: dict[str, float | list[float]] = Field(default_factory=dict)
    periods: list[str] = Field(default_factory=list, max_length=24)
    mandatory: list[str] = Field(default_factory=list, max_length=10_000)
    excluded: list[str] = Field(default_factory=list, max_length=10_000)
    pins: dict[str, str] = Field(default_factory=dict, max_length=1_000)   # a larger body would be a 413 first
    objective_weights: dict | None = None
    edge_weights: list | None = None
    kpi_values: dict | None = None
    initiatives: list | None = None
    as_of: str | None = None


def _cap_values(where: str, raw) -> tuple[float, ...]:
    values = raw if isinstance(raw, list) else [raw]
    out = []
    for v in values:
        if isinstance(v, str):
            try:
                v = float(v.strip())
            except ValueError:
                raise plans.PlanOverrideError(f"{where}: '{v}' is not a number") from None
        if finite_number(v, text=False) is None or v < 0:
            raise plans.PlanOverrideError(f"{where}: must be numbers >= 0")
        out.append(float(v))
    if not out:
        raise plans.PlanOverrideError(f"{where}: give a number or one per period")
    return tuple(out)


def url_request(**more) -> plans.PlanRequest:
    """The scenario of a GET: `cap.<team>=N` or `=N,N,...`, `periods=P` (the first P),
    `pin.<key>=<period>` (an empty period unpins an item pinned in the tracker)."""
    caps = tuple((k[4:], _cap_values(k, v.split(",") if "," in v else v))
                 for k, v in sorted(request.args.items()) if k.startswith("cap.") and v.strip())
    pins = tuple((k[4:], v.strip()) for k, v in sorted(request.args.items()) if k.startswith("pin.") and k[4:])
    first = int_arg("periods", 0, 0) or None
    return plans.PlanRequest(capacity=caps, first_periods=first, pins=pins, **more)


def _solve(req: plans.PlanRequest, whatif: dict | None = None, as_of=None) -> dict:
    """PlanNotConfigured (409), PlanOverrideError and WhatIfError (400) reach create_app's handler."""
    ws = workspace()
    base = cache().get(as_of) if not whatif else None
    return plans.plan(ws, as_of=as_of, request=req, whatif=whatif, base=base)


def _refused(exc: plans.PlanRefused):
    resp = jsonify({"error": {"code": "infeasible", "message": str(exc), "items": exc.items,
                              "overflows": [{"team": t, "period": p} for t, p in exc.overflows]}})
    resp.status_code = 422
    return resp


@planning.get("/api/v1/plan")
def plan_get():
    try:
        return jsonify(_solve(_url_or_400(), as_of=as_of_arg()))
    except plans.PlanRefused as exc:
        return _refused(exc)


def _url_or_400() -> plans.PlanRequest:
    return url_request()       # a PlanOverrideError is a 400


@planning.post("/api/v1/plan")
def plan_post():
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too-large", f"the body is above {MAX_BODY // 1024} KiB")
    raw = request.stream.read(MAX_BODY + 1) if request.content_length is None else request.get_data()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too-large", f"the body is above {MAX_BODY // 1024} KiB")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad-request", "the body must be JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad-request", "the body must be a JSON object")
    try:
        body = PlanBody.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "bad-request", "; ".join(validation_problems(exc, PlanBody))) from None
    caps = tuple((t, _cap_values(f"capacity.{t}", v)) for t, v in body.capacity.items())
    req = plans.PlanRequest(capacity=caps, periods=tuple(body.periods), mandatory=tuple(body.mandatory),
                            excluded=tuple(body.excluded), pins=tuple(sorted(body.pins.items())))
    whatif = {k: getattr(body, k) for k in ("objective_weights", "edge_weights", "kpi_values", "initiatives")
              if getattr(body, k) is not None}
    as_of = None
    if body.as_of:
        from datetime import date
        try:
            as_of = date.fromisoformat(body.as_of)
        except ValueError:
            raise ApiError(400, "bad-request", "as_of: must be a date, YYYY-MM-DD") from None
    try:
        return jsonify(_solve(req, whatif or None, as_of))
    except plans.PlanRefused as exc:
        return _refused(exc)


@planning.get("/api/v1/risk")
def risk_get():
    u = workspace().settings.uncertainty
    raw = request.args.get("draws")
    if raw and raw.isascii() and raw.isdigit() and int(raw) > risks.MAX_DRAWS:     # '²'.isdigit() is True
        raise ApiError(400, "bad-request", f"draws must be at most {risks.MAX_DRAWS:,}")
    draws = int_arg("draws", 0, 1) or None       # None: the config's, within the budget (app/services/planning/budget.py)
    seed, top = int_arg("seed", u.seed, 0, 2**63 - 1), int_arg("top", u.top, 1, MAX_TOP)
    from app.web.plan.marks import scenario_risk_json       # `w.<objective>`, `kpi.<kpi>`: a page's scenario
    under = scenario_risk_json(workspace(), request.args, as_of_arg(), draws=draws, seed=seed, top=top)
    if under is not None:
        return jsonify(under)
    return jsonify(risks.risk(workspace(), as_of=as_of_arg(), draws=draws, seed=seed, top=top))


NUM, STR = {"type": "number"}, {"type": "string"}
NUM_NULL = {"type": ["number", "null"]}


def _o(props: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": props, "required": list(props) if required is None else required}


def _arr(item: dict) -> dict:
    return {"type": "array", "items": item}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


OPENAPI_SCHEMAS = {
    "Plan": _o({"as_of": STR, "periods": _arr(STR), "teams": _arr(STR),
                "status": {"enum": ["optimal", "time-limit", "greedy", "infeasible"]}, "gap": NUM_NULL, "value": NUM,
                "greedy_value": NUM, "cut_value": NUM, "first_fit_value": NUM, "prefix_cut_value": NUM,
                "simple_plans": {"type": "object", "additionalProperties": NUM},
                "best_simple": _o({"name": STR, "value": NUM, "gain": NUM_NULL}), "notes": _arr(STR),
                "planned": _arr(_o({"key": STR, "title": STR, "team": STR, "period": STR, "effort": NUM,
                                    "impact": NUM, "value": NUM})),
                "load": _arr(_o({"team": STR, "period": STR, "effort": NUM, "capacity": NUM})),
                "excluded": _arr(_o({"key": STR, "title": STR, "impact": NUM, "effort": NUM, "reason": STR,
                                     "enters_if": {"type": ["object", "null"], "properties": {
                                         "value_at_least": NUM_NULL, "effort_at_most": NUM_NULL}}},
                                    ["key", "impact", "effort", "reason", "enters_if"]))}),
    "PlanRefused": _o({"error": _o({"code": {"const": "infeasible"}, "message": STR, "items": _arr(STR),
                                    "overflows": _arr(_o({"team": STR, "period": STR}))})}),
    "Risk": _o({"as_of": STR, "draws": {"type": "integer"}, "seed": {"type": "integer"},
                "items": _arr(_o({"key": STR, "p_in_plan": NUM, "p_in_plan_se": NUM,
                                  "impact": _o({"p5": NUM, "p50": NUM, "p95": NUM}),
                                  "rank": _o({"p5": NUM, "p50": NUM, "p95": NUM})},
                                 ["key", "p_in_plan", "impact", "rank"])),
                "refine_first": _arr(_o({"key": STR, "kpi": STR, "line": {"type": "integer"}, "voi": NUM}))}),
}


def _resp(schema: str) -> dict:
    err = {"content": {"application/json": {"schema": _ref("Error")}}}
    return {"200": {"description": "OK", "content": {"application/json": {"schema": _ref(schema)}}},
            "400": {"description": "Bad request, or over the analysis budget (code `over-budget`: the message "
                                   "names the limit and the largest affordable value)", **err},
            "409": {"description": "No capacity configured, or a goal graph that cannot be scored", **err},
            "503": {"description": "[service] max_concurrent_analyses plan or risk analyses are running in this "
                                   "process; try again after Retry-After seconds",
                    "headers": {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1}}},
                    **err}}


_PLAN_Q = [{"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"}},
           {"name": "periods", "in": "query", "schema": {"type": "integer", "minimum": 1},
            "description": "plan only the first P periods"},
           {"name": "cap.{team}", "in": "query", "schema": STR,
            "description": "a team's capacity: one number, or one per period separated by commas"},
           {"name": "pin.{key}", "in": "query", "schema": STR,
            "description": "pin an item to a period (empty: unpin an item pinned in the tracker)"}]
_REFUSED = {"422": {"description": "The mandatory items cannot all be planned",
                    "content": {"application/json": {"schema": _ref("PlanRefused")}}}}
OPENAPI_PATHS = {
    "/api/v1/plan": {
        "get": {"summary": "The plan: per period and team what is planned, its load, value vs greedy and cut",
                "parameters": _PLAN_Q, "responses": {**_resp("Plan"), **_REFUSED}},
        "post": {"summary": "The plan under changed capacity, periods, mandatory or excluded items and the "
                            "what-if keys; stores nothing",
                 "description": "Without a body (or with {}), the configured plan.",
                 "requestBody": {"required": False,
                                 "content": {"application/json": {"schema": _ref("PlanRequest")}}},
                 "responses": {**_resp("Plan"), **_REFUSED,
                               "413": {"description": "Body above 256 KiB",
                                       "content": {"application/json": {"schema": _ref("Error")}}}}}},
    "/api/v1/risk": {"get": {
        "summary": "The uncertainty analysis: P(in plan), impact and rank percentiles, estimates to refine first",
        "parameters": [{"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"}},
                       {"name": "draws", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                   "maximum": risks.MAX_DRAWS}},
                       {"name": "seed", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                                  "maximum": 2**63 - 1}},
                       {"name": "top", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                 "maximum": MAX_TOP}},
                       {"name": "w.{objective}", "in": "query", "schema": NUM,
                        "description": "a scenario's objective weight (as on the roadmap page)"},
                       {"name": "kpi.{kpi}", "in": "query", "schema": NUM,
                        "description": "a scenario's KPI value, in the KPI's own unit (40 for 40 %)"}],
        "description": "Without `draws`, the configured draws cut to what the backlog affords; more draws than "
                       "it affords, or a backlog above the analysis budget, is a 400 `over-budget`.",
        "responses": _resp("Risk")}},
}
