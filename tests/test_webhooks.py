"""Jira webhooks (`POST /api/v1/webhooks/jira`): signature over the raw body, de-duplication
by delivery id, the changed issue kept as a hint, a bounded body, and no loop from
`roadmap push` writing score and rank.

The payloads follow Atlassian's documented shape of an issue event (developer.atlassian.com,
Jira Cloud platform, "Webhooks": example callback for an issue-related event, with
`changelog.items[]` of `field`, `fieldtype`, `fieldId`, `from`, `fromString`, `to`,
`toString`), trimmed to the keys that matter here; the headers are those a delivery
carries (`X-Hub-Signature: sha256=<hex>`, `X-Atlassian-Webhook-Identifier`).
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
import logging

import pytest

from app import create_app
from app.config import load_settings
from app.services import Workspace
from app.store import queue as q

SECRET = "It's a Secret to Everybody"
# Jira's `timestamp` (ms since the epoch): the recorded payloads' 1782906930000 (2026-07-01)
# moved to this run's time, since an event older than the de-duplication window is refused
NOW_MS = int(time.time() * 1000)
CONFIG = """
[service]
webhook_secret_env = "ROADMAP_WEBHOOK_SECRET"
log_format = "json"

[[objectives]]
id = "revenue"
weight = 1

[[kpis]]
id = "nps"

[[edges]]
from = "nps"
to = "revenue"
weight = 1

[connectors.backlog]
type = "jira"
url = "https://acme.atlassian.net"
email = "pm@acme.com"
token_env = "JIRA_API_TOKEN"
jql = "project = ROAD"
[connectors.backlog.fields]
score = "customfield_10050"
rank = "Roadmap rank"
"""


def issue_updated(key="ROAD-3", items=None):
    user = {"self": "https://acme.atlassian.net/rest/api/2/user?accountId=5b10a2844c20165700ede21g",
            "accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof", "active": True,
            "timeZone": "Europe/Berlin", "accountType": "atlassian"}
    return {
        "timestamp": NOW_MS, "webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_generic",
        "user": user,
        "issue": {"id": "10003", "self": "https://acme.atlassian.net/rest/api/2/10003", "key": key,
                  "fields": {"summary": "NPS survey in app", "updated": "2026-07-01T10:15:30.000+0000",
                             "customfield_10040": "nps +20%"}},
        "changelog": {"id": "10105", "items": items if items is not None else [
            {"field": "Impact", "fieldtype": "custom", "fieldId": "customfield_10040", "from": None,
             "fromString": "nps +10%", "to": None, "toString": "nps +20%"}]},
    }


def push_items():
    """What `roadmap push` changes: the score field by id and the rank field by its name."""
    return [{"field": "Roadmap score", "fieldtype": "custom", "fieldId": "customfield_10050", "from": None,
             "fromString": "1.2", "to": None, "toString": "2.0"},
            {"field": "Roadmap rank", "fieldtype": "custom", "fieldId": "customfield_10051", "from": None,
             "fromString": "3", "to": None, "toString": "1"}]


def sign(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    monkeypatch.setenv("ROADMAP_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("JIRA_API_TOKEN", "jira-token-value")
    (tmp_path / "roadmap.toml").write_text(CONFIG)
    w = Workspace(load_settings(tmp_path / "roadmap.toml"))
    q.seen_worker(w.store, "a-worker:1:x")      # a live worker: the web only queues (no Jira here)
    yield w
    w.close()


@pytest.fixture
def client(ws):
    return create_app(workspace=ws).test_client()


def deliver(client, payload, *, delivery="b2a1c4e2-6d0e-4f1a-9c3b-1f1d2a3b4c5d", signature=None, raw=None):
    raw = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": delivery,
               "X-Atlassian-Webhook-Flow": "Primary"}
    if signature is not False:
        headers["X-Hub-Signature"] = sign(raw) if signature is None else signature
    return client.post("/api/v1/webhooks/jira", data=raw, headers=headers)


def jobs(ws):
    with ws.store.engine.connect() as c:
        return [q.as_dict(r) for r in c.execute(q.s.jobs.select().order_by(q.s.jobs.c.id))]


def test_a_signed_edit_queues_one_sync_of_the_changed_issue(client, ws):
    res = deliver(client, issue_updated())
    assert res.status_code == 202
    body = res.get_json()
    assert body["status"] == "queued" and body["kind"] == "webhook" and body["scope"] == ["backlog"]
    assert [(j["kind"], j["scope"], j["hint"]) for j in jobs(ws)] == [("webhook", "backlog", "ROAD-3")]
    assert client.get(body["status_url"]).get_json()["id"] == body["id"]


def test_the_same_delivery_three_times_queues_one_sync(client, ws):
    answers = [deliver(client, issue_updated()) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert [a.get_json()["status"] for a in answers[1:]] == ["duplicate", "duplicate"]
    assert answers[2].get_json()["job"]["id"] == answers[0].get_json()["id"]
    assert len(jobs(ws)) == 1


def test_another_delivery_joins_the_queued_sync_with_its_issue(client, ws):
    deliver(client, issue_updated("ROAD-3"))
    res = deliver(client, issue_updated("ROAD-9"), delivery="another-delivery")
    assert res.status_code == 202 and res.get_json()["joined"] is True
    assert [j["hint"] for j in jobs(ws)] == ["ROAD-3 ROAD-9"]


@pytest.mark.parametrize("signature", [False, "sha256=" + "0" * 64, "sha1=abc", "", "sha256=zz"])
def test_a_missing_or_wrong_signature_is_401_and_queues_nothing(client, ws, signature):
    res = deliver(client, issue_updated(), signature=signature)
    assert res.status_code == 401 and res.get_json()["error"]["code"] == "bad-signature"
    assert jobs(ws) == []


def test_a_signature_made_with_another_secret_or_over_other_bytes_is_refused(client, ws):
    raw = json.dumps(issue_updated()).encode()
    assert deliver(client, None, raw=raw, signature=sign(raw, "guess")).status_code == 401
    reformatted = json.dumps(issue_updated(), indent=2).encode()     # same JSON, other bytes
    assert deliver(client, None, raw=reformatted, signature=sign(raw)).status_code == 401
    assert jobs(ws) == []


def test_no_secret_configured_refuses_every_delivery(client, ws, monkeypatch):
    monkeypatch.delenv("ROADMAP_WEBHOOK_SECRET")
    res = deliver(client, issue_updated(), signature=sign(b"", ""))
    assert res.status_code == 404 and "ROADMAP_WEBHOOK_SECRET" in res.get_json()["error"]["message"]
    ws.settings.service.webhook_secret_env = None
    res = deliver(client, issue_updated())
    assert res.status_code == 404 and "webhook_secret_env" in res.get_json()["error"]["message"]
    assert jobs(ws) == []


def test_a_body_over_the_limit_is_413(client, ws):
    raw = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    assert deliver(client, None, raw=raw).status_code == 413
    chunked = client.post("/api/v1/webhooks/jira", input_stream=io.BytesIO(raw),
                          headers={"X-Hub-Signature": sign(raw), "Transfer-Encoding": "chunked"},
                          environ_base={"wsgi.input_terminated": True})   # as gunicorn passes a chunked body
    assert chunked.status_code == 413 and jobs(ws) == []


def test_what_push_writes_does_not_start_a_loop(client, ws):
    res = deliver(client, issue_updated(items=push_items()))
    assert res.status_code == 200 and res.get_json()["status"] == "ignored"
    mixed = push_items() + issue_updated()["changelog"]["items"]     # a person's edit rides along: sync
    assert deliver(client, issue_updated(items=mixed), delivery="d2").status_code == 202
    assert len(jobs(ws)) == 1


def test_events_that_do_not_change_the_ranking_are_ignored(client, ws):
    comment = {"timestamp": NOW_MS, "webhookEvent": "comment_created",
               "comment": {"id": "10000", "body": "LGTM"}, "issue": {"id": "10003", "key": "ROAD-3"}}
    assert deliver(client, comment).get_json()["status"] == "ignored"
    assert jobs(ws) == []


def test_a_signed_body_that_is_not_a_json_object_is_400(client, ws):
    assert deliver(client, None, raw=b"[1, 2]").status_code == 400
    assert deliver(client, None, raw=b"\xff\xfe", delivery="x2").status_code == 400
    assert jobs(ws) == []


def test_logs_are_json_lines_without_the_secrets(client, ws, capsys):
    from app.logs import configure
    stream = io.StringIO()
    configure(ws.settings, stream)
    deliver(client, issue_updated())
    deliver(client, issue_updated(), signature="sha256=" + "1" * 64, delivery="bad")
    logging.getLogger("roadmap.webhooks").info("echo %s and %s", SECRET, "jira-token-value")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(l["level"], l["message"]) for l in lines] == [
        ("info", "webhook accepted"), ("warning", "webhook refused: bad or missing signature"),
        ("info", "echo *** and ***")]
    assert lines[0]["issues"] == ["ROAD-3"] and lines[0]["how"] == "queued"
    assert SECRET not in stream.getvalue() and "jira-token-value" not in stream.getvalue()
