"""The `jira` connector: a JQL query becomes initiatives; score and rank go back.

Cloud (REST v3) or Data Center (REST v2) by `deployment`; unset, an Atlassian Cloud host
(*.atlassian.net, *.jira.com) is Cloud and any other address asks the server
(`/rest/api/2/serverInfo`, `deploymentType`; a site that does not say is taken for Data
Center). After the first full pull only issues
updated since the bookmark are fetched (in the Jira user's time zone, at minute
precision, with an overlap); issues that left the query are found by comparing counts
and, when they differ, a cheap ids-only pass. An issue that cannot be read (a malformed
description, say) is skipped, counted and named by its key; the rest goes in.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field
from requests.auth import HTTPBasicAuth

from connectors.base import Change, Connector, ConnectorOptions, SourceConfigError, SyncRun, WriteBackResult
from connectors.http import HttpClient
from connectors.jira.api import CloudApi, DataCenterApi, JiraApi, ordered, restrict_since, split_order_by
from connectors.jira.fields import WRITE_BACK_ROLES, JiraFields, MalformedIssue, read_issue
from connectors.jira.richtext import UnreadableRichText, adf_to_text, wiki_to_text

OVERLAP = timedelta(minutes=2)       # JQL has minute precision and sources settle late
BASE_FIELDS = ["summary", "status", "issuetype", "labels", "parent", "issuelinks", "created", "updated",
               "resolutiondate", "statuscategorychangedate", "description", "reporter"]
# taken as field ids without asking Jira; anything else is looked up by id or name in /field
_ID_LIKE = re.compile(r"^(customfield_\d+|timeoriginalestimate|timeestimate|timespent|aggregatetimeoriginalestimate"
                      r"|priority|duedate|summary|description|labels|environment|components)$")
_CLOUD_HOSTS = (".atlassian.net", ".jira.com")


class JiraOptions(ConnectorOptions):
    url: str
    deployment: Literal["cloud", "datacenter"] | None = None
    email: str | None = None
    token_env: str
    jql: str
    fields: JiraFields = JiraFields()
    confidence_levels: dict[str, float] = Field(default_factory=dict)
    page_size: int = Field(default=100, ge=1, le=5000)


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
    supports_write_back = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.field_ids: dict[str, str] = {}
        self._api: JiraApi | None = None
        self._deployment: str | None = None
        self.http_options: dict = {}          # tests and benchmarks inject sleep / rng here

    def _http(self) -> HttpClient:
        token = os.environ.get(self.options.token_env, "")
        if self.options.email:
            auth, headers = HTTPBasicAuth(self.options.email, token), {}
        else:
            auth, headers = None, {"Authorization": f"Bearer {token}"}
        http = HttpClient(self.name, self.options.url, auth=auth, headers=headers, **self.http_options)
        self.http_clients.append(http)
        return http

    @property
    def deployment(self) -> str:
        """cloud | datacenter: configured, else by the host, else as the server says."""
        if self.options.deployment:
            return self.options.deployment
        if self._deployment is None:
            host = re.sub(r"^https?://", "", self.options.url).split("/")[0].split(":")[0].lower()
            if host.endswith(_CLOUD_HOSTS):
                self._deployment = "cloud"
            else:
                http = self._api.http if self._api else self._http()
                info = JiraApi(http, self.name).server_info()
                self._deployment = "cloud" if str(info.get("deploymentType", "")).lower() == "cloud" \
                    else "datacenter"
        return self._deployment

    @property
    def api(self) -> JiraApi:
        if self._api is None:
            kind = self.deployment
            http = self.http_clients[-1] if self.http_clients else self._http()
            self._api = (CloudApi if kind == "cloud" else DataCenterApi)(http, self.name)
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
        if isinstance(value, (dict, list)):
            return adf_to_text(value)
        return wiki_to_text(value) if self.deployment == "datacenter" else str(value or "")

    def record(self, issue: dict):
        return read_issue(issue, self.field_ids, base_url=self.options.url,
                          levels=self.options.confidence_levels, text=self._text)

    # -- sync --------------------------------------------------------------------------
    def _zone(self, name: str):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return timezone.utc

    def _read(self, run: SyncRun, issue: Any):
        """The issue as a record, or None after skipping it with its key and the reason."""
        key = (issue.get("key") or issue.get("id") or "an issue") if isinstance(issue, dict) else "an issue"
        try:
            return self.record(issue)
        except (MalformedIssue, UnreadableRichText) as exc:
            run.skip(str(key), str(exc))
        except Exception as exc:  # noqa: BLE001 - one odd issue must never abort the sync
            run.skip(str(key), f"cannot be read ({type(exc).__name__}: {str(exc)[:120]})")
        return None

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
                rec = self._read(run, issue)
                if rec is None:
                    continue
                records.append(rec)
                seen.add(rec.key)
                updated = (issue.get("fields") or {}).get("updated")
                if updated:
                    try:
                        t = parse_updated(str(updated)).astimezone(timezone.utc)
                        newest = t if newest is None or t > newest else newest
                        changed += previous is None or t > previous
                    except (ValueError, OverflowError):
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

    # -- write-back --------------------------------------------------------------------
    def write_back_fields(self) -> dict[str, str]:
        configured = self.options.fields.model_dump()
        return {r: self.field_ids.get(r, configured[r]) for r in WRITE_BACK_ROLES if configured.get(r)}

    def written_values(self, raw: Any) -> dict[str, Any]:
        fields = (raw or {}).get("fields") if isinstance(raw, dict) else None
        fields = fields if isinstance(fields, dict) else {}
        return {role: fields.get(field) for role, field in self.write_back_fields().items()}

    def write_back(self, changes: list[Change], *, progress=None) -> WriteBackResult:
        from connectors.jira.writeback import write_back
        return write_back(self, changes, progress=progress)
