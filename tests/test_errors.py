"""One error model (docs/http.md, "Errors"; docs/cli.md, "Exit status"): every user error is
a `RoadmapError` carrying its HTTP status and exit code, answered by one handler in the web
and one in the CLI; anything else is a bug, a 500 with a request id or exit 1 with a hint."""
from __future__ import annotations

import json
import logging

import pytest

from app import create_app
from app.cli import main
from scoring.errors import BadInput, Conflict, NotFound, RoadmapError, SourceFailed


def _user_errors() -> dict[str, tuple[type, int, int]]:
    """Every named user error there is: its class, HTTP status and exit code."""
    from app.cli.main import UserError
    from app.config import ConfigError
    from app.services.changes import TamperedSnapshot, UnknownSnapshot
    from app.services.planning.plan import PlanNotConfigured, PlanOverrideError, PlanRefused
    from app.services.whatif import WhatIfError
    from app.store import RemovalRefused, StoreError, SyncBusy
    from app.store.snapshots import DuplicateName
    from app.web.scenario import ScenarioError
    from app.web.state import ApiError
    from connectors.base import QuotaExhausted, SourceConfigError, SourceError
    from connectors.http import TimedOut
    from connectors.jira.fields import MalformedIssue
    from connectors.jira.richtext import UnreadableRichText
    from scoring.goals.graph import GraphError
    from scoring.plan import PlanInfeasible
    return {c.__name__: (c, s, e) for c, s, e in [
        (UserError, 400, 2), (ConfigError, 400, 2), (ApiError, 400, 2), (ScenarioError, 400, 2),
        (WhatIfError, 400, 2), (PlanOverrideError, 400, 2), (UnknownSnapshot, 400, 2),
        (MalformedIssue, 400, 2), (UnreadableRichText, 400, 2), (SourceConfigError, 400, 2),
        (PlanNotConfigured, 409, 2), (TamperedSnapshot, 409, 2), (DuplicateName, 409, 2),
        (RemovalRefused, 409, 2), (GraphError, 409, 2), (PlanRefused, 422, 2), (PlanInfeasible, 422, 2),
        (StoreError, 503, 2), (SyncBusy, 503, 3),
        (SourceError, 502, 3), (QuotaExhausted, 502, 3), (TimedOut, 502, 3)]}


@pytest.mark.parametrize("name", sorted(_user_errors()))
def test_every_user_error_is_a_roadmap_error_and_no_builtin_one(name):
    cls, status, exit_code = _user_errors()[name]
    assert issubclass(cls, RoadmapError)
    assert not issubclass(cls, (ValueError, RuntimeError, LookupError)), f"{name} must not be caught as a bug's error"
    assert (cls.status, cls.exit_code) == (status, exit_code)


def test_the_families_sort_as_the_docs_say():
    errors = _user_errors()
    assert issubclass(errors["ConfigError"][0], BadInput) and issubclass(errors["GraphError"][0], Conflict)
    assert issubclass(errors["SourceError"][0], SourceFailed) and issubclass(errors["SourceConfigError"][0], BadInput)
    assert NotFound.status == 404


# -- the web: one handler ----------------------------------------------------------------

BIG = json.dumps({"initiatives": [{"key": "K", "title": "x" * (2**20 + 10)}]})

# (method, path, body or None, headers, status, code): each documented refusal of an existing route
REFUSALS = [
    ("GET", "/api/v1/roadmap?limit=x", None, {}, 400, "bad-request"),
    ("GET", "/api/v1/roadmap?objective=nope", None, {}, 400, "bad-request"),
    ("GET", "/api/v1/roadmap?as_of=2026-13-01", None, {}, 400, "bad-request"),
    ("GET", "/api/v1/roadmap?method=coin", None, {}, 400, "bad-request"),
    ("GET", "/api/v1/roadmap", None, {"Host": "evil.example"}, 400, "host-not-allowed"),
    ("POST", "/api/v1/what-if", {"nope": 1}, {}, 400, "bad-request"),
    ("POST", "/api/v1/what-if", {"objective_weights": {"revenue": "x"}}, {}, 400, "bad-request"),
    ("GET", "/api/v1/diff?from=nope", None, {}, 400, "unknown-snapshot"),
    ("GET", "/api/v1/risk?draws=0", None, {}, 400, "bad-request"),
    ("POST", "/api/v1/snapshots", {"name": "two words"}, {}, 400, "bad-request"),
    ("POST", "/api/v1/plan", {"capacity": {"web": "lots"}}, {}, 400, "bad-request"),
    ("GET", "/api/v1/initiatives/NOPE", None, {}, 404, "not-found"),
    ("GET", "/api/v1/nowhere", None, {}, 404, "not-found"),
    ("POST", "/api/v1/webhooks/jira", {}, {}, 404, "webhooks-off"),       # while no secret is set
    ("POST", "/api/v1/sync", None, {"Origin": "https://evil.example"}, 403, "forbidden"),
    ("GET", "/api/v1/plan", None, {}, 409, "plan-not-configured"),
    ("POST", "/api/v1/snapshots", {"name": "sync-1"}, {}, 400, "bad-request"),
    ("POST", "/api/v1/what-if", BIG, {}, 413, "too-large"),
    ("GET", "/api/v1/scenarios?page=", None, {}, 400, "bad-request"),      # given but empty: not a page
]


@pytest.mark.parametrize("method,path,body,headers,status,code", REFUSALS,
                         ids=[f"{m} {p[:40]} {s}" for m, p, _b, _h, s, _c in REFUSALS])
def test_every_documented_refusal_keeps_its_status(client, method, path, body, headers, status, code):
    data = body if isinstance(body, str) else (json.dumps(body) if body is not None else None)
    res = client.open(path, method=method, data=data, headers=headers, content_type="application/json")
    assert res.status_code == status, res.get_data(as_text=True)[:300]
    assert res.get_json()["error"]["code"] == code
    assert res.headers["X-Request-Id"]


def test_a_duplicate_snapshot_name_is_a_409(client):
    assert client.post("/api/v1/snapshots", json={"name": "before-review"}).status_code == 201
    again = client.post("/api/v1/snapshots", json={"name": "before-review"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "duplicate-name"


def test_a_busy_answer_carries_its_retry_after(ws, monkeypatch):
    from app.store import SyncBusy
    from app.web import api as api_module

    def busy(*a, **k):
        raise SyncBusy("backlog")
    monkeypatch.setattr(api_module.services, "graph_data", busy)
    res = create_app(workspace=ws).test_client().get("/api/v1/graph")
    assert res.status_code == 503 and res.headers["Retry-After"] == "5"
    assert res.get_json()["error"] == {"code": "sync-busy", "message": SyncBusy("backlog").message}


def test_a_plain_value_error_in_a_route_is_a_logged_500_with_a_request_id(ws, monkeypatch, caplog):
    from app.web import api as api_module

    def bug(*a, **k):
        raise ValueError("operands could not be broadcast together with shapes (3,) (4,)")
    monkeypatch.setattr(api_module.services, "graph_data", bug)
    c = create_app(workspace=ws).test_client()
    with caplog.at_level(logging.ERROR, logger="app.web"):
        res = c.get("/api/v1/graph")
    assert res.status_code == 500
    rid = res.headers["X-Request-Id"]
    assert len(rid) >= 16
    assert res.get_json()["error"] == {
        "code": "internal", "message": f"something went wrong on our side; the error is logged with request id {rid}"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"(request id {rid})" in logged and "ValueError: operands could not be broadcast" in logged
    assert "broadcast" not in res.get_data(as_text=True)      # the bug's text stays in the log


def test_every_request_gets_its_own_id_and_a_proxys_id_is_kept(client):
    a, b = client.get("/healthz"), client.get("/healthz")
    assert a.headers["X-Request-Id"] != b.headers["X-Request-Id"]
    assert client.get("/healthz", headers={"X-Request-Id": "edge-1234abcd"}).headers["X-Request-Id"] == "edge-1234abcd"
    odd = client.get("/healthz", headers={"X-Request-Id": "a b;forged<>"}).headers["X-Request-Id"]
    assert odd != "a b;forged<>" and len(odd) == 32


# -- the CLI: one handler ----------------------------------------------------------------

def _cfg(workspace_dir) -> str:
    return str(workspace_dir / "roadmap.toml")


def test_a_plain_value_error_in_a_command_exits_1_with_a_hint(workspace_dir, runner, monkeypatch):
    from app import services

    def bug(*a, **k):
        raise ValueError("setting an array element with a sequence")
    monkeypatch.setattr(services, "kpis", bug)
    res = runner.invoke(main, ["kpis", "--config", _cfg(workspace_dir)])
    assert res.exit_code == 1
    assert res.output.strip() == ("roadmap: internal error (ValueError: setting an array element with a sequence); "
                                  "run with --debug for the traceback")
    debug = runner.invoke(main, ["--debug", "kpis", "--config", _cfg(workspace_dir)])
    assert debug.exit_code == 1 and "Traceback (most recent call last)" in debug.output
    assert 'raise ValueError("setting an array element' in debug.output


def test_a_user_error_in_a_command_exits_with_its_code_and_no_traceback(workspace_dir, runner):
    res = runner.invoke(main, ["explain", "NOPE", "--config", _cfg(workspace_dir)])
    assert res.exit_code == 2 and res.output.startswith("roadmap: no initiative with key 'NOPE'")
    res = runner.invoke(main, ["diff", "nope", "--config", _cfg(workspace_dir)])
    assert res.exit_code == 2 and "no snapshot named 'nope'" in res.output and "Traceback" not in res.output


def test_a_source_failure_exits_3(workspace_dir, runner, monkeypatch):
    from app.services.push import scores as push_service
    from connectors.base import SourceError

    def down(*a, **k):
        raise SourceError("jira: 503 Service Unavailable (kept the last good data)")
    monkeypatch.setattr(push_service, "push", down)
    res = runner.invoke(main, ["push", "--config", _cfg(workspace_dir)])
    assert res.exit_code == 3 and res.output.strip() == "roadmap: jira: 503 Service Unavailable (kept the last good data)"


def test_the_cli_offers_what_the_reference_lists(workspace_dir, runner):
    """docs/cli.md: the options a deployment relies on exist (their behaviour is tested
    with each feature)."""
    def options(*path):
        cmd = main
        for name in path:
            cmd = cmd.commands[name]
        return {o for p in cmd.params for o in p.opts}
    assert "--allow-removal" in options("sync")
    assert {"--once", "--lease", "--poll"} <= options("worker")
    assert {"--cut", "--limit", "--format"} <= options("diff")
    assert "--debug" in options()
    cfg = _cfg(workspace_dir)
    assert runner.invoke(main, ["sync", "--config", cfg]).exit_code == 0
    table = runner.invoke(main, ["snapshot", "list", "--format", "table", "--config", cfg])
    listed = json.loads(runner.invoke(main, ["snapshot", "list", "--format", "json", "--config", cfg]).output)
    [saved] = [r["name"] for r in listed["snapshots"]]          # the one the sync saved, named by its run
    assert table.exit_code == 0 and table.output.startswith(f"{saved} ") and saved.startswith("sync-")


@pytest.mark.parametrize("as_of", ["0001-01-01", "0002-01-01", "9999-12-31"])
def test_no_page_or_api_answers_a_date_at_the_calendars_ends_with_a_500(client, as_of):
    """Every GET route (the example's key for `<key>`), at the first and last dates a date
    can hold: a series window reaching before year 1 was a 500 on /api/v1/outcomes."""
    app = client.application
    rules = sorted({r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and "<" not in r.rule.replace(
        "<key>", "").replace("<path:key>", "")})
    assert "/api/v1/outcomes" in rules and "/" in rules and len(rules) > 20
    for rule in rules:
        url = rule.replace("<path:key>", "A").replace("<key>", "A")
        res = client.get(f"{url}?as_of={as_of}")
        assert res.status_code < 500, (url, res.get_data(as_text=True)[:300])
