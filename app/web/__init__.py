"""The web: the application factory and its blueprints (pages, api, planning, changes, and
operations/: sync queue, webhooks, metrics), templates, static files, charts and the
OpenAPI document. Shared state lives in `app.web.state`.

Every request is checked here (so `gunicorn 'app:create_app()'` gets it too): its `Host`
against `[service] allowed_hosts`, its body size. Every request gets an id, echoed in the
`X-Request-Id` header. One handler answers every `RoadmapError` with its status, code and
headers: JSON `{"error": {"code", "message"}}` under /api/ and an HTML page elsewhere
(docs/http.md, "Errors"). Anything else is a bug: a 500 naming the request id, its
traceback logged under that id (secrets redacted).
"""
from __future__ import annotations

import logging
import re
import traceback
import uuid

from flask import Flask, g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.config import Settings
from app.services import Workspace
from app.web.state import RankingCache, check_host
from scoring.errors import RoadmapError

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
MAX_BODY = 1 * 2**20       # bytes in any request body (a what-if is a few kB); larger is a 413
JSON_PREFIXES = ("/api/", "/healthz", "/metrics")
log = logging.getLogger("app.web")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")   # an id a proxy sent is kept when it looks like one


def request_id() -> str:
    """This request's id: the proxy's `X-Request-Id` when well-formed, else a new one."""
    rid = g.get("request_id")
    if rid is None:
        given = request.headers.get("X-Request-Id", "")
        rid = g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return rid


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES)


def error_response(status: int, code: str, message: str, problems: list[str] | None = None, headers=None):
    """The error as JSON for tools (/api/...) or as a page for people."""
    if wants_json():
        resp = jsonify({"error": {"code": code, "message": message}})
    else:
        title = code.replace("-", " ").capitalize()
        resp = make_response(render_template("error.html", status=status, title=title, message=message,
                                             problems=problems or []))
    resp.status_code = status
    for k, v in headers or ():
        if k.lower() != "content-type":
            resp.headers[k] = v
    return resp


def build_app(settings=None, *, workspace: Workspace | None = None) -> Flask:
    if workspace is None:
        from app.config_cache import load
        workspace = Workspace(settings if isinstance(settings, Settings) else load(settings))
    from app.web.jsonio import FastJSONProvider
    app = Flask(__name__)
    app.json = FastJSONProvider(app)      # jsonify through orjson (app/web/jsonio.py)
    app.extensions["roadmap"] = RankingCache(workspace)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    from app.logs import configure as configure_logs
    from app.web.api import api
    from app.web.changes import changes_bp
    from app.web.estimates import estimates_bp
    from app.web.operations import metrics, sync as sync_api, webhooks
    from app.web.outcomes.blueprint import outcomes_bp
    from app.web.pages import pages
    from app.web.plan import planning
    from app.web.scenarios import scenarios_bp
    for blueprint in (api, pages, planning, changes_bp, estimates_bp, outcomes_bp, scenarios_bp, sync_api.sync_api,
                      webhooks.webhooks):
        app.register_blueprint(blueprint)
    metrics.install(app)
    configure_logs(workspace.settings)

    @app.before_request
    def guard():
        request_id()
        check_host()
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise RequestEntityTooLarge()

    from app.auth.web import install as install_auth
    install_auth(app)       # who is asking, and the role each route needs (app/auth/rules.py)

    @app.errorhandler(RoadmapError)
    def roadmap_error(exc: RoadmapError):
        from app.secrets import redact, secret_values
        secrets = secret_values(workspace.settings)
        problems = [redact(getattr(p, "message", p), secrets) for p in getattr(exc, "problems", None) or ()]
        return error_response(exc.status, exc.code, redact(exc, secrets), problems,
                              headers=exc.headers.items())

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc):
        return error_response(413, "too-large", f"the request body is larger than the limit of {MAX_BODY} bytes "
                                                f"({MAX_BODY // 2**20} MiB)")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error_response(exc.code or 500, (exc.name or "error").lower().replace(" ", "-"),
                              exc.description or "", headers=exc.get_headers())

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        from app.secrets import redact, secret_values
        rid = request_id()
        log.error("unexpected error on %s %s (request id %s)\n%s", request.method, request.path[:200], rid,
                  redact("".join(traceback.format_exception(exc)), secret_values(workspace.settings)))
        return error_response(500, "internal", f"something went wrong on our side; the error is logged "
                                               f"with request id {rid}")

    @app.after_request
    def security_headers(resp):
        resp.headers["X-Request-Id"] = request_id()
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return resp

    return app
