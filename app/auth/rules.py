"""The one table of who may do what on the web (docs/http.md, "Who may do what"): each
route that writes, keyed by method and URL rule, with the role it needs and the action
name the audit log records. A route not listed: GET needs `viewer`, anything else needs
`admin` (fail closed), so a new write route is refused until it is given its role here
(a test lists every route of the app against this table).

Path parameters are compared without their names: `/api/v1/scenarios/<id>` and
`/api/v1/scenarios/<int:sid>` are the same rule.
"""
from __future__ import annotations

import re

PUBLIC = "public"            # no person needed (the route checks its own secret, or is sign-in itself)

# (method, rule) -> (role, audit action)
WRITES: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/api/v1/initiatives/<>/estimates"): ("estimator", "estimate.add"),
    ("DELETE", "/api/v1/initiatives/<>/estimates/<>"): ("estimator", "estimate.delete"),   # the author only
    ("POST", "/api/v1/initiatives/<>/estimates/reveal"): ("planner", "estimates.reveal"),
    ("POST", "/api/v1/snapshots"): ("planner", "snapshot.save"),
    ("POST", "/api/v1/sync"): ("planner", "sync.queue"),
    ("POST", "/api/v1/push"): ("planner", "push"),
    ("POST", "/api/v1/scenarios"): ("planner", "scenario.save"),
    ("DELETE", "/api/v1/scenarios/<>"): ("planner", "scenario.delete"),
    ("POST", "/scenarios"): ("planner", "scenario.save"),                 # the pages' forms
    ("POST", "/scenarios/<>/delete"): ("planner", "scenario.delete"),
    ("POST", "/logout"): ("viewer", "signout"),
}

# POSTs that compute and store nothing: reads
READS = {("POST", "/api/v1/what-if"), ("POST", "/api/v1/plan")}

# admin reads
ADMIN_READS = {("GET", "/api/v1/audit"): "audit.read"}

# routes that need no person: sign-in itself, health, the API document, and routes that
# check their own secret (the Jira webhook's HMAC, /metrics' token)
OPEN = {("GET", "/login"), ("GET", "/auth/callback"), ("GET", "/healthz"), ("GET", "/api/v1/openapi.json"),
        ("POST", "/api/v1/webhooks/jira"), ("GET", "/metrics")}
OPEN_PREFIXES = ("/static/",)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def normal(rule: str) -> str:
    """'/a/<int:x>/b' -> '/a/<>/b'.

    >>> normal("/api/v1/scenarios/<int:sid>")
    '/api/v1/scenarios/<>'
    """
    return re.sub(r"<[^>]*>", "<>", rule)


def needed(method: str, rule: str) -> tuple[str, str]:
    """(role or PUBLIC, action) for a request to `rule`.

    >>> needed("POST", "/api/v1/sync"), needed("GET", "/kpis"), needed("PUT", "/api/v1/anything")
    (('planner', 'sync.queue'), ('viewer', 'read'), ('admin', 'write'))
    """
    m = "GET" if method == "HEAD" else method
    r = normal(rule)
    if (m, r) in OPEN or r.startswith(OPEN_PREFIXES) or m == "OPTIONS":
        return PUBLIC, "read"
    if (m, r) in WRITES:
        return WRITES[(m, r)]
    if (m, r) in ADMIN_READS:
        return "admin", ADMIN_READS[(m, r)]
    if m in SAFE_METHODS or (m, r) in READS:
        return "viewer", "read"
    return "admin", "write"


def is_write(method: str, rule: str) -> bool:
    m = "GET" if method == "HEAD" else method
    return (m, normal(rule)) in WRITES or (m not in SAFE_METHODS and (m, normal(rule)) not in READS
                                             and (m, normal(rule)) not in OPEN)
