"""`GET /metrics`: the Prometheus text format (parsed with prometheus_client's own parser),
requests and latencies per route labelled by URL rule, and the store's figures (syncs and
failures per connector, initiatives, observations, last good sync) the same on every
replica. Values are those of the worked example (tests/conftest.py): 5 initiatives, 6
observations, one run per connector."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.services import Workspace
from app.services.sync import sync


def scrape(client) -> dict:
    """Every sample as {(name, sorted labels): value}."""
    res = client.get("/metrics")
    assert res.status_code == 200 and res.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(res.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_requests_and_latencies_are_counted_per_route_not_per_path(ws):
    client = create_app(workspace=ws).test_client()
    before = scrape(client)
    for path in ("/api/v1/initiatives/A", "/api/v1/initiatives/B", "/api/v1/initiatives/NOPE", "/no/such/page"):
        client.get(path)
    after = scrape(client)

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)
    rule = "/api/v1/initiatives/<key>"
    assert delta("roadmap_http_requests_total", method="GET", route=rule, status="200") == 2
    assert delta("roadmap_http_requests_total", method="GET", route=rule, status="404") == 1
    assert delta("roadmap_http_requests_total", method="GET", route="(unmatched)", status="404") == 1
    assert delta("roadmap_http_request_duration_seconds_count", method="GET", route=rule) == 3
    assert delta("roadmap_http_request_duration_seconds_bucket", method="GET", route=rule, le="+Inf") == 3
    assert not any("initiatives/A" in str(k) for k in after)             # raw paths never become labels


def test_store_figures_match_the_worked_example(ws):
    m = scrape(create_app(workspace=ws).test_client())
    assert m[("roadmap_store_up", ())] == 1
    assert m[("roadmap_sync_runs_total", (("connector", "backlog"), ("status", "ok")))] == 1
    assert m[("roadmap_sync_runs_total", (("connector", "obs"), ("status", "ok")))] == 1
    assert m[("roadmap_sync_failures_total", (("connector", "backlog"),))] == 0
    assert m[("roadmap_initiatives", (("state", "active"),))] == 5            # A-E, done E included
    assert m[("roadmap_initiatives", (("state", "removed"),))] == 0
    assert m[("roadmap_observations", ())] == 6
    assert m[("roadmap_data_version", ())] == ws.store.data_version()
    ages = [m[("roadmap_last_good_sync_age_seconds", (("connector", c),))] for c in ("backlog", "obs")]
    assert all(0 <= a < 3600 for a in ages)
    assert m[("roadmap_sync_jobs", (("status", "queued"),))] == 0


def test_a_failed_sync_is_counted_for_its_connector_and_replicas_agree(ws, workspace_dir):
    (workspace_dir / "observations.csv").unlink()
    reports = {r.connector: r.status for r in sync(ws)}
    assert reports == {"backlog": "ok", "obs": "failed"}
    one = scrape(create_app(workspace=ws).test_client())
    other = scrape(create_app(workspace=Workspace(ws.settings)).test_client())
    assert one[("roadmap_sync_failures_total", (("connector", "obs"),))] == 1
    assert one[("roadmap_sync_runs_total", (("connector", "backlog"), ("status", "ok")))] == 2
    assert one[("roadmap_observations", ())] == 6                              # the last good data kept

    def store_part(m):
        return {k: v for k, v in m.items() if not k[0].startswith(("roadmap_http", "roadmap_last_good_sync_age"))}
    assert store_part(one) == store_part(other)
