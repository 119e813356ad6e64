"""Saved, named scenarios (docs/http.md, "Saved scenarios"): a page's URL state (the
roadmap's what-if weights, KPI values and extra items; the plan's capacities and pins),
with a name, who saved it and when. Listed on the roadmap and plan pages; opening one
shows the page under it, compared with the stored ranking. Shared by the web and its API.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

from app.services import Workspace
from app.store import scenarios as store_scenarios
from scoring.errors import BadInput, NotFound

PAGES = {"roadmap": "/", "plan": "/plan"}         # page -> its path
MAX_NAME = 120
MAX_QUERY = 4000                                  # characters of URL state
MAX_PAIRS = 200
_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,300}$")
_DROPPED = {"page", "saved"}                      # paging is not part of a scenario


def _clean_name(raw) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise BadInput("name: give the scenario a name (1 to 120 characters)")
    name = " ".join(raw.split())
    if len(name) > MAX_NAME:
        raise BadInput(f"name: at most {MAX_NAME} characters")
    if any(ord(ch) < 32 or 0x7f <= ord(ch) < 0xa0 for ch in name):
        raise BadInput("name: control characters are not allowed")
    return name


def clean_query(raw: str) -> str:
    """The URL state kept: every parameter but paging, in order, re-encoded."""
    if len(raw) > MAX_QUERY:
        raise BadInput(f"url: the page's state is longer than {MAX_QUERY} characters")
    try:
        pairs = parse_qsl(raw, keep_blank_values=False, strict_parsing=False, max_num_fields=MAX_PAIRS)
    except ValueError:
        raise BadInput(f"url: at most {MAX_PAIRS} parameters") from None
    kept = []
    for k, v in pairs:
        if k in _DROPPED:
            continue
        if not _KEY.match(k):
            raise BadInput(f"url: parameter '{k[:60]}' is not a page parameter")
        kept.append((k, v))
    return urlencode(kept)


def _where(body: dict) -> tuple[str, str]:
    """(page, query) from `{"url": "/plan?cap.web=40"}` or `{"page": "plan", "query": "..."}`."""
    if "query" in body and not isinstance(body["query"], str):
        raise BadInput("query: the page's URL query string, like 'w.revenue=2&kpi.nps=41'")
    if isinstance(body.get("url"), str):
        parts = urlsplit(body["url"])
        if parts.scheme or parts.netloc:
            raise BadInput("url: give the page's path and query (like '/?w.revenue=2'), not a full address")
        page = next((p for p, path in PAGES.items() if path == (parts.path or "/")), None)
        if page is None:
            raise BadInput(f"url: a scenario is saved from the roadmap ('/') or the plan ('/plan'), "
                           f"not '{parts.path[:80]}'")
        return page, parts.query
    page = body.get("page", "roadmap")
    if page not in PAGES:
        raise BadInput(f"page: one of {', '.join(PAGES)}")
    query = body.get("query", "")
    if not isinstance(query, str):
        raise BadInput("query: the page's URL query string, like 'w.revenue=2&kpi.nps=41'")
    return page, query.lstrip("?")


def public(row: dict) -> dict:
    """A stored scenario as the API and pages show it."""
    at = row["saved_at"]
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    path = PAGES.get(row["page"], "/")
    return {"id": row["id"], "name": row["name"], "page": row["page"],
            "url": f"{path}?{row['query']}" if row["query"] else path,
            "by": row["saved_by"], "saved_at": at.isoformat(timespec="seconds")}


def listing(ws: Workspace, page: str | None = None) -> list[dict]:
    if page is not None and page not in PAGES:
        raise BadInput(f"page: one of {', '.join(PAGES)}")
    return [public(r) for r in store_scenarios.listing(ws.store, page)]


def save(ws: Workspace, body, by: str) -> dict:
    """Save `{"name", "url"}` (or `{"name", "page", "query"}`) as saved by `by`."""
    if not isinstance(body, dict):
        raise BadInput('send a JSON object {"name": "...", "url": "/?w.revenue=2"}')
    unknown = set(body) - {"name", "url", "page", "query"}
    if unknown:
        raise BadInput(f"unknown keys: {', '.join(sorted(map(str, unknown)))[:200]}; use name and url")
    name = _clean_name(body.get("name"))
    page, query = _where(body)
    row = store_scenarios.save(ws.store, name=name, page=page, query=clean_query(query), saved_by=by[:255],
                               saved_at=datetime.now(timezone.utc))
    return public(row)


def get(ws: Workspace, sid: int) -> dict:
    row = store_scenarios.get(ws.store, sid)
    if row is None:
        raise NotFound(f"no saved scenario with id {sid}")
    return public(row)


def remove(ws: Workspace, sid: int) -> None:
    if not store_scenarios.remove(ws.store, sid):
        raise NotFound(f"no saved scenario with id {sid}")


def version(ws: Workspace) -> tuple[int, int]:
    """Changes whenever a scenario is saved or deleted (a page listing them caches on it)."""
    try:
        return store_scenarios.version(ws.store)
    except Exception:  # noqa: BLE001 - a store without the table yet: nothing saved
        return (0, 0)
