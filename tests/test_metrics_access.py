"""Who may read /metrics (docs/http.md, "/metrics"): loopback clients while no metrics
token is set; with `[service] metrics_token_env` naming a set variable, only a request with
that bearer token (from anywhere). A foreign client is 403 even once an operator lists the
service's public name in `allowed_hosts`; a request with no Host header at all is treated
like one with a foreign name on every route (gunicorn fills SERVER_NAME in for it)."""
from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from app import create_app
from app.config import load_settings
from app.services import Workspace

FAR = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def ws(workspace_dir, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    w = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    w.settings.service.allowed_hosts = ["localhost", "roadmap.acme.internal"]
    yield w
    w.close()


def test_without_a_token_only_loopback_clients_read_metrics(ws):
    client = create_app(workspace=ws).test_client()
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    res = client.get("/metrics", headers={"Host": "roadmap.acme.internal"}, environ_base=FAR)
    assert res.status_code == 403
    assert res.get_json()["error"]["code"] == "forbidden"
    assert "metrics_token_env" in res.get_json()["error"]["message"]
    assert "roadmap_" not in res.get_data(as_text=True)


def test_with_a_token_set_the_bearer_token_is_needed_from_everyone(ws, monkeypatch):
    ws.settings.service.metrics_token_env = "ROADMAP_METRICS_TOKEN"
    monkeypatch.setenv("ROADMAP_METRICS_TOKEN", "s3cret-scrape")
    client = create_app(workspace=ws).test_client()
    good = {"Authorization": "Bearer s3cret-scrape", "Host": "roadmap.acme.internal"}
    assert client.get("/metrics", headers=good, environ_base=FAR).status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-scrape"},
                    {"Authorization": "Bearer s3cret-scrape\u00e9"}):
        res = client.get("/metrics", headers=headers, environ_base=FAR)
        assert res.status_code == 401, headers
        assert res.headers["WWW-Authenticate"].startswith("Bearer")
        assert "s3cret" not in res.get_data(as_text=True)
    assert client.get("/metrics").status_code == 401                 # loopback too, once a token is set


def test_the_token_compare_is_constant_time(ws, monkeypatch):
    from app.web.operations import metrics
    calls = []
    real = metrics.hmac.compare_digest
    monkeypatch.setattr(metrics.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    ws.settings.service.metrics_token_env = "ROADMAP_METRICS_TOKEN"
    monkeypatch.setenv("ROADMAP_METRICS_TOKEN", "tok")
    create_app(workspace=ws).test_client().get("/metrics", headers={"Authorization": "Bearer nope"})
    assert calls == [(b"Bearer nope", b"Bearer tok")]


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/api/v1/roadmap", "/"])
def test_a_request_without_a_host_header_is_refused_on_every_route(ws, path):
    app = create_app(workspace=ws)
    env = EnvironBuilder(path=path, environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
    env.pop("HTTP_HOST", None)
    env["SERVER_NAME"], env["SERVER_PORT"] = "localhost", "8080"     # what gunicorn fills in
    _, status, _headers = run_wsgi_app(app, env, buffered=True)
    assert status.startswith("400")
