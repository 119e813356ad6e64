"""PostHog: a HogQL query per KPI returning rows of (day, value).

The sync window is bound into the query, so PostHog reads only the days wanted (its docs
ask every API query to bound its time range):
- `{filters}` in the query's WHERE clause takes PostHog's `filters.dateRange`, set to the
  window's first and last day: `... FROM events WHERE event = 'signup' AND {filters} ...`
- or `{start}` and `{end}` placeholders take the window's first and last day as
  `YYYY-MM-DD` strings: `WHERE timestamp >= toDate({start}) AND timestamp < toDate({end}) + INTERVAL 1 DAY`
A query with neither fails (that KPI only) and says how to bound it.

Each query may run `max_execution_seconds` (10 s by default, as PostHog advises); a query
that takes longer fails its KPI without a retry (a heavy query is not sent again).
HogQL answers only 100 rows unless the query has a LIMIT, so a query without one is paged
with LIMIT / OFFSET until a short page (a server that ignores OFFSET is caught, not looped
on); a throttled answer ("Expected available in N seconds") pauses every query to the
project. At most 3 queries run at once.
"""
from __future__ import annotations

import re
from datetime import date

from pydantic import Field

from connectors.analytics import AnalyticsConnector, KpiFailure
from connectors.base import ConnectorOptions, KpiSource
from connectors.http import Paginator, TimedOut

PAGE = 10_000
_WAIT = re.compile(r"available in (\d+(?:\.\d+)?) seconds?", re.I)
_LIMIT = re.compile(r"\blimit\s+\d+", re.I)
_FILTERS = re.compile(r"\{\s*filters\s*\}")
_PLACEHOLDERS = re.compile(r"\{\s*(start|end)\s*\}")


class PosthogOptions(ConnectorOptions):
    url: str = "https://us.posthog.com"
    project_id: int | str
    token_env: str
    max_execution_seconds: float = Field(default=10.0, gt=0)


def throttle_wait(resp) -> float | None:
    try:
        detail = str(resp.json().get("detail", ""))
    except (ValueError, AttributeError):
        detail = resp.text
    m = _WAIT.search(detail)
    return float(m.group(1)) if m else None


def bound_query(hogql: str, start: date, end: date) -> dict:
    """The HogQLQuery body with the window bound in (`filters.dateRange` for `{filters}`,
    `values` for `{start}` / `{end}`); KpiFailure when the query has neither.

    >>> bound_query("SELECT 1 FROM events WHERE {filters}", date(2026, 7, 1), date(2026, 7, 2))["filters"]
    {'dateRange': {'date_from': '2026-07-01', 'date_to': '2026-07-02'}}
    """
    body: dict = {"kind": "HogQLQuery", "query": hogql}
    if _FILTERS.search(hogql):
        body["filters"] = {"dateRange": {"date_from": start.isoformat(), "date_to": end.isoformat()}}
    if _PLACEHOLDERS.search(hogql):
        body["values"] = {"start": start.isoformat(), "end": end.isoformat()}
    if "filters" not in body and "values" not in body:
        raise KpiFailure("the query is not bounded in time, so PostHog would scan all history on every sync: "
                         "add `AND {filters}` to its WHERE clause (the sync window is sent as filters.dateRange) "
                         "or use {start} and {end}")
    return body


class PosthogConnector(AnalyticsConnector):
    type = "posthog"
    Options = PosthogOptions
    options: PosthogOptions
    auth_hint = "check the personal API key and its project access"
    auth_style = "bearer"
    credential_keys = ("token_env",)
    concurrency = 3

    def client_options(self) -> dict:
        return {"retry_hint": throttle_wait}

    def _query(self, body: dict) -> dict:
        path = f"/api/projects/{self.options.project_id}/query/"
        cap = self.options.max_execution_seconds
        try:
            resp = self._http.request("POST", path, json={"query": body}, timeout=(10.0, cap + 5.0),
                                      retry_timeouts=False)
        except TimedOut:
            raise KpiFailure(f"the query ran longer than {cap:g} s and was not retried: narrow it (fewer days, "
                             "a cheaper aggregate) or raise max_execution_seconds") from None
        return self.answer(resp)

    def fetch(self, source: KpiSource, start: date, end: date):
        query = str(source.source.get("query") or "").strip().rstrip(";")
        if not query:
            raise KpiFailure(f"KPI '{source.kpi}' has no source.query (HogQL returning day, value)")
        body = bound_query(query, start, end)
        if _LIMIT.search(query):
            data = self._query(body)
            if data.get("hasMore"):
                raise KpiFailure("the query's LIMIT cuts the series (PostHog says there is more); "
                                 "raise or drop the LIMIT")
            yield from (tuple(r[:2]) for r in data.get("results") or [])
            return
        offset = 0
        pages = Paginator(self.name, "offset")
        while True:
            data = self._query({**body, "query": f"{query} LIMIT {PAGE} OFFSET {offset}"})
            rows = data.get("results") or []
            if rows:
                pages.check_page((repr(rows[0]), repr(rows[-1]), len(rows)),
                                 hint="PostHog answered the same rows for a new OFFSET (the server ignores it)")
            yield from (tuple(r[:2]) for r in rows)
            offset += len(rows)
            if len(rows) < PAGE:        # a short page is the last, whatever hasMore says
                return
