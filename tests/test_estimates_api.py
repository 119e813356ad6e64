"""The estimates API and its blind rounds (docs/http.md "JSON API"): an estimator sees
only their own (and the tracker's) until a planner reveals the round, the ranking counts
blind estimates only once revealed, and only its author deletes an estimate. Who asks is
set the way the sign-in sets it, on `flask.g.person`."""
from __future__ import annotations

import pytest
from flask import g, request

from app import create_app
from app.auth import Person
from app.config import load_settings
from app.services import Workspace
from app.services.sync import sync
from tests.test_web import check

PEOPLE = {"alice": Person("alice", "estimator"), "bob": Person("Bob", "estimator"),
          "pat": Person("pat", "planner"), "vic": Person("vic", "viewer")}


@pytest.fixture
def client(workspace_dir, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    ws = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    sync(ws)
    app = create_app(workspace=ws)

    @app.before_request
    def who():     # what the sign-in does: a person per request (here named by a test header)
        g.person = PEOPLE.get(request.headers.get("X-Test-Person", ""))
    return app.test_client()


def as_(name):
    return {"X-Test-Person": name}


def estimates(client, who, key="B"):
    res = client.get(f"/api/v1/initiatives/{key}/estimates", headers=as_(who))
    assert res.status_code == 200, res.get_json()
    check("Estimates", res.get_json())
    return res.get_json()


def impact_of(client, key="B"):
    items = client.get("/api/v1/roadmap").get_json()["items"]
    return next(it["impact"] for it in items if it["key"] == key)


def test_blind_round_an_estimator_sees_only_their_own_until_revealed(client):
    before = impact_of(client)
    res = client.post("/api/v1/initiatives/B/estimates", json={"line": "churn -30% @90%"}, headers=as_("alice"))
    assert res.status_code == 201, res.get_json()
    check("Estimate", res.get_json())
    assert (res.get_json()["by"], res.get_json()["lift"], res.get_json()["confidence"]) == ("alice", -0.3, 0.9)
    assert client.post("/api/v1/initiatives/B/estimates", json={"line": "churn -5% @60%"},
                       headers=as_("bob")).status_code == 201

    def seen(who):
        return [(e["by"], e["source"]) for e in estimates(client, who)["estimates"]]
    # the tracker's line (unknown: the CSV names no estimator) is seen by everyone
    assert seen("alice") == [("unknown", "tracker"), ("alice", "web")]
    assert seen("bob") == [("unknown", "tracker"), ("Bob", "web")]
    assert seen("vic") == [("unknown", "tracker")]
    assert seen("pat") == [("unknown", "tracker"), ("alice", "web"), ("Bob", "web")]
    assert estimates(client, "pat")["round"] == "open"
    assert impact_of(client) == before                      # blind: the ranking does not count them yet

    assert client.post("/api/v1/initiatives/B/estimates/reveal", headers=as_("alice")).status_code == 403
    res = client.post("/api/v1/initiatives/B/estimates/reveal", headers=as_("pat"))
    assert res.status_code == 200 and res.get_json()["round"] == "revealed"
    assert seen("vic") == [("unknown", "tracker"), ("alice", "web"), ("Bob", "web")]
    # pooled: tracker -0.05, alice -0.27, bob -0.03; mean -0.11733..; the tracker alone gave 3.9 at -0.05
    assert impact_of(client) == pytest.approx(before * (0.05 + 0.27 + 0.03) / 3 / 0.05)


def test_only_the_author_deletes_and_a_viewer_cannot_add(client):
    e = client.post("/api/v1/initiatives/B/estimates", json={"line": "churn -30% @90%"}, headers=as_("alice")).get_json()
    assert client.post("/api/v1/initiatives/B/estimates", json={"line": "churn -1%"},
                       headers=as_("vic")).status_code == 403
    assert client.delete(f"/api/v1/initiatives/B/estimates/{e['id']}", headers=as_("bob")).status_code == 403
    assert client.delete(f"/api/v1/initiatives/B/estimates/{e['id']}", headers=as_("alice")).status_code == 204
    assert [x["by"] for x in estimates(client, "pat")["estimates"]] == ["unknown"]
    assert client.delete(f"/api/v1/initiatives/B/estimates/{e['id']}", headers=as_("alice")).status_code == 404


@pytest.mark.parametrize("body, status, says", [
    ({"line": "churn lots"}, 400, "is not one estimate"),
    ({"line": "nsp +3%"}, 400, "names KPI 'nsp'"),
    ({"line": "churn -3% by mallory"}, 400, "leave out `by NAME`"),
    ({"line": 5}, 400, "send a JSON object"),
    ({"line": "churn -3%", "by": "x"}, 400, "unknown key"),
    ([], 400, "send a JSON object"),
])
def test_bad_lines_are_refused_with_the_reason(client, body, status, says):
    res = client.post("/api/v1/initiatives/B/estimates", json=body, headers=as_("alice"))
    assert res.status_code == status and says in res.get_json()["error"]["message"]


def test_unknown_item_is_404(client):
    assert client.get("/api/v1/initiatives/NOPE/estimates").status_code == 404
    assert client.post("/api/v1/initiatives/NOPE/estimates", json={"line": "nps +1%"},
                       headers=as_("alice")).status_code == 404


def test_without_auth_the_local_admin_estimates_and_sees_all(client):
    res = client.post("/api/v1/initiatives/C/estimates", json={"line": "nps +10% @50%"})
    assert res.status_code == 201 and res.get_json()["by"] == "local"
    assert [e["by"] for e in estimates(client, None, "C")["estimates"]] == ["unknown", "local"]
