"""One HTTP session for every connector: timeouts, retries with jitter, Retry-After,
slowing down near a rate limit, and secrets kept out of every message.

Status codes map to what to do as data (Singer / Airbyte style): retry, rate limited,
or fatal with a message that says what to fix.
"""
from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any, Callable

import requests

from connectors.base import SourceError

RATE_LIMITED = {429, 503}
RETRY = {500, 502, 504}


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
    requests_made: int = 0
    waits: list[float] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers.update({"Accept": "application/json", "User-Agent": "kpi-roadmap", **self.headers})
        if self.auth is not None:
            self.session.auth = self.auth
        self._slow_down = False

    def _wait(self, seconds: float) -> None:
        seconds = min(seconds, self.max_wait)
        self.waits.append(seconds)
        (self.sleep or time.sleep)(seconds)

    def _backoff(self, attempt: int) -> float:
        base = self.backoff[min(attempt, len(self.backoff) - 1)]
        return base * self.rng.uniform(0.7, 1.3)

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs) -> requests.Response:
        """Send with retries. Returns the response when its status is in `ok`, or when it is
        a client error the caller handles (4xx other than 429); raises SourceError when the
        source stays unavailable."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(self.max_retries + 1):
            if self._slow_down:
                self._wait(self.near_limit_pause)
                self._slow_down = False
            try:
                self.requests_made += 1
                resp = self.session.request(method, url, **kwargs)
            except requests.RequestException as exc:
                if attempt == self.max_retries:
                    raise SourceError(f"{self.source}: cannot reach {self.base_url} ({type(exc).__name__}) "
                                      f"after {attempt + 1} tries") from None
                self._wait(self._backoff(attempt))
                continue
            if resp.headers.get("X-RateLimit-NearLimit", "").lower() == "true":
                self._slow_down = True
            if resp.status_code in ok:
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
                self._wait(max(hint, 0.0) if hint is not None else self._backoff(attempt))
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


def error_messages(resp: requests.Response) -> list[str]:
    """The messages a JSON error body carries (Jira's errorMessages and errors)."""
    try:
        body = resp.json()
    except ValueError:
        return [resp.text[:200]] if resp.text else []
    if not isinstance(body, dict):
        return []
    out = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors")
    if isinstance(errors, dict):
        out += [f"{k}: {v}" for k, v in errors.items()]
    for key in ("message", "detail", "error"):
        if isinstance(body.get(key), str):
            out.append(body[key])
    return out


def http_error(source: str, resp: requests.Response, *, auth_hint: str = "check the credentials") -> SourceError:
    status = resp.status_code
    messages = "; ".join(error_messages(resp))
    if status in (401, 403):
        return SourceError(f"{source}: {status} {'unauthorized' if status == 401 else 'forbidden'}: "
                           f"{auth_hint}" + (f" ({messages})" if messages and status == 403 else ""), auth=True)
    return SourceError(f"{source}: {status} from the server" + (f": {messages}" if messages else ""))
