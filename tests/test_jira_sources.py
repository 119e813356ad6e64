"""The Jira connector against what real Jira sites send: a site at its own address,
odd ADF documents, servers that repeat a page, push --dry-run's change list, echoed
credentials, and the team / mandatory / blocker fields (shapes in tests/fixtures)."""
from __future__ import annotations

import pytest
import responses

from tests.jira_fake import CLOUD, DC, FakeJira, adf, issue, para
from tests.test_jira import SECRET, backlog, ranked, run, ws  # noqa: F401 - ws is a fixture


CUSTOM = "https://jira.acme.example"


@responses.activate
def test_a_cloud_site_at_a_custom_address_is_asked_what_it_is(ws):
    fake = FakeJira(responses.mock, backlog(), base=CUSTOM, page=10)
    res = run(ws(url=CUSTOM), "sync")
    assert res.exit_code == 0, res.output
    assert fake.requests[0] == "GET /rest/api/2/serverInfo"           # deploymentType: Cloud
    assert "POST /rest/api/3/search/jql" in fake.requests and len(ranked(ws(url=CUSTOM))) == 4


@responses.activate
def test_a_data_center_at_a_custom_address_is_asked_too(ws):
    issues = [issue(1, description="h2. KPI impact\n* *activation* +3%", points=1)]
    fake = FakeJira(responses.mock, issues, base=DC, page=10, cloud=False)
    cfg = ws(url=DC, auth="")
    assert run(cfg, "sync").exit_code == 0
    assert fake.requests[0] == "GET /rest/api/2/serverInfo"           # deploymentType: Server
    assert [ln["kpi"] for ln in ranked(cfg)["ROAD-1"]["links"]] == ["activation"]   # marks off the id


@responses.activate
def test_odd_adf_documents_are_skipped_by_key_and_the_rest_goes_in(ws):
    deep = para("activation +1%")
    for _ in range(225):                    # 450 nodes deep: a list item in a list, over and over
        deep = {"type": "bulletList", "content": [{"type": "listItem", "content": [deep]}]}
    odd = [issue(6, description={"type": "doc", "content": 5}),                      # content a number
           issue(7, description={"type": "doc", "attrs": [1], "content": [
               {"type": "heading", "attrs": {"level": "two"}, "content": [{"type": "text", "text": "KPI impact"}]},
               {"type": "orderedList", "attrs": {"order": "a"}, "content": [
                   {"type": "listItem", "content": [para("activation +2%")]}]},
               {"type": "date", "attrs": {"timestamp": "99999999999999999999999"}}]}),
           issue(8, description=adf(deep))]
    FakeJira(responses.mock, backlog() + odd, page=10)
    res = run(ws(), "sync")
    assert res.exit_code == 0, res.output
    assert "backlog: skipped ROAD-8: the document is nested deeper than 100 levels" in res.output
    assert "1 skipped" in res.output and "Traceback" not in res.output
    items = ranked(ws())
    assert {"ROAD-6", "ROAD-7"} <= set(items) and "ROAD-8" not in items
    assert items["ROAD-7"]["links"] == [{"kpi": "activation", "lift": 0.02, "confidence": 0.5}]


@responses.activate
def test_a_repeated_next_page_token_stops_the_sync_with_a_clear_error(ws):
    responses.add(responses.GET, f"{CLOUD}/rest/api/3/myself", json={"timeZone": "UTC"})
    responses.add(responses.POST, f"{CLOUD}/rest/api/3/search/approximate-count", json={"count": 4})
    responses.add(responses.POST, f"{CLOUD}/rest/api/3/search/jql",
                  json={"issues": [issue(1, impact=adf(para("activation +1%")))], "nextPageToken": "CAEaAggD",
                        "isLast": False})
    res = run(ws(), "sync")
    assert res.exit_code == 3
    assert "the server sent the same nextPageToken (CAEaAggD) twice; paging stopped" in res.output
    assert len([c for c in responses.calls if "search/jql" in c.request.url]) == 2


@responses.activate
def test_data_center_ignoring_start_at_is_a_clear_error(ws):
    responses.add(responses.GET, f"{DC}/rest/api/2/myself", json={"timeZone": "UTC"})
    page = {"startAt": 0, "maxResults": 2, "total": 6, "issues": [issue(1), issue(2)]}
    responses.add(responses.POST, f"{DC}/rest/api/2/search", json=page)        # the same page for every startAt
    res = run(ws(url=DC, auth="", extra='deployment = "datacenter"'), "sync")
    assert res.exit_code == 3 and "(the server ignores startAt); paging stopped" in res.output


@responses.activate
def test_push_dry_run_lists_each_change(ws):
    FakeJira(responses.mock, backlog(), page=10)
    cfg = ws()
    run(cfg, "sync")
    res = run(cfg, "push", "--dry-run")
    score = ranked(cfg)["ROAD-1"]["score"]
    assert f"backlog: ROAD-1 score: None -> {score}" in res.output
    assert "backlog: ROAD-1 rank: None -> 1" in res.output
    assert res.output.count("backlog: ROAD-") == 8          # 4 items x (score, rank)


@responses.activate
def test_an_echoed_basic_auth_string_never_reaches_the_output(ws):
    import base64
    pair = base64.b64encode(f"pm@acme.com:{SECRET}".encode()).decode()
    fake = FakeJira(responses.mock, backlog())
    fake.faults.append(("approximate-count", 400, {}, {"errorMessages": [
        f"Bad request; you sent Authorization: Basic {pair}"]}))
    res = run(ws(), "sync")
    assert res.exit_code == 3 and pair not in res.output and "Authorization: ***" in res.output


def _connector(**fields):
    from connectors.jira import JiraConnector, JiraOptions
    conn = JiraConnector("backlog", JiraOptions(url=CLOUD, token_env="T", jql="project = ROAD",
                                                fields=fields, confidence_levels={"High": 0.9, "Low": 0.5}))
    conn.field_ids = dict(fields)
    return conn


def test_team_mandatory_multi_select_confidence_and_blockers_are_read():
    from tests.fixtures.payloads import (BLOCKED_BY_ROAD_7, BLOCKS_ROAD_8, CHECKBOX_SET, COMPONENTS,
                                         MULTI_SELECT_HIGH, RELATES_ROAD_9, TEAM_FIELD)
    conn = _connector(team="customfield_10001", mandatory="customfield_10060", confidence="customfield_10031")
    it = issue(1, extra={"customfield_10001": TEAM_FIELD, "customfield_10060": CHECKBOX_SET,
                         "customfield_10031": MULTI_SELECT_HIGH,
                         "issuelinks": [BLOCKED_BY_ROAD_7, BLOCKS_ROAD_8, RELATES_ROAD_9]})
    rec = conn.record(it)
    assert (rec.team, rec.mandatory, rec.confidence, rec.blocked_by) == ("Growth squad", True, 0.9, ("ROAD-7",))
    unset = conn.record(issue(2, extra={"customfield_10001": None, "customfield_10060": None,
                                        "customfield_10031": [{"value": "High"}, {"value": "Low"}]}))
    assert (unset.team, unset.mandatory, unset.confidence) == ("", False, 0.5)     # several options: the lowest
    by_component = _connector(team="components", mandatory="customfield_10060")
    rec = by_component.record(issue(3, extra={"components": COMPONENTS, "customfield_10060": {"value": "No"}}))
    assert (rec.team, rec.mandatory) == ("Payments", False)
    assert conn.record(issue(4, extra={"customfield_10031": [{"value": "Unsure"}]})).flags == \
        ("unreadable-confidence",)


def test_the_field_roles_list_and_the_options_agree():
    from connectors.jira import ROLES, JiraFields
    assert set(ROLES) == set(JiraFields.model_fields) and {"team", "mandatory"} <= set(ROLES)


def test_a_page_nested_deeper_than_the_parsers_default_limit_still_parses():
    import requests as rq

    from connectors.jira.api import parse_page
    resp = rq.Response()
    resp.status_code = 200
    resp._content = ('{"issues": [{"key": "ROAD-1", "fields": {"description": '
                     + '{"content": [' * 3000 + '1' + ']}' * 3000 + '}}]}').encode()
    with pytest.raises(RecursionError):
        resp.json()
    assert parse_page(resp)["issues"][0]["key"] == "ROAD-1"


@responses.activate
def test_a_site_that_hides_server_info_is_taken_for_data_center(ws):
    issues = [issue(1, description="h2. KPI impact\n* activation +3%", points=1)]
    fake = FakeJira(responses.mock, issues, base=DC, page=10, cloud=False)
    fake.faults.append(("serverInfo", 401, {}, {"errorMessages": ["You are not authenticated."]}))
    cfg = ws(url=DC, auth="")
    assert run(cfg, "sync").exit_code == 0
    assert "POST /rest/api/2/search" in fake.requests
