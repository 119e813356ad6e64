"""Jira sync benchmark: the connector against a loopback stand-in serving 50,000 issues.

Prints requests made against the minimum (pages needed plus a constant), issues per
second, peak memory of the syncing process, and the requests of a no-change incremental
sync. The stand-in runs as a separate process on 127.0.0.1 and caps pages at 100 issues
with fields (5,000 ids-only), as Jira Cloud does.

Run: python3 bench/jira_sync.py [--issues N]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))

import standin  # noqa: E402

PAGE_WITH_FIELDS = 100
PAGE_IDS_ONLY = 5000


def make_issue(n: int) -> dict:
    kpi = ("activation", "churn", "nps")[n % 3]
    return {"id": str(100000 + n), "key": f"ROAD-{n}", "fields": {
        "summary": f"Initiative {n}", "updated": f"2026-06-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00.000+0000",
        "status": {"name": "To Do", "statusCategory": {"key": "new"}}, "labels": [f"kpi:{kpi}"],
        "issuetype": {"name": "Story"}, "issuelinks": [], "created": "2026-01-01T00:00:00.000+0000",
        "description": {"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "KPI impact"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": f"{kpi} +{1 + n % 9}% @{50 + n % 40}%"}]}]},
        "customfield_10016": 1 + n % 8}}


def serve(port: int, count: int) -> None:
    """The stand-in: enhanced JQL search, approximate count, myself."""
    import logging

    from werkzeug.serving import make_server
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from werkzeug.wrappers import Request, Response
    issues = sorted((make_issue(n) for n in range(count)), key=lambda i: i["fields"]["updated"])

    def matching(jql: str):
        if 'updated >= "' in jql:
            since = jql.split('updated >= "')[1][:16].replace(" ", "T")
            return [i for i in issues if i["fields"]["updated"][:16] >= since]
        return issues

    @Request.application
    def app(request: Request) -> Response:
        if request.path == "/rest/api/3/myself":
            return Response(json.dumps({"timeZone": "UTC"}), content_type="application/json")
        body = request.get_json(force=True, silent=True) or {}
        if request.path == "/rest/api/3/search/approximate-count":
            return Response(json.dumps({"count": len(matching(body["jql"]))}), content_type="application/json")
        if request.path == "/rest/api/3/search/jql":
            found = matching(body["jql"])
            ids_only = body.get("fields") in (None, ["id"])
            size = min(body.get("maxResults", 50), PAGE_IDS_ONLY if ids_only else PAGE_WITH_FIELDS)
            start = int(body.get("nextPageToken") or 0)
            chunk = found[start:start + size]
            out = {"issues": [{"id": i["id"]} if ids_only else i for i in chunk], "isLast": start + size >= len(found)}
            if not out["isLast"]:
                out["nextPageToken"] = str(start + size)
            return Response(json.dumps(out), content_type="application/json")
        return Response(json.dumps({"errorMessages": ["not found"]}), status=404, content_type="application/json")

    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--issues", type=int, default=50_000)
    ap.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.issues)
        return
    port, server = standin.start(__file__, "--issues", str(args.issues))
    try:
        run(port, args.issues)
    finally:
        server.terminate()


def run(port: int, count: int) -> None:
    from app.config import load_settings
    from app.services import Workspace
    from app.services.sync import sync
    tmp = Path(tempfile.mkdtemp(prefix="roadmap-jira-bench-"))
    (tmp / "roadmap.toml").write_text(f"""
[[objectives]]
id = "growth"
weight = 1
[[kpis]]
id = "activation"
[[kpis]]
id = "churn"
direction = "down"
[[kpis]]
id = "nps"
[[edges]]
from = "activation"
to = "growth"
weight = 1
[[edges]]
from = "churn"
to = "growth"
weight = 1
[[edges]]
from = "nps"
to = "growth"
weight = 0.5
[connectors.backlog]
type = "jira"
deployment = "cloud"
url = "http://127.0.0.1:{port}"
email = "bench@example.com"
token_env = "BENCH_JIRA_TOKEN"
jql = "project = ROAD"
[connectors.backlog.fields]
effort = "customfield_10016"
""")
    os.environ["BENCH_JIRA_TOKEN"] = "bench-token"
    ws = Workspace(load_settings(tmp / "roadmap.toml"))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    (full,) = sync(ws)
    seconds = time.perf_counter() - t
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    minimum = math.ceil(count / PAGE_WITH_FIELDS) + 2          # pages + myself + count
    made = full.figures["requests"]
    print(f"kpi-roadmap Jira sync benchmark: {count:,} issues from a loopback stand-in")
    print(f"  full sync: {full.initiatives:,} initiatives in {seconds:.1f} s = {full.initiatives / seconds:,.0f} issues/s")
    print(f"  requests made {made:,} against the minimum {minimum:,} "
          f"({math.ceil(count / PAGE_WITH_FIELDS):,} pages of {PAGE_WITH_FIELDS} + myself + count): "
          f"ratio {made / minimum:.3f} (goal <= 1.1)")
    print(f"  peak RSS of the syncing process: {rss_after:.0f} MiB (before the sync {rss_before:.0f} MiB); "
          f"pages are staged as they come, not held")
    t = time.perf_counter()
    (again,) = sync(ws)
    print(f"  no-change incremental sync: {again.figures['requests']} requests (goal <= 3), "
          f"{again.initiatives} re-read in the overlap window, {again.removed} removed, "
          f"{time.perf_counter() - t:.2f} s")
    print(f"  store holds {ws.store.count('initiatives'):,} initiatives")


if __name__ == "__main__":
    main()
