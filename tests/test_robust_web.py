"""Issue 8, the web side: nothing a client sends breaks the service. Bounded caches, the
what-if body validated and capped, Host / Origin / loopback guards in create_app, 405
with Allow, the CSV's filters and formula-safe cells, http(s)-only links, clear errors
for a goal graph that cannot be scored, HTML error pages for people, a logged 500."""
from __future__ import annotations

import csv
import io
import json
import logging
from datetime import date, timedelta

import pytest

from app import create_app
from app.services.sync import sync
from app.web.openapi import spec


@pytest.fixture
def workspace_dir(workspace_dir):
    """The example with hostile cells a spreadsheet would run, and a javascript: URL (shapes
    from a security probe); the shared `ws` and `client` sync it."""
    with (workspace_dir / "initiatives.csv").open("a") as fh:
        fh.write('F,"=HYPERLINK(""http://evil.example"",""x"")",To Do,new,1,,nps +1%,,javascript:alert(1)\n')
        fh.write('G,@SUM(A1),To Do,new,1,,nps +1%,,"data:text/html;base64,PHNjcmlwdD4="\n')
    return workspace_dir


# -- caches -----------------------------------------------------------------------

def test_the_ranking_cache_is_bounded_by_entries_and_bytes(ws):
    app = create_app(workspace=ws)
    cache = app.extensions["roadmap"]
    cache.max_entries = 10
    c = app.test_client()
    for n in range(40):   # 40 distinct as_of values: the probe used 600 and grew a worker to 1.13 GiB
        assert c.get(f"/api/v1/roadmap?as_of={date(2026, 1, 1) + timedelta(days=n)}&limit=1").status_code == 200
    assert len(cache) <= 10
    from app.web.state import RankingCache
    small = RankingCache(ws, max_entries=100, max_bytes=200_000)
    for n in range(40):
        small.get(date(2026, 1, 1) + timedelta(days=n))
    assert 0 < len(small) < 40 and small.nbytes <= 200_000


def test_kpis_are_computed_once_per_data_version(client, ws, monkeypatch):
    from app import services
    calls = []
    real = services.kpis
    monkeypatch.setattr(services, "kpis", lambda *a, **k: calls.append(1) or real(*a, **k))
    for _ in range(3):
        assert client.get("/kpis").status_code == 200
    assert len(calls) == 1           # the page, rendered once (36 requests/s before, against 1,100 for /)
    for _ in range(3):
        assert client.get("/api/v1/kpis").status_code == 200
    assert len(calls) == 2
    sync(ws)
    client.get("/api/v1/kpis")
    client.get("/kpis")
    assert len(calls) == 4


# -- what-if ----------------------------------------------------------------------

@pytest.mark.parametrize("body,message", [
    ({"objective_weights": [1]}, "objective_weights: input should be a valid dictionary"),
    ({"initiatives": "x"}, "initiatives: input should be a valid list"),
    ({"initiatives": [{"title": "no key"}]}, "initiatives[0].key: required"),
    ({"initiatives": [{"key": ""}]}, "initiatives[0].key: string should have at least 1 character"),
    ({"initiatives": [{"key": "N", "effort": "big"}]}, "initiatives[0].effort: must be a finite number"),
    ({"edge_weights": [{"from": "nps", "to": "mrr"}]}, "edge_weights[0].weight: required"),
    ({"edge_weights": [{"from": "nps", "to": "mrr", "weight": 1e308}]}, "edge_weights[0].weight: must be between"),
    ({"objective_weights": {"revenue": 1e308}}, "objective_weights.revenue: must be between"),
    ({"kpi_values": {"nps": True}}, "kpi_values.nps: must be a finite number"),
    ({"as_of": 5}, "as_of: input should be a valid date"),
    ([1, 2], "the body must be a JSON object"),
])
def test_malformed_what_if_bodies_are_located_400s(client, body, message):
    res = client.post("/api/v1/what-if", json=body)
    assert res.status_code == 400, res.get_data(as_text=True)
    assert res.get_json()["error"]["message"].startswith(message)


def test_what_if_caps_the_body_and_the_extra_initiatives(client):
    many = {"initiatives": [{"key": f"N{n}"} for n in range(1001)]}
    res = client.post("/api/v1/what-if", json=many)
    assert res.status_code == 400
    assert res.get_json()["error"]["message"] == "initiatives: at most 1000 items in one request (the limit)"
    big = json.dumps({"initiatives": [{"key": "N", "title": "x" * (2**20)}]})
    res = client.post("/api/v1/what-if", data=big, content_type="application/json")
    assert res.status_code == 413
    assert res.get_json()["error"] == {"code": "too-large", "message":
                                       "the request body is larger than the limit of 1048576 bytes (1 MiB)"}


def test_what_if_honours_method_and_as_of_and_reuses_the_cached_backlog(client, monkeypatch):
    from app.store import Store
    client.post("/api/v1/what-if?method=rice", json={})          # warms the cache for rice
    loads = []
    real = Store.load_backlog
    monkeypatch.setattr(Store, "load_backlog", lambda self, *a, **k: loads.append(1) or real(self, *a, **k))
    rice = client.post("/api/v1/what-if?method=rice", json={"objective_weights": {"revenue": 1}}).get_json()
    assert rice["method"] == "rice"
    for _ in range(3):
        client.post("/api/v1/what-if", json={"kpi_values": {"nps": 41}})
    assert len(loads) == 1             # the kpi-impact backlog once, then from the cache
    when = client.post("/api/v1/what-if?as_of=2026-06-01", json={}).get_json()
    assert when["as_of"] == "2026-06-01"
    body_wins = client.post("/api/v1/what-if?as_of=2026-06-01", json={"as_of": "2026-05-01"}).get_json()
    assert body_wins["as_of"] == "2026-05-01"


# -- writes and browsers ----------------------------------------------------------

@pytest.mark.parametrize("host,ok", [("localhost", True), ("localhost:5000", True), ("127.0.0.1:8080", True),
                                     ("[::1]:80", True), ("evil.example", False), ("127.0.0.1.evil.example", False)])
def test_host_is_checked_on_every_request(client, host, ok):
    for url in ("/api/v1/roadmap", "/"):
        res = client.get(url, headers={"Host": host})
        assert (res.status_code == 200) is ok, (url, host, res.status_code)
    if not ok:
        res = client.get("/api/v1/roadmap", headers={"Host": host})
        assert res.status_code == 400 and res.get_json()["error"]["code"] == "host-not-allowed"
        assert "add it to [service] allowed_hosts" in res.get_json()["error"]["message"]
        page = client.get("/", headers={"Host": host})
        assert page.mimetype == "text/html" and "allowed_hosts" in page.get_data(as_text=True)


def test_create_app_from_a_config_path_guards_hosts_too(workspace_dir, monkeypatch):
    """What `gunicorn 'app:create_app()'` runs: no CLI serve guard in front of it."""
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    monkeypatch.setenv("ROADMAP_CONFIG", str(workspace_dir / "roadmap.toml"))
    c = create_app().test_client()
    assert c.get("/healthz", headers={"Host": "rebound.example:8080"}).status_code == 400
    assert c.get("/healthz").status_code == 200
    toml = (workspace_dir / "roadmap.toml").read_text()
    (workspace_dir / "roadmap.toml").write_text('[service]\nallowed_hosts = ["roadmap.acme.internal"]\n' + toml)
    c = create_app().test_client()
    assert c.get("/healthz", headers={"Host": "roadmap.acme.internal:443"}).status_code == 200
    assert c.get("/healthz").status_code == 400          # localhost is no longer served


def test_writes_without_a_token_answer_only_loopback_and_same_origin(client):
    far = {"REMOTE_ADDR": "203.0.113.9"}
    res = client.post("/api/v1/sync", environ_base=far)
    assert res.status_code == 403 and "only this machine (loopback) may write" in res.get_json()["error"]["message"]
    res = client.post("/api/v1/sync", headers={"Origin": "https://evil.example"})
    assert res.status_code == 403 and "another origin" in res.get_json()["error"]["message"]
    assert client.post("/api/v1/sync", headers={"Origin": "http://localhost"}).status_code == 202
    assert client.post("/api/v1/sync", environ_base={"REMOTE_ADDR": "::1"}).status_code == 202


def test_with_a_token_a_far_client_may_write_but_not_from_a_foreign_page(ws, monkeypatch):
    ws.settings.service.api_token_env = "ROADMAP_API_TOKEN"
    monkeypatch.setenv("ROADMAP_API_TOKEN", "tok-robust-1")
    c = create_app(workspace=ws).test_client()
    auth = {"Authorization": "Bearer tok-robust-1"}
    assert c.post("/api/v1/sync", headers=auth, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 202
    assert c.post("/api/v1/sync", headers={**auth, "Origin": "null"}).status_code == 403


# -- conformance --------------------------------------------------------------------

def test_405_carries_allow_and_limit_above_the_cap_is_400(client):
    res = client.delete("/api/v1/roadmap")
    assert res.status_code == 405 and set(res.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    assert res.get_json()["error"]["code"] == "method-not-allowed"
    res = client.get("/api/v1/roadmap?limit=501")
    assert res.status_code == 400 and res.get_json()["error"]["message"] == "limit must be at most 500"


def test_every_operation_documents_its_errors():
    for path, ops in spec()["paths"].items():
        for method, op in ops.items():
            assert {"400", "404", "409", "413", "500"} <= set(op["responses"]), (method, path)
    limit = next(p for p in spec()["paths"]["/api/v1/roadmap"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 500 and "cap" in limit["schema"]["description"]


def _csv(res) -> list[dict]:
    return list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))


def test_csv_filters_method_and_errors(client):
    res = client.get("/api/v1/roadmap.csv?objective=profit")
    assert res.status_code == 400 and res.get_json()["error"]["message"].startswith("objective: no objective 'profit'")
    assert [r["key"] for r in _csv(client.get("/api/v1/roadmap.csv?status=In%20Progress"))] == ["C"]
    assert [r["key"] for r in _csv(client.get("/api/v1/roadmap.csv?flag=unestimated-link"))] == ["D"]
    rice = _csv(client.get("/api/v1/roadmap.csv?method=rice"))
    api = client.get("/api/v1/roadmap?method=rice").get_json()["items"]
    assert [r["key"] for r in rice] == [i["key"] for i in api]


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(client, workspace_dir):
    rows = {r["key"]: r for r in _csv(client.get("/api/v1/roadmap.csv"))}
    assert rows["F"]["title"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert rows["G"]["title"] == "'@SUM(A1)"
    assert rows["A"]["title"] == "Guided onboarding" and float(rows["A"]["score"]) > 0
    from app.render import csv_cell, ranking_csv
    assert [csv_cell(v) for v in ("+1", "-x", "\tx", "\rx", "ok", -1.5, None)] == \
        ["'+1", "'-x", "'\tx", "'\rx", "ok", -1.5, None]
    line = ranking_csv([{"rank": 1, "key": "K", "title": "-2+3", "status": "", "score": -1.5, "impact": -1.5,
                         "effort": 1.0, "flags": [], "url": ""}]).splitlines()[1]
    assert line == "1,K,'-2+3,,-1.5,-1.5,1.0,,"
    from click.testing import CliRunner

    from app.cli import main
    out = CliRunner().invoke(main, ["score", "--config", str(workspace_dir / "roadmap.toml"), "--format", "csv"])
    assert "'=HYPERLINK" in out.output and ",=HYPERLINK" not in out.output


def test_only_http_urls_become_links(client):
    items = {i["key"]: i for i in client.get("/api/v1/roadmap").get_json()["items"]}
    assert items["F"]["url"] == "" and items["G"]["url"] == ""
    assert items["A"]["url"] == "https://acme.atlassian.net/browse/A"
    page = client.get("/initiatives/F").get_data(as_text=True)
    assert "javascript:" not in page
    assert "data:text/html" not in client.get("/").get_data(as_text=True)


def test_a_goal_graph_that_cannot_be_scored_is_a_clear_409(ws):
    from scoring.model import Edge
    ws.settings.edges.append(Edge(**{"from": "mrr", "to": "activation", "weight": 0.1}))
    ws.__dict__.pop("graph", None)
    c = create_app(workspace=ws).test_client()
    for url in ("/api/v1/graph", "/api/v1/objectives", "/api/v1/roadmap", "/api/v1/initiatives/A"):
        res = c.get(url)
        assert res.status_code == 409, url
        assert res.get_json()["error"]["code"] == "graph-invalid"
        assert "cycle: activation -> mrr -> activation" in res.get_json()["error"]["message"]
    for url in ("/graph", "/initiatives/A", "/"):
        res = c.get(url)
        assert res.status_code == 409 and res.mimetype == "text/html", url
        assert "cycle: activation -&gt; mrr -&gt; activation" in res.get_data(as_text=True)


def test_people_get_html_error_pages_and_tools_json(client):
    res = client.get("/nowhere")
    assert res.status_code == 404 and res.mimetype == "text/html"
    assert "<h1>Not found</h1>" in res.get_data(as_text=True)
    assert client.get("/api/v1/nowhere").get_json()["error"]["code"] == "not-found"
    res = client.get("/?objective=<b>x</b>")
    assert res.status_code == 400 and "&lt;b&gt;x&lt;/b&gt;" in res.get_data(as_text=True)


def test_a_bug_answers_500_and_logs_the_traceback_without_secrets(ws, monkeypatch, caplog):
    ws.settings.service.api_token_env = "ROADMAP_API_TOKEN"
    monkeypatch.setenv("ROADMAP_API_TOKEN", "tok-never-logged")
    from app import services

    def broken(*a, **k):
        raise RuntimeError("boom near tok-never-logged")
    monkeypatch.setattr(services, "kpis", broken)
    c = create_app(workspace=ws).test_client()
    with caplog.at_level(logging.ERROR, logger="app.web"):
        res = c.get("/api/v1/kpis")
        page = c.get("/kpis")
    assert res.status_code == 500 and res.get_json()["error"]["code"] == "internal"
    rid = res.headers["X-Request-Id"]
    assert res.get_json()["error"]["message"].endswith(f"request id {rid}")
    assert page.status_code == 500 and page.mimetype == "text/html"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"request id {rid}" in logged and f"request id {page.headers['X-Request-Id']}" in logged
    assert "RuntimeError: boom near ***" in logged and "Traceback" in logged
    assert "tok-never-logged" not in logged + res.get_data(as_text=True) + page.get_data(as_text=True)
