"""A Jira Cloud stand-in on loopback for tests and benchmarks that run real processes
(workers, gunicorn replicas), where `responses` cannot reach: `/myself`, the enhanced JQL
search (`/search/jql`, token paging, `updated >= "yyyy-MM-dd HH:mm"` honoured) and the
approximate count, shaped as tests/jira_fake.py and bench/jira_sync.py describe.

`edit(key, ...)` changes an issue and stamps it updated now, as Jira does. `hold()` makes
searches wait until `release()`, and sets `held` when one arrives: a test can kill the
process that is mid-sync at a known moment.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import logging

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def jira_time(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def make_issue(n: int, impact: str, *, points: float = 2, updated: str = "2026-06-01T09:00:00.000+0000") -> dict:
    return {"id": str(10000 + n), "key": f"ROAD-{n}", "self": f"https://acme.atlassian.net/rest/api/3/issue/{10000 + n}",
            "fields": {"summary": f"Initiative {n}", "updated": updated, "created": "2026-01-05T09:00:00.000+0000",
                       "status": {"name": "To Do", "statusCategory": {"key": "new", "name": "To Do"}},
                       "issuetype": {"name": "Epic"}, "labels": [], "issuelinks": [], "resolutiondate": None,
                       "description": None, "customfield_10016": points, "customfield_10040": impact}}


class JiraStandIn:
    def __init__(self, issues: list[dict]):
        self.issues = {i["key"]: i for i in issues}
        self.lock = threading.Lock()
        self.searches = 0
        self.held = threading.Event()
        self._open = threading.Event()
        self._open.set()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)     # no line per request
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "JiraStandIn":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._open.set()
        self.server.shutdown()

    def edit(self, key: str, **fields) -> None:
        with self.lock:
            issue = json.loads(json.dumps(self.issues[key]))
            issue["fields"].update(fields)
            issue["fields"]["updated"] = jira_time(datetime.now(timezone.utc))
            self.issues[key] = issue

    def hold(self) -> None:
        self.held.clear()
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def _matching(self, jql: str) -> list[dict]:
        with self.lock:
            found = sorted(self.issues.values(), key=lambda i: (i["fields"]["updated"], i["key"]))
        if 'updated >= "' in jql:
            since = jql.split('updated >= "')[1][:16].replace(" ", "T")
            found = [i for i in found if i["fields"]["updated"][:16] >= since]
        return found

    def app(self, environ, start_response):
        request = Request(environ)
        if request.path == "/rest/api/3/myself":
            resp = Response(json.dumps({"accountId": "5b10a2844c20165700ede21g", "timeZone": "UTC"}),
                            content_type="application/json")
            return resp(environ, start_response)
        body = request.get_json(force=True, silent=True) or {}
        if request.path == "/rest/api/3/search/approximate-count":
            resp = Response(json.dumps({"count": len(self._matching(body.get("jql", "")))}),
                            content_type="application/json")
        elif request.path == "/rest/api/3/search/jql":
            if not self._open.is_set():
                self.held.set()
                self._open.wait()
            self.searches += 1
            found = self._matching(body.get("jql", ""))
            ids_only = body.get("fields") in (None, ["id"])
            size = min(int(body.get("maxResults", 50)), 5000 if ids_only else 100)
            start = int(body.get("nextPageToken") or 0)
            chunk = found[start:start + size]
            out = {"issues": [{"id": i["id"]} if ids_only else i for i in chunk], "isLast": start + size >= len(found)}
            if not out["isLast"]:
                out["nextPageToken"] = str(start + size)
            resp = Response(json.dumps(out), content_type="application/json")
        else:
            resp = Response(json.dumps({"errorMessages": ["not found"]}), status=404, content_type="application/json")
        return resp(environ, start_response)
