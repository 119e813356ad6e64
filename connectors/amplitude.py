"""Amplitude: the Dashboard REST API's event segmentation, one event and metric per KPI.

`/api/2/events/segmentation` with `e` (the event as JSON), `m` (uniques, totals,
average, ...), `start` / `end` as YYYYMMDD and daily interval; basic auth with the API key
and secret key; `data.series[0]` is read against `data.xValues`. Daily segmentation
allows at most 365 days a request, so longer histories are asked in windows of 365 days.
The EU host through `url`.
"""
from __future__ import annotations

import json
from datetime import date

from connectors.analytics import AnalyticsConnector, KpiFailure
from connectors.base import ConnectorOptions, KpiSource

MAX_DAYS = 365          # Amplitude: daily segmentation over at most 365 days


class AmplitudeOptions(ConnectorOptions):
    url: str = "https://amplitude.com"
    api_key_env: str
    secret_key_env: str


class AmplitudeConnector(AnalyticsConnector):
    type = "amplitude"
    Options = AmplitudeOptions
    options: AmplitudeOptions
    auth_hint = "check the API key and secret key"
    credential_keys = ("api_key_env", "secret_key_env")
    concurrency = 5
    max_days = MAX_DAYS

    def fetch(self, source: KpiSource, start: date, end: date):
        event = source.source.get("event")
        if not event:
            raise KpiFailure(f"KPI '{source.kpi}' has no source.event")
        e = event if isinstance(event, dict) else {"event_type": event}
        params = {"e": json.dumps(e), "m": source.source.get("metric", "uniques"), "i": "1",
                  "start": start.strftime("%Y%m%d"), "end": end.strftime("%Y%m%d")}
        resp = self._http.request("GET", "/api/2/events/segmentation", params=params)
        data = self.answer(resp).get("data") or {}
        days, series = data.get("xValues") or [], data.get("series") or [[]]
        values = series[0] if series else []
        if len(values) != len(days):
            raise KpiFailure(f"Amplitude sent {len(values)} values for {len(days)} days")
        return list(zip(days, values))
