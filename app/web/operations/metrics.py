"""`GET /metrics` in the Prometheus text format (prometheus-client).

Two kinds of figures:
- Requests and latencies per route are counted in the process that answers them, by a
  before/after-request hook, labelled by the matched URL rule (`/api/v1/initiatives/<key>`,
  never the raw path, so the label set stays small). Under gunicorn with several workers,
  set `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode; see the README's
  gunicorn.conf.py) and a scrape sums every worker of that server; without it each worker
  keeps its own registry and a scrape sees the share of the worker that answered it.
- Syncs and failures per connector, initiatives and observations stored, the age of the
  last good sync, the job queue: read from the store at scrape time, so every replica and
  every worker reports the same values whichever answers the scrape.
"""
from __future__ import annotations

import hmac
import os
import time
from datetime import datetime, timezone

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import exposition
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from app.store import queue as q
from app.web.state import _is_loopback as is_loopback
from app.web.state import workspace
from scoring.errors import Forbidden, Unauthorized

metrics = Blueprint("metrics", __name__)
# the text format every Prometheus server reads (prometheus-client >= 0.22 labels its output 1.0.0,
# identical for ASCII names like these, which Prometheus 2 servers do not recognise)
CONTENT_TYPE = getattr(exposition, "CONTENT_TYPE_PLAIN_0_0_4", CONTENT_TYPE_LATEST)
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

_PROCESS = CollectorRegistry()
REQUESTS = Counter("roadmap_http_requests", "HTTP requests answered, by route and status",
                   ["method", "route", "status"], registry=_PROCESS)
LATENCY = Histogram("roadmap_http_request_duration_seconds", "Time to answer a request, by route",
                    ["method", "route"], registry=_PROCESS,
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class StoreCollector:
    """The figures that live in the store, read once per scrape."""

    def __init__(self, ws):
        self.ws = ws

    def collect(self):
        up = GaugeMetricFamily("roadmap_store_up", "1 when the store answered this scrape")
        try:
            q.expire_lost(self.ws.store)        # a dead worker's job and runs are not counted running
            f = q.figures(self.ws.store)
        except Exception:  # noqa: BLE001 - a scrape still answers, saying the store did not
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        runs = CounterMetricFamily("roadmap_sync_runs", "Sync runs by connector and outcome",
                                   labels=["connector", "status"])
        failures = CounterMetricFamily("roadmap_sync_failures", "Sync runs that failed, by connector",
                                       labels=["connector"])
        failed: dict[str, int] = {}
        for connector, status, n in f["runs"]:
            runs.add_metric([connector, status], n)
            failed[connector] = failed.get(connector, 0) + (n if status == "failed" else 0)
        for connector, n in sorted(failed.items()):
            failures.add_metric([connector], n)
        age = GaugeMetricFamily("roadmap_last_good_sync_age_seconds",
                                "Seconds since a connector's last sync that published", labels=["connector"])
        stamp = GaugeMetricFamily("roadmap_last_good_sync_timestamp_seconds",
                                  "When a connector's last sync that published ended (Unix time)",
                                  labels=["connector"])
        now = datetime.now(timezone.utc)
        for connector, t in sorted(f["last_good"].items()):
            if t is not None:
                age.add_metric([connector], max((now - t).total_seconds(), 0.0))
                stamp.add_metric([connector], t.timestamp())
        items = GaugeMetricFamily("roadmap_initiatives", "Initiatives stored (removed: left their source)",
                                  labels=["state"])
        items.add_metric(["active"], f["initiatives"].get(True, 0))
        items.add_metric(["removed"], f["initiatives"].get(False, 0))
        obs = GaugeMetricFamily("roadmap_observations", "KPI observations stored")
        obs.add_metric([], f["observations"])
        jobs = GaugeMetricFamily("roadmap_sync_jobs", "Sync jobs by status", labels=["status"])
        for status in ("queued", "running", "ok", "failed"):
            jobs.add_metric([status], f["jobs"].get(status, 0))
        version = GaugeMetricFamily("roadmap_data_version", "The published sync run the ranking reads")
        version.add_metric([], f["data_version"])
        yield from (runs, failures, age, stamp, items, obs, jobs, version)
        yield from snapshot_chain(self.ws.store)


def snapshot_chain(store):
    """The snapshot chain's head (as a label, so a rewritten or deleted head shows as a new
    series) and whether the last sync found the chain whole (app/services/chain.py)."""
    from app.services import chain
    st = chain.status(store)
    ok = GaugeMetricFamily("roadmap_snapshot_chain_ok", "1 while the snapshot chain verifies as the last sync saw it")
    ok.add_metric([], 1 if st["ok"] else 0)
    head = GaugeMetricFamily("roadmap_snapshot_head", "The snapshot chain's head hash (1 for the current head)",
                             labels=["hash", "recorded"])
    if st["head"] or st["recorded_head"]:
        head.add_metric([st["head"], st["recorded_head"]], 1)
    return ok, head


class _Requests:
    """This process's request figures, or every gunicorn worker's in multiprocess mode."""

    def collect(self):
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess
            reg = CollectorRegistry()
            multiprocess.MultiProcessCollector(reg)
            yield from reg.collect()
        else:
            yield from _PROCESS.collect()


def allow_scrape() -> None:
    """`[service] metrics_token_env` naming a set variable: its bearer token is needed
    (compared in constant time); unset: loopback clients only (docs/http.md, "/metrics")."""
    var = workspace().settings.service.metrics_token_env
    token = os.environ.get(var) if var else None
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {token}".encode()):
            raise Unauthorized("/metrics needs the metrics token: send 'Authorization: Bearer <token>' "
                               "([service] metrics_token_env)", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        return
    if not is_loopback(request.remote_addr):
        raise Forbidden("/metrics answers only this machine (loopback) while no metrics token is set; "
                        "set [service] metrics_token_env and export that variable to scrape it from elsewhere")


@metrics.get("/metrics")
def scrape():
    allow_scrape()
    registry = CollectorRegistry()
    registry.register(_Requests())
    registry.register(StoreCollector(workspace()))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def install(app: Flask) -> None:
    """Register /metrics and the hooks that time every request."""
    app.register_blueprint(metrics)

    @app.before_request
    def _start_clock():
        g.roadmap_started = time.perf_counter()

    @app.after_request
    def _count(resp):
        started = g.pop("roadmap_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
            method = request.method if request.method in METHODS else "other"
            REQUESTS.labels(method, route, str(resp.status_code)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
        return resp
