"""Did it move the KPI, on the web: the page `/outcomes` (shipped initiatives, estimated vs
realised per KPI with intervals, each KPI's chart around launch, the estimators' track
records) and the API `GET /api/v1/outcomes`, `GET /api/v1/calibration` (docs/http.md,
"Outcomes"). A person's track record is shown to them, planners and admins only."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from app.auth import current_person
from app.services import outcomes as svc
from app.web.state import ApiError, as_of_arg, workspace
from scoring.errors import RoadmapError

outcomes_bp = Blueprint("outcomes", __name__, template_folder="../templates")


def _outcomes(ws, as_of=None, key=None) -> dict:
    try:
        return svc.outcomes(ws, as_of=as_of, key=key)
    except RoadmapError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None


@outcomes_bp.get("/api/v1/outcomes")
def api_outcomes():
    key = request.args.get("key") or None
    if key is not None and len(key) > 255:
        raise ApiError(400, "bad-request", "key: at most 255 characters")
    return jsonify(_outcomes(workspace(), as_of_arg(), key))


@outcomes_bp.get("/api/v1/calibration")
def api_calibration():
    return jsonify(svc.calibration(workspace(), person=current_person()))


@outcomes_bp.get("/outcomes")
def page():
    from app.web.outcomes import views
    ws = workspace()
    as_of = as_of_arg()
    ev = svc.evaluate(ws, as_of)
    cal = svc.calibration(ws, person=current_person(), rows=ev.rows)
    return render_template("outcomes.html", **views.page_data(ws, ev, cal))


_DATE = {"type": "string", "format": "date"}
_NUM_OR_NULL = {"type": ["number", "null"]}
_OUTCOME = {"type": "object", "required": ["key", "kpi", "estimator", "launched_on", "expected", "lift", "realised",
                                           "low", "high", "se", "verdict", "group", "placebos"],
            "properties": {
                "key": {"type": "string"}, "title": {"type": "string"}, "kpi": {"type": "string"},
                "estimator": {"type": "string"}, "launched_on": _DATE, "expected": _NUM_OR_NULL,
                "lift": _NUM_OR_NULL, "range": {"type": ["array", "null"], "items": {"type": "number"}},
                "confidence": _NUM_OR_NULL, "realised": _NUM_OR_NULL, "low": _NUM_OR_NULL, "high": _NUM_OR_NULL,
                "se": _NUM_OR_NULL,
                "verdict": {"enum": ["moved", "moved-wrong-way", "no-detectable-move", "measuring",
                                     "not-measurable", "confounded"]},
                "reason": {"type": "string"}, "group": {"type": ["array", "null"], "items": {"type": "string"}},
                "placebos": {"type": "integer"}, "estimate_from": {"type": ["string", "null"]},
                "post_start": {"type": ["string", "null"]}, "post_end": {"type": ["string", "null"]}}}
_RECORD = {"type": "object", "required": ["factor", "raw", "precision", "resolved", "brier"],
           "properties": {"estimator": {"type": "string"}, "factor": {"type": "number"}, "raw": {"type": "number"},
                          "precision": {"type": "number"}, "resolved": {"type": "integer"}, "brier": _NUM_OR_NULL,
                          "inside_range": _NUM_OR_NULL}}
OPENAPI_SCHEMAS = {
    "Outcome": _OUTCOME,
    "Outcomes": {"type": "object", "required": ["as_of", "level", "links"],
                 "properties": {"as_of": _DATE, "level": {"type": "number"},
                                "links": {"type": "array", "items": {"$ref": "#/components/schemas/Outcome"}}}},
    "Calibration": {"type": "object", "required": ["prior_sd", "team", "estimators"],
                    "properties": {"prior_sd": {"type": "number"}, "team": _RECORD,
                                   "estimators": {"type": "array", "items": _RECORD}}},
}


def _ok(schema: str) -> dict:
    return {"200": {"description": "OK", "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema}"}}}}}


OPENAPI_PATHS = {
    "/api/v1/outcomes": {"get": {
        "summary": "Each launched initiative's estimated links: realised lift, interval, verdict",
        "parameters": [{"name": "as_of", "in": "query", "required": False, "schema": _DATE},
                       {"name": "key", "in": "query", "required": False,
                        "schema": {"type": "string", "maxLength": 255}}],
        "responses": _ok("Outcomes")}},
    "/api/v1/calibration": {"get": {
        "summary": "Track records per estimator and for the team (a person sees their own; planners and admins "
                   "see all)", "responses": _ok("Calibration")}},
}
