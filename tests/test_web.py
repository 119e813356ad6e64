"""The web service through Flask's test client: every route, its errors, the OpenAPI
document against real responses, security, what-if."""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource

from app import create_app
from app.web.openapi import spec
from app.services.sync import sync

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def workspace_dir(workspace_dir):
    """The example with a hostile title and impact text (the shared `ws` and `client` sync it)."""
    with (workspace_dir / "initiatives.csv").open("a") as fh:
        fh.write(f'X,"{EVIL} launch",To Do,new,1,,nps +1%; {EVIL} +5%,,\n')
    return workspace_dir


def check(schema_name: str, data) -> None:
    """Validate a real response against the OpenAPI document's schema."""
    doc = spec()
    registry = Registry().with_resource("urn:api", Resource.opaque(doc))
    schema = {"$ref": f"urn:api#/components/schemas/{schema_name}"}
    errors = list(Draft202012Validator(schema, registry=registry).iter_errors(data))
    assert errors == [], [e.message for e in errors]


def test_openapi_document_is_valid_openapi_3_1():
    validate_spec(spec())
    assert spec()["openapi"] == "3.1.0"


def test_request_bodies_are_described_by_the_models_that_validate_them():
    from app.services.whatif import WhatIfBody
    from app.web.changes import SnapshotBody
    from app.web.planning import PlanBody
    doc = spec()
    schemas = doc["components"]["schemas"]
    bodies = {path: op["requestBody"]["content"]["application/json"]["schema"]
              for path, ops in doc["paths"].items() for op in ops.values() if "requestBody" in op}
    # each body is a reference to a generated component (the webhook takes any Jira event object)
    assert bodies == {"/api/v1/what-if": {"$ref": "#/components/schemas/WhatIf"},
                      "/api/v1/plan": {"$ref": "#/components/schemas/PlanRequest"},
                      "/api/v1/snapshots": {"$ref": "#/components/schemas/SnapshotRequest"},
                      "/api/v1/initiatives/{key}/estimates": {"$ref": "#/components/schemas/EstimateLine"},
                      "/api/v1/scenarios": {"$ref": "#/components/schemas/ScenarioRequest"},
                      "/api/v1/webhooks/jira": {"type": "object"}}
    from app.web.estimates import EstimateBody
    from app.web.scenarios import ScenarioBody
    for name, model in (("WhatIf", WhatIfBody), ("PlanRequest", PlanBody), ("SnapshotRequest", SnapshotBody),
                        ("EstimateLine", EstimateBody), ("ScenarioRequest", ScenarioBody)):
        generated = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        assert schemas[name] == {k: v for k, v in generated.items() if k != "$defs"}
        assert all(schemas[d] == s for d, s in generated.get("$defs", {}).items())
    whatif = schemas["WhatIf"]["properties"]
    assert whatif["objective_weights"]["additionalProperties"] == {"type": "number", "minimum": -1e6, "maximum": 1e6}
    assert schemas["EdgeChange"]["required"] == ["from", "to", "weight"]     # by alias, as sent


def test_roadmap_api_pages_filters_and_matches_its_schema(client):
    data = client.get("/api/v1/roadmap?limit=2&offset=1").get_json()
    check("Roadmap", data)
    assert (data["total"], data["offset"], data["limit"]) == (5, 1, 2)
    assert [it["key"] for it in data["items"]] == ["C", "B"]   # v2: A 1.95, C 1.625, B 0.975, X, D
    assert client.get("/api/v1/roadmap?limit=500").get_json()["limit"] == 500
    assert [i["key"] for i in client.get("/api/v1/roadmap?objective=delight").get_json()["items"]] == ["C", "X"]
    assert [i["key"] for i in client.get("/api/v1/roadmap?q=onboard").get_json()["items"]] == ["A"]
    assert [i["key"] for i in client.get("/api/v1/roadmap?flag=unestimated-link").get_json()["items"]] == ["D"]
    assert [i["key"] for i in client.get("/api/v1/roadmap?status=In%20Progress").get_json()["items"]] == ["C"]
    assert client.get("/api/v1/roadmap?method=rice").get_json()["method"] == "rice"


@pytest.mark.parametrize("url,status,message", [
    ("/api/v1/roadmap?limit=-1", 400, "limit must be at least 0"),
    ("/api/v1/roadmap?limit=501", 400, "limit must be at most 500"),
    ("/api/v1/roadmap?offset=x", 400, "offset must be a whole number"),
    ("/api/v1/roadmap?as_of=July", 400, "as_of must be a date, YYYY-MM-DD"),
    ("/api/v1/roadmap?method=moscow", 400, "method must be one of kpi-impact, rice, ice, wsjf"),
    ("/api/v1/roadmap?objective=profit", 400, "objective: no objective 'profit'; known: revenue, delight"),
    ("/api/v1/initiatives/NOPE", 404, "no initiative with key 'NOPE'"),
    ("/api/v1/sync/nope", 404, "no sync job 'nope'"),
])
def test_errors_are_json_with_code_and_message(client, url, status, message):
    res = client.get(url)
    assert res.status_code == status
    check("Error", res.get_json())
    assert res.get_json()["error"]["message"] == message
    nowhere = client.get("/api/v1/nowhere")
    assert nowhere.status_code == 404 and nowhere.get_json()["error"]["code"] == "not-found"


def test_every_json_route_matches_its_schema(client):
    check("Explanation", client.get("/api/v1/initiatives/C").get_json())
    kpis = client.get("/api/v1/kpis?history=1").get_json()
    check("Kpis", kpis)
    assert kpis["kpis"][0]["history"][-1] == {"date": "2026-07-01", "value": 0.32}
    objs = client.get("/api/v1/objectives").get_json()
    check("Objectives", objs)
    assert objs["objectives"][0] == {"id": "revenue", "name": "revenue", "weight": 3.0, "weight_share": 0.75,
                                     "kpis": ["mrr"]}
    graph = client.get("/api/v1/graph").get_json()
    check("Graph", graph)
    assert {n["id"]: n["layer"] for n in graph["nodes"]}["activation"] == 2
    check("Alignment", client.get("/api/v1/alignment").get_json())
    check("Health", client.get("/healthz").get_json())
    csv = client.get("/api/v1/roadmap.csv").get_data(as_text=True).splitlines()
    assert csv[0] == "rank,key,title,status,score,impact,effort,flags,url" and csv[1].startswith("1,A,")


def test_what_if_reranks_without_storing(client, ws):
    before = client.get("/api/v1/roadmap").get_json()
    res = client.post("/api/v1/what-if", json={"objective_weights": {"revenue": 0, "delight": 1}})
    data = res.get_json()
    check("Roadmap", data)
    # only delight counts: C (nps) carries 100 · 0.5 · 0.1 = 5.0
    assert data["items"][0]["key"] == "C" and data["items"][0]["impact"] == 5.0
    a = next(i for i in data["items"] if i["key"] == "A")
    assert a["impact"] == 0 and a["previous_rank"] == 1 and a["moved"] == 1 - a["rank"]
    assert client.get("/api/v1/roadmap").get_json() == before            # nothing stored


def test_what_if_edges_values_and_new_initiatives(client):
    data = client.post("/api/v1/what-if", json={
        "edge_weights": [{"from": "activation", "to": "mrr", "weight": 1.0}],
        "kpi_values": {"mrr": 100000},
        "initiatives": [{"key": "NEW-1", "title": "Idea", "effort": 1, "impact": "activation +10% @100%"}],
        "as_of": "2026-07-02"}).get_json()
    new = next(i for i in data["items"] if i["key"] == "NEW-1")
    # mrr at its baseline: p = 0 against π = 0.5, u = 1.5; activation u = 1.3 (v2: every KPI on the path);
    # δ = 0.1: 0.1 · 1.3 · 1.0 · 1.5 · 1.0 · 75 = 14.625
    assert new["impact"] == pytest.approx(14.625) and new["previous_rank"] is None and new["rank"] == 1


@pytest.mark.parametrize("body,message", [
    ({"objective_weights": {"profit": 1}}, "objective_weights.profit: no such objective"),
    ({"objective_weights": {"revenue": 0, "delight": 0}}, "objective_weights: at least one objective needs a weight"),
    ({"edge_weights": [{"from": "nps", "to": "revenue", "weight": 1}]}, "edge_weights[0]: no edge from 'nps' to"),
    ({"kpi_values": {"nps": "high"}}, "kpi_values.nps: must be a finite number"),
    ({"initiatives": [{"title": "x"}]}, "initiatives[0].key: required"),
    ({"colour": "blue"}, "unknown keys: colour"),
])
def test_what_if_errors_name_the_key(client, body, message):
    res = client.post("/api/v1/what-if", json=body)
    assert res.status_code == 400 and res.get_json()["error"]["message"].startswith(message)


def test_sync_needs_the_token_when_one_is_set(ws, monkeypatch):
    ws.settings.service.api_token_env = "ROADMAP_API_TOKEN"
    monkeypatch.setenv("ROADMAP_API_TOKEN", "tok-123")
    client = create_app(workspace=ws).test_client()
    res = client.post("/api/v1/sync")
    assert res.status_code == 401 and res.get_json()["error"]["code"] == "unauthorized"
    assert "tok-123" not in res.get_data(as_text=True)
    res = client.post("/api/v1/sync", headers={"Authorization": "Bearer tok-123"})
    assert res.status_code == 202
    check("SyncJob", res.get_json())
    status_url = res.get_json()["status_url"]
    import time
    for _ in range(100):
        state = client.get(status_url).get_json()
        if state["status"] not in ("queued", "running"):
            break
        time.sleep(0.05)
    assert state["status"] == "ok" and {c["connector"] for c in state["connectors"]} == {"backlog", "obs"}


def test_pages_render_escape_and_carry_security_headers(client):
    for url in ("/", "/initiatives/A", "/kpis", "/alignment", "/graph", "/?objective=delight&q=nps&page=1"):
        res = client.get(url)
        assert res.status_code == 200, url
        html = res.get_data(as_text=True)
        assert "<script>alert" not in html
        assert "script-src 'self'" in res.headers["Content-Security-Policy"]
        assert res.headers["X-Content-Type-Options"] == "nosniff" and res.headers["X-Frame-Options"] == "DENY"
    home = client.get("/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; launch" in home
    assert '<details class="why"><summary>NPS survey in app</summary>' in home
    assert 'data-objective="revenue"' in home                          # a what-if slider per objective
    x = client.get("/initiatives/X").get_data(as_text=True)
    assert "unknown-kpi:&lt;script&gt;alert(1)&lt;/script&gt;" in x
    one = client.get("/initiatives/A").get_data(as_text=True)
    assert "activation → mrr → revenue" in one and "32.0% → 34.6%" in one
    assert client.get("/initiatives/NOPE").status_code == 404
    kpis = client.get("/kpis").get_data(as_text=True)
    assert kpis.count('<svg class="trend"') == 4 and "off-track" in kpis
    graph = client.get("/graph").get_data(as_text=True)
    assert '<g class="node off">' in graph and '<g class="node obj">' in graph


def test_ranking_is_reused_until_a_sync_lands(client, ws, monkeypatch):
    from app import services
    calls = []
    real = services.ranking
    monkeypatch.setattr(services, "ranking", lambda *a, **k: calls.append(1) or real(*a, **k))
    client.get("/api/v1/roadmap")
    client.get("/api/v1/roadmap?offset=2")
    client.get("/")
    assert len(calls) == 1
    for _ in range(2):       # explanations share one ranking that includes done items
        client.get("/api/v1/initiatives/A")
        client.get("/initiatives/A")
    assert len(calls) == 2
    sync(ws)
    client.get("/api/v1/roadmap")
    assert len(calls) == 3


def test_serve_refuses_a_public_host_without_a_token(workspace_dir):
    from click.testing import CliRunner

    from app.cli import main
    res = CliRunner().invoke(main, ["serve", "--config", str(workspace_dir / "roadmap.toml"), "--host", "0.0.0.0"])
    assert res.exit_code == 2 and "refusing to serve on 0.0.0.0 without an API token" in res.output


def test_roadmap_demo_serves_the_sample_on_loopback(tmp_path):
    """The README's first command, as a user runs it: build, print, serve."""
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
