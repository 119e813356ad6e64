"""The estimates API (docs/http.md "JSON API"): an item's estimates by person, adding
and deleting one's own, and revealing a blind round. Who asks is `current_person()`; the
rules (who sees and may change what) live in app/services/estimates.py."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.auth import current_person
from app.services import estimates
from app.web.state import ApiError, require_token, workspace

estimates_bp = Blueprint("estimates", __name__)
BASE = "/api/v1/initiatives/<key>/estimates"


@estimates_bp.get(BASE)
def listing(key: str):
    return jsonify(estimates.listing(workspace(), key, current_person()))


class EstimateBody(BaseModel):
    """POST .../estimates (its OpenAPI schema, EstimateLine, is generated from this model)."""
    model_config = ConfigDict(strict=True, extra="forbid")
    line: str = Field(min_length=1, max_length=1000, description="one impact line without `by`: `act +10% @70%`")


@estimates_bp.post(BASE)
def add(key: str):
    require_token()
    person = current_person()
    if not estimates.can_add(person):
        raise ApiError(403, "forbidden", "adding an estimate needs the estimator role")
    body = request.get_json(silent=True)
    try:
        line = EstimateBody.model_validate(body).line
    except ValidationError:
        if isinstance(body, dict) and set(body) - {"line"}:
            raise ApiError(400, "bad-request", f"unknown key(s) {', '.join(sorted(map(str, set(body) - {'line'})))[:100]}; "
                                               'send only "line"') from None
        raise ApiError(400, "bad-request", 'send a JSON object {"line": "<kpi-id> +5% @70%"} '
                                           "(Content-Type: application/json), the line 1 to 1,000 characters") from None
    e = estimates.add(workspace(), key, line, by=person.name, source="web")
    return jsonify(estimates.public(e)), 201


@estimates_bp.delete(BASE + "/<int:estimate_id>")
def delete(key: str, estimate_id: int):
    require_token()
    estimates.delete(workspace(), key, estimate_id, current_person())
    return "", 204


@estimates_bp.post(BASE + "/reveal")
def reveal(key: str):
    require_token()
    return jsonify(estimates.reveal(workspace(), key, current_person()))


# -- the OpenAPI parts (merged by app/web/openapi.py) ------------------------------------
_NUM_NULL = {"type": ["number", "null"]}
_STR = {"type": "string"}
_RANGE = {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
_KEY = {"name": "key", "in": "path", "required": True, "schema": _STR}


def _err(desc: str) -> dict:
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema: str, desc: str = "OK") -> dict:
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


OPENAPI_SCHEMAS = {
    "Estimate": {"type": "object", "required": ["id", "by", "kpi", "lift", "range", "confidence", "source"],
                 "properties": {"id": {"type": ["integer", "string"]}, "by": _STR, "kpi": _STR, "lift": {"type": "number"},
                                "range": _RANGE, "confidence": _NUM_NULL,
                                "source": {"enum": ["tracker", "web", "cli"]}}},
    "Estimates": {"type": "object", "required": ["key", "round", "estimates"],
                  "properties": {"key": _STR, "round": {"enum": ["open", "revealed"]},
                                 "estimates": {"type": "array", "items": {"$ref": "#/components/schemas/Estimate"}}}},
}
_WRITE = {"401": _err("Token missing or wrong, or not signed in"),
          "403": _err("Signed in without the role, not the estimate's author, or a write from elsewhere with no token")}
OPENAPI_PATHS = {
    "/api/v1/initiatives/{key}/estimates": {
        "get": {"summary": "The item's estimates by person (blind ones only to their author and planners "
                           "while the round is open)", "parameters": [_KEY],
                "responses": {"200": _json("Estimates")}},
        "post": {"summary": "Add or replace the signed-in person's estimate (estimator); blind until revealed",
                 "parameters": [_KEY], "security": [{"bearer": []}],
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/EstimateLine"}}}},
                 "responses": {"201": _json("Estimate", "Stored"), **_WRITE}}},
    "/api/v1/initiatives/{key}/estimates/{id}": {
        "delete": {"summary": "Delete an estimate (its author)", "security": [{"bearer": []}],
                   "parameters": [_KEY, {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                   "responses": {"204": {"description": "Deleted"}, **_WRITE}}},
    "/api/v1/initiatives/{key}/estimates/reveal": {
        "post": {"summary": "Reveal the item's round (planner): its blind estimates count from now on",
                 "parameters": [_KEY], "security": [{"bearer": []}],
                 "responses": {"200": _json("Estimates"), **_WRITE}}},
}
