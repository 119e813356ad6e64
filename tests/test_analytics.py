"""Analytics connectors on real-shaped payloads: GA4 runReport, PostHog HogQL, Amplitude
segmentation, Mixpanel insights, SQL; history windows; failure that stays local."""
from __future__ import annotations

import base64
import re
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.cli import main

TODAY = datetime.now(timezone.utc).date()      # the connectors' today is UTC (GA4: the property's zone)
D = [TODAY - timedelta(days=n) for n in (2, 1, 0)]
SECRETS = {"PH_KEY": "phx_s3cr3t", "AMP_KEY": "amp-key-1", "AMP_SECRET": "amp-s3cr3t",
           "MP_USER": "sa.user", "MP_SECRET": "mp-s3cr3t"}
GA = "https://ga.test"
PH = "https://eu.posthog.test"
AMP = "https://analytics.eu.amplitude.test"
MP = "https://eu.mixpanel.test"


def toml(tmp_path, sql_db):
    start = (TODAY - timedelta(days=10)).isoformat()
    return f"""
[scoring]
as_of = {TODAY.isoformat()}
[[objectives]]
id = "growth"
weight = 1
[[kpis]]
id = "users"
start = {start}
source = {{ connector = "ga", metric = "activeUsers" }}
[[kpis]]
id = "revenue"
start = {start}
source = {{ connector = "ga", metric = "totalRevenue", filter = {{ filter = {{ fieldName = "country", stringFilter = {{ value = "DE" }} }} }} }}
[[kpis]]
id = "signups"
start = {start}
source = {{ connector = "ph", query = "SELECT toDate(timestamp) AS day, count() FROM events WHERE event = 'signup' AND {{filters}} GROUP BY day ORDER BY day" }}
[[kpis]]
id = "capped"
start = {start}
source = {{ connector = "ph", query = "SELECT toDate(timestamp), count() FROM events WHERE timestamp >= toDate({{start}}) GROUP BY 1 LIMIT 2" }}
[[kpis]]
id = "logins"
start = {start}
source = {{ connector = "amp", event = "login", metric = "uniques" }}
[[kpis]]
id = "broken"
start = {start}
source = {{ connector = "amp", event = "does-not-exist" }}
[[kpis]]
id = "activation"
start = {start}
source = {{ connector = "mp", bookmark_id = 4242 }}
[[kpis]]
id = "nps"
start = {start}
source = {{ connector = "db", query = "SELECT day, value FROM nps WHERE day >= :start ORDER BY day" }}
[[edges]]
from = "users"
to = "growth"
weight = 1
[connectors.ga]
type = "ga4"
property_id = "123456"
credentials_env = "GA_KEY_FILE"
url = "{GA}"
[connectors.ph]
type = "posthog"
url = "{PH}"
project_id = 77
token_env = "PH_KEY"
[connectors.amp]
type = "amplitude"
url = "{AMP}"
api_key_env = "AMP_KEY"
secret_key_env = "AMP_SECRET"
[connectors.mp]
type = "mixpanel"
url = "{MP}"
project_id = 99
username_env = "MP_USER"
secret_env = "MP_SECRET"
queries_per_hour = 60
[connectors.db]
type = "sql"
url_env = "KPI_DB_URL"
"""


@pytest.fixture
def key_file(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({"type": "service_account", "project_id": "p", "private_key_id": "k1",
                                "private_key": pem, "client_email": "roadmap@p.iam.gserviceaccount.com",
                                "client_id": "1", "token_uri": "https://oauth.test/token"}))
    return path, key.public_key()


@pytest.fixture
def cfg(tmp_path, monkeypatch, key_file):
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("GA_KEY_FILE", str(key_file[0]))
    db = tmp_path / "kpis.sqlite"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE nps (day TEXT, value REAL)")
        c.executemany("INSERT INTO nps VALUES (?, ?)", [(d.isoformat(), 40 + n) for n, d in enumerate(D)])
    monkeypatch.setenv("KPI_DB_URL", f"sqlite:///{db}")
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    monkeypatch.setattr("connectors.http.time.sleep", lambda s: None)
    (tmp_path / "roadmap.toml").write_text(toml(tmp_path, db))
    return str(tmp_path / "roadmap.toml")


def ymd(d):
    return d.strftime("%Y%m%d")


def ga_report(request):
    body = json.loads(request.body)
    metric = body["metrics"][0]["name"]
    rows = [{"dimensionValues": [{"value": ymd(d)}], "metricValues": [{"value": str(100 + n) if metric ==
             "activeUsers" else f"{12.5 * (n + 1)}"}]} for n, d in enumerate(D)]
    page = rows[body["offset"]:body["offset"] + body["limit"]]
    return 200, {}, json.dumps({
        "dimensionHeaders": [{"name": "date"}],
        "metricHeaders": [{"name": metric, "type": "TYPE_INTEGER" if metric == "activeUsers" else "TYPE_CURRENCY"}],
        "rows": page, "rowCount": len(rows), "metadata": {"currencyCode": "EUR", "timeZone": "Europe/Berlin"},
        "propertyQuota": {"tokensPerDay": {"consumed": 12, "remaining": 199988},
                          "tokensPerHour": {"consumed": 12, "remaining": 39988}},
        "kind": "analyticsData#runReport"})


def posthog_query(request):
    q = json.loads(request.body)["query"]
    assert q["kind"] == "HogQLQuery"
    text = q["query"]
    rows = [[d.isoformat(), 10 * (n + 1)] for n, d in enumerate(D)]
    m = re.search(r"LIMIT (\d+)(?: OFFSET (\d+))?$", text)
    limit, offset = (int(m.group(1)), int(m.group(2) or 0)) if m else (100, 0)
    limit = min(limit, 2) if "LIMIT 2" in text else limit     # the capped KPI asks for 2 of 3 rows
    return 200, {}, json.dumps({"results": rows[offset:offset + limit], "columns": ["day", "count()"],
                                "hasMore": offset + limit < len(rows), "types": [["day", "Date"]]})


def amplitude(request):
    params = parse_qs(urlparse(request.url).query)
    e = json.loads(params["e"][0])
    if e["event_type"] == "does-not-exist":
        return 400, {}, json.dumps({"error": "Invalid event"})
    days = [d.isoformat() for d in D]
    return 200, {}, json.dumps({"data": {"series": [[5, 6, 7]], "seriesLabels": [0], "seriesCollapsed": [[]],
                                         "xValues": days}, "timeComputed": 1})


def mixpanel(request):
    return 200, {}, json.dumps({"computed_at": "2026-07-02T10:00:00", "date_range": {},
                                "headers": ["$metric"], "series": {"A. Activated": {
                                    f"{d.isoformat()}T00:00:00-07:00": 0.3 + n / 100 for n, d in enumerate(D)}}})


@pytest.fixture
def sources(key_file):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        tokens = []

        def token(request):
            body = request.body.decode() if isinstance(request.body, bytes) else request.body
            form = parse_qs(body)
            assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
            header, claims, sig = form["assertion"][0].split(".")
            pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
            key_file[1].verify(base64.urlsafe_b64decode(pad(sig)), f"{header}.{claims}".encode(),
                               padding.PKCS1v15(), hashes.SHA256())        # signed by our key
            tokens.append(json.loads(base64.urlsafe_b64decode(pad(claims))))
            return 200, {}, json.dumps({"access_token": "ya29.test-token", "expires_in": 3600,
                                        "token_type": "Bearer"})
        rsps.add_callback(responses.POST, "https://oauth.test/token", callback=token)
        rsps.add_callback(responses.POST, f"{GA}/v1beta/properties/123456:runReport", callback=ga_report)
        rsps.add_callback(responses.POST, f"{PH}/api/projects/77/query/", callback=posthog_query)
        rsps.add_callback(responses.GET, f"{AMP}/api/2/events/segmentation", callback=amplitude)
        rsps.add_callback(responses.GET, f"{MP}/api/query/insights", callback=mixpanel)
        rsps.tokens = tokens
        yield rsps


def run(cfg, *args):
    res = CliRunner().invoke(main, [args[0], "--config", cfg, *args[1:]], catch_exceptions=False)
    for secret in SECRETS.values():
        assert secret not in res.output
    assert "PRIVATE KEY" not in res.output
    return res


def kpis(cfg):
    return {k["id"]: k for k in json.loads(run(cfg, "kpis", "--format", "json").output)["kpis"]}


def test_every_source_reads_daily_values_and_failures_stay_local(cfg, sources, monkeypatch):
    monkeypatch.setattr("connectors.ga4.PAGE", 2)
    monkeypatch.setattr("connectors.posthog.PAGE", 2)
    res = run(cfg, "sync")
    assert res.exit_code == 3                               # two KPIs failed, the rest went in
    assert "amp: FAILED broken: 400: Invalid event" in res.output
    assert "ph: FAILED capped: the query's LIMIT cuts the series" in res.output
    got = kpis(cfg)
    assert (got["users"]["current"], got["users"]["current_date"]) == (102.0, TODAY.isoformat())
    assert got["revenue"]["current"] == 37.5
    assert got["signups"]["current"] == 30.0 and got["logins"]["current"] == 7.0
    assert got["activation"]["current"] == pytest.approx(0.32) and got["nps"]["current"] == 42.0
    assert got["broken"]["current"] is None
    # google-auth's own service-account flow: the analytics.readonly scope, signed by the generated key
    (claims,) = sources.tokens
    assert claims["scope"] == "https://www.googleapis.com/auth/analytics.readonly"
    assert claims["iss"] == "roadmap@p.iam.gserviceaccount.com"   # and it went to the key file's token_uri
    ga_calls = [c for c in sources.calls if "runReport" in c.request.url]
    assert all(c.request.headers["Authorization"] == "Bearer ya29.test-token" for c in ga_calls)
    body = json.loads(ga_calls[0].request.body)
    assert body["dimensions"] == [{"name": "date"}] and body["returnPropertyQuota"] is True
    assert body["dateRanges"] == [{"startDate": (TODAY - timedelta(days=10)).isoformat(), "endDate": "today"}]
    assert body["keepEmptyRows"] is True                   # zero days arrive as 0, not as nothing
    assert any("dimensionFilter" in json.loads(c.request.body) for c in ga_calls)
    assert len(ga_calls) == 4                              # 2 KPIs x 2 pages of rowCount 3
    ph = [json.loads(c.request.body)["query"] for c in sources.calls if "posthog" in c.request.url]
    assert any(q["query"].endswith("LIMIT 2 OFFSET 2") for q in ph)
    # the sync window is bound into every query: {filters} takes filters.dateRange, {start} takes values
    window = {"date_from": (TODAY - timedelta(days=10)).isoformat(), "date_to": TODAY.isoformat()}
    assert all(q["filters"] == {"dateRange": window} for q in ph if "{filters}" in q["query"])
    assert [q["values"] for q in ph if "{start}" in q["query"]] == [{"start": window["date_from"],
                                                                    "end": window["date_to"]}]


def login_queries(sources) -> list[dict]:
    queries = [parse_qs(urlparse(c.request.url).query) for c in sources.calls if "segmentation" in c.request.url]
    return [q for q in queries if json.loads(q["e"][0])["event_type"] == "login"]


def test_later_syncs_fetch_from_the_last_day_minus_an_overlap(cfg, sources):
    run(cfg, "sync")
    sources.calls.reset()
    run(cfg, "sync")
    amp = login_queries(sources)     # the login KPI's own requests (two Amplitude KPIs sync side by side)
    assert amp[0]["start"] == [ymd(D[-1] - timedelta(days=3))] and amp[0]["end"] == [ymd(TODAY)]
    sources.calls.reset()
    run(cfg, "sync", "--full")
    amp = login_queries(sources)
    assert amp[0]["start"] == [ymd(TODAY - timedelta(days=10))]


def test_throttled_posthog_waits_as_told_and_ga4_backs_off_on_a_busy_property(cfg, sources, monkeypatch):
    waits = []
    monkeypatch.setattr("connectors.http.time.sleep", waits.append)
    # one request at a time, so which request meets the 429 does not depend on thread order
    monkeypatch.setattr("connectors.posthog.PosthogConnector.concurrency", 1)
    monkeypatch.setattr("connectors.ga4.Ga4Connector.concurrency", 1)
    sources.add(responses.POST, f"{PH}/api/projects/77/query/", status=429, json={
        "type": "throttled_error", "code": "throttled",
        "detail": "Request was throttled. Expected available in 17 seconds.", "attr": None})
    # Google's envelope for a busy property (concurrent requests): worth a retry after a backoff
    sources.add(responses.POST, f"{GA}/v1beta/properties/123456:runReport", status=429, json={
        "error": {"code": 429, "message": "Exhausted concurrent requests quota.", "status": "RESOURCE_EXHAUSTED"}})
    res = run(cfg, "sync")
    assert "FAILED signups" not in res.output and "FAILED users" not in res.output
    assert 17.0 in waits
    assert any(1.4 <= w <= 2.6 for w in waits)              # backoff 2 s ± 30 % for GA4's 429


def test_ga4_spent_hourly_quota_is_not_retried_says_what_google_said_and_keeps_the_data(cfg, sources):
    run(cfg, "sync")
    sources.calls.reset()
    # the envelope Google sends when the property's hourly tokens are spent
    sources.replace(responses.POST, f"{GA}/v1beta/properties/123456:runReport", status=429, json={
        "error": {"code": 429, "message": "Exhausted property tokens per hour. Wait until the next hour.",
                  "status": "RESOURCE_EXHAUSTED"}})
    res = run(cfg, "sync", "--connector", "ga")
    assert res.exit_code == 3
    assert ("ga: FAILED: 429 from Google: RESOURCE_EXHAUSTED: Exhausted property tokens per hour. Wait until the "
            "next hour.. Not retried") in res.output
    # one request per GA KPI (users, revenue) at most, none retried: no minute of retries
    assert len([c for c in sources.calls if "runReport" in c.request.url]) <= 2
    assert kpis(cfg)["users"]["current"] == 102.0                                   # the last good data


def test_ga4_says_what_google_said_about_a_misspelt_metric(cfg, sources):
    sources.replace(responses.POST, f"{GA}/v1beta/properties/123456:runReport", status=400, json={
        "error": {"code": 400, "message": "Field activeUser is not a valid metric. Did you mean activeUsers?",
                  "status": "INVALID_ARGUMENT"}})
    res = run(cfg, "sync", "--connector", "ga")
    assert ("ga: FAILED users: 400: INVALID_ARGUMENT: Field activeUser is not a valid metric. Did you mean "
            "activeUsers?") in res.output
    assert "no detail given" not in res.output


def test_a_failing_source_keeps_its_last_observations(cfg, sources):
    run(cfg, "sync")
    sources.replace(responses.GET, f"{AMP}/api/2/events/segmentation", status=401,
                    json={"error": "Invalid API key"})
    res = run(cfg, "sync", "--full")
    assert res.exit_code == 3 and "amp: FAILED: 401 unauthorized: check the API key and secret key" in res.output
    assert kpis(cfg)["logins"]["current"] == 7.0


def test_values_that_are_not_finite_are_rejected_and_reported(cfg, sources):
    sources.replace(responses.GET, f"{MP}/api/query/insights", json={"series": {"A": {
        f"{D[0]}T00:00:00-07:00": "NaN", f"{D[1]}T00:00:00-07:00": None, f"{D[2]}T00:00:00-07:00": 0.4}}})
    res = run(cfg, "sync")
    assert "mp: skipped activation: " in res.output and "is not a finite number" in res.output
    assert kpis(cfg)["activation"]["current"] == 0.4


def test_mixpanel_keeps_to_its_hourly_budget(cfg, sources, monkeypatch):
    from connectors import mixpanel
    monkeypatch.setattr(mixpanel, "_BUDGETS", {})
    text = open(cfg).read().replace("queries_per_hour = 60", "queries_per_hour = 1")
    text = text.replace('source = { connector = "db"', 'source = { connector = "mp", bookmark_id = 5 }\n#')
    open(cfg, "w").write(text)
    res = run(cfg, "sync", "--connector", "mp")
    assert res.exit_code == 3 and "budget of 1 queries an hour is used up" in res.output
    assert len([c for c in sources.calls if "insights" in c.request.url]) == 1


def test_unset_secret_is_bad_input_before_anything_is_fetched(cfg, sources, monkeypatch):
    monkeypatch.delenv("AMP_SECRET")
    res = run(cfg, "sync")
    assert res.exit_code == 2 and "connectors.amp.secret_key_env: the environment variable AMP_SECRET is not set" \
        in res.output
    assert len(sources.calls) == 0
