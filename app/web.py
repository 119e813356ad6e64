"""The Flask service: the ranked roadmap as a page and as JSON (CONTRACT.md, HTTP).

Reads through the same services as the CLI; the ranking is computed once per data or
config change and reused across requests.
"""
from __future__ import annotations

import threading
from datetime import date

from flask import Blueprint, Flask, current_app, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException

from app import services
from app.config import Settings, load_settings
from app.services import Workspace

MAX_PAGE = 500

bp = Blueprint("roadmap", __name__)


class RankingCache:
    """One ranking per (data version, as_of, method); recomputed only when a sync lands."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._lock = threading.Lock()
        self._cache: dict = {}

    def get(self, as_of: date | None = None, method: str | None = None):
        key = (self.ws.store.data_version(), self.ws.as_of(as_of), method or self.ws.settings.scoring.method)
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                hit = services.ranking(self.ws, as_of=key[1], method=key[2])
                self._cache = {key: hit}
            return hit


def _error(status: int, code: str, message: str):
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    return resp


def _int_arg(name: str, default: int, lo: int, hi: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number") from None
    if v < lo:
        raise ValueError(f"{name} must be at least {lo}")
    return min(v, hi) if hi else v


def _roadmap_payload():
    cache: RankingCache = current_app.extensions["roadmap"]
    as_of = date.fromisoformat(request.args["as_of"]) if request.args.get("as_of") else None
    r = cache.get(as_of, request.args.get("method"))
    limit = _int_arg("limit", 50, 0, MAX_PAGE)
    offset = _int_arg("offset", 0, 0)
    return {"as_of": r.params.as_of.isoformat(), "method": r.params.method, "total": r.total,
            "offset": offset, "limit": limit, "items": r.items(offset, limit)}


@bp.get("/healthz")
def healthz():
    ws: Workspace = current_app.extensions["roadmap"].ws
    runs = ws.store.runs(1)
    return jsonify({"status": "ok", "last_sync": runs[0]["ended_at"].isoformat() if runs and runs[0]["ended_at"] else None})


@bp.get("/api/v1/roadmap")
def api_roadmap():
    try:
        return jsonify(_roadmap_payload())
    except ValueError as exc:
        return _error(400, "bad-request", str(exc))


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Roadmap</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}td,th{padding:.25rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even){background:#f4f4f6}</style></head>
<body><h1>Ranked roadmap</h1><p>{{ total }} ranked by {{ method }} as of {{ as_of }}</p>
<table><tr><th>#</th><th>Key</th><th>Title</th><th>Score</th><th>Impact</th><th>Effort</th><th>Flags</th></tr>
{% for it in items %}<tr><td class="n">{{ it.rank }}</td><td>{% if it.url %}<a href="{{ it.url }}">{{ it.key }}</a>{% else %}{{ it.key }}{% endif %}</td>
<td>{{ it.title }}</td><td class="n">{{ '%.3f' % it.score }}</td><td class="n">{{ '%.3f' % it.impact }}</td>
<td class="n">{{ it.effort }}</td><td>{{ it.flags | join(' ') }}</td></tr>{% endfor %}</table></body></html>"""


@bp.get("/")
def roadmap_page():
    try:
        data = _roadmap_payload()
    except ValueError as exc:
        return _error(400, "bad-request", str(exc))
    return render_template_string(PAGE, **data)


def build_app(settings=None, *, workspace: Workspace | None = None) -> Flask:
    if workspace is None:
        workspace = Workspace(settings if isinstance(settings, Settings) else load_settings(settings))
    app = Flask(__name__)
    app.extensions["roadmap"] = RankingCache(workspace)
    app.register_blueprint(bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error(exc.code or 500, (exc.name or "error").lower().replace(" ", "-"), exc.description or "")

    return app
