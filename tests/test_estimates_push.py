"""`roadmap push --estimates` against the fake Jira Cloud (tests/jira_fake.py, real-shaped
v3 payloads): the stored estimates are written into the impact field as lines with `by`,
a person's stored estimate replaces their own line, no other line is ever deleted, and a
second push writes nothing (docs/cli.md "Commands")."""
from __future__ import annotations

import responses

from tests.jira_fake import FakeJira, adf, issue, para
from tests.test_jira import run, ws  # noqa: F401  (fixture)

REPORTER = {"reporter": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Rita Reporter",
                         "emailAddress": "rita@acme.com", "active": True}}


def issues():
    return [issue(1, impact=adf(para("activation +10% @80%"), para("churn -2% by bob")), points=3,
                  extra=REPORTER),
            issue(2, impact=adf(para("churn -5%")), points=2, extra=REPORTER)]


@responses.activate
def test_push_estimates_adds_lines_with_by_and_keeps_every_other_line(ws):  # noqa: F811
    backlog = issues()
    fake = FakeJira(responses.mock, backlog, page=10)
    cfg = ws()
    assert run(cfg, "sync").exit_code == 0
    assert run(cfg, "estimate", "ROAD-1", "activation +4% @50%", "--by", "alice").exit_code == 0
    assert run(cfg, "estimate", "ROAD-1", "churn -6% @90%", "--by", "Bob").exit_code == 0
    res = run(cfg, "push", "--estimates", "--dry-run")
    assert res.exit_code == 0 and fake.puts == []
    res = run(cfg, "push", "--estimates")
    assert res.exit_code == 0, res.output
    impact = {key: body["fields"].get("customfield_10040") for key, body, _p in fake.puts}
    assert set(impact) >= {"ROAD-1"} and impact.get("ROAD-2") is None
    lines = [p["content"][0]["text"] for p in impact["ROAD-1"]["content"]]
    # the reporter's line stays; bob's own line is replaced by his stored one; alice's is added
    assert lines == ["activation +10% @80%", "churn -6% @90% by Bob", "activation +4% @50% by alice"]
    # Jira now holds the lines (as the PUT asked): the next sync reads them, the next push writes nothing
    backlog[0]["fields"]["customfield_10040"] = impact["ROAD-1"]
    backlog[0]["fields"]["updated"] = "2026-07-02T10:00:00.000+0000"
    fake.puts.clear()
    assert run(cfg, "sync").exit_code == 0
    assert run(cfg, "push", "--estimates").exit_code == 0
    assert not any("customfield_10040" in body["fields"] for _k, body, _p in fake.puts)


@responses.activate
def test_the_reporter_is_the_estimator_of_lines_without_by(ws):  # noqa: F811
    FakeJira(responses.mock, issues(), page=10)
    cfg = ws()
    assert run(cfg, "sync").exit_code == 0
    assert run(cfg, "estimate", "ROAD-2", "churn -9% @50%", "--by", "alice").exit_code == 0
    import json
    items = {it["key"]: it for it in json.loads(run(cfg, "score", "--format", "json").output)["items"]}
    (link,) = items["ROAD-2"]["links"]
    assert [e["by"] for e in link["estimators"]] == ["Rita Reporter", "alice"]
    assert "rita@acme.com" not in json.dumps(items)

