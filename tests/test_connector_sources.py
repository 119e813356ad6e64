"""Analytics connectors against what the real APIs send (shapes in tests/fixtures):
GA4's empty days and property time zone, Mixpanel's report modes, Amplitude's 365-day
limit, PostHog's bounded queries, and secrets echoed back in error bodies. Each connector
runs on its own against a recording run; HTTP is mocked at the boundary (responses)."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from connectors.amplitude import AmplitudeConnector, AmplitudeOptions
from connectors.base import KpiSource, SourceError
from connectors.ga4 import Ga4Connector, Ga4Options
from connectors.mixpanel import MixpanelConnector, MixpanelOptions
from connectors.posthog import PosthogConnector, PosthogOptions
from tests.fixtures.payloads import (MIXPANEL_TOTAL, MIXPANEL_WEEKLY, amplitude_answer, ga4_report,
                                     mixpanel_segmentation, posthog_answer)

NOW = datetime(2026, 7, 1, 20, 0, tzinfo=timezone.utc)     # 2026-07-02 already in Kiritimati (UTC+14)


class Frozen(datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW.astimezone(tz) if tz else NOW.replace(tzinfo=None)


class Run:
    """Records what a connector writes (connectors.base.SyncRun)."""

    def __init__(self, kpis, full=True, last=None):
        self.kpis, self.full, self.bookmark, self.resume = kpis, full, None, None
        self.rows, self.failures, self.skipped, self.figures, self._last = {}, {}, [], {}, last or {}

    def last_day(self, kpi):
        return self._last.get(kpi)

    def observations(self, kpi, rows):
        self.rows.setdefault(kpi, {}).update(dict(rows))

    def fail(self, kpi, reason):
        self.failures[kpi] = reason

    def skip(self, where, reason):
        self.skipped.append((where, reason))

    def count(self, name, n):
        self.figures[name] = n

    def progress(self, done, total=None):
        pass


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("connectors.analytics.datetime", Frozen)
    monkeypatch.setattr("connectors.ga4.datetime", Frozen)
    monkeypatch.setattr("connectors.http.time.sleep", lambda s: None)


def test_ga4_keeps_zero_days_and_reads_today_in_the_propertys_zone(monkeypatch):
    monkeypatch.setattr("connectors.ga4.access_token", lambda key_file: "ya29.t")
    conn = Ga4Connector("ga", Ga4Options(property_id=1, credentials_env="GA_KEY", url="https://ga.test"))
    kpi = KpiSource("users", {"metric": "activeUsers"}, start=date(2026, 6, 29))
    bodies = []

    def report(request):
        bodies.append(json.loads(request.body))
        # the property is in Kiritimati: its today is 2026-07-02 while UTC is still on 07-01;
        # with keepEmptyRows Google sends the zero days too
        rows = [("20260629", "4"), ("20260630", "0"), ("20260701", "0"), ("20260702", "3")]
        return 200, {}, json.dumps(ga4_report(rows if bodies[-1].get("keepEmptyRows") else [rows[0], rows[3]]))
    run = Run([kpi])
    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.POST, "https://ga.test/v1beta/properties/1:runReport", callback=report)
        conn.pull(run)
    assert bodies[0]["keepEmptyRows"] is True
    assert bodies[0]["dateRanges"] == [{"startDate": "2026-06-29", "endDate": "today"}]
    assert run.rows["users"] == {date(2026, 6, 29): 4.0, date(2026, 6, 30): 0.0, date(2026, 7, 1): 0.0,
                                 date(2026, 7, 2): 3.0}     # the property's today is kept, zeros too
    assert conn.source_today() == date(2026, 7, 2) and run.failures == {}


def mixpanel(**kw):
    conn = MixpanelConnector("mp", MixpanelOptions(url="https://mp.test", project_id=9, username_env="MP_U",
                                                   secret_env="MP_S", **kw))
    return conn


@responses.activate
def test_mixpanel_segmentation_sends_one_event_name(monkeypatch):
    monkeypatch.setattr("connectors.mixpanel._BUDGETS", {})
    responses.add(responses.GET, "https://mp.test/api/query/segmentation",
                  json=mixpanel_segmentation("Signed up", {"2026-06-30": 12, "2026-07-01": 15}))
    run = Run([KpiSource("signups", {"event": "Signed up"}, start=date(2026, 6, 30))])
    mixpanel().pull(run)
    params = parse_qs(urlparse(responses.calls[0].request.url).query)
    assert params["event"] == ["Signed up"] and params["unit"] == ["day"]
    assert run.rows["signups"] == {date(2026, 6, 30): 12.0, date(2026, 7, 1): 15.0}


@responses.activate
def test_mixpanel_total_or_weekly_reports_fail_the_kpi_and_store_nothing(monkeypatch):
    monkeypatch.setattr("connectors.mixpanel._BUDGETS", {})
    responses.add(responses.GET, "https://mp.test/api/query/insights", json=MIXPANEL_TOTAL)
    responses.add(responses.GET, "https://mp.test/api/query/insights", json=MIXPANEL_WEEKLY)
    run = Run([KpiSource("total", {"bookmark_id": 1}, start=date(2026, 6, 1))])
    mixpanel().pull(run)
    assert run.failures == {"total": "KPI 'total': the saved report answers one total (all), not a value per "
                                     "day: open it in Mixpanel and show it as a line chart by day"}
    run = Run([KpiSource("weekly", {"bookmark_id": 2}, start=date(2026, 6, 1))])
    mixpanel().pull(run)
    assert run.failures["weekly"].startswith("KPI 'weekly': the saved report counts by week, not by day")
    assert run.rows == {} and run.skipped == []


@responses.activate
def test_amplitude_asks_in_windows_of_at_most_365_days():
    days = lambda a, b: [(a + timedelta(n)).isoformat() for n in range((b - a).days + 1)]  # noqa: E731

    def answer(request):
        q = parse_qs(urlparse(request.url).query)
        a, b = (datetime.strptime(q[k][0], "%Y%m%d").date() for k in ("start", "end"))
        assert (b - a).days + 1 <= 365                   # Amplitude refuses more
        return 200, {}, json.dumps(amplitude_answer(days(a, b), [1] * len(days(a, b))))
    responses.add_callback(responses.GET, "https://amp.test/api/2/events/segmentation", callback=answer)
    conn = AmplitudeConnector("amp", AmplitudeOptions(url="https://amp.test", api_key_env="A", secret_key_env="B"))
    run = Run([KpiSource("logins", {"event": "login"})])        # no start: a year back, 366 days with today
    conn.pull(run)
    asked = [parse_qs(urlparse(c.request.url).query) for c in responses.calls]
    assert [(q["start"][0], q["end"][0]) for q in asked] == [("20250701", "20260630"), ("20260701", "20260701")]
    assert len(run.rows["logins"]) == 366 and run.failures == {}


def posthog(**kw):
    return PosthogConnector("ph", PosthogOptions(url="https://ph.test", project_id=7, token_env="PH_KEY", **kw))


@responses.activate
def test_posthog_refuses_an_unbounded_query_before_sending_it():
    run = Run([KpiSource("signups", {"query": "SELECT toDate(timestamp), count() FROM events GROUP BY 1"})])
    posthog().pull(run)
    assert run.failures["signups"].startswith("the query is not bounded in time, so PostHog would scan all "
                                              "history on every sync: add `AND {filters}`")
    assert len(responses.calls) == 0


@responses.activate
def test_posthog_query_over_the_execution_cap_fails_once_without_a_retry():
    responses.add(responses.POST, "https://ph.test/api/projects/7/query/", body=requests.ReadTimeout("slow"))
    run = Run([KpiSource("signups", {"query": "SELECT day, n FROM t WHERE {filters}"})])
    posthog().pull(run)
    assert run.failures["signups"].startswith("the query ran longer than 10 s and was not retried")
    assert len(responses.calls) == 1
    assert responses.calls[0].request.req_kwargs["timeout"] == (10.0, 15.0)


@responses.activate
def test_posthog_server_ignoring_offset_is_a_clear_error_not_a_loop(monkeypatch):
    monkeypatch.setattr("connectors.posthog.PAGE", 2)
    responses.add(responses.POST, "https://ph.test/api/projects/7/query/",     # the same 2 rows, every offset
                  json=posthog_answer([["2026-06-30", 1], ["2026-07-01", 2]], has_more=True))
    run = Run([KpiSource("signups", {"query": "SELECT day, n FROM t WHERE day >= {start}"})])
    posthog().pull(run)
    assert run.failures["signups"] == ("page 2 repeats page 1: PostHog answered the same rows for a new OFFSET "
                                       "(the server ignores it); paging stopped so the sync cannot loop forever")
    assert len(responses.calls) == 2


@responses.activate
def test_a_secret_echoed_in_an_error_body_is_redacted(monkeypatch):
    monkeypatch.setenv("PH_KEY", "phx_S3cretPersonalKey")
    echo = {"detail": "bad request: headers were {'Authorization': 'Bearer phx_S3cretPersonalKey'}"}
    responses.add(responses.POST, "https://ph.test/api/projects/7/query/", status=400, json=echo)
    run = Run([KpiSource("signups", {"query": "SELECT day, n FROM t WHERE {filters}"})])
    posthog().pull(run)
    assert "phx_S3cretPersonalKey" not in run.failures["signups"]
    assert run.failures["signups"] == "400: bad request: headers were {'Authorization': '***'}"
    # a whole-source failure (raised out of pull) is redacted too: basic auth echoed as sent
    monkeypatch.setenv("MP_U", "sa.roadmap.user")
    monkeypatch.setenv("MP_S", "mp-S3cret-value")
    monkeypatch.setattr("connectors.mixpanel._BUDGETS", {})
    responses.add(responses.GET, "https://mp.test/api/query/insights", status=403, json={
        "error": "forbidden for Authorization: Basic c2Eucm9hZG1hcC51c2VyOm1wLVMzY3JldC12YWx1ZQ== "
                 "(secret mp-S3cret-value)"})
    with pytest.raises(SourceError) as err:
        mixpanel().pull(Run([KpiSource("a", {"bookmark_id": 1})]))
    assert "S3cret" not in str(err.value) and "c2Eucm9hZG1hcC51c2Vy" not in str(err.value)
    assert str(err.value).endswith("(forbidden for Authorization: *** (secret ***))")


@responses.activate
def test_mixpanel_hourly_buckets_are_not_stored_as_days(monkeypatch):
    monkeypatch.setattr("connectors.mixpanel._BUDGETS", {})
    hourly = {"series": {"Signed up": {"2026-07-01T10:00:00-07:00": 3, "2026-07-01T11:00:00-07:00": 4}}}
    responses.add(responses.GET, "https://mp.test/api/query/insights", json=hourly)
    run = Run([KpiSource("hourly", {"bookmark_id": 3}, start=date(2026, 7, 1))])
    mixpanel().pull(run)
    assert run.failures["hourly"].startswith("KPI 'hourly': the saved report counts by hour") and run.rows == {}
