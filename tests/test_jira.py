"""The Jira connector against real-shaped Cloud v3 and Data Center v2 payloads."""
from __future__ import annotations

import json

import pytest
import responses
from click.testing import CliRunner

from app.cli import main
from tests.jira_fake import CLOUD, DC, FakeJira, adf, bullets, heading, issue, para

TOML = """
[scoring]
as_of = 2026-07-02

[[objectives]]
id = "revenue"
weight = 1

[[kpis]]
id = "activation"
baseline = 0.30
target = 0.40

[[kpis]]
id = "churn"
direction = "down"

[[edges]]
from = "activation"
to = "revenue"
weight = 1.0

[[edges]]
from = "churn"
to = "revenue"
weight = 0.5

[connectors.backlog]
type = "jira"
url = "{url}"
{auth}
token_env = "JIRA_API_TOKEN"
jql = "project = ROAD AND statusCategory != Done ORDER BY Rank ASC"
{extra}
[connectors.backlog.fields]
effort = "{effort}"
confidence = "customfield_10031"
impact = "customfield_10040"
score = "customfield_10050"
rank = "customfield_10051"

[connectors.backlog.confidence_levels]
High = 0.9
Medium = 0.6
"""

SECRET = "s3cr3t-api-t0ken"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("JIRA_API_TOKEN", SECRET)
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    monkeypatch.setattr("connectors.http.time.sleep", lambda s: None)

    def write(url=CLOUD, auth='email = "pm@acme.com"', effort="customfield_10016", extra=""):
        (tmp_path / "roadmap.toml").write_text(TOML.format(url=url, auth=auth, effort=effort, extra=extra))
        return str(tmp_path / "roadmap.toml")
    return write


def run(cfg, *args):
    res = CliRunner().invoke(main, [args[0], "--config", cfg, *args[1:]], catch_exceptions=False)
    assert SECRET not in res.output
    return res


def ranked(cfg):
    return {it["key"]: it for it in json.loads(run(cfg, "score", "--format", "json").output)["items"]}


def backlog():
    return [
        issue(1, impact=adf(para("activation +10% @80%")), points=3, confidence="High", labels=["kpi:churn"]),
        issue(2, impact=None, description=adf(para("Why: churn is up."), heading("KPI impact"),
                                              bullets("churn -10%..-4%", "activation +2%"), heading("Risks"),
                                              para("activation +50%")), points=5, blocked_by=["ROAD-1"],
              parent="ROAD-100"),
        issue(3, impact=adf(para("activation lots")), points=None, confidence="Unsure"),
        issue(4, category="done", impact=adf(para("activation +90%"))),
        issue(5, impact=adf(para("churn -5%")), points=2, updated="2026-07-01T09:00:00.000+0000"),
    ]


@responses.activate
def test_cloud_full_pull_pages_by_token_and_maps_every_field(ws):
    fake = FakeJira(responses.mock, backlog(), page=2)
    cfg = ws()
    res = run(cfg, "sync")
    assert res.exit_code == 0, res.output
    assert "4 initiatives" in res.output and "4 changed, 4 requests in" in res.output  # myself, count, 2 pages
    assert all("/rest/api/3/search/jql" in r or "myself" in r or "approximate-count" in r for r in fake.requests)
    assert not any(r.endswith("/rest/api/3/search") for r in fake.requests)
    assert len(fake.searches) == 2            # 4 open issues, 2 a page, by nextPageToken until isLast
    body = fake.searches[0]
    assert body["jql"] == "(project = ROAD AND statusCategory != Done) ORDER BY updated ASC"
    assert {"summary", "status", "labels", "parent", "issuelinks", "updated", "description",
            "customfield_10016", "customfield_10031", "customfield_10040"} <= set(body["fields"])
    items = ranked(cfg)
    one = items["ROAD-1"]
    # activation +10 % @80 % (the link's own confidence beats the "High" option's 0.9):
    # I = 100 · 0.1 · 0.8 · u, u = 1 (no start / deadline)
    assert one["impact"] == pytest.approx(8.0) and one["effort"] == 3.0
    assert one["links"][1] == {"kpi": "churn", "lift": None, "confidence": 0.9}
    assert one["url"] == f"{CLOUD}/browse/ROAD-1" and one["status"] == "To Do"
    two = items["ROAD-2"]   # from the description's KPI impact section, up to the next heading
    assert [(ln["kpi"], ln["lift"]) for ln in two["links"]] == [("churn", -0.07), ("activation", 0.02)]
    assert items["ROAD-3"]["flags"] == ["unreadable-confidence", "unreadable-impact:1", "effort-defaulted"]
    assert "ROAD-4" not in items


@responses.activate
def test_page_smaller_than_asked_still_follows_the_token(ws):
    fake = FakeJira(responses.mock, [issue(n, impact=adf(para("activation +1%"))) for n in range(1, 8)], page=3)
    assert run(ws(), "sync").exit_code == 0
    assert [s.get("nextPageToken") for s in fake.searches] == [None, "3", "6"]
    assert all(s["maxResults"] == 100 for s in fake.searches)


@responses.activate
def test_429_then_success_honours_retry_after(ws, monkeypatch):
    waits = []
    monkeypatch.setattr("connectors.http.time.sleep", waits.append)
    fake = FakeJira(responses.mock, backlog())
    fake.faults.append(("search/jql", 429, {"Retry-After": "7"}, {"errorMessages": ["Rate limit exceeded"]}))
    fake.faults.append(("search/jql", 503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, {}))
    res = run(ws(), "sync")
    assert res.exit_code == 0
    assert waits[0] == 7.0 and waits[1] == 0.0      # a date in the past: no wait needed
    assert len(ranked(ws())) == 4


@responses.activate
def test_503_without_retry_after_backs_off_with_jitter_then_gives_up(ws, monkeypatch):
    waits = []
    monkeypatch.setattr("connectors.http.time.sleep", waits.append)
    fake = FakeJira(responses.mock, backlog())
    fake.faults += [("search/jql", 503, {}, {})] * 6
    res = run(ws(), "sync")
    assert res.exit_code == 3 and "503" in res.output and "try again later" in res.output
    for wait, base in zip(waits, (2, 4, 8, 16, 32)):
        assert 0.7 * base <= wait <= 1.3 * base


@responses.activate
def test_401_ends_with_exit_3_and_says_what_to_check(ws):
    fake = FakeJira(responses.mock, backlog())
    fake.faults.append(("myself", 401, {}, {"errorMessages": ["Client must be authenticated"]}))
    res = run(ws(), "sync")
    assert res.exit_code == 3
    assert "401 unauthorized: check the email and API token" in res.output
    assert "pm@acme.com" not in res.output


@responses.activate
def test_bad_jql_shows_jiras_error_messages(ws):
    fake = FakeJira(responses.mock, backlog())
    fake.faults.append(("approximate-count", 400, {}, {
        "errorMessages": ["Field 'projct' does not exist or you do not have permission to view it."]}))
    res = run(ws(), "sync")
    assert res.exit_code == 3
    assert "Jira refused the JQL: Field 'projct' does not exist" in res.output


@responses.activate
def test_field_names_are_resolved_once_and_unknown_names_are_bad_input(ws):
    fake = FakeJira(responses.mock, backlog())
    res = run(ws(effort="Story point estimate"), "sync")
    assert res.exit_code == 0
    assert fake.requests.count("GET /rest/api/3/field") == 1
    assert ranked(ws(effort="Story point estimate"))["ROAD-1"]["effort"] == 3.0
    res = run(ws(effort="Story pints"), "sync")
    assert res.exit_code == 2
    assert "connectors.backlog.fields.effort: Jira has no field named 'Story pints'" in res.output


@responses.activate
def test_original_estimate_seconds_are_read_as_8_hour_days(ws):
    FakeJira(responses.mock, [issue(1, impact=adf(para("activation +1%")),
                                    extra={"timeoriginalestimate": 57600})])
    cfg = ws(effort="timeoriginalestimate")
    assert run(cfg, "sync").exit_code == 0
    assert ranked(cfg)["ROAD-1"]["effort"] == 2.0


@responses.activate
def test_incremental_jql_is_written_in_the_users_time_zone_with_overlap(ws):
    fake = FakeJira(responses.mock, backlog(), page=10)
    cfg = ws()
    run(cfg, "sync")
    fake.searches.clear()
    before = len(fake.requests)
    res = run(cfg, "sync")
    assert res.exit_code == 0
    # newest updated 10:15:30 UTC, minus 2 minutes overlap, in Berlin (UTC+2): 12:13
    assert fake.searches[0]["jql"] == ('(project = ROAD AND statusCategory != Done) AND updated >= '
                                       '"2026-07-01 12:13" ORDER BY updated ASC')
    # no change: the count and one search page, nothing else (time zone kept in the bookmark)
    assert fake.requests[before:] == ["POST /rest/api/3/search/approximate-count", "POST /rest/api/3/search/jql"]


@responses.activate
def test_issues_that_left_the_query_leave_the_ranking_and_keep_history(ws):
    issues = backlog()
    fake = FakeJira(responses.mock, issues, page=10)
    cfg = ws()
    run(cfg, "sync")
    issues[0]["fields"]["status"]["statusCategory"]["key"] = "done"   # ROAD-1 moved to Done
    issues[0]["fields"]["updated"] = "2026-07-02T08:00:00.000+0000"
    del issues[4]                                                      # ROAD-5 deleted
    res = run(cfg, "sync")
    assert res.exit_code == 0 and "2 removed" in res.output
    assert set(ranked(cfg)) == {"ROAD-2", "ROAD-3"}
    assert fake.searches[-1]["fields"] == ["id"]                       # the ids-only pass
    from app.config import load_settings
    from app.store import Store
    raw, active = Store(load_settings(cfg).database_url).raw_records("backlog")["ROAD-5"]
    assert active is False and json.loads(raw)["key"] == "ROAD-5"   # history kept


@responses.activate
def test_full_flag_and_a_changed_jql_force_a_full_pull(ws):
    fake = FakeJira(responses.mock, backlog(), page=10)
    cfg = ws()
    run(cfg, "sync")
    run(cfg, "sync", "--full")
    assert "updated >=" not in fake.searches[-1]["jql"]
    cfg = ws(extra='page_size = 50')
    run(cfg, "sync")
    assert "updated >=" not in fake.searches[-1]["jql"]


@responses.activate
def test_malformed_issue_is_skipped_counted_and_named(ws):
    broken = issue(9)
    broken["fields"]["summary"] = None
    FakeJira(responses.mock, backlog() + [broken])
    res = run(ws(), "sync")
    assert res.exit_code == 0
    assert "backlog: skipped ROAD-9: no summary" in res.output and "1 skipped" in res.output


@responses.activate
def test_a_sync_failing_part_way_keeps_the_last_ranking_then_resumes(ws):
    issues = [issue(n, impact=adf(para("activation +1%")), updated=f"2026-07-01T10:{n:02d}:00.000+0000")
              for n in range(1, 7)]
    fake = FakeJira(responses.mock, issues, page=2)
    cfg = ws()
    run(cfg, "sync")
    assert set(ranked(cfg)) == {f"ROAD-{n}" for n in range(1, 7)}
    for n, it in enumerate(issues):
        it["fields"]["summary"] = f"Renamed {n + 1}"
        it["fields"]["updated"] = f"2026-07-03T10:{n:02d}:00.000+0000"
    fake.searches.clear()
    # page 1 arrives, then Jira keeps failing
    state = {"calls": 0}
    original = fake._search_cloud

    def flaky(request):
        state["calls"] += 1
        return original(request) if state["calls"] == 1 else (500, {}, "{}")
    responses.mock.remove(responses.POST, f"{CLOUD}/rest/api/3/search/jql")
    responses.mock.add_callback(responses.POST, f"{CLOUD}/rest/api/3/search/jql", callback=flaky)
    res = run(cfg, "sync")
    assert res.exit_code == 3
    assert {it["title"] for it in ranked(cfg).values()} == {f"Initiative {n}" for n in range(1, 7)}
    responses.mock.remove(responses.POST, f"{CLOUD}/rest/api/3/search/jql")
    responses.mock.add_callback(responses.POST, f"{CLOUD}/rest/api/3/search/jql", callback=original)
    res = run(cfg, "sync")
    assert res.exit_code == 0
    # resumed after the page that had arrived: from its newest update (10:01 UTC) minus overlap, in Berlin
    assert '"2026-07-03 11:59"' in fake.searches[-2]["jql"] or '"2026-07-03 11:59"' in fake.searches[-1]["jql"]
    assert {it["title"] for it in ranked(cfg).values()} == {f"Renamed {n}" for n in range(1, 7)}


@responses.activate
def test_data_center_pages_with_start_at_and_bearer_pat(ws):
    issues = [issue(n, description=f"h2. KPI impact\n* activation +{n}%\nh2. Notes\nchurn -9%", points=1)
              for n in range(1, 6)]
    fake = FakeJira(responses.mock, issues, base=DC, page=2, cloud=False)
    cfg = ws(url=DC, auth="", extra='deployment = "datacenter"')
    res = run(cfg, "sync")
    assert res.exit_code == 0, res.output
    pages = [s for s in fake.searches if s["maxResults"]]
    assert [s["startAt"] for s in pages] == [0, 2, 4]
    assert responses.calls[-1].request.headers["Authorization"] == f"Bearer {SECRET}"
    items = ranked(cfg)
    assert [ln["kpi"] for ln in items["ROAD-3"]["links"]] == ["activation"]
    assert items["ROAD-3"]["impact"] == pytest.approx(100 * 0.03 * 0.5)


def test_data_center_deep_windows_restart_from_the_last_update():
    from connectors.http import HttpClient
    from datetime import timedelta

    from connectors.jira import parse_updated
    from connectors.jira.api import DataCenterApi
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeJira(rsps, [issue(n, updated=f"2026-07-01T{n // 60:02d}:{n % 60:02d}:00.000+0000")
                               for n in range(25)], base=DC, page=4, cloud=False)
        api = DataCenterApi(HttpClient("dc", DC), "dc")
        # the fake's user is in Berlin (UTC+2 in July)
        api.jql_time = lambda u: (parse_updated(u) + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
        got = [i["key"] for page in api.search("project = ROAD ORDER BY updated ASC", ["summary", "updated"], 4,
                                               window=10) for i in page]
    assert got == [f"ROAD-{n}" for n in range(25)]
    assert any('updated >= "' in s["jql"] for s in fake.searches)
    assert max(s["startAt"] for s in fake.searches) < 10


@responses.activate
def test_push_writes_only_what_changed_and_clears_what_left(ws):
    issues = backlog()
    fake = FakeJira(responses.mock, issues, page=10)
    cfg = ws()
    run(cfg, "sync")
    res = run(cfg, "push", "--dry-run")
    assert "4 written, 0 unchanged, 0 cleared, 0 failed" in res.output and fake.puts == []
    res = run(cfg, "push")
    assert res.exit_code == 0 and "4 written, 0 unchanged, 0 cleared, 0 failed" in res.output
    key, body, params = fake.puts[0]
    assert params == {"notifyUsers": ["false"]}
    assert body == {"fields": {"customfield_10050": ranked(cfg)[key]["score"],
                               "customfield_10051": ranked(cfg)[key]["rank"]}}
    fake.puts.clear()
    res = run(cfg, "push")
    assert "0 written, 4 unchanged, 0 cleared" in res.output and fake.puts == []
    del issues[4]
    run(cfg, "sync")
    res = run(cfg, "push")
    assert "0 cleared" not in res.output and "1 cleared" in res.output
    assert ("ROAD-5", {"fields": {"customfield_10050": None, "customfield_10051": None}},
            {"notifyUsers": ["false"]}) in fake.puts


@responses.activate
def test_push_names_a_field_missing_from_the_screen_and_falls_back_on_notifications(ws):
    fake = FakeJira(responses.mock, backlog(), page=10)
    cfg = ws()
    run(cfg, "sync")
    fake.admin = False
    fake.put_errors["ROAD-2"] = (400, {"errorMessages": [], "errors": {
        "customfield_10050": "Field 'customfield_10050' cannot be set. It is not on the appropriate screen, "
                             "or unknown."}})
    res = run(cfg, "push")
    assert res.exit_code == 3
    assert "Jira refused field score (customfield_10050): it is not on the issue's edit screen" in res.output
    assert "Jira refused notifyUsers=false (it needs admin permission)" in res.output
    assert res.output.count("notifyUsers=false") == 1
    assert "3 written, 0 unchanged, 0 cleared, 1 failed" in res.output
    assert all(p == {} for _k, _b, p in fake.puts)

