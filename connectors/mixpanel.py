"""Mixpanel: a saved Insights report (`bookmark_id`) or an event's daily count.

Query API with service-account basic auth. `/api/query/insights` answers `series` as
names mapping to `{date: value}`; the report must be a line chart by day: a report in
total / bar mode answers one number (`{"all": 3551}`) and a weekly or monthly one
answers a bucket per week or month, and neither is stored as daily values: the KPI fails
with what to change. `/api/query/segmentation` takes `event` as one event name.
Mixpanel allows 60 queries an hour and 5 at once: the connector keeps to both, and KPIs
beyond the hour's budget fail with that reason (their last observations stay). The EU
host through `url`.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from datetime import date

from pydantic import Field

from connectors.analytics import AnalyticsConnector, KpiFailure
from connectors.base import ConnectorOptions, KpiSource, as_day

HOUR = 3600.0


class MixpanelOptions(ConnectorOptions):
    url: str = "https://mixpanel.com"
    project_id: int | str
    username_env: str
    secret_env: str
    queries_per_hour: int = Field(default=60, ge=1)


class QueryBudget:
    """At most `limit` queries in any hour, counted in this process."""

    def __init__(self, limit: int, clock=time.monotonic):
        self.limit, self.clock, self.sent = limit, clock, deque()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = self.clock()
            while self.sent and now - self.sent[0] >= HOUR:
                self.sent.popleft()
            if len(self.sent) >= self.limit:
                return False
            self.sent.append(now)
            return True


_BUDGETS: dict[str, QueryBudget] = {}


def _series(data: dict) -> dict:
    """The first series of an Insights answer as {date: value}, through `$overall` nesting."""
    series = data.get("series") or {}
    if not isinstance(series, dict) or not series:
        return {}
    first = next(iter(series.values()))
    while isinstance(first, dict) and first and all(isinstance(v, dict) for v in first.values()):
        first = first.get("$overall") or next(iter(first.values()))
    return first if isinstance(first, dict) else {}


def daily(points: dict, kpi: str) -> list:
    """The series as (day, value) rows, or KpiFailure when the report is not by day."""
    if "all" in points or (points and not any(_is_day(k) for k in points)):
        raise KpiFailure(f"KPI '{kpi}': the saved report answers one total ({', '.join(map(str, points))[:40]}), "
                         "not a value per day: open it in Mixpanel and show it as a line chart by day")
    keys = [k for k in points if _is_day(k)]
    days = sorted({as_day(k) for k in keys})
    if len(days) < len(keys):
        raise KpiFailure(f"KPI '{kpi}': the saved report counts by hour, not by day; set its interval to Day "
                         "in Mixpanel")
    gaps = [(b - a).days for a, b in zip(days, days[1:])]
    if gaps and min(gaps) >= 7:
        unit = "month" if min(gaps) >= 28 else "week"
        raise KpiFailure(f"KPI '{kpi}': the saved report counts by {unit}, not by day; set its interval to Day "
                         f"in Mixpanel (a {unit}'s total is not a daily value)")
    return list(points.items())


def _is_day(key) -> bool:
    try:
        as_day(key)
        return True
    except (TypeError, ValueError, OverflowError):
        return False


class MixpanelConnector(AnalyticsConnector):
    type = "mixpanel"
    Options = MixpanelOptions
    options: MixpanelOptions
    auth_hint = "check the service account's username and secret"
    credential_keys = ("username_env", "secret_env")
    concurrency = 5

    def begin(self) -> None:
        super().begin()
        key = f"{self.options.url}|{self.options.project_id}"
        self.budget = _BUDGETS.setdefault(key, QueryBudget(self.options.queries_per_hour))

    def fetch(self, source: KpiSource, start: date, end: date):
        if not self.budget.take():
            raise KpiFailure(f"Mixpanel's budget of {self.options.queries_per_hour} queries an hour is used up; "
                             "the next sync fetches this KPI")
        params = {"project_id": self.options.project_id}
        if source.source.get("bookmark_id"):
            params["bookmark_id"] = source.source["bookmark_id"]
            path = "/api/query/insights"
        elif source.source.get("event"):
            params.update(event=str(source.source["event"]), from_date=start.isoformat(),
                          to_date=end.isoformat(), unit="day", type="general")
            path = "/api/query/segmentation"
        else:
            raise KpiFailure(f"KPI '{source.kpi}' needs source.bookmark_id or source.event")
        resp = self._http.request("GET", path, params=params)
        data = self.answer(resp)
        if path.endswith("segmentation"):
            values = (data.get("data") or {}).get("values") or {}
            return daily(next(iter(values.values()), {}), source.kpi)
        return daily(_series(data), source.kpi)
