"""What every analytics connector shares: which days to fetch for each KPI, fetching
KPIs concurrently within the source's limit, and failure that stays with one KPI.

A connector implements `fetch(source, start, end)` returning daily `(date, value)` rows.
The first sync reads from the KPI's `start` (else a year back); later syncs read from the
last stored day minus an overlap, because sources revise recent days; `--full` reads all.
"""
from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar, Iterable

from connectors.base import Connector, KpiSource, SourceError, SyncRun, as_day
from connectors.http import HttpClient, error_messages, http_error

OVERLAP_DAYS = 3
FIRST_SYNC_DAYS = 365


def as_value(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    f = float(value)
    if not math.isfinite(f):
        raise ValueError(f"{value!r} is not a finite number")
    return f


class KpiFailure(Exception):
    """One KPI could not be fetched; the message says why (never a secret)."""


class AnalyticsConnector(Connector):
    holds: ClassVar[str] = "observations"
    concurrency: ClassVar[int] = 4           # at most this many requests in flight to the source

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.http_options: dict = {}         # tests and benchmarks inject sleep / rng here
        self.today = datetime.now(timezone.utc).date()
        self._lock = threading.Lock()

    def window(self, run: SyncRun, kpi: KpiSource) -> tuple[date, date]:
        last = None if run.full else run.last_day(kpi.kpi)
        if last is not None:
            start = last - timedelta(days=OVERLAP_DAYS)
        else:
            start = kpi.start or self.today - timedelta(days=FIRST_SYNC_DAYS)
        return min(start, self.today), self.today

    def fetch(self, source: KpiSource, start: date, end: date) -> Iterable[tuple[Any, Any]]:
        raise NotImplementedError

    auth_hint: ClassVar[str] = "check the credentials"

    def answer(self, resp) -> Any:
        """The JSON of a 200 answer. 401 / 403 fail the whole source (saying what to check);
        any other status fails only the KPI being fetched."""
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
        return self._http

    def begin(self) -> None:
        """Work before any KPI is fetched (an access token); raise SourceError when the
        whole source is unusable."""

    def _one(self, kpi: KpiSource, start: date, end: date) -> tuple[list[tuple[date, float]], list[str]]:
        rows, bad = [], []
        for day, value in self.fetch(kpi, start, end):
            try:
                d = as_day(day)
            except (TypeError, ValueError):
                bad.append(f"day {day!r} is not a date")
                continue
            if not (start <= d <= end):
                continue
            try:
                rows.append((d, as_value(value)))
            except (TypeError, ValueError):
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
                    if exc.auth:            # every KPI would fail the same way: stop the source
                        for f in futures:
                            f.cancel()
                        raise
                    run.fail(kpi, str(exc))
                except KpiFailure as exc:
                    run.fail(kpi, str(exc))
                else:
                    for reason in bad:
                        run.skip(f"{kpi}", reason)
                    run.observations(kpi, rows)
                done += 1
                run.progress(done, len(jobs))
        if getattr(self, "_http", None) is not None:
            run.count("requests", self._http.requests_made)
