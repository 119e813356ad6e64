"""Saved scenarios on the web (docs/http.md, "Saved scenarios"): `GET/POST
/api/v1/scenarios`, `DELETE /api/v1/scenarios/<id>`, the save and delete forms of the
roadmap and plan pages (`POST /scenarios`, `POST /scenarios/<id>/delete`, each answering
with a redirect back), and `saved_for(page)`, what those pages list.

Saving and deleting need the `planner` role (the author may also delete their own); who
saved is `app.auth.current_person().name`. A user error (BadInput, NotFound) is answered by
create_app's one handler."""
from __future__ import annotations

from urllib.parse import urlsplit

from typing import Literal

from flask import Blueprint, jsonify, redirect, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.auth import current_person
from app.services import scenarios
from app.web.state import ApiError, require_write_access, workspace

scenarios_bp = Blueprint("scenarios", __name__)


def _may_write(saved_by: str | None = None) -> str:
    """The person's name when they may save (planner), or delete (planner, or the author)."""
    require_write_access()
    person = current_person()
    if not (person.can("planner") or (saved_by is not None and person.name == saved_by)):
        raise ApiError(403, "forbidden", f"saving or deleting a scenario needs the planner role "
                                         f"({person.name} is {person.role})")
    return person.name


def saved_for(page: str) -> list[dict]:
    """The saved scenarios a page lists (newest first); [] when they cannot be read."""
    try:
        return scenarios.listing(workspace(), page)
    except Exception:  # noqa: BLE001 - a page shows without its saved scenarios rather than fail
        return []


@scenarios_bp.get("/api/v1/scenarios")
def api_list():
    page = request.args.get("page")        # given but empty is refused like any other non-page
    return jsonify({"scenarios": scenarios.listing(workspace(), page)})


class ScenarioBody(BaseModel):
    """POST /api/v1/scenarios (its OpenAPI schema, ScenarioRequest, is generated from this model)."""
    model_config = ConfigDict(strict=True, extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    url: str | None = Field(default=None, description="the page's path and query: '/?w.revenue=2' or '/plan?cap.web=40'")
    page: Literal["roadmap", "plan"] | None = None
    query: str | None = None


@scenarios_bp.post("/api/v1/scenarios")
def api_save():
    by = _may_write()
    body = request.get_json(silent=True)
    try:
        ScenarioBody.model_validate(body)
    except ValidationError as e:
        if not isinstance(body, dict):
            raise ApiError(400, "bad-request", 'send a JSON object {"name": "...", "url": "/?w.revenue=2"}') from None
        unknown = sorted(map(str, set(body) - set(ScenarioBody.model_fields)))
        if unknown:
            raise ApiError(400, "bad-request", f"unknown keys: {', '.join(unknown)[:200]}; use name and url") from None
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise ApiError(400, "bad-request", f"{where}: {first['msg']}"[:300]) from None
    return jsonify(scenarios.save(workspace(), body, by)), 201


@scenarios_bp.delete("/api/v1/scenarios/<int(max=2147483647):sid>")
def api_delete(sid: int):
    require_write_access()             # before the lookup: a refused client learns nothing of what exists
    row = scenarios.get(workspace(), sid)
    _may_write(row["by"])
    scenarios.remove(workspace(), sid)
    return "", 204


def _back(default: str = "/") -> str:
    """Where a form returns to: a local path only (never another site)."""
    target = request.form.get("back", "") or default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@scenarios_bp.post("/scenarios")
def form_save():
    by = _may_write()
    body = {"name": request.form.get("name", ""), "page": request.form.get("page", "roadmap"),
            "query": request.form.get("query", "")}
    row = scenarios.save(workspace(), body, by)
    return redirect(row["url"], code=303)


@scenarios_bp.post("/scenarios/<int(max=2147483647):sid>/delete")
def form_delete(sid: int):
    require_write_access()
    row = scenarios.get(workspace(), sid)
    _may_write(row["by"])
    scenarios.remove(workspace(), sid)
    return redirect(_back(), code=303)


# -- the OpenAPI parts (merged by app/web/openapi.py) ---------------------------------------
_STR = {"type": "string"}
_SCENARIO = {"type": "object", "required": ["id", "name", "page", "url", "by", "saved_at"], "properties": {
    "id": {"type": "integer"}, "name": _STR, "page": {"enum": ["roadmap", "plan"]}, "url": _STR, "by": _STR,
    "saved_at": {"type": "string", "format": "date-time"}}}
_WRITE_SECURITY = [{"bearer": []}, {}]          # a token, or (none configured) loopback only
_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
OPENAPI_SCHEMAS = {
    "Scenario": _SCENARIO,
    "Scenarios": {"type": "object", "required": ["scenarios"],
                  "properties": {"scenarios": {"type": "array", "items": {"$ref": "#/components/schemas/Scenario"}}}},
}
OPENAPI_PATHS = {
    "/api/v1/scenarios": {
        "get": {"summary": "Saved scenarios, newest first (?page=roadmap|plan for one page's)",
                "parameters": [{"name": "page", "in": "query", "schema": {"enum": ["roadmap", "plan"]}}],
                "responses": {"200": {"description": "OK", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Scenarios"}}}}}},
        "post": {"summary": "Save a page's URL state under a name (role planner; records who and when)",
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/ScenarioRequest"}}}},
                 "security": _WRITE_SECURITY,
                 "responses": {"201": {"description": "Saved", "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/Scenario"}}}},
                     "401": {"description": "Token missing or wrong", **_ERR},
                     "403": {"description": "Not a planner, or a page of another origin", **_ERR}}}},
    "/api/v1/scenarios/{id}": {
        "delete": {"summary": "Delete a saved scenario (role planner, or its author)",
                   "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                   "security": _WRITE_SECURITY,
                   "responses": {"204": {"description": "Deleted"},
                                 "401": {"description": "Token missing or wrong", **_ERR},
                                 "403": {"description": "Not a planner nor the author", **_ERR}}}},
}
