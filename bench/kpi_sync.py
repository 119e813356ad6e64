"""KPI sync benchmark: 200 KPIs from loopback stand-ins of GA4, PostHog, Amplitude and
Mixpanel, each answering after 50 ms. Prints the wall time of one concurrent sync against
the serial time (one request at a time, one source after another), with each source's
concurrency limit.

Run: python3 bench/kpi_sync.py [--kpis N] [--latency-ms MS]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))

import standin  # noqa: E402

SOURCES = ("ga", "ph", "amp", "mp")
DAYS = [date.today() - timedelta(days=n) for n in range(30)]


def serve(port: int, latency: float) -> None:
    import logging

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    def answer(body) -> Response:
        time.sleep(latency)
        return Response(json.dumps(body), content_type="application/json")

    @Request.application
    def app(request: Request) -> Response:
        p = request.path
        if p == "/token":
            return answer({"access_token": "bench-token", "expires_in": 3600, "token_type": "Bearer"})
        if p.endswith(":runReport"):
            rows = [{"dimensionValues": [{"value": d.strftime("%Y%m%d")}], "metricValues": [{"value": str(n)}]}
                    for n, d in enumerate(DAYS)]
            return answer({"metricHeaders": [{"name": "activeUsers", "type": "TYPE_INTEGER"}], "rows": rows,
                           "rowCount": len(rows)})
        if p.endswith("/query/"):
            return answer({"results": [[d.isoformat(), n] for n, d in enumerate(DAYS)], "hasMore": False})
        if p.endswith("/segmentation"):
            return answer({"data": {"series": [list(range(len(DAYS)))], "xValues": [d.isoformat() for d in DAYS]}})
        if p.endswith("/insights"):
            return answer({"series": {"A": {f"{d.isoformat()}T00:00:00Z": n for n, d in enumerate(DAYS)}}})
        return Response("{}", status=404)

    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def config(tmp: Path, port: int, kpis: int) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    (tmp / "sa.json").write_text(json.dumps({"type": "service_account", "private_key": pem, "private_key_id": "1",
                                             "client_email": "bench@x.iam", "token_uri": f"http://127.0.0.1:{port}/token"}))
    base = f"http://127.0.0.1:{port}"
    source = {"ga": 'metric = "activeUsers"', "ph": 'query = "SELECT day, value FROM kpi WHERE {filters}"',
              "amp": 'event = "login"', "mp": "bookmark_id = 1"}
    lines = ["[[objectives]]", 'id = "o"', "weight = 1"]
    for n in range(kpis):
        name = SOURCES[n % 4]
        lines += ["[[kpis]]", f'id = "k{n}"', f"source = {{ connector = \"{name}\", {source[name]} }}"]
    lines += [f'[connectors.ga]\ntype = "ga4"\nproperty_id = 1\ncredentials_env = "BENCH_GA_KEY"\nurl = "{base}"',
              f'[connectors.ph]\ntype = "posthog"\nurl = "{base}"\nproject_id = 1\ntoken_env = "BENCH_TOKEN"',
              f'[connectors.amp]\ntype = "amplitude"\nurl = "{base}"\napi_key_env = "BENCH_TOKEN"\n'
              f'secret_key_env = "BENCH_TOKEN"',
              f'[connectors.mp]\ntype = "mixpanel"\nurl = "{base}"\nproject_id = 1\nusername_env = "BENCH_TOKEN"\n'
              f'secret_env = "BENCH_TOKEN"\nqueries_per_hour = 1000']
    (tmp / "roadmap.toml").write_text("\n".join(lines) + "\n")
    os.environ.update(BENCH_GA_KEY=str(tmp / "sa.json"), BENCH_TOKEN="bench")
    return tmp / "roadmap.toml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kpis", type=int, default=200)
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.latency_ms / 1000)
        return
    port, server = standin.start(__file__, "--latency-ms", str(args.latency_ms))
    try:
        measure(port, args.kpis, args.latency_ms)
    finally:
        server.terminate()


def measure(port: int, kpis: int, latency_ms: float) -> None:
    from app.config import load_settings
    from app.services import Workspace
    from app.services.sync import sync
    from connectors.base import registry
    tmp = Path(tempfile.mkdtemp(prefix="roadmap-kpi-bench-"))
    ws = Workspace(load_settings(config(tmp, port, kpis)))
    limits = {name: registry.get(t).concurrency for name, t in
              (("ga", "ga4"), ("ph", "posthog"), ("amp", "amplitude"), ("mp", "mixpanel"))}
    t = time.perf_counter()
    reports = sync(ws, full=True)
    wall = time.perf_counter() - t
    assert all(r.status == "ok" for r in reports), [(r.connector, r.failures) for r in reports]
    requests = sum(r.figures.get("requests", 0) for r in reports) + 1   # + the token exchange
    saved = {t: registry.get(t).concurrency for t in ("ga4", "posthog", "amplitude", "mixpanel")}
    try:
        for t_name in saved:
            registry.get(t_name).concurrency = 1
        t = time.perf_counter()
        for name in SOURCES:
            sync(ws, connector=name, full=True)
        serial = time.perf_counter() - t
    finally:
        for t_name, c in saved.items():
            registry.get(t_name).concurrency = c
    print(f"kpi-roadmap KPI sync benchmark: {kpis} KPIs over 4 loopback sources, {latency_ms:.0f} ms per request")
    print("  concurrency limits: " + ", ".join(f"{n} {c}" for n, c in limits.items()))
    print(f"  requests: {requests}; observations stored: {sum(r.observations for r in reports):,}")
    print(f"  serial (1 request at a time, sources one after another): {serial:.2f} s")
    print(f"  concurrent sync:                                          {wall:.2f} s   "
          f"speed-up {serial / wall:.1f}x")
    slowest = max(kpis / 4 / c for c in limits.values())
    print(f"  floor from the tightest limit (PostHog: {kpis // 4} queries / 3 at once x {latency_ms:.0f} ms): "
          f"{slowest * latency_ms / 1000:.2f} s")


if __name__ == "__main__":
    main()
