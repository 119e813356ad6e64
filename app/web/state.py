"""The Flask application: factory, the ranking cache, JSON errors, security headers.

Reads through the same services as the CLI; the ranking is computed once per data or
config change (a published sync) and reused across requests.
"""
from __future__ import annotations

import hmac
import os
import threading
from datetime import date

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from app import services
from app.config import Settings, load_settings
from app.services import Workspace

MAX_PAGE = 500

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RankingCache:
    """One ranking per (data version, as_of, method); recomputed only when a sync lands."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._lock = threading.Lock()
        self._cache: dict = {}
        self._responses: dict = {}

    def get(self, as_of: date | None = None, method: str | None = None, *, include_done: bool = False):
        key = (self.ws.store.data_version(), self.ws.as_of(as_of), method or self.ws.settings.scoring.method,
               include_done)
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                hit = services.ranking(self.ws, as_of=key[1], method=key[2], include_done=include_done)
                self._cache = {k: v for k, v in self._cache.items() if k[0] == key[0]}
                self._cache[key] = hit
            return hit

    def response(self, build, *parts):
        """A built response body, reused until the data, the date or the request changes."""
        key = ("response", self.ws.store.data_version(), self.ws.as_of(), *parts)
        with self._lock:
            hit = self._responses.get(key)
        if hit is None:
            hit = build()
            with self._lock:
                if len(self._responses) > 256:
                    self._responses.clear()
                self._responses[key] = hit
        return hit

    def check(self):
        key = (self.ws.store.data_version(), "check", self.ws.as_of())
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = services.check(self.ws)
            with self._lock:
                self._cache[key] = hit
        return hit


def workspace() -> Workspace:
    return current_app.extensions["roadmap"].ws


def cache() -> RankingCache:
    return current_app.extensions["roadmap"]


def require_token() -> None:
    """Write endpoints need the bearer token when `[service] api_token_env` names a set variable."""
    var = workspace().settings.service.api_token_env
    token = os.environ.get(var) if var else None
    if not token:
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise ApiError(401, "unauthorized", "this endpoint needs the API token: send 'Authorization: Bearer <token>'")


def build_app(settings=None, *, workspace: Workspace | None = None) -> Flask:
    if workspace is None:
        workspace = Workspace(settings if isinstance(settings, Settings) else load_settings(settings))
    app = Flask(__name__)
    app.extensions["roadmap"] = RankingCache(workspace)
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    from app.api import api
    from app.pages import pages
    app.register_blueprint(api)
    app.register_blueprint(pages)

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
