"""One HTTP session for every connector: timeouts, retries with jitter, Retry-After, a
throttle pause shared by every request to the source, paging that cannot loop, and
secrets kept out of every message.

Status codes map to what to do as data (Singer / Airbyte style): `RATE_LIMITED` waits
(the whole source pauses, across its worker threads), `RETRY` backs off, an unreachable
host (connection refused, a name that does not resolve) fails at once, and anything else
goes back to the caller, which says what to fix.
"""
from __future__ import annotations

import base64
import email.utils
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any, Callable, Hashable

import requests
from requests.auth import HTTPBasicAuth
from urllib3.exceptions import NameResolutionError, NewConnectionError

from connectors.base import SourceError

RATE_LIMITED = {429, 503}
RETRY = {500, 502, 504}


class TimedOut(SourceError):
    """A request that was not to be retried took longer than its timeout."""


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now())


def unreachable(exc: requests.RequestException) -> str | None:
    """Why the host cannot be reached at all (refused, unknown name), or None for a fault
    worth retrying (a timeout, a connection reset mid-answer)."""
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.Timeout):
        return None
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)          # urllib3's MaxRetryError wraps the cause
    if isinstance(reason, NameResolutionError):
        return "the host name does not resolve"
    if isinstance(reason, NewConnectionError):
        return "the connection was refused"
    return None


@dataclass
class HttpClient:
    """A requests session with the house's retry rules. `source` names the connector in
    messages; `sleep` and `rng` are injectable so tests run without waiting."""
    source: str
    base_url: str
    auth: Any = None
    headers: dict = field(default_factory=dict)
    timeout: float = 30.0
    max_retries: int = 5
    backoff: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 32.0)
    max_wait: float = 300.0                # never wait longer than this for one retry
    near_limit_pause: float = 1.0          # extra pause after X-RateLimit-NearLimit: true
    sleep: Callable[[float], None] | None = None      # default: time.sleep, looked up when waiting
    rng: random.Random = field(default_factory=random.Random)
    # reads a wait out of a rate-limited response's body (PostHog: "Expected available in N seconds")
    retry_hint: Callable[[requests.Response], float | None] | None = None
    # a rate-limited answer not worth retrying (a quota that resets in an hour): returned to the caller
    final: Callable[[requests.Response], bool] | None = None
    requests_made: int = 0
    waits: list[float] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers.update({"Accept": "application/json", "User-Agent": "kpi-roadmap", **self.headers})
        if self.auth is not None:
            self.session.auth = self.auth
        self._slow_down = False
        self._gate = threading.Condition()
        self._pausing = 0                  # pauses in progress: while above 0, no request is sent
        self.held = 0                      # requests waiting at the gate right now (for tests)
        self._count = threading.Lock()

    # -- secrets --------------------------------------------------------------------------
    def secret_values(self) -> list[str]:
        """The credentials this client sends: Authorization values (whole and their token
        part) and basic-auth parts, as they could be echoed back in an error body."""
        out = []
        for name, value in self.session.headers.items():
            if name.lower() in ("authorization", "x-api-key", "api-key") and value:
                out += [str(value), *[p for p in str(value).split() if len(p) >= 8]]
        if isinstance(self.auth, HTTPBasicAuth):
            user, password = str(self.auth.username), str(self.auth.password)
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            out += [password, pair, f"Basic {pair}"] + ([user] if len(user) >= 8 else [])
        return [v for v in out if v]

    # -- waiting --------------------------------------------------------------------------
    def _wait(self, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), self.max_wait)
        self.waits.append(seconds)
        (self.sleep or time.sleep)(seconds)

    def pause(self, seconds: float) -> None:
        """Pause the whole source: no request from any thread is sent until this returns."""
        with self._gate:
            self._pausing += 1
        try:
            self._wait(seconds)
        finally:
            with self._gate:
                self._pausing -= 1
                self._gate.notify_all()

    def _through_gate(self) -> None:
        with self._gate:
            if self._pausing:
                self.held += 1
                self._gate.wait_for(lambda: self._pausing == 0)
                self.held -= 1

    def _backoff(self, attempt: int) -> float:
        base = self.backoff[min(attempt, len(self.backoff) - 1)]
        return base * self.rng.uniform(0.7, 1.3)

    # -- requests -------------------------------------------------------------------------
    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), retry_timeouts: bool = True,
                **kwargs) -> requests.Response:
        """Send with retries. Returns the response when its status is in `ok`, or when it is
        a client error the caller handles (4xx other than 429, or a rate limit `final`
        says not to retry); raises SourceError when the source stays unavailable."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(self.max_retries + 1):
            if self._slow_down:
                self._slow_down = False
                self.pause(self.near_limit_pause)
            self._through_gate()
            try:
                with self._count:
                    self.requests_made += 1
                resp = self.session.request(method, url, **kwargs)
            except requests.RequestException as exc:
                why = unreachable(exc)
                if why:
                    raise SourceError(f"{self.source}: cannot reach {self.base_url}: {why}; check the url "
                                      "and the network") from None
                if isinstance(exc, requests.Timeout) and not retry_timeouts:
                    raise TimedOut(f"{self.source}: {method} {path} took longer than {kwargs['timeout']} s") from None
                if attempt == self.max_retries:
                    raise SourceError(f"{self.source}: cannot reach {self.base_url} ({type(exc).__name__}) "
                                      f"after {attempt + 1} tries") from None
                self._wait(self._backoff(attempt))
                continue
            if resp.headers.get("X-RateLimit-NearLimit", "").lower() == "true":
                self._slow_down = True
            if resp.status_code in ok:
                return resp
            if resp.status_code in RATE_LIMITED and self.final is not None and self.final(resp):
                return resp
            if resp.status_code in RATE_LIMITED or resp.status_code in RETRY:
                if attempt == self.max_retries:
                    raise SourceError(f"{self.source}: {resp.status_code} from {self.base_url} "
                                      f"after {attempt + 1} tries; try again later")
                hint = None
                if resp.status_code in RATE_LIMITED:
                    hint = retry_after_seconds(resp.headers.get("Retry-After"))
                    if hint is None and self.retry_hint is not None:
                        hint = self.retry_hint(resp)
                if resp.status_code in RATE_LIMITED:     # the source said slow down: everyone waits
                    self.pause(hint if hint is not None else self._backoff(attempt))
                else:
                    self._wait(self._backoff(attempt))
                continue
            return resp
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, **kwargs) -> Any:
        resp = self.request(method, path, **kwargs)
        if resp.status_code not in kwargs.get("ok", (200,)):
            raise http_error(self.source, resp)
        try:
            return resp.json()
        except ValueError:
            raise SourceError(f"{self.source}: {method} {path} answered {resp.status_code} "
                              "with a body that is not JSON") from None


class Paginator:
    """Paging as an object (meltano's habit): it knows every token it was handed and
    refuses one it has already seen, and a page that repeats the previous one, so a
    misbehaving server cannot loop a sync forever."""

    def __init__(self, source: str, what: str = "nextPageToken"):
        self.source, self.what = source, what
        self.seen: set[Hashable] = set()
        self.last_page: Hashable | None = None
        self.pages = 0

    def advance(self, token: Hashable) -> Hashable:
        """Take the next page's token; raises SourceError when it was handed out before."""
        if token in self.seen:
            raise SourceError(f"{self.source}: the server sent the same {self.what} ({str(token)[:40]}) twice; "
                              "paging stopped so the sync cannot loop forever")
        self.seen.add(token)
        return token

    def check_page(self, fingerprint: Hashable, *, hint: str = "it ignores the offset") -> None:
        """Raise when a page (by `fingerprint`, e.g. its first and last row) repeats the
        previous page exactly: the server is not moving forward."""
        self.pages += 1
        if fingerprint is not None and fingerprint == self.last_page:
            raise SourceError(f"{self.source}: page {self.pages} repeats page {self.pages - 1}: {hint}; "
                              "paging stopped so the sync cannot loop forever")
        self.last_page = fingerprint


def error_messages(resp: requests.Response) -> list[str]:
    """The messages a JSON error body carries: Jira's errorMessages and errors, Google's
    envelope `{"error": {"code", "message", "status"}}`, and plain message / detail / error."""
    try:
        body = resp.json()
    except ValueError:
        return [resp.text[:200]] if resp.text else []
    if not isinstance(body, dict):
        return []
    out = [str(m) for m in body.get("errorMessages") or [] if m]
    errors = body.get("errors")
    if isinstance(errors, dict):
        out += [f"{k}: {v}" for k, v in errors.items()]
    envelope = body.get("error")
    if isinstance(envelope, dict) and envelope.get("message"):
        status = envelope.get("status")
        out.append(f"{status}: {envelope['message']}" if status else str(envelope["message"]))
    for key in ("message", "detail", "error"):
        if isinstance(body.get(key), str) and body[key]:
            out.append(body[key])
    return out


def http_error(source: str, resp: requests.Response, *, auth_hint: str = "check the credentials") -> SourceError:
    status = resp.status_code
    messages = "; ".join(error_messages(resp))
    if status in (401, 403):
        return SourceError(f"{source}: {status} {'unauthorized' if status == 401 else 'forbidden'}: "
                           f"{auth_hint}" + (f" ({messages})" if messages and status == 403 else ""), auth=True)
    return SourceError(f"{source}: {status} from the server" + (f": {messages}" if messages else ""))
