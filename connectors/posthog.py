"""PostHog: a HogQL query per KPI returning rows of (day, value).

HogQL answers only 100 rows unless the query has a LIMIT, so a query without one is paged
with LIMIT / OFFSET until a short page; a throttled answer ("Expected available in N
seconds") is waited out. At most 3 queries run at once.
"""
from __future__ import annotations

import os
import re
from datetime import date

from connectors.analytics import AnalyticsConnector, KpiFailure
from connectors.base import ConnectorOptions, KpiSource

PAGE = 10_000
_WAIT = re.compile(r"available in (\d+(?:\.\d+)?) seconds?", re.I)
_LIMIT = re.compile(r"\blimit\s+\d+", re.I)


class PosthogOptions(ConnectorOptions):
    url: str = "https://us.posthog.com"
    project_id: int | str
    token_env: str


def throttle_wait(resp) -> float | None:
    try:
        detail = str(resp.json().get("detail", ""))
    except ValueError:
        detail = resp.text
    m = _WAIT.search(detail)
    return float(m.group(1)) if m else None


class PosthogConnector(AnalyticsConnector):
    type = "posthog"
    Options = PosthogOptions
    options: PosthogOptions
    auth_hint = "check the personal API key and its project access"
    concurrency = 3

    def begin(self) -> None:
        token = os.environ.get(self.options.token_env, "")
        self.client(headers={"Authorization": f"Bearer {token}"}, retry_hint=throttle_wait)

    def _query(self, hogql: str) -> dict:
        path = f"/api/projects/{self.options.project_id}/query/"
        resp = self._http.request("POST", path, json={"query": {"kind": "HogQLQuery", "query": hogql}})
        return self.answer(resp)

    def fetch(self, source: KpiSource, start: date, end: date):
        query = str(source.source.get("query") or "").strip().rstrip(";")
        if not query:
            raise KpiFailure(f"KPI '{source.kpi}' has no source.query (HogQL returning day, value)")
        if _LIMIT.search(query):
            data = self._query(query)
            if data.get("hasMore"):
                raise KpiFailure("the query's LIMIT cuts the series (PostHog says there is more); "
                                 "raise or drop the LIMIT")
            yield from (tuple(r[:2]) for r in data.get("results") or [])
            return
        offset = 0
        while True:
            data = self._query(f"{query} LIMIT {PAGE} OFFSET {offset}")
            rows = data.get("results") or []
            yield from (tuple(r[:2]) for r in rows)
            offset += len(rows)
            if len(rows) < PAGE:        # a short page is the last, whatever hasMore says
                return
