"""The web's shared state: the ranking cache, the workspace, API errors and the request
parameters every blueprint reads. Blueprints import this module; it imports none of them.

Reads through the same services as the CLI; the ranking is computed once per data or
config change (a published sync) and reused across requests.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import threading
from datetime import date
from urllib.parse import urlsplit

import numpy as np
from cachetools import LRUCache
from flask import current_app, g, has_request_context, request

from app import services
from app.services import Workspace
from scoring.ranking import METHODS
from scoring.errors import RoadmapError

MAX_PAGE = 500                    # `limit` above this is a 400 (documented in the OpenAPI document)
MAX_OFFSET = 2**31 - 1
MAX_CACHE_ENTRIES = 64            # rankings and bodies kept per worker ...
MAX_CACHE_BYTES = 256 * 2**20     # ... and their rough size together
MAX_TEXTS = 100_000               # titles kept per worker for what-if pages
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")

class ApiError(RoadmapError):
    """A route's own refusal with its status and code (create_app's one handler answers it)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message, code=code, status=status, headers=headers)


def _nbytes(value) -> int:
    """A rough size of a cached value: its numpy arrays, keys and text (for the cache's byte bound)."""
    if isinstance(value, (str, bytes)):
        return len(value) + 64
    backlog = getattr(value, "backlog", None)
    size = 4096
    for obj in (value, backlog):
        for v in vars(obj).values() if obj is not None and hasattr(obj, "__dict__") else ():
            if isinstance(v, np.ndarray):
                size += v.nbytes
            elif isinstance(v, dict):
                size += sum(a.nbytes for a in v.values() if isinstance(a, np.ndarray)) + 100 * len(v)
    if backlog is not None:
        size += sum(len(k) + 56 for k in backlog.keys)
    return size


class RankingCache:
    """Rankings, response bodies and KPI views per (data version, as_of, method, ...),
    recomputed only when a sync lands. Bounded by entries and by bytes (least recently
    used goes first), so many distinct `as_of` values cannot grow a worker without end."""

    def __init__(self, ws: Workspace, *, max_entries: int = MAX_CACHE_ENTRIES, max_bytes: int = MAX_CACHE_BYTES):
        self.ws = ws
        self.max_entries = max_entries
        self._lock = threading.RLock()
        self._cache = LRUCache(maxsize=max_bytes, getsizeof=_nbytes)
        self._building: dict = {}
        self._texts: dict = {}
        self._texts_version = None

    def _get(self, key, build):
        with self._lock:
            try:
                return self._cache[key]
            except KeyError:
                pass
            building = self._building.setdefault(key, threading.Lock())
        with building:                    # one thread builds a value; the others wait for it
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            value = build()
            with self._lock:
                self._building.pop(key, None)
                version = key[0]
                for old in [k for k in self._cache if k[0] != version]:   # older data: never read again
                    self._cache.pop(old, None)
                try:
                    self._cache[key] = value
                except ValueError:        # larger than the whole cache: served, not kept
                    pass
                while len(self._cache) > self.max_entries:
                    self._cache.popitem()
            return value

    def __len__(self) -> int:
        return len(self._cache)

    def version(self) -> int:
        """The store's cache version, read once per request."""
        if not has_request_context():
            return self.ws.store.cache_version()
        if "roadmap_cache_version" not in g:
            g.roadmap_cache_version = self.ws.store.cache_version()
        return g.roadmap_cache_version

    def texts(self, keys: list[str]) -> dict[str, tuple[str, str, str]]:
        """(title, status, url) by key, kept per data version (up to MAX_TEXTS keys): a
        what-if shows other items each time, and each is fetched from the store once."""
        with self._lock:
            version = self.version()
            if self._texts_version != version or len(self._texts) > MAX_TEXTS:
                self._texts, self._texts_version = {}, version
            known = self._texts
        missing = [k for k in keys if k not in known]
        if missing:
            got = self.ws.store.texts(missing)
            with self._lock:
                known.update(got)
        return {k: known[k] for k in keys if k in known}

    @property
    def nbytes(self) -> int:
        return self._cache.currsize

    def get(self, as_of: date | None = None, method: str | None = None, *, include_done: bool = False,
            calibrated: bool | None = None):
        as_of, method = self.ws.as_of(as_of), method or self.ws.settings.scoring.method
        calibrated = services.calibration_wanted(self.ws, calibrated)
        key = (self.version(), "ranking", as_of, method, include_done, calibrated)
        return self._get(key, lambda: services.ranking(self.ws, as_of=as_of, method=method,
                                                       include_done=include_done, calibrated=calibrated))

    def response(self, build, *parts):
        """A built response body, reused until the data, the date or the request changes.
        Kept per person (a page's header names who is signed in; blind estimates differ)."""
        from app.auth import current_person
        who = current_person()
        key = (self.version(), "response", self.ws.as_of(), *parts, who.id, who.role)
        return self._get(key, build)

    def check(self):
        key = (self.version(), "check", self.ws.as_of())
        return self._get(key, lambda: services.check(self.ws))

    def kpis(self, as_of: date | None = None) -> dict:
        """`services.kpis` for this data and date (copy before changing it)."""
        as_of = self.ws.as_of(as_of)
        return self._get((self.version(), "kpis", as_of), lambda: services.kpis(self.ws, as_of))

    def currents(self, as_of: date | None = None) -> dict:
        as_of = self.ws.as_of(as_of)
        # over each KPI's window, as the ranking reads them
        return self._get((self.version(), "currents", as_of), lambda: services.currents(self.ws, as_of))


def workspace() -> Workspace:
    return current_app.extensions["roadmap"].ws


def cache() -> RankingCache:
    return current_app.extensions["roadmap"]


def _is_loopback(addr: str | None) -> bool:
    try:
        return ipaddress.ip_address((addr or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def host_name(host: str) -> str:
    """`Host` without its port: 'localhost:8080' -> 'localhost', '[::1]:80' -> '[::1]'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[:host.index("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_hosts() -> tuple[str, ...]:
    return tuple(h.lower() for h in workspace().settings.service.allowed_hosts or LOOPBACK_HOSTS)


def check_host() -> None:
    """Every request: its `Host` must be one the service answers to (`[service] allowed_hosts`,
    default the loopback names, any port), so a DNS-rebinding page cannot read a local server."""
    if not request.headers.get("Host", "").strip():        # no Host at all (HTTP/1.0): a foreign name
        raise ApiError(400, "host-not-allowed", "this service answers only requests that name it in a Host header")
    allowed = allowed_hosts()
    if "*" in allowed:
        return
    given = request.host or ""
    if given.lower() in allowed or host_name(given) in allowed:
        return
    raise ApiError(400, "host-not-allowed",
                   f"this service does not answer to the host name '{host_name(given)[:100]}'; "
                   "add it to [service] allowed_hosts if it is yours")


def require_token() -> None:
    """Write endpoints. With `[service] api_token_env` naming a set variable, the bearer
    token is needed; without one, only loopback clients may write. Either way a browser
    page from another origin (a cross-site form) is refused. With `[auth]` the one check of
    app/auth/web.py has already decided by the person's role: nothing more to ask here."""
    auth = workspace().settings.auth
    if auth is not None and auth.mode != "none":
        return
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc.lower() != (request.host or "").lower():
        raise ApiError(403, "forbidden", "writes from a page of another origin are refused")
    var = workspace().settings.service.api_token_env
    token = os.environ.get(var) if var else None
    if not token:
        if not _is_loopback(request.remote_addr):
            raise ApiError(403, "forbidden", "with no API token configured, only this machine (loopback) "
                           "may write; set [service] api_token_env and export that variable")
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise ApiError(401, "unauthorized", "this endpoint needs the API token: send 'Authorization: Bearer <token>'")


require_write_access = require_token


def arg(name: str) -> str | None:
    """A query parameter; an empty one is absent on pages (forms send them) and a 400 in the API."""
    raw = request.args.get(name)
    if raw == "":
        if request.path.startswith("/api/"):
            raise ApiError(400, "bad-request", f"{name} is empty; give a value or leave it out")
        return None
    return raw


def int_arg(name: str, default: int, lo: int, hi: int | None = None) -> int:
    raw = arg(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ApiError(400, "bad-request", f"{name} must be a whole number") from None
    if v < lo:
        raise ApiError(400, "bad-request", f"{name} must be at least {lo}")
    if hi is not None and v > hi:
        raise ApiError(400, "bad-request", f"{name} must be at most {hi}")
    return v


def as_of_arg() -> date | None:
    raw = arg("as_of")
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "bad-request", "as_of must be a date, YYYY-MM-DD") from None


def method_arg() -> str | None:
    m = arg("method")
    if m is not None and m not in METHODS:
        raise ApiError(400, "bad-request", f"method must be one of {', '.join(METHODS)}")
    return m



def ranking(*, include_done: bool = False):
    """The cached ranking for this request's `as_of`, `method` and `calibrated`."""
    return ranking_for(as_of_arg(), method_arg(), include_done=include_done, calibrated=calibrated_arg())


def ranking_for(as_of: date | None, method: str | None, *, include_done: bool = False,
                calibrated: bool | None = None):
    """A goal graph that cannot be scored raises GraphError: create_app's one handler answers 409."""
    return cache().get(as_of, method, include_done=include_done, calibrated=calibrated)


def calibrated_arg() -> bool | None:
    """`?calibrated=1` / `0` (default: `[calibration] apply`)."""
    raw = arg("calibrated")
    if raw is None or raw == "":
        return None
    if raw in ("1", "0"):
        return raw == "1"
    raise ApiError(400, "bad-request", "calibrated must be 1 or 0")
