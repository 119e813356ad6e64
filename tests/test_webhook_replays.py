"""Webhook replays (app/web/operations/webhooks.py): Jira's HMAC covers only the body, so a
captured signed delivery could be sent again under fresh `X-Atlassian-Webhook-Identifier`s.
A body already accepted within the de-duplication window (one day) is a duplicate whatever
its id; an event whose `timestamp` is older than the window is refused and queues nothing.
Payloads and headers: tests/test_webhooks.py's recorded Jira Cloud delivery."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from app.store import queue as q
from app.web.operations.webhooks import too_old
from tests.test_webhooks import NOW_MS, client, deliver, issue_updated, jobs, ws  # noqa: F401 - fixtures


def test_the_same_body_under_fresh_delivery_ids_is_a_duplicate(client, ws):
    raw = json.dumps(issue_updated()).encode()
    first = deliver(client, None, raw=raw, delivery="id-1")
    assert first.status_code == 202
    for fresh in ("id-2", "id-3", "00000000-0000-0000-0000-000000000000"):
        again = deliver(client, None, raw=raw, delivery=fresh)
        assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
        assert again.get_json()["job"]["id"] == first.get_json()["id"]
    assert len(jobs(ws)) == 1


def test_a_body_accepted_longer_ago_than_the_window_is_accepted_again(client, ws):
    raw = json.dumps(issue_updated()).encode()
    assert deliver(client, None, raw=raw, delivery="id-1").status_code == 202
    with ws.store.engine.begin() as c:      # the first delivery as if a day and a minute ago
        c.execute(update(q.s.webhook_deliveries).values(
            received_at=q.now() - q.DELIVERIES_KEPT - timedelta(minutes=1)))
    with ws.store.engine.begin() as c:      # its job done, so a new one is queued
        c.execute(update(q.s.jobs).values(status="ok"))
    assert deliver(client, None, raw=raw, delivery="id-2").status_code == 202
    assert len(jobs(ws)) == 2


def test_an_event_older_than_the_window_is_refused(client, ws):
    old = issue_updated()
    old["timestamp"] = NOW_MS - 25 * 3600 * 1000                      # 25 hours ago
    res = deliver(client, old, delivery="late-1")
    assert res.status_code == 400
    err = res.get_json()["error"]
    assert err["code"] == "stale-event"
    assert err["message"] == ("the event's timestamp is 25 hours old, older than the 24-hour window in which "
                              "deliveries are de-duplicated; nothing was queued")
    assert jobs(ws) == []


def test_timestamps_within_the_window_or_absent_are_accepted():
    now = 1_782_906_930.0                                               # 2026-07-01T11:55:30Z
    assert too_old({"timestamp": 1_782_906_930_000 - 23 * 3600 * 1000}, now) is None
    assert too_old({}, now) is None and too_old({"timestamp": "x"}, now) is None
    assert too_old({"timestamp": True}, now) is None
    assert "older than the 24-hour window" in too_old({"timestamp": 1_782_906_930_000 - 86_401_000}, now)
    assert "in the future" in too_old({"timestamp": 1_782_906_930_000 + 86_401_000}, now)


def test_a_bad_signature_is_refused_before_the_timestamp_is_read(client, ws):
    old = issue_updated()
    old["timestamp"] = 0
    assert deliver(client, old, signature="sha256=" + "0" * 64).status_code == 401
