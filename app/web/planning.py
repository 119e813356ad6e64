"""The plan and the risk analysis on the web: the /plan board (periods as columns, teams
as lanes, capacity editable; the scenario lives in the URL as `cap.<team>=40` or
`cap.<team>=40,30,30,30`), GET/POST /api/v1/plan and GET /api/v1/risk. Their OpenAPI
parts are here too (`OPENAPI_SCHEMAS`, `OPENAPI_PATHS`), merged by app/web/openapi.py."""
from __future__ import annotations

import json

from flask import Blueprint, jsonify, render_template, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app import render
from app.config import validation_problems
from app.services import plan as plans
from app.services import risk as risks
from app.services.whatif import WhatIfError
from app.web.state import ApiError, as_of_arg, cache, int_arg, workspace
from scoring.numbers import finite_number

planning = Blueprint("planning", __name__, template_folder="templates")

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


def url_request() -> plans.PlanRequest:
    """The scenario of a GET: `cap.<team>=N` or `=N,N,...`, `periods=P` (the first P)."""
    caps = tuple((k[4:], _cap_values(k, v.split(",") if "," in v else v))
                 for k, v in sorted(request.args.items()) if k.startswith("cap.") and v.strip())
    first = int_arg("periods", 0, 0) or None
    return plans.PlanRequest(capacity=caps, first_periods=first)


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
                            excluded=tuple(body.excluded))
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
    draws = int_arg("draws", 0, 1) or None       # None: the config's, within the budget (app/services/budget.py)
    seed, top = int_arg("seed", u.seed, 0, 2**63 - 1), int_arg("top", u.top, 1, MAX_TOP)
    from app.web.plan_risk import scenario_risk_json       # `w.<objective>`, `kpi.<kpi>`: a page's scenario
    under = scenario_risk_json(workspace(), request.args, as_of_arg(), draws=draws, seed=seed, top=top)
    if under is not None:
        return jsonify(under)
    return jsonify(risks.risk(workspace(), as_of=as_of_arg(), draws=draws, seed=seed, top=top))


def _cap_text(values: list[float]) -> str:
    same = all(v == values[0] for v in values)
    return f"{values[0]:g}" if same else ",".join(f"{v:g}" for v in values)


@planning.get("/plan")
def plan_page():
    ws = workspace()
    error, refused, d = None, None, None
    status = 200
    from flask import url_for
    from app.web.scenario import page_scenario
    from app.web.scenarios import saved_for
    ps = page_scenario(request.args, ws.graph.objectives, ws.graph.kpis, cache().currents(as_of_arg()),
                       url_for("planning.plan_page"))          # the roadmap's what-if carries to the plan
    if ps.error:
        error, status = f"The what-if scenario cannot be used: {ps.error}", 400
    try:
        d = _solve(url_request(), ps.body(), as_of=as_of_arg())
    except plans.PlanOverrideError as exc:
        error, status = str(exc), 400
    except plans.PlanRefused as exc:
        refused, status = exc, 422
    except (ApiError, plans.PlanNotConfigured) as exc:
        error, status = exc.message, (exc.status if exc.status != 409 else 200)
    except WhatIfError as exc:            # the scenario's what-if body: the page says why, with the stored plan's form
        error, status = f"The what-if scenario cannot be used: {exc}", 400
    teams = []
    if d is not None:
        caps = {}
        for row in d["load"]:
            caps.setdefault(row["team"], []).append(row["capacity"])
        teams = [(t, _cap_text(caps.get(t, [0.0]))) for t in d["teams"]]
    else:
        cfg = ws.settings.planning
        given = dict(request.args)
        teams = [(t.id, given.get(f"cap.{t.id}", _cap_text(cfg.capacity_of(t)))) for t in cfg.teams] \
            or [("all", given.get("cap.all", ""))]     # no teams configured: one capacity for all
    load = {(r["team"], r["period"]): r for r in (d or {}).get("load", [])}
    cells = {}
    for p in (d or {}).get("planned", []):
        cells.setdefault((p["team"], p["period"]), []).append(p)
    must = plans.mandatory_keys(ws) if d is not None else set()
    keep = [(k, v) for k, v in request.args.items(multi=True)
            if k.startswith(("w.", "kpi.", "new_")) or k == "confirm"]       # the scenario, kept on re-plan
    from app.web.scenario import query
    here = query(request.args, page=None)
    return render_template("plan.html", d=d, error=error, refused=refused, teams=teams, load=load, must=must,
                           cells=cells, periods=(d or {}).get("periods", ws.settings.planning.periods),
                           ps=ps, keep=keep, fmt=render, units={k.id: k.unit for k in ws.settings.kpis}, saved=saved_for("plan"), saved_open=bool(request.args), save_page="plan", save_query=here,
                           back=url_for("planning.plan_page") + (f"?{here}" if here else ""),
                           roadmap_url=url_for("pages.roadmap") + (f"?{query(request.args, page=None)}" if keep else "")
                           ), status


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
                "status": {"enum": ["optimal", "time-limit", "infeasible"]}, "gap": NUM_NULL, "value": NUM,
                "greedy_value": NUM, "cut_value": NUM,
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
            "description": "a team's capacity: one number, or one per period separated by commas"}]
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
