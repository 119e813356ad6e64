"""Google Analytics 4 (Data API v1beta): one metric per KPI, by date.

The access token comes from google-auth's service-account flow (scope
analytics.readonly, the key file's own token_uri); the key file's path is in the
variable named by `credentials_env`. Reports page with offset / limit until `rowCount`;
quota errors (429 RESOURCE_EXHAUSTED, no Retry-After) back off; near the hourly quota the
connector slows down.
"""
from __future__ import annotations

import os
import time
from datetime import date

from pydantic import Field

from connectors.analytics import AnalyticsConnector, KpiFailure
from connectors.base import ConnectorOptions, KpiSource, SourceError

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
PAGE = 10_000
INTEGER_TYPES = {"TYPE_INTEGER"}


class Ga4Options(ConnectorOptions):
    property_id: str | int
    credentials_env: str
    url: str = "https://analyticsdata.googleapis.com"
    quota_pause: float = Field(default=5.0, ge=0)   # seconds to pause when the hourly quota runs low


def access_token(key_file: str, session=None) -> str:
    """An OAuth access token for the service account in `key_file` (google-auth does the
    signed-JWT exchange with the file's token_uri)."""
    from google.auth.exceptions import GoogleAuthError
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account
    try:
        creds = service_account.Credentials.from_service_account_file(key_file, scopes=[SCOPE])
    except (OSError, ValueError, KeyError) as exc:
        raise SourceError(f"cannot read the service-account key file ({type(exc).__name__}); check the file "
                          "the credentials variable points to", auth=True) from None
    try:
        creds.refresh(Request(session))
    except GoogleAuthError as exc:
        raise SourceError(f"the token exchange failed ({type(exc).__name__}): check the service account "
                          "and its access to the property", auth=True) from None
    return creds.token


class Ga4Connector(AnalyticsConnector):
    type = "ga4"
    Options = Ga4Options
    options: Ga4Options
    auth_hint = "check the service account's access to the property"
    concurrency = 10              # GA4 allows 10 concurrent requests per property

    def begin(self) -> None:
        key_file = os.environ.get(self.options.credentials_env, "")
        token = access_token(key_file)
        self.client(headers={"Authorization": f"Bearer {token}"})

    def fetch(self, source: KpiSource, start: date, end: date):
        metric = source.source.get("metric")
        if not metric:
            raise KpiFailure(f"KPI '{source.kpi}' has no source.metric (a GA4 metric such as activeUsers)")
        body = {"dateRanges": [{"startDate": start.isoformat(), "endDate": end.isoformat()}],
                "dimensions": [{"name": "date"}], "metrics": [{"name": metric}],
                "limit": PAGE, "offset": 0, "returnPropertyQuota": True}
        if source.source.get("filter"):
            body["dimensionFilter"] = source.source["filter"]
        path = f"/v1beta/properties/{self.options.property_id}:runReport"
        while True:
            resp = self._http.request("POST", path, json=body)
            report = self.answer(resp)
            kind = ((report.get("metricHeaders") or [{}])[0]).get("type", "TYPE_FLOAT")
            rows = report.get("rows") or []
            for row in rows:
                day = row["dimensionValues"][0]["value"]
                raw = row["metricValues"][0]["value"]
                yield day, (int(raw) if kind in INTEGER_TYPES and str(raw).lstrip("-").isdigit() else raw)
            self._mind_quota(report.get("propertyQuota") or {})
            body["offset"] += len(rows)
            if not rows or body["offset"] >= int(report.get("rowCount") or 0):
                return

    def _mind_quota(self, quota: dict) -> None:
        """Slow down when less than a tenth of the hourly tokens remain."""
        hourly = quota.get("tokensPerHour") or {}
        consumed, remaining = hourly.get("consumed"), hourly.get("remaining")
        if isinstance(remaining, int) and isinstance(consumed, int) and remaining < 0.1 * (remaining + consumed):
            time.sleep(self.options.quota_pause) if self._http.sleep is None else self._http.sleep(self.options.quota_pause)
