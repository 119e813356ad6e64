"""What every analytics connector shares: which days to fetch for each KPI, fetching
KPIs concurrently within the source's limit, failure that stays with one KPI, and the
HTTP session with its credentials (`begin`), set up in one place.

A connector implements `fetch(source, start, end)` returning daily `(date, value)` rows.
The first sync reads from the KPI's `start` (else a year back); later syncs read from the
last stored day minus an overlap, because sources revise recent days; `--full` reads all.
A source that allows only so many days a request (`max_days`) is asked in windows.
"Today" is the source's own today (`source_today`): UTC unless the source reports its
time zone (GA4 reports the property's).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar, Iterable, Iterator

from requests.auth import HTTPBasicAuth

from connectors.base import Connector, KpiSource, QuotaExhausted, SourceError, SyncRun, as_day
from connectors.http import HttpClient, error_messages, http_error
from scoring.numbers import finite_number

OVERLAP_DAYS = 3
FIRST_SYNC_DAYS = 365


def as_value(value: Any) -> float:
    f = finite_number(value)
    if f is None:
        raise ValueError(f"{value!r} is not a finite number")
    return f


def windows(start: date, end: date, max_days: int | None) -> Iterator[tuple[date, date]]:
    """[start, end] in consecutive windows of at most `max_days` days (both ends counted).

    >>> [(a.isoformat(), b.isoformat()) for a, b in windows(date(2025, 1, 1), date(2026, 1, 1), 365)]
    [('2025-01-01', '2025-12-31'), ('2026-01-01', '2026-01-01')]
    """
    if not max_days:
        yield start, end
        return
    while start <= end:
        stop = min(end, start + timedelta(days=max_days - 1))
        yield start, stop
        start = stop + timedelta(days=1)


class KpiFailure(Exception):
    """One KPI could not be fetched; the message says why (never a secret)."""


class AnalyticsConnector(Connector):
    holds: ClassVar[str] = "observations"
    concurrency: ClassVar[int] = 4           # at most this many requests in flight to the source
    max_days: ClassVar[int | None] = None    # the most days one request may ask for
    # how `begin` authenticates: "basic" with the two variables named, or "bearer" with the one
    auth_style: ClassVar[str] = "basic"
    credential_keys: ClassVar[tuple[str, ...]] = ()
    auth_hint: ClassVar[str] = "check the credentials"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.http_options: dict = {}         # tests and benchmarks inject sleep / rng here
        self._http: HttpClient | None = None

    def source_today(self) -> date:
        """Today where the source counts its days (UTC unless the source says otherwise)."""
        return datetime.now(timezone.utc).date()

    def window(self, run: SyncRun, kpi: KpiSource) -> tuple[date, date]:
        today = self.source_today()
        last = None if run.full else run.last_day(kpi.kpi)
        if last is not None:
            start = last - timedelta(days=OVERLAP_DAYS)
        else:
            start = kpi.start or today - timedelta(days=FIRST_SYNC_DAYS)
        return min(start, today), today

    def fetch(self, source: KpiSource, start: date, end: date) -> Iterable[tuple[Any, Any]]:
        raise NotImplementedError

    def answer(self, resp) -> Any:
        """The JSON of a 200 answer. 401 / 403 fail the whole source (saying what to check);
        any other status fails only the KPI being fetched, with what the source said."""
        if resp.status_code in (401, 403):
            raise http_error(self.name, resp, auth_hint=self.auth_hint)
        if resp.status_code != 200:
            raise KpiFailure(f"{resp.status_code}: {'; '.join(error_messages(resp)) or 'no detail given'}")
        try:
            return resp.json()
        except ValueError:
            raise KpiFailure(f"{resp.status_code} with a body that is not JSON") from None

    def client(self, **kwargs) -> HttpClient:
        """The source's HTTP session (at `options.url`), kept for the request count."""
        self._http = HttpClient(self.name, self.options.url, **kwargs, **self.http_options)
        self.http_clients.append(self._http)
        return self._http

    def client_options(self) -> dict:
        """Extra HttpClient settings for this source (a retry hint, say)."""
        return {}

    def begin(self) -> None:
        """Work before any KPI is fetched: the HTTP session with the source's credentials,
        basic auth or a bearer token from the variables in `credential_keys`. Raise
        SourceError when the whole source is unusable."""
        values = [os.environ.get(getattr(self.options, key) or "", "") for key in self.credential_keys]
        if self.auth_style == "bearer":
            self.client(headers={"Authorization": f"Bearer {values[0]}"}, **self.client_options())
        else:
            self.client(auth=HTTPBasicAuth(*values), **self.client_options())

    def _one(self, kpi: KpiSource, start: date, end: date) -> tuple[list[tuple[date, float]], list[str]]:
        rows, bad = [], []
        for low, high in windows(start, end, self.max_days):
            for day, value in self.fetch(kpi, low, high):
                try:
                    d = as_day(day)
                except (TypeError, ValueError, OverflowError):
                    bad.append(f"day {day!r} is not a date")
                    continue
                if not (start <= d <= max(end, self.source_today())):
                    continue
                try:
                    rows.append((d, as_value(value)))
                except (TypeError, ValueError, OverflowError):
                    bad.append(f"{d}: value {value!r} is not a finite number")
        return rows, bad

    def pull(self, run: SyncRun) -> None:
        self.begin()
        jobs = {k.kpi: (k, *self.window(run, k)) for k in run.kpis}
        done = 0
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            futures = {pool.submit(self._one, k, s, e): k.kpi for k, s, e in jobs.values()}
            for fut in as_completed(futures):
                kpi = futures[fut]
                try:
                    rows, bad = fut.result()
                except SourceError as exc:
                    if exc.auth or isinstance(exc, QuotaExhausted):   # every KPI would fail alike: stop
                        for f in futures:
                            f.cancel()
                        raise
                    run.fail(kpi, str(exc).removeprefix(f"{self.name}: "))
                except KpiFailure as exc:
                    run.fail(kpi, str(exc))
                else:
                    for reason in bad:
                        run.skip(f"{kpi}", reason)
                    run.observations(kpi, rows)
                done += 1
                run.progress(done, len(jobs))
        if self._http is not None:
            run.count("requests", self._http.requests_made)
