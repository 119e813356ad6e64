"""`POST /api/v1/webhooks/jira`: a Jira edit reaches the ranking in seconds.

Jira (admin webhooks, Cloud and Data Center 10+) signs the raw body with HMAC-SHA256 of
the secret given at registration and sends `X-Hub-Signature: sha256=<hex>`; it retries
on 5xx and timeouts with the same `X-Atlassian-Webhook-Identifier`, and may deliver late.
So: the signature is checked over the raw bytes with a constant-time compare before
anything is parsed (401, nothing queued); a delivery id already seen is answered 200 and
queues nothing, and so is a body already accepted under another id within the window (Jira
signs only the body, so a captured delivery could be sent again under fresh ids); an event
whose `timestamp` is older than the window is refused (400); the changed issues' keys are kept as the job's hint, and the sync re-reads
them from Jira (the payload is never trusted as data). An edit that only touches the
score or rank fields `roadmap push` writes is ignored, so pushing cannot start a loop of
webhooks and re-ranking.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time

from flask import Blueprint, jsonify, request

from app.logs import log
from app.store import queue as q
from app.web.state import ApiError, workspace
from app.web.operations.sync import job_json, runner

webhooks = Blueprint("webhooks", __name__)
logger = logging.getLogger("roadmap.webhooks")
MAX_BODY = 1024 * 1024          # Jira issue payloads are a few kB to a few hundred kB
ISSUE_EVENTS = {"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"}
LINK_EVENTS = {"issuelink_created", "issuelink_deleted"}


def _secret() -> bytes:
    var = workspace().settings.service.webhook_secret_env
    value = os.environ.get(var) if var else None
    if not value:
        raise ApiError(404, "webhooks-off",
                       "Jira webhooks are off: set [service] webhook_secret_env to the name of an environment "
                       "variable and export the webhook's secret in it" if not var else
                       f"Jira webhooks are off: the environment variable {var} "
                       "([service] webhook_secret_env) is not set")
    return value.encode()


def _raw_body() -> bytes:
    if (request.content_length or 0) > MAX_BODY:
        raise ApiError(413, "too-large", f"a webhook body may hold at most {MAX_BODY} bytes")
    # A chunked body has no length: read up to the limit, then one byte more (the app's own
    # MAX_CONTENT_LENGTH stream stops at the limit, or raises 413 itself, past it).
    raw = request.stream.read(MAX_BODY)
    if len(raw) == MAX_BODY and request.stream.read(1):
        raise ApiError(413, "too-large", f"a webhook body may hold at most {MAX_BODY} bytes")
    return raw


def signature_ok(secret: bytes, raw: bytes, header: str) -> bool:
    """`X-Hub-Signature: sha256=<hex>` against HMAC-SHA256 of the raw body, in constant time."""
    want = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want.encode(), header.strip().lower().encode("ascii", "replace"))


def push_fields(settings) -> tuple[dict[str, set[str]], set[str]]:
    """Jira connector name -> the field ids and names `roadmap push` writes (lower case);
    and every Jira connector's name."""
    out: dict[str, set[str]] = {}
    for name, raw in settings.connectors.items():
        if raw.get("type") != "jira":
            continue
        fields = settings.connector_options[name].fields
        out[name] = {f.lower() for f in (fields.score, fields.rank) if f}
    return out, set(out)


def only_pushed_fields(payload: dict, pushed: set[str]) -> bool:
    """True when the changelog touches nothing but fields `roadmap push` writes. Each item
    names its field by id (`fieldId`, Cloud) and by name (`field`); either may match."""
    items = (payload.get("changelog") or {}).get("items") if isinstance(payload.get("changelog"), dict) else None
    if not pushed or not isinstance(items, list) or not items:
        return False
    for item in items:
        if not isinstance(item, dict):
            return False
        names = {str(item.get(k, "")).lower() for k in ("fieldId", "field")} - {""}
        if not names & pushed:
            return False
    return True


def too_old(payload: dict, now: float | None = None) -> str | None:
    """Why an event's `timestamp` (ms since the epoch, Jira's) is refused: older than the
    de-duplication window (a replay the window no longer remembers) or as far in the
    future; None when it is within it, or absent."""
    ts = payload.get("timestamp")
    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or ts != ts:
        return None
    window = q.DELIVERIES_KEPT.total_seconds()
    age = (time.time() if now is None else now) - ts / 1000.0
    if age > window:
        return (f"the event's timestamp is {age / 3600:.0f} hours old, older than the "
                f"{window / 3600:.0f}-hour window in which deliveries are de-duplicated")
    if age < -window:
        return "the event's timestamp lies in the future by more than the de-duplication window"
    return None


def issue_keys(payload: dict) -> list[str]:
    issue = payload.get("issue")
    key = issue.get("key") if isinstance(issue, dict) else None
    return [key[:255]] if isinstance(key, str) and key else []


@webhooks.post("/api/v1/webhooks/jira")
def jira():
    secret = _secret()
    raw = _raw_body()
    if not signature_ok(secret, raw, request.headers.get("X-Hub-Signature", "")):
        log(logger, "webhook refused: bad or missing signature", level=logging.WARNING,
            delivery=request.headers.get("X-Atlassian-Webhook-Identifier", "")[:100])
        raise ApiError(401, "bad-signature", "the X-Hub-Signature header is missing or does not match the body "
                                             "signed with the webhook's secret; nothing was queued")
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad-request", "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "bad-request", "the body is not a JSON object")
    event = str(payload.get("webhookEvent", ""))[:100]
    body_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    delivery = request.headers.get("X-Atlassian-Webhook-Identifier", "").strip()[:255] or body_id
    stale = too_old(payload)
    if stale:
        log(logger, "webhook refused: replayed or stale", level=logging.WARNING, delivery=delivery[:100], why=stale)
        raise ApiError(400, "stale-event", stale + "; nothing was queued")
    settings = workspace().settings
    pushed, jira_names = push_fields(settings)
    if not jira_names:
        raise ApiError(409, "no-jira-connector", "no connector of type jira is configured; nothing to sync")
    reason = None
    if event not in ISSUE_EVENTS | LINK_EVENTS:
        reason = f"event {event or '(none)'} does not change the ranking"
    elif event == "jira:issue_updated" and only_pushed_fields(payload, set().union(*pushed.values())):
        reason = "only the score or rank fields that `roadmap push` writes changed"
    if reason:
        log(logger, "webhook ignored", webhook_event=event, delivery=delivery[:100], reason=reason)
        return jsonify({"status": "ignored", "reason": reason})
    keys = issue_keys(payload)
    # the body's hash too: Jira's signature covers only the body, so a captured delivery sent
    # again under a fresh id is the same body, a duplicate within the de-duplication window
    job, how = q.enqueue(workspace().store, "webhook", scope=sorted(jira_names), hint=keys,
                         delivery=(delivery, body_id))
    log(logger, "webhook accepted", webhook_event=event, delivery=delivery[:100], issues=keys,
        job=job["id"] if job else None, how=how)
    if how == "duplicate":
        body = {"status": "duplicate", "delivery": delivery}
        if job:
            body["job"] = job_json(job)
        return jsonify(body)
    runner().kick()
    out = job_json(job)
    out["joined"] = how == "joined"
    resp = jsonify(out)
    resp.status_code = 202
    return resp
