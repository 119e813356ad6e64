"""The web service as far as `roadmap demo` serves it today: the ranking as JSON and as
a page, health, JSON errors, escaped tracker text."""
from __future__ import annotations

import pytest

from app import create_app
from app.config import load_settings
from app.services import Workspace
from app.sync import sync


@pytest.fixture
def client(workspace_dir, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    with (workspace_dir / "initiatives.csv").open("a") as fh:
        fh.write('X,"<script>alert(1)</script> launch",To Do,new,1,,nps +1%,,\n')
    ws = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    sync(ws)
    return create_app(workspace=ws).test_client()


def test_roadmap_api_pages_and_caps_the_page_size(client):
    data = client.get("/api/v1/roadmap?limit=2&offset=1").get_json()
    assert (data["total"], data["offset"], data["limit"]) == (5, 1, 2)
    assert [it["key"] for it in data["items"]] == ["A", "B"]
    assert client.get("/api/v1/roadmap?limit=100000").get_json()["limit"] == 500


def test_errors_are_json_with_code_and_message(client):
    res = client.get("/api/v1/roadmap?limit=-1")
    assert res.status_code == 400 and res.get_json() == {
        "error": {"code": "bad-request", "message": "limit must be at least 0"}}
    res = client.get("/nowhere")
    assert res.status_code == 404 and res.get_json()["error"]["code"] == "not-found"


def test_page_escapes_tracker_text(client):
    html = client.get("/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; launch" in html and "<script>alert" not in html


def test_healthz_reports_the_last_sync(client):
    data = client.get("/healthz").get_json()
    assert data["status"] == "ok" and data["last_sync"].startswith("20")


def test_ranking_is_reused_until_a_sync_lands(client, monkeypatch):
    from app import services
    calls = []
    real = services.ranking
    monkeypatch.setattr(services, "ranking", lambda *a, **k: calls.append(1) or real(*a, **k))
    client.get("/api/v1/roadmap")
    client.get("/api/v1/roadmap?offset=2")
    assert len(calls) == 1


def test_roadmap_demo_serves_the_sample_on_loopback(tmp_path):
    """The README's first command, as a user runs it: build, print, serve."""
    import json
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "demo", "--port", str(port), "--dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/roadmap?limit=3", timeout=2) as r:
                    data = json.load(r)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stdout.read() if proc.poll() is not None else "demo did not start")
                time.sleep(0.2)
        assert data["total"] == 61 and data["items"][0]["rank"] == 1
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    assert f"serving the roadmap on http://127.0.0.1:{port}/" in out
    assert "61 ranked by kpi-impact as of 2026-11-20" in out
