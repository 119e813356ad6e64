"""The OpenAPI document says what the API does (app/web/openapi.py, app/web/planning.py):
an initiative's flags as objects with their fix, `top`'s maximum, the snapshot-name rule,
POST /api/v1/plan without a body, the loopback no-token mode in each write's security, the
analysis budget's 400 and the 503 with Retry-After. tests/test_schemathesis.py fuzzes the
whole document with schemathesis's strictest checks; these pin the points one by one."""
from __future__ import annotations

import pytest
from openapi_spec_validator import validate as validate_spec

from app import create_app
from app.config import load_settings
from app.services import Workspace
from app.services.sync import sync
from app.web.openapi import spec
from tests.test_web import check


@pytest.fixture
def client(workspace_dir, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    ws = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    sync(ws)
    yield create_app(workspace=ws).test_client()
    ws.close()


def test_the_document_is_valid_openapi():
    validate_spec(spec())


def test_an_initiatives_flags_are_objects_as_documented(client):
    body = client.get("/api/v1/initiatives/D").get_json()         # D: no estimate, a flag with its fix
    assert body["flags"] and all(set(f) == {"flag", "fix"} for f in body["flags"])
    check("Explanation", body)
    assert spec()["components"]["schemas"]["Explanation"]["properties"]["flags"]["items"]["required"] == ["flag", "fix"]


def test_tops_maximum_is_documented_and_enforced(client):
    params = {p["name"]: p["schema"] for p in spec()["paths"]["/api/v1/risk"]["get"]["parameters"]}
    assert params["top"]["maximum"] == 100_000
    assert client.get("/api/v1/risk?draws=10&top=100001").status_code == 400
    assert client.get("/api/v1/risk?draws=10&top=100000").status_code == 200


def test_the_snapshot_name_rule_is_documented_and_enforced(client):
    doc = spec()
    ref = doc["paths"]["/api/v1/snapshots"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]["name"]
    assert (name["pattern"], name["not"], name["maxLength"]) == (r"^\S+$", {"pattern": r"^sync-[0-9]+$"}, 255)
    for bad in (" lead", "two words", "tab\there", "", "sync-12", "x" * 256):
        assert client.post("/api/v1/snapshots", json={"name": bad}).status_code == 400, bad
    assert client.post("/api/v1/snapshots", json={"name": "q3-review"}).status_code == 201


def test_post_plan_without_a_body_is_the_configured_plan_as_documented(client):
    op = spec()["paths"]["/api/v1/plan"]["post"]
    assert op["requestBody"]["required"] is False
    assert client.post("/api/v1/plan").status_code == client.get("/api/v1/plan").status_code


def test_writes_document_the_loopback_no_token_mode():
    doc = spec()
    for path, method in (("/api/v1/sync", "post"), ("/api/v1/snapshots", "post")):
        security = doc["paths"][path][method]["security"]    # with [auth], the session cookie too
        assert security[0] == {"bearer": []} and security[-1] == {} and set(map(str, security[1:-1])) <= {
            str({"session": []})}
    assert "loopback" in doc["components"]["securitySchemes"]["bearer"]["description"]


def test_the_budget_and_busy_answers_are_documented():
    for path, method in (("/api/v1/risk", "get"), ("/api/v1/plan", "get"), ("/api/v1/plan", "post")):
        responses = spec()["paths"][path][method]["responses"]
        assert "over-budget" in responses["400"]["description"]
        assert responses["503"]["headers"]["Retry-After"]["required"] is True


def test_the_document_is_the_same_on_every_call(client):
    """It is built from module-level parts that the role notes are written into: each call
    used to add one more "Needs ... role" note to every operation."""
    first = client.get("/api/v1/openapi.json").get_data()
    assert client.get("/api/v1/openapi.json").get_data() == first
    doc = client.get("/api/v1/openapi.json").get_json()
    assert all(op.get("description", "").count("Needs ") <= 1 for ops in doc["paths"].values() for op in ops.values()
               if isinstance(op, dict))
