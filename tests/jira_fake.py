"""Real-shaped Jira payloads and a fake Jira Cloud / Data Center behind `responses`.

Issues look like what REST v3 returns: ADF descriptions, select options, parent,
issuelinks, status categories; Data Center pages carry startAt / maxResults / total and
wiki-markup descriptions.
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import responses

CLOUD = "https://acme.atlassian.net"
DC = "https://jira.acme.internal"


def adf(*blocks):
    return {"type": "doc", "version": 1, "content": list(blocks)}


def para(text):
    return {"type": "paragraph", "content": [{"type": "text", "text": text}]}


def heading(text, level=2):
    return {"type": "heading", "attrs": {"level": level}, "content": [{"type": "text", "text": text}]}


def bullets(*items):
    return {"type": "bulletList", "content": [{"type": "listItem", "content": [para(t)]} for t in items]}


def issue(n, *, updated="2026-07-01T10:15:30.000+0000", summary=None, category="new", impact=None,
          description=None, labels=(), points=None, confidence=None, blocked_by=(), parent=None, status=None,
          extra=None):
    key = f"ROAD-{n}"
    names = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
    fields = {
        "summary": summary if summary is not None else f"Initiative {n}",
        "status": {"self": f"{CLOUD}/rest/api/3/status/1", "name": status or names[category], "id": "1",
                   "statusCategory": {"self": f"{CLOUD}/rest/api/3/statuscategory/2", "id": 2,
                                      "key": category, "colorName": "blue-gray", "name": names[category]}},
        "issuetype": {"id": "10000", "name": "Epic", "subtask": False},
        "labels": list(labels),
        "created": "2026-01-05T09:00:00.000+0000",
        "updated": updated,
        "resolutiondate": None,
        "description": description,
        "issuelinks": [{"id": f"9{n}{i}", "type": {"id": "10000", "name": "Blocks", "inward": "is blocked by",
                                                   "outward": "blocks"},
                        "inwardIssue": {"id": str(20000 + i), "key": b, "fields": {"summary": "x"}}}
                       for i, b in enumerate(blocked_by)],
        "customfield_10016": points,
        "customfield_10031": None if confidence is None else {"self": f"{CLOUD}/rest/api/3/customFieldOption/1",
                                                              "value": confidence, "id": "10021"},
        "customfield_10040": impact,
    }
    if parent:
        fields["parent"] = {"id": "10500", "key": parent, "fields": {"summary": "Theme"}}
    fields.update(extra or {})
    return {"expand": "renderedFields", "id": str(10000 + n), "self": f"{CLOUD}/rest/api/3/issue/{10000 + n}",
            "key": key, "fields": fields}


FIELDS = [
    {"id": "summary", "key": "summary", "name": "Summary", "custom": False, "schema": {"type": "string"}},
    {"id": "timeoriginalestimate", "key": "timeoriginalestimate", "name": "Original estimate", "custom": False},
    {"id": "customfield_10016", "key": "customfield_10016", "name": "Story point estimate", "custom": True,
     "schema": {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points"}},
    {"id": "customfield_10031", "key": "customfield_10031", "name": "Confidence", "custom": True,
     "schema": {"type": "option"}},
    {"id": "customfield_10040", "key": "customfield_10040", "name": "KPI impact", "custom": True,
     "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea"}},
    {"id": "customfield_10050", "key": "customfield_10050", "name": "Roadmap score", "custom": True},
    {"id": "customfield_10051", "key": "customfield_10051", "name": "Roadmap rank", "custom": True},
]


class FakeJira:
    """Serves issues the way Jira does; `faults` is a list of (path regex, status, headers, body)
    consumed in order before normal answers."""

    def __init__(self, rsps: responses.RequestsMock, issues: list[dict], *, base=CLOUD, page=2,
                 time_zone="Europe/Berlin", cloud=True, count_supported=True):
        self.rsps, self.issues, self.base, self.page = rsps, issues, base, page
        self.time_zone, self.cloud, self.count_supported = time_zone, cloud, count_supported
        self.faults: list[tuple[str, int, dict, dict]] = []
        self.searches: list[dict] = []
        self.puts: list[tuple[str, dict, dict]] = []
        self.put_errors: dict[str, tuple[int, dict]] = {}
        self.admin = True
        v = "3" if cloud else "2"
        rsps.add_callback(responses.GET, f"{base}/rest/api/{v}/myself", callback=self._myself)
        rsps.add_callback(responses.GET, f"{base}/rest/api/{v}/field", callback=lambda r: self._ok(r, FIELDS))
        from tests.fixtures.payloads import SERVER_INFO_CLOUD, SERVER_INFO_DC
        rsps.add_callback(responses.GET, f"{base}/rest/api/2/serverInfo",
                          callback=lambda r: self._ok(r, SERVER_INFO_CLOUD if cloud else SERVER_INFO_DC))
        if cloud:
            rsps.add_callback(responses.POST, f"{base}/rest/api/3/search/jql", callback=self._search_cloud)
            rsps.add_callback(responses.POST, f"{base}/rest/api/3/search/approximate-count", callback=self._count)
        else:
            rsps.add_callback(responses.POST, f"{base}/rest/api/2/search", callback=self._search_dc)
        rsps.add_callback(responses.PUT, re.compile(rf"{re.escape(base)}/rest/api/{v}/issue/[A-Z]+-\d+.*"),
                          callback=self._put)

    @property
    def requests(self) -> list[str]:
        return [f"{c.request.method} {urlparse(c.request.url).path}" for c in self.rsps.calls]

    def _fault(self, request):
        for n, (pattern, status, headers, body) in enumerate(self.faults):
            if re.search(pattern, request.url):
                del self.faults[n]
                return status, headers, json.dumps(body)
        return None

    def _ok(self, request, body):
        return self._fault(request) or (200, {}, json.dumps(body))

    def _myself(self, request):
        return self._ok(request, {"accountId": "5b10a", "emailAddress": "pm@acme.com", "timeZone": self.time_zone})

    def matching(self, jql: str) -> list[dict]:
        out = [i for i in self.issues if "statusCategory != Done" not in jql
               or i["fields"]["status"]["statusCategory"]["key"] != "done"]
        m = re.search(r'updated >= "(\d{4}-\d\d-\d\d \d\d:\d\d)"', jql)
        if m:  # the fake stores UTC times and a Berlin user (UTC+2 in summer)
            from datetime import datetime, timedelta
            since = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M") - timedelta(hours=2)
            out = [i for i in out if datetime.strptime(i["fields"]["updated"][:16], "%Y-%m-%dT%H:%M") >= since]
        if "ORDER BY updated ASC" in jql:
            out = sorted(out, key=lambda i: i["fields"]["updated"])
        return out

    def _project(self, issue, fields):
        if fields == ["id"]:
            return {"id": issue["id"]}
        return {**issue, "fields": {k: v for k, v in issue["fields"].items() if k in fields}}

    def _search_cloud(self, request):
        fault = self._fault(request)
        if fault:
            return fault
        body = json.loads(request.body)
        self.searches.append(body)
        found = self.matching(body["jql"])
        start = int(body.get("nextPageToken") or 0)
        size = min(self.page, body.get("maxResults", 50))
        chunk = found[start:start + size]
        out = {"issues": [self._project(i, body.get("fields") or ["id"]) for i in chunk]}
        if start + size < len(found):
            out["nextPageToken"] = str(start + size)
            out["isLast"] = False
        else:
            out["isLast"] = True
        return 200, {}, json.dumps(out)

    def _count(self, request):
        if not self.count_supported:
            return 404, {}, json.dumps({"errorMessages": ["Not found"]})
        return self._ok(request, {"count": len(self.matching(json.loads(request.body)["jql"]))})

    def _search_dc(self, request):
        fault = self._fault(request)
        if fault:
            return fault
        body = json.loads(request.body)
        self.searches.append(body)
        found = self.matching(body["jql"])
        start, size = body.get("startAt", 0), min(self.page, body.get("maxResults", 50))
        chunk = found[start:start + size] if size else []
        return 200, {}, json.dumps({"expand": "schema,names", "startAt": start, "maxResults": size,
                                    "total": len(found), "issues": [self._project(i, body["fields"]) for i in chunk]})

    def _put(self, request):
        fault = self._fault(request)
        if fault:
            return fault
        key = urlparse(request.url).path.rsplit("/", 1)[1]
        params = parse_qs(urlparse(request.url).query)
        if params.get("notifyUsers") == ["false"] and not self.admin:
            return 403, {}, json.dumps({"errorMessages": [
                "To discard the user notification either admin or project admin permissions are required."],
                "errors": {"notifyUsers": "requires admin"}})
        if key in self.put_errors:
            status, body = self.put_errors[key]
            return status, {}, json.dumps(body)
        self.puts.append((key, json.loads(request.body), params))
        return 204, {}, ""
