"""The web: the application factory, blueprints (pages, api), templates, static files,
charts and the OpenAPI document. Shared state lives in `app.web.state`."""
from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from app.config import Settings, load_settings
from app.services import Workspace
from app.web.state import ApiError, RankingCache

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def build_app(settings=None, *, workspace: Workspace | None = None) -> Flask:
    if workspace is None:
        workspace = Workspace(settings if isinstance(settings, Settings) else load_settings(settings))
    app = Flask(__name__)
    app.extensions["roadmap"] = RankingCache(workspace)
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    from app.web.api import api
    from app.web.pages import pages
    app.register_blueprint(api)
    app.register_blueprint(pages)
    from app.logs import configure as configure_logs
    from app.web import metrics, sync_api, webhooks
    app.register_blueprint(sync_api.sync_api)
    app.register_blueprint(webhooks.webhooks)
    from app.web.planning import planning
    app.register_blueprint(planning)
    metrics.install(app)
    configure_logs(workspace.settings)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        resp = jsonify({"error": {"code": exc.code, "message": exc.message}})
        resp.status_code = exc.status
        return resp

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        resp = jsonify({"error": {"code": (exc.name or "error").lower().replace(" ", "-"),
                                  "message": exc.description or ""}})
        resp.status_code = exc.code or 500
        return resp

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return resp

    return app
