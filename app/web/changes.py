"""What moved, and why, on the web: the page `/changes` (a chooser of two
snapshots, the movers with their reasons, added, removed, the cut line) and the API
`GET/POST /api/v1/snapshots` and `GET /api/v1/diff?from&to` (docs/http.md)."""
from __future__ import annotations

from typing import Annotated

from flask import Blueprint, jsonify, render_template, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.services import changes
from app.web.state import ApiError, int_arg, workspace

changes_bp = Blueprint("changes", __name__, template_folder="templates")


class SnapshotBody(BaseModel):
    """POST /api/v1/snapshots (its OpenAPI schema is generated from this model)."""
    model_config = ConfigDict(strict=True)
    # 1 to 255 characters without white space; `sync-N` is kept for the syncs' own (a 400 from the service)
    name: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^\S+$",
                               json_schema_extra={"not": {"pattern": r"^sync-[0-9]+$"}})]


def _diff(ws, from_ref: str | None, to_ref: str | None):
    """The diff of two snapshots; every request re-checks both against their hashes."""
    return changes.diff(ws, from_ref, to_ref)


@changes_bp.get("/api/v1/snapshots")
def snapshots():
    return jsonify(changes.listing(workspace(), reuse=True))


@changes_bp.post("/api/v1/snapshots")
def save_snapshot():
    raw = request.get_json(silent=True)
    try:
        body = SnapshotBody.model_validate(raw)
    except ValidationError:
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):    # as documented: no white space at all
            raise ApiError(400, "bad-request", "name: 1 to 255 characters without spaces") from None
        raise ApiError(400, "bad-request", 'send a JSON object {"name": "..."} (Content-Type: application/json)') from None
    row = changes.save(workspace(), body.name)    # DuplicateName 409, a bad name 400
    return jsonify(row), 201


@changes_bp.get("/api/v1/diff")
def diff():
    ws = workspace()
    from_ref = request.args.get("from") or None
    to_ref = request.args.get("to") or None
    d = _diff(ws, from_ref, to_ref)    # UnknownSnapshot 400, TamperedSnapshot 409
    return jsonify(changes.diff_json(d))


@changes_bp.get("/changes")
def page():
    ws = workspace()
    listing = changes.listing(ws, reuse=True)
    known = listing["snapshots"]
    default = changes.default_from(ws)
    from_ref = request.args.get("from") or (default["name"] or default["hash"] if default else None)
    to_ref = request.args.get("to") or changes.NOW
    cut = int_arg("cut", changes.CUT, 1, 1000)
    error, summary, status = None, None, 200
    if from_ref is None:
        error = "No snapshots yet: a sync saves one, or run `roadmap snapshot save NAME`."
    else:
        try:
            summary = changes.summary(_diff(ws, from_ref, to_ref), cut=cut)
        except (changes.UnknownSnapshot, changes.TamperedSnapshot) as exc:
            error, status = str(exc), 400
        except ApiError as exc:
            error, status = exc.message, exc.status
    options = [{"value": r["name"] or r["hash"][:12],
                "label": f"{r['name'] or r['hash'][:12]} · {r['created_at'][:16].replace('T', ' ')}"
                         + ("" if r["verified"] else " · TAMPERED")} for r in reversed(known)]
    return render_template("changes.html", options=options, from_ref=from_ref or "", to_ref=to_ref, cut=cut,
                           s=summary, error=error, problems=listing["problems"]), status
