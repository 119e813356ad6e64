"""The web: the application factory and its blueprints (pages, api, planning, changes, and
operations/: sync queue, webhooks, metrics), templates, static files, charts and the
OpenAPI document. Shared state lives in `app.web.state`.

Every request is checked here (so `gunicorn 'app:create_app()'` gets it too): its `Host`
against `[service] allowed_hosts`, its body size. Errors answer JSON under /api/ and an
HTML page elsewhere; a bug answers 500 with its traceback logged (secrets redacted).
"""
from __future__ import annotations

import logging
import traceback

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.config import Settings, load_settings
from app.services import Workspace
from app.web.state import ApiError, RankingCache, check_host

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
MAX_BODY = 1 * 2**20       # bytes in any request body (a what-if is a few kB); larger is a 413
JSON_PREFIXES = ("/api/", "/healthz", "/metrics")
log = logging.getLogger("app.web")


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
        workspace = Workspace(settings if isinstance(settings, Settings) else load_settings(settings))
    app = Flask(__name__)
    app.extensions["roadmap"] = RankingCache(workspace)
    app.config["JSON_SORT_KEYS"] = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False
    from app.logs import configure as configure_logs
    from app.web.api import api
    from app.web.changes import changes_bp
    from app.web.operations import metrics, sync as sync_api, webhooks
    from app.web.pages import pages
    from app.web.planning import planning
    for blueprint in (api, pages, planning, changes_bp, sync_api.sync_api, webhooks.webhooks):
        app.register_blueprint(blueprint)
    metrics.install(app)
    configure_logs(workspace.settings)

    @app.before_request
    def guard():
        check_host()
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise RequestEntityTooLarge()

    from app.auth.web import install as install_auth
    install_auth(app)       # who is asking, and the role each route needs (app/auth/rules.py)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc):
        return error_response(413, "too-large", f"the request body is larger than the limit of {MAX_BODY} bytes "
                                                f"({MAX_BODY // 2**20} MiB)")

    from scoring.graph import GraphError

    @app.errorhandler(GraphError)
    def graph_invalid(exc: GraphError):
        problems = [p.message for p in exc.problems]
        return error_response(409, "graph-invalid", "the goal graph cannot be scored: " + "; ".join(problems),
                              problems)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error_response(exc.code or 500, (exc.name or "error").lower().replace(" ", "-"),
                              exc.description or "", headers=exc.get_headers())

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        from app.secrets import redact
        log.error("unexpected error on %s %s\n%s", request.method, request.path[:200],
                  redact("".join(traceback.format_exception(exc)), workspace.settings))
        return error_response(500, "internal-error", "something went wrong on our side; the error is logged")

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return resp

    return app
