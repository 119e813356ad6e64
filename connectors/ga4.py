"""Google Analytics 4 (Data API v1beta): one metric per KPI, by date.

The access token comes from google-auth's service-account flow (scope
analytics.readonly, the key file's own token_uri); the key file's path is in the
variable named by `credentials_env`. Reports page with offset / limit until `rowCount`,
with `keepEmptyRows` so a day whose metric is zero arrives as 0 instead of vanishing.

"Today" is the property's reporting time zone: the report's end date is sent as GA4's own
`today`, and the zone Google answers (`metadata.timeZone`) decides which day that is.
Google's error envelope (`{"error": {"code", "message", "status"}}`) is what a failure
says. Quota: a spent hourly or daily quota (429 RESOURCE_EXHAUSTED "... per hour") is
not retried, it stops the source and its last good data stays; other 429s back off; near
the hourly quota the connector slows down.
"""
from __future__ import annotations

import os
import threading
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from connectors.analytics import AnalyticsConnector, KpiFailure
from connectors.base import ConnectorOptions, KpiSource, QuotaExhausted, SourceError
from connectors.http import Paginator, error_messages

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


def _google_error(resp) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {}
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else {}


def quota_spent(resp) -> bool:
    """A 429 for a quota that resets in an hour or a day: not worth retrying now."""
    err = _google_error(resp)
    text = str(err.get("message", "")).lower()
    return resp.status_code == 429 and err.get("status") == "RESOURCE_EXHAUSTED" and \
        ("per hour" in text or "per day" in text)


class Ga4Connector(AnalyticsConnector):
    type = "ga4"
    Options = Ga4Options
    options: Ga4Options
    auth_hint = "check the service account's access to the property"
    concurrency = 10              # GA4 allows 10 concurrent requests per property

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone: str | None = None     # the property's, from the first report
        self._zone_lock = threading.Lock()

    def source_today(self) -> date:
        zone = timezone.utc
        if self.time_zone:
            try:
                zone = ZoneInfo(self.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return datetime.now(zone).date()

    def begin(self) -> None:
        key_file = os.environ.get(self.options.credentials_env, "")
        token = access_token(key_file)
        self.client(headers={"Authorization": f"Bearer {token}"}, final=quota_spent)

    def answer(self, resp):
        if quota_spent(resp):
            said = "; ".join(error_messages(resp))
            raise QuotaExhausted(f"{self.name}: 429 from Google: {said}. Not retried: this quota resets within "
                                 "the hour (or day); the last good data is kept and the next sync fetches again")
        return super().answer(resp)

    def fetch(self, source: KpiSource, start: date, end: date):
        metric = source.source.get("metric")
        if not metric:
            raise KpiFailure(f"KPI '{source.kpi}' has no source.metric (a GA4 metric such as activeUsers)")
        # the end is the property's today in GA4's own words, whatever zone we are in
        last = "today" if end >= self.source_today() else end.isoformat()
        body = {"dateRanges": [{"startDate": start.isoformat(), "endDate": last}],
                "dimensions": [{"name": "date"}], "metrics": [{"name": metric}],
                "keepEmptyRows": True, "limit": PAGE, "offset": 0, "returnPropertyQuota": True}
        if source.source.get("filter"):
            body["dimensionFilter"] = source.source["filter"]
        path = f"/v1beta/properties/{self.options.property_id}:runReport"
        pages = Paginator(self.name, "offset")
        while True:
            resp = self._http.request("POST", path, json=body)
            report = self.answer(resp)
            zone = (report.get("metadata") or {}).get("timeZone")
            if zone and zone != self.time_zone:
                with self._zone_lock:
                    self.time_zone = zone
            kind = ((report.get("metricHeaders") or [{}])[0]).get("type", "TYPE_FLOAT")
            rows = report.get("rows") or []
            if rows:
                pages.check_page(page_key(rows), hint="Google answered the same rows for a new offset")
            for row in rows:
                day = row["dimensionValues"][0]["value"]
                raw = row["metricValues"][0]["value"]
                yield day, (int(raw) if kind in INTEGER_TYPES and str(raw).lstrip("-").isdigit() else raw)
            self._mind_quota(report.get("propertyQuota") or {})
            body["offset"] += len(rows)
            if not rows or body["offset"] >= int(report.get("rowCount") or 0):
                return

    def _mind_quota(self, quota: dict) -> None:
        """Slow the whole source down when less than a tenth of the hourly tokens remain."""
        hourly = quota.get("tokensPerHour") or {}
        consumed, remaining = hourly.get("consumed"), hourly.get("remaining")
        if isinstance(remaining, int) and isinstance(consumed, int) and remaining < 0.1 * (remaining + consumed):
            self._http.pause(self.options.quota_pause)


def page_key(rows: list) -> tuple:
    """A page's fingerprint: its first and last rows and its length."""
    return (repr(rows[0]), repr(rows[-1]), len(rows))
