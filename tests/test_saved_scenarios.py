"""Saved scenarios (/api/v1/scenarios and the pages' save form), scenarios carried to the
CSV with unchanged columns, KPI values typed in the KPI's own unit and the confirmation a
change of more than 10x asks for."""
from __future__ import annotations

import csv
import io

import pytest

from app import create_app
from app.auth import Person
from app.config import load_settings
from app.services import Workspace
from app.services.sync import sync
from app.store import scenarios as store_scenarios


@pytest.fixture
def ws(workspace_dir, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    w = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    sync(w)
    return w


@pytest.fixture
def client(ws):
    return create_app(workspace=ws).test_client()


def as_person(monkeypatch, name: str, role: str) -> None:
    monkeypatch.setattr("app.web.scenarios.current_person", lambda: Person(name=name, role=role))


def test_save_list_and_delete_through_the_api(client, ws, monkeypatch):
    as_person(monkeypatch, "pat", "planner")
    res = client.post("/api/v1/scenarios", json={"name": "  Growth   first ", "url": "/?w.revenue=9&page=3&q=a"})
    assert res.status_code == 201, res.get_json()
    saved = res.get_json()
    assert {k: saved[k] for k in ("name", "page", "url", "by")} == \
        {"name": "Growth first", "page": "roadmap", "url": "/?w.revenue=9&q=a", "by": "pat"}
    assert saved["saved_at"].endswith("+00:00")
    plan = client.post("/api/v1/scenarios", json={"name": "lean web", "page": "plan", "query": "cap.all=5"})
    assert plan.status_code == 201 and plan.get_json()["url"] == "/plan?cap.all=5"
    listed = client.get("/api/v1/scenarios").get_json()["scenarios"]
    assert [s["name"] for s in listed] == ["lean web", "Growth first"]          # newest first
    assert [s["name"] for s in client.get("/api/v1/scenarios?page=plan").get_json()["scenarios"]] == ["lean web"]
    # opening it compares it with the stored ranking
    page = client.get(saved["url"]).get_data(as_text=True)
    assert "Scenario against the stored ranking" in page
    assert client.delete(f"/api/v1/scenarios/{saved['id']}").status_code == 204
    assert client.delete(f"/api/v1/scenarios/{saved['id']}").status_code == 404
    assert [s["name"] for s in client.get("/api/v1/scenarios").get_json()["scenarios"]] == ["lean web"]


@pytest.mark.parametrize("body, fragment", [
    ({"url": "/?w.revenue=2"}, "name"),
    ({"name": "x" * 121, "url": "/"}, "at most 120"),
    ({"name": "a\x07b", "url": "/"}, "control characters"),
    ({"name": "ok", "url": "https://evil.example/?w.revenue=2"}, "not a full address"),
    ({"name": "ok", "url": "/kpis?x=1"}, "from the roadmap"),
    ({"name": "ok", "url": "/?%3Cscript%3E=1"}, "not a page parameter"),
    ({"name": "ok", "url": "/", "extra": 1}, "unknown keys"),
    ([1, 2], "JSON object"),
    ({"name": "ok", "page": "admin"}, "page"),
])
def test_bad_scenarios_are_400_naming_the_key(client, body, fragment):
    res = client.post("/api/v1/scenarios", json=body)
    assert res.status_code == 400 and fragment in res.get_json()["error"]["message"], res.get_json()


def test_saving_needs_the_planner_role_and_records_the_person(client, ws, monkeypatch):
    as_person(monkeypatch, "vic", "viewer")
    res = client.post("/api/v1/scenarios", json={"name": "mine", "url": "/?w.revenue=2"})
    assert res.status_code == 403 and "planner" in res.get_json()["error"]["message"]
    as_person(monkeypatch, "ann", "planner")
    sid = client.post("/api/v1/scenarios", json={"name": "mine", "url": "/?w.revenue=2"}).get_json()["id"]
    assert store_scenarios.get(ws.store, sid)["saved_by"] == "ann"
    as_person(monkeypatch, "vic", "viewer")
    assert client.delete(f"/api/v1/scenarios/{sid}").status_code == 403
    # a foreign page cannot save through a visitor's browser
    as_person(monkeypatch, "ann", "planner")
    res = client.post("/api/v1/scenarios", json={"name": "x", "url": "/"}, headers={"Origin": "https://evil.example"})
    assert res.status_code == 403


def test_the_pages_list_saved_scenarios_and_save_through_a_form(client, monkeypatch):
    as_person(monkeypatch, "pat", "planner")
    page = client.get("/?w.revenue=9").get_data(as_text=True)
    assert 'id="saved-scenarios"' in page and '<input type="hidden" name="query" value="w.revenue=9">' in page
    res = client.post("/scenarios", data={"name": "<b>bold</b>", "page": "roadmap", "query": "w.revenue=9"})
    assert res.status_code == 303 and res.headers["Location"].endswith("/?w.revenue=9")
    page = client.get("/").get_data(as_text=True)               # a cached page still lists the new one
    assert '<a href="/?w.revenue=9" class="saved-name">&lt;b&gt;bold&lt;/b&gt;</a>' in page
    assert "saved by pat" in page
    plan = client.get("/plan").get_data(as_text=True)
    assert 'id="saved-scenarios"' in plan and "&lt;b&gt;bold" not in plan    # the plan lists its own
    sid = client.get("/api/v1/scenarios").get_json()["scenarios"][0]["id"]
    res = client.post(f"/scenarios/{sid}/delete", data={"back": "https://evil.example/"})
    assert res.status_code == 303 and res.headers["Location"] == "/"
    assert client.get("/api/v1/scenarios").get_json()["scenarios"] == []


def _csv(client, url):
    res = client.get(url)
    assert res.status_code == 200, res.get_data(as_text=True)[:300]
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True))))
    return rows[0], rows[1:]


def test_the_csv_columns_do_not_change_under_a_scenario(client):
    head, _ = _csv(client, "/roadmap.csv")
    head_s, rows_s = _csv(client, "/roadmap.csv?w.revenue=9")
    assert head == head_s and head[-2:] == ["baseline_rank", "moved"]
    assert all(r[-2] != "" for r in rows_s)                   # every row's rank in the stored ranking


def test_kpi_values_in_the_kpis_unit_and_a_tenfold_change_asks_first(client):
    """activation is a % KPI at 32 % (0.32 in the config). Typed as 40 it means 40 %;
    typed as 0.4 (meaning the fraction) it is 0.4 %, 80x below: the page asks first."""
    ok = client.get("/?kpi.activation=40").get_data(as_text=True)
    assert 'id="whatif-confirm"' not in ok and "activation = 40.0%" in ok       # applied: 40 % -> 0.40
    held = client.get("/?kpi.activation=0.4")
    page = held.get_data(as_text=True)
    assert held.status_code == 200 and 'id="whatif-confirm"' in page
    assert "0.4% is 80x below the current 32.0%" in page and "40 for 40 %" in page
    assert "Scenario against the stored ranking" not in page                   # held back
    assert 'href="/?kpi.activation=0.4&amp;confirm=1"' in page
    applied = client.get("/?kpi.activation=0.4&confirm=1").get_data(as_text=True)
    assert 'id="whatif-confirm"' not in applied and "activation = 0.4%" in applied
    # the API applies the value (a fraction there) and warns
    res = client.post("/api/v1/what-if", json={"kpi_values": {"activation": 0.004}}).get_json()
    assert res["warnings"] == ["kpi_values.activation: 0.4% is 80x below the current 32.0% (a % KPI is a "
                               "fraction in the API and the config: 0.40 for 40 %); check the unit"]
    assert client.post("/api/v1/what-if", json={"kpi_values": {"activation": 0.4}}).get_json()["warnings"] == []


def test_the_risk_api_follows_a_scenario_in_its_url(client, ws):
    from app.services.planning import risk as risks
    from app.services.whatif import what_if
    from scoring.uncertainty import analyse_risk
    stored = client.get("/api/v1/risk?draws=400&seed=3").get_json()
    under = client.get("/api/v1/risk?draws=400&seed=3&w.delight=9&kpi.activation=40").get_json()
    r, _ = what_if(ws, {"objective_weights": {"delight": 9.0}, "kpi_values": {"activation": 0.40}},
                   method="kpi-impact")
    want = analyse_risk(risks.risk_input(ws, r, draws=400, seed=3, top=ws.settings.uncertainty.top)).as_dict()
    assert under["items"] == want["items"] and under["items"] != stored["items"]
    bad = client.get("/api/v1/risk?w.nope=2")
    assert bad.status_code == 400 and "no objective 'nope'" in bad.get_json()["error"]["message"]
