"""Jira's REST API as kpi-roadmap uses it: Cloud (REST v3, enhanced JQL search with
`nextPageToken`) and Data Center / Server (REST v2, `startAt` / `total`).

The old Cloud `/rest/api/3/search` (startAt / total) has been removed and answers 410:
this module never calls it.
"""
from __future__ import annotations

import sys
import threading
from typing import Any, Iterator

from connectors.base import SourceError
from connectors.http import HttpClient, Paginator, error_messages, http_error

AUTH_HINT = "check the email and API token (Cloud) or the personal access token (Data Center)"
DC_WINDOW = 10_000          # Data Center refuses or slows past this startAt: start a new chunk
DEEP_JSON = 20_000          # nesting a page may hold (a description nested hundreds of levels deep)
_DEEP = threading.Lock()


def parse_page(resp) -> Any:
    """The JSON of an answer, even when an issue's description nests deeper than Python's
    default recursion limit allows the parser (the issue is skipped later, by its key)."""
    try:
        return resp.json()
    except RecursionError:
        with _DEEP:
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(limit, DEEP_JSON))
            try:
                return resp.json()
            finally:
                sys.setrecursionlimit(limit)


class JiraApi:
    """The calls both deployments share; subclasses differ in paths and paging."""
    version = "3"

    def __init__(self, http: HttpClient, name: str):
        self.http = http
        self.name = name
        # turns an issue's `updated` into a JQL time in the Jira user's zone (set by the connector)
        self.jql_time = lambda updated: updated[:16].replace("T", " ")

    def _get(self, path: str, **kw) -> Any:
        return self._json("GET", path, **kw)

    def _json(self, method: str, path: str, **kw) -> Any:
        resp = self.http.request(method, f"/rest/api/{self.version}{path}", **kw)
        if resp.status_code == 200:
            try:
                return parse_page(resp)
            except (ValueError, RecursionError):
                raise SourceError(f"{self.name}: {path} answered with a body that is not JSON") from None
        if resp.status_code == 400 and path.startswith("/search"):
            msgs = "; ".join(error_messages(resp)) or "no detail given"
            raise SourceError(f"{self.name}: Jira refused the JQL: {msgs}")
        raise http_error(self.name, resp, auth_hint=AUTH_HINT)

    def server_info(self) -> dict:
        """`/rest/api/2/serverInfo` (answered on Cloud and Data Center alike, without login);
        empty when the site does not answer it."""
        resp = self.http.request("GET", "/rest/api/2/serverInfo")
        if resp.status_code != 200:      # a site that hides it (anonymous access off): no answer
            return {}
        try:
            body = resp.json()
        except ValueError:
            raise SourceError(f"{self.name}: /rest/api/2/serverInfo answered with a body that is not JSON; "
                              "is the url a Jira? (or set deployment = \"cloud\" / \"datacenter\")") from None
        return body if isinstance(body, dict) else {}

    def time_zone(self) -> str:
        return (self._get("/myself") or {}).get("timeZone") or "UTC"

    def fields(self) -> list[dict]:
        return self._get("/field")

    def put_issue(self, key: str, fields: dict, notify: bool):
        params = {} if notify else {"notifyUsers": "false"}
        return self.http.request("PUT", f"/rest/api/{self.version}/issue/{key}", params=params,
                                 json={"fields": fields}, ok=(204, 200))

    # paging: subclasses
    def search(self, jql: str, fields: list[str], page_size: int) -> Iterator[list[dict]]:
        raise NotImplementedError

    def count(self, jql: str) -> int | None:
        raise NotImplementedError


class CloudApi(JiraApi):
    version = "3"

    def search(self, jql: str, fields: list[str], page_size: int) -> Iterator[list[dict]]:
        """Pages of issues until `isLast` or no `nextPageToken`; a page may hold fewer
        issues than asked for, so only the token decides."""
        token = None
        tokens = Paginator(self.name, "nextPageToken")
        while True:
            body = {"jql": jql, "fields": fields, "maxResults": page_size}
            if token:
                body["nextPageToken"] = token
            page = self._json("POST", "/search/jql", json=body)
            yield page.get("issues") or []
            token = page.get("nextPageToken")
            if page.get("isLast") is True or not token:
                return
            tokens.advance(token)

    def count(self, jql: str) -> int | None:
        """Jira's approximate count of the query; None where the endpoint is not offered."""
        resp = self.http.request("POST", "/rest/api/3/search/approximate-count", json={"jql": jql})
        if resp.status_code == 200:
            return int(resp.json().get("count"))
        if resp.status_code in (404, 405, 501):
            return None
        if resp.status_code == 400:
            raise SourceError(f"{self.name}: Jira refused the JQL: {'; '.join(error_messages(resp))}")
        raise http_error(self.name, resp, auth_hint=AUTH_HINT)


class DataCenterApi(JiraApi):
    version = "2"

    def search(self, jql: str, fields: list[str], page_size: int, *, window: int = DC_WINDOW) -> Iterator[list[dict]]:
        """startAt / maxResults / total. Past the deep-result window the query restarts
        from the last `updated` minute seen (results are ordered by updated), skipping
        the issues already returned."""
        base, chunk_jql, start, seen, since = jql, jql, 0, set(), None
        pages = Paginator(self.name, "startAt")
        while True:
            page = self._json("POST", "/search", json={"jql": chunk_jql, "startAt": start,
                                                        "maxResults": page_size, "fields": fields})
            issues = page.get("issues") or []
            fresh = [i for i in issues if i.get("key") not in seen]
            seen.update(i.get("key") for i in fresh)
            if issues:
                pages.check_page(tuple(i.get("key") for i in issues), hint=f"Jira answered startAt={start} with "
                                 "the issues it had just sent (the server ignores startAt)")
            if fresh:
                yield fresh
            total = int(page.get("total") or 0)
            start += len(issues)
            if not issues or start >= total:
                return
            if start + page_size > window:
                last = (issues[-1].get("fields") or {}).get("updated")
                if not last:
                    return
                if self.jql_time(last) == since:
                    raise SourceError(f"{self.name}: more than {window} issues were updated in the minute "
                                      f"{since}; narrow the JQL so Data Center can page through it")
                since = self.jql_time(last)
                chunk_jql = restrict_since(base, since)
                start = 0
                pages = Paginator(self.name, "startAt")     # a new query: its first page may repeat

    def count(self, jql: str) -> int | None:
        page = self._json("POST", "/search", json={"jql": jql, "startAt": 0, "maxResults": 0, "fields": ["id"]})
        return int(page.get("total") or 0)


def split_order_by(jql: str) -> tuple[str, str]:
    """(the query, its ORDER BY clause) — the clause is replaced when syncing."""
    low = jql.lower()
    at = low.rfind("order by")
    if at < 0 or low[:at].count('"') % 2:
        return jql.strip(), ""
    return jql[:at].strip(), jql[at:].strip()


def restrict_since(jql: str, since: str) -> str:
    """`(<user JQL>) AND updated >= "<yyyy-MM-dd HH:mm>" ORDER BY updated ASC`."""
    query, _ = split_order_by(jql)
    cond = f'updated >= "{since}"'
    return f"({query}) AND {cond} ORDER BY updated ASC" if query else f"{cond} ORDER BY updated ASC"


def ordered(jql: str) -> str:
    query, _ = split_order_by(jql)
    return f"({query}) ORDER BY updated ASC" if query else "ORDER BY updated ASC"
