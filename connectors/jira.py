"""The `jira` connector: a JQL query becomes initiatives; score and rank go back.

Cloud (REST v3) or Data Center (REST v2) by `deployment`, defaulting from the URL. After
the first full pull only issues updated since the bookmark are fetched (in the Jira
user's time zone, at minute precision, with an overlap); issues that left the query are
found by comparing counts and, when they differ, a cheap ids-only pass.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field
from requests.auth import HTTPBasicAuth

from connectors.base import Connector, ConnectorOptions, InitiativeRecord, SourceConfigError, SyncRun
from connectors.http import HttpClient
from connectors.jira_api import CloudApi, DataCenterApi, JiraApi, ordered, restrict_since, split_order_by
from connectors.richtext import adf_to_text, wiki_to_text
from scoring.notation import impact_section, read_confidence

OVERLAP = timedelta(minutes=2)       # JQL has minute precision and sources settle late
BASE_FIELDS = ["summary", "status", "issuetype", "labels", "parent", "issuelinks", "created", "updated",
               "resolutiondate", "description"]
ESTIMATE_SECONDS_PER_DAY = 8 * 3600
ROLES = ("effort", "confidence", "impact", "reach", "factor_impact", "ease", "business_value",
         "time_criticality", "risk_reduction", "job_size", "score", "rank")
# taken as field ids without asking Jira; anything else is looked up by id or name in /field
_ID_LIKE = re.compile(r"^(customfield_\d+|timeoriginalestimate|timeestimate|timespent|aggregatetimeoriginalestimate"
                      r"|priority|duedate|summary|description|labels|environment)$")


class JiraFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effort: str | None = None
    confidence: str | None = None
    impact: str | None = None
    reach: str | None = None
    factor_impact: str | None = None
    ease: str | None = None
    business_value: str | None = None
    time_criticality: str | None = None
    risk_reduction: str | None = None
    job_size: str | None = None
    score: str | None = None
    rank: str | None = None


class JiraOptions(ConnectorOptions):
    url: str
    deployment: Literal["cloud", "datacenter"] | None = None
    email: str | None = None
    token_env: str
    jql: str
    fields: JiraFields = JiraFields()
    confidence_levels: dict[str, float] = Field(default_factory=dict)
    page_size: int = Field(default=100, ge=1, le=5000)


class MalformedIssue(ValueError):
    pass


def _number(v: Any) -> float | None:
    if isinstance(v, dict):
        v = v.get("value", v.get("name"))
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError
    return float(v)


def parse_updated(text: str) -> datetime:
    """Jira's `2026-07-01T10:15:30.123+0200` as an aware datetime."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class JiraConnector(Connector):
    type = "jira"
    Options = JiraOptions
    options: JiraOptions

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.field_ids: dict[str, str] = {}
        self._api: JiraApi | None = None
        self.http_options: dict = {}          # tests and benchmarks inject sleep / rng here

    @property
    def deployment(self) -> str:
        if self.options.deployment:
            return self.options.deployment
        host = re.sub(r"^https?://", "", self.options.url).split("/")[0].split(":")[0]
        return "cloud" if host.endswith((".atlassian.net", ".jira.com")) else "datacenter"

    @property
    def api(self) -> JiraApi:
        if self._api is None:
            token = os.environ.get(self.options.token_env, "")
            if self.options.email:
                auth, headers = HTTPBasicAuth(self.options.email, token), {}
            else:
                auth, headers = None, {"Authorization": f"Bearer {token}"}
            http = HttpClient(self.name, self.options.url, auth=auth, headers=headers, **self.http_options)
            self._api = (CloudApi if self.deployment == "cloud" else DataCenterApi)(http, self.name)
        return self._api

    @property
    def requests_made(self) -> int:
        return self._api.http.requests_made if self._api else 0

    # -- fields ------------------------------------------------------------------------
    def prepare(self) -> None:
        """Resolve configured field names to ids (one GET /field, only when a name is given)."""
        configured = {r: v for r, v in self.options.fields.model_dump().items() if v}
        names = {r: v for r, v in configured.items() if not _ID_LIKE.match(v)}
        self.field_ids = {r: v for r, v in configured.items() if r not in names}
        if not names:
            return
        catalogue = self.api.fields()
        by_name = {str(f.get("name", "")).lower(): f["id"] for f in catalogue if "id" in f}
        ids = {f["id"] for f in catalogue if "id" in f}
        problems = []
        for role, name in names.items():
            if name in ids:
                self.field_ids[role] = name
            elif name.lower() in by_name:
                self.field_ids[role] = by_name[name.lower()]
            else:
                problems.append(f"connectors.{self.name}.fields.{role}: Jira has no field named '{name}'; "
                                "use the field's id (customfield_NNNNN) or its exact name")
        if problems:
            raise SourceConfigError(problems)

    def request_fields(self) -> list[str]:
        return BASE_FIELDS + sorted(set(self.field_ids.values()) - set(BASE_FIELDS))

    # -- mapping -----------------------------------------------------------------------
    def _text(self, value: Any) -> str:
        if isinstance(value, dict):
            return adf_to_text(value)
        return wiki_to_text(value) if self.deployment == "datacenter" else str(value or "")

    def record(self, issue: dict) -> InitiativeRecord:
        key = issue.get("key")
        f = issue.get("fields")
        if not key or not isinstance(f, dict):
            raise MalformedIssue("no key or no fields")
        title = f.get("summary")
        if not isinstance(title, str) or not title.strip():
            raise MalformedIssue("no summary")
        status = f.get("status") or {}
        category = ((status.get("statusCategory") or {}).get("key") or "new") if isinstance(status, dict) else "new"
        if category not in ("new", "indeterminate", "done"):
            category = "new"
        flags: list[str] = []
        ids = self.field_ids
        effort = None
        if ids.get("effort"):
            try:
                effort = _number(f.get(ids["effort"]))
                if effort is not None and ids["effort"] == "timeoriginalestimate":
                    effort /= ESTIMATE_SECONDS_PER_DAY
                if effort is not None and effort <= 0:
                    raise ValueError
            except (TypeError, ValueError):
                effort = None
                flags.append("unreadable-effort")
        confidence = None
        if ids.get("confidence") and f.get(ids["confidence"]) not in (None, ""):
            raw = f.get(ids["confidence"])
            if isinstance(raw, dict):
                label = raw.get("value", raw.get("name"))
                confidence = self.options.confidence_levels.get(label)
                if confidence is None:
                    confidence = read_confidence(str(label))
            else:
                confidence = read_confidence(str(raw))
            if confidence is None:
                flags.append("unreadable-confidence")
        factors = {}
        for role in ("reach", "factor_impact", "ease", "business_value", "time_criticality", "risk_reduction",
                     "job_size"):
            if ids.get(role):
                try:
                    v = _number(f.get(ids[role]))
                except (TypeError, ValueError):
                    flags.append(f"unreadable-factor:{role}")
                    continue
                if v is not None:
                    factors[role] = v
        impact = self._text(f.get(ids["impact"])) if ids.get("impact") else ""
        if not impact.strip():
            impact = impact_section(self._text(f.get("description"))) or ""
        labels = tuple(str(x) for x in f.get("labels") or [])
        blocked_by = tuple(
            link["inwardIssue"]["key"] for link in f.get("issuelinks") or []
            if isinstance(link, dict) and "inwardIssue" in link
            and str((link.get("type") or {}).get("inward", "")).lower() == "is blocked by")
        parent = (f.get("parent") or {}).get("key", "") if isinstance(f.get("parent"), dict) else ""
        return InitiativeRecord(
            key=key, title=title.strip(), status=str(status.get("name", "")) if isinstance(status, dict) else "",
            status_category=category, effort=effort, confidence=confidence, impact=impact, labels=labels,
            url=f"{self.options.url.rstrip('/')}/browse/{key}", parent=parent, blocked_by=blocked_by,
            factors=factors, flags=tuple(flags), raw=issue, external_id=str(issue.get("id") or ""))

    # -- sync --------------------------------------------------------------------------
    def _zone(self, name: str):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return timezone.utc

    def pull(self, run: SyncRun) -> None:
        api = self.api
        state = dict(run.bookmark or {})
        resume = run.resume
        zone_name = (resume or state).get("time_zone") or api.time_zone()
        zone = self._zone(zone_name)
        api.jql_time = lambda updated: parse_updated(updated).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        since = (resume or state).get("updated")
        query, _ = split_order_by(self.options.jql)
        total = api.count(query)
        if since:
            start = (datetime.fromisoformat(since) - OVERLAP).astimezone(zone)
            jql = restrict_since(query, start.strftime("%Y-%m-%d %H:%M"))
        else:
            jql = ordered(query)
        newest = datetime.fromisoformat(since) if since else None
        previous = newest
        seen: set[str] = set()
        changed = 0
        for page in api.search(jql, self.request_fields(), self.options.page_size):
            records = []
            for issue in page:
                try:
                    rec = self.record(issue)
                except MalformedIssue as exc:
                    run.skip(str(issue.get("key") or issue.get("id") or "an issue"), str(exc))
                    continue
                records.append(rec)
                seen.add(rec.key)
                updated = (issue.get("fields") or {}).get("updated")
                if updated:
                    try:
                        t = parse_updated(updated).astimezone(timezone.utc)
                        newest = t if newest is None or t > newest else newest
                        changed += previous is None or t > previous
                    except ValueError:
                        pass
            run.initiatives(records)
            run.save_bookmark({"updated": newest.isoformat() if newest else None, "time_zone": zone_name})
            run.progress(len(seen), total)
        if since is None and resume is None:
            run.seen_all(seen)            # a full pull lists everything the query holds
        else:
            self._find_removed(run, query, seen, total)
        run.count("changed", changed)
        run.count("requests", self.requests_made)

    def _find_removed(self, run: SyncRun, query: str, seen: set[str], total: int | None) -> None:
        """When the query's count differs from what we hold, list its ids to find what left."""
        known = run.known()
        if total is not None and total == len(set(known) | seen):
            return
        by_id = {v: k for k, v in known.items() if v}
        keys = set(seen)
        for page in self.api.search(query, ["id"], 5000) if self.deployment == "cloud" else \
                self.api.search(ordered(query), ["id"], 1000):
            for issue in page:
                key = issue.get("key") or by_id.get(str(issue.get("id")))
                if key:
                    keys.add(key)
        run.seen_all(keys)


# -- write-back ------------------------------------------------------------------------
_SCREEN = re.compile(r"not on the appropriate screen|unknown", re.I)


class PushResult:
    def __init__(self) -> None:
        self.written = self.cleared = self.failed = 0
        self.messages: list[str] = []
        self.notify_fallback = False


def write_back(conn: JiraConnector, changes: list[tuple[str, float | None, int | None]],
               *, progress=None) -> PushResult:
    """PUT score and rank into the configured fields, without notifying watchers where
    Jira allows it. `changes` holds (key, score, rank); None clears the field."""
    ids = conn.field_ids
    result = PushResult()
    notify = False
    for n, (key, score, rank) in enumerate(changes, start=1):
        fields = {}
        if ids.get("score"):
            fields[ids["score"]] = score
        if ids.get("rank"):
            fields[ids["rank"]] = rank
        resp = conn.api.put_issue(key, fields, notify)
        if resp.status_code in (400, 403) and not notify and re.search(r"notifyusers|notification", resp.text, re.I):
            # only admins may silence notifications: write anyway, and say so once
            notify = result.notify_fallback = True
            resp = conn.api.put_issue(key, fields, notify)
        if resp.status_code in (200, 204):
            if score is None and rank is None:
                result.cleared += 1
            else:
                result.written += 1
        else:
            result.failed += 1
            result.messages.append(_push_error(conn, key, resp))
        if progress:
            progress(conn.name, n, len(changes))
    return result


def _push_error(conn: JiraConnector, key: str, resp) -> str:
    from connectors.http import error_messages
    errors = {}
    try:
        errors = resp.json().get("errors") or {}
    except ValueError:
        pass
    roles = {v: r for r, v in conn.field_ids.items()}
    for field_id, text in errors.items():
        if _SCREEN.search(str(text)):
            role = roles.get(field_id, field_id)
            return (f"{key}: Jira refused field {role} ({field_id}): it is not on the issue's edit screen or is "
                    f"unknown; add it to the edit screen of the issue type in Jira, or fix "
                    f"[connectors.{conn.name}.fields] {role}")
    if resp.status_code in (401, 403):
        return f"{key}: {resp.status_code}: check the email and API token, and that the account may edit issues"
    return f"{key}: {resp.status_code}: {'; '.join(error_messages(resp)) or 'no detail given'}"
