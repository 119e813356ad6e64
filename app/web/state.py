"""The web's shared state: the ranking cache, the workspace, API errors and the request
parameters every blueprint reads. Blueprints import this module; it imports none of them.

Reads through the same services as the CLI; the ranking is computed once per data or
config change (a published sync) and reused across requests.
"""
from __future__ import annotations

import hmac
import os
import threading
from datetime import date

from flask import current_app, request

from app import services
from app.services import Workspace
from scoring.graph import GraphError
from scoring.ranking import METHODS

MAX_PAGE = 500

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


def int_arg(name: str, default: int, lo: int, hi: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ApiError(400, "bad-request", f"{name} must be a whole number") from None
    if v < lo:
        raise ApiError(400, "bad-request", f"{name} must be at least {lo}")
    return min(v, hi) if hi is not None else v


def as_of_arg() -> date | None:
    raw = request.args.get("as_of")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "bad-request", "as_of must be a date, YYYY-MM-DD") from None


def method_arg() -> str | None:
    m = request.args.get("method")
    if m and m not in METHODS:
        raise ApiError(400, "bad-request", f"method must be one of {', '.join(METHODS)}")
    return m


def graph_error(exc: GraphError) -> ApiError:
    """A goal graph that cannot be scored, as the 409 every route answers."""
    return ApiError(409, "graph-invalid", "; ".join(p.message for p in exc.problems))


def ranking(*, include_done: bool = False):
    """The cached ranking for this request's `as_of` and `method`."""
    try:
        return cache().get(as_of_arg(), method_arg(), include_done=include_done)
    except GraphError as exc:
        raise graph_error(exc) from None
