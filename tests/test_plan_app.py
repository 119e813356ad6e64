"""`roadmap plan`, /api/v1/plan and /plan on small workspaces whose optimum is worked out
by hand in each test (the worked example's impacts: A 3.9, B 3.9, C 1.625, D 0; efforts
A 2, B 4, C 1, D 1; E is done). C is "To Do" unless a test says otherwise: work in
progress is committed to the plan since v3, which the hand-worked optima predate. Fixture data: tests/conftest.py's worked example with
the planning columns of docs/cli.md (team, labels, blocked_by) added by hand."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import ConfigError, load_settings
from tests.test_web import check
from tests.conftest import EXAMPLE_OBSERVATIONS, EXAMPLE_TOML

ROOT = Path(__file__).resolve().parents[1]
HEADER = "key,title,status,status_category,effort,confidence,impact,labels,url,team,blocked_by\n"
ROWS = {"A": "A,Guided onboarding,To Do,new,2,,activation +10% @80%,{l},,{t},{b}\n",
        "B": "B,Cancellation flow,To Do,new,4,,churn -10% @50%,{l},,{t},{b}\n",
        "C": "C,NPS survey in app,{s},1,,nps +20%,{l},,{t},{b}\n",
        "D": "D,Churn research,To Do,new,1,,,kpi:churn {l},,{t},{b}\n",
        "E": "E,Old launch,Done,done,1,,nps +50%,{l},,{t},{b}\n"}


def make(tmp_path: Path, planning: str, **cols) -> Path:
    """A workspace: `cols[key] = dict(labels=..., team=..., blocked_by=...)`."""
    (tmp_path / "roadmap.toml").write_text(EXAMPLE_TOML + "\n" + planning)
    rows = "".join(r.format(l=cols.get(k, {}).get("labels", ""), t=cols.get(k, {}).get("team", ""),
                            b=cols.get(k, {}).get("blocked_by", ""),
                            s=cols.get(k, {}).get("status", "To Do,new")) for k, r in ROWS.items())
    (tmp_path / "initiatives.csv").write_text(HEADER + rows)
    (tmp_path / "observations.csv").write_text(EXAMPLE_OBSERVATIONS)
    return tmp_path


ONE_PERIOD = '[planning]\nperiods = ["Q1"]\nvalue_of_time = "none"\n[[planning.teams]]\nid = "core"\ncapacity = {c}\n'


@pytest.fixture
def run(monkeypatch):
    monkeypatch.delenv("ROADMAP_CONFIG", raising=False)
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)

    def invoke(where: Path, *args):
        monkeypatch.chdir(where)
        runner = CliRunner()
        res = runner.invoke(main, ["sync"], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        return runner.invoke(main, list(args), catch_exceptions=False)
    return invoke


def planned(d: dict) -> dict[str, str]:
    return {p["key"]: p["period"] for p in d["planned"]}


def test_greedy_is_not_optimal(tmp_path, run):
    # capacity 6, one period, no discount: greedy by score takes A (1.95/unit) then C
    # (1.625) and B (effort 4) no longer fits: 3.9 + 1.625 = 5.525. The optimum is A + B,
    # effort 6, value 7.8 (every other set of effort <= 6 is worth less: B + C 5.525, A + C 5.525).
    res = run(make(tmp_path, ONE_PERIOD.format(c=6)), "plan", "--format", "json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert set(d) >= {"as_of", "periods", "teams", "status", "gap", "value", "greedy_value", "cut_value",
                      "planned", "load", "excluded"}     # plus the simple plans each reported
    assert set(d["simple_plans"]) == {"greedy", "cut", "first_fit", "prefix_cut"}
    assert d["as_of"] == "2026-07-02" and d["status"] == "optimal"
    assert planned(d) == {"A": "Q1", "B": "Q1"}
    assert d["value"] == pytest.approx(7.8) and d["greedy_value"] == pytest.approx(5.525)
    assert d["cut_value"] == pytest.approx(5.525)
    assert d["load"] == [{"team": "core", "period": "Q1", "effort": 6.0, "capacity": 6.0}]
    assert [p["title"] for p in d["planned"]] == ["Guided onboarding", "Cancellation flow"]
    c = next(x for x in d["excluded"] if x["key"] == "C")
    assert c["title"] == "NPS survey in app" and c["reason"].startswith("did not fit")


def test_a_blocker_is_pulled_in_and_done_blockers_count_as_delivered(tmp_path, run):
    # A needs D (impact 0), B needs E (done: delivered). Capacity 7: A + B + D (effort 7)
    # gives 7.8; without D, A cannot go, and B + C + D or A + C + D give 5.525.
    ws = make(tmp_path, ONE_PERIOD.format(c=7), A={"blocked_by": "D"}, B={"blocked_by": "E"})
    d = json.loads(run(ws, "plan", "--format", "json").output)
    assert planned(d) == {"A": "Q1", "B": "Q1", "D": "Q1"} and d["value"] == pytest.approx(7.8)


def test_capacity_per_period_and_time_value(tmp_path, run):
    # Q1 holds 2, Q2 holds 4; Q2 delivers half the value (linear, P = 2). Best: A in Q1
    # (3.9) and B in Q2 (3.9 / 2 = 1.95) = 5.85; A in Q1 and C in Q2 gives 4.7125;
    # C in Q1 and B in Q2 3.575.
    cfg = '[planning]\nperiods = ["Q1", "Q2"]\n[[planning.teams]]\nid = "core"\ncapacity = [2, 4]\n'
    d = json.loads(run(make(tmp_path, cfg), "plan", "--format", "json").output)
    assert planned(d) == {"A": "Q1", "B": "Q2"} and d["value"] == pytest.approx(5.85)
    assert [(r["period"], r["capacity"]) for r in d["load"]] == [("Q1", 2.0), ("Q2", 4.0)]
    # --periods 1 keeps Q1 only: A alone (3.9). --capacity 6 gives each period 6: A + B in
    # Q1 (7.8) and C in Q2 (1.625 / 2) = 8.6125; next best A + C in Q1 and B in Q2, 7.475.
    d1 = json.loads(run(tmp_path, "plan", "--periods", "1", "--format", "json").output)
    assert d1["periods"] == ["Q1"] and planned(d1) == {"A": "Q1"}
    d6 = json.loads(run(tmp_path, "plan", "--capacity", "6", "--format", "json").output)
    assert planned(d6) == {"A": "Q1", "B": "Q1", "C": "Q2"} and d6["value"] == pytest.approx(8.6125)
    table = run(tmp_path, "plan").output
    assert "Q1 / core: load 2 of 2" in table and "value 5.850" in table


def test_infeasible_mandatory_exits_2_naming_items_and_team_periods(tmp_path, run):
    # A and B are must-haves (label "must"): effort 6 above the capacity 5 of core in Q1.
    ws = make(tmp_path, ONE_PERIOD.format(c=5), A={"labels": "must"}, B={"labels": "must"})
    res = run(ws, "plan")
    assert res.exit_code == 2
    assert "A, B" in res.output and "core Q1" in res.output


def test_unknown_team_is_flagged_and_not_planned(tmp_path, run):
    ws = make(tmp_path, ONE_PERIOD.format(c=10), B={"team": "ops"})
    d = json.loads(run(ws, "plan", "--format", "json").output)
    assert "B" not in planned(d) and d["teams"] == ["core"]
    assert next(x for x in d["excluded"] if x["key"] == "B")["reason"] == "unknown-team:ops"


def test_no_capacity_configured_says_how(tmp_path, run):
    res = run(make(tmp_path, ""), "plan")
    assert res.exit_code == 2 and "[planning]" in res.output and "--capacity" in res.output
    d = json.loads(run(tmp_path, "plan", "--capacity", "6", "--periods", "1", "--format", "json").output)
    assert d["teams"] == ["all"] and planned(d) == {"A": "P1", "B": "P1"}


def test_json_on_stdout_is_clean_in_a_real_process(tmp_path, run):
    ws = make(tmp_path, ONE_PERIOD.format(c=6))
    run(ws, "sync")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "app.cli", "plan", "--format", "json"], cwd=ws, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["value"] == pytest.approx(7.8)


def test_what_the_c_solver_prints_while_solving_never_reaches_stdout():
    # HiGHS writes some messages with C's printf to fd 1 (seen: "HighsMipSolverData::
    # transformNewIntegerFeasibleSolution tmpSolver.run();"); stand in for it with printf
    code = ("import ctypes, sys\nfrom app.cli.plan import quiet_fd1\nlibc = ctypes.CDLL(None)\n"
            "with quiet_fd1():\n    libc.printf(b'solver noise\\n')\nprint('{\"clean\": true}')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == '{"clean": true}\n'


def test_config_errors_are_located(tmp_path):
    bad = ('[planning]\nperiods = ["Q1", "Q2"]\n[[planning.teams]]\nid = "core"\ncapacity = [1, 2, 3]\n'
           '[[planning.teams]]\nid = "core"\ncapacity = -1\n')
    (tmp_path / "roadmap.toml").write_text(EXAMPLE_TOML.replace("weight = 0.5", "weight = 0.5\nweight_range = [0.7, 0.3]")
                                           + bad)
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "roadmap.toml")
    text = str(err.value)
    assert "edges[0].weight_range: low 0.7 is above high 0.3" in text
    assert "planning.teams[1].capacity: capacity must be a finite number >= 0" in text
    (tmp_path / "roadmap.toml").write_text(EXAMPLE_TOML + bad.replace("capacity = -1", "capacity = 1"))
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "roadmap.toml")
    assert "planning.teams[0].capacity: has 3 entries for 2 periods" in str(err.value)
    assert "planning.teams[1].id: 'core' is already used by planning.teams[0]" in str(err.value)


# -- the API --------------------------------------------------------------------------------
@pytest.fixture
def client(tmp_path, run):
    ws = make(tmp_path, ONE_PERIOD.format(c=6), B={"labels": "must"})
    run(ws, "sync")
    from app.web import build_app
    return build_app(str(ws / "roadmap.toml")).test_client()


def test_api_plan_get_and_post(client):
    d = client.get("/api/v1/plan").get_json()
    check("Plan", d)
    assert planned(d) == {"A": "Q1", "B": "Q1"} and d["value"] == pytest.approx(7.8)
    # capacity 5 with B mandatory: B (4) + C (1) = 5.525 beats B + D; A no longer fits
    d = client.get("/api/v1/plan?cap.core=5").get_json()
    assert planned(d) == {"B": "Q1", "C": "Q1"}
    r = client.post("/api/v1/plan", json={"capacity": {"core": 5}, "excluded": ["C"]})
    assert r.status_code == 200 and planned(r.get_json()) == {"B": "Q1"}
    ex = next(x for x in r.get_json()["excluded"] if x["key"] == "C")
    assert ex["reason"] == "excluded"
    # what-if keys go through app.services.whatif: with revenue at 0, B (a must-have) is still planned
    r = client.post("/api/v1/plan", json={"capacity": {"core": 5}, "objective_weights": {"revenue": 0}})
    assert r.status_code == 200 and "B" in planned(r.get_json())


def test_api_plan_refusals(client):
    r = client.post("/api/v1/plan", json={"capacity": {"core": 3}})
    assert r.status_code == 422
    err = r.get_json()["error"]
    check("PlanRefused", r.get_json())
    assert err["code"] == "infeasible" and err["items"] == ["B"]
    assert err["overflows"] == [{"team": "core", "period": "Q1"}]
    for body, where in (({"capacity": {"core": "x"}}, "capacity.core"), ({"capacity": {"ops": 1}}, "capacity.ops"),
                        ({"mandatory": ["ZZ"]}, "mandatory"), ({"nope": 1}, "nope"),
                        ({"objective_weights": {"nope": 1}}, "objective_weights.nope")):
        r = client.post("/api/v1/plan", json=body)
        assert r.status_code == 400 and where in r.get_json()["error"]["message"], (body, r.get_json())
    assert client.post("/api/v1/plan", data=b"[", content_type="application/json").status_code == 400
    assert client.post("/api/v1/plan", data=b" " * (300 * 1024), content_type="application/json").status_code == 413
    assert client.get("/api/v1/plan?cap.core=-1").status_code == 400
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/plan", "/api/v1/risk"} <= set(spec["paths"]) and "Plan" in spec["components"]["schemas"]


def test_plan_page_shows_the_board_and_keeps_the_scenario(client):
    r = client.get("/plan?cap.core=5")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'name="cap.core" value="5"' in html and 'href="/initiatives/B"' in html
    assert "Not planned" in html and "<script>" not in html and "style=" not in html
    r = client.get("/plan?cap.core=3")
    assert r.status_code == 422 and "cannot all be planned" in r.get_data(as_text=True)
    assert client.get("/plan?cap.core=abc").status_code == 400


def test_plan_page_without_teams_asks_for_a_capacity(tmp_path, run):
    ws = make(tmp_path, "")
    run(ws, "sync")
    from app.web import build_app
    c = build_app(str(ws / "roadmap.toml")).test_client()
    html = c.get("/plan").get_data(as_text=True)
    assert "no capacity to plan with" in html and 'name="cap.all" value=""' in html
    html = c.get("/plan?cap.all=6&periods=1").get_data(as_text=True)
    assert 'href="/initiatives/A"' in html and 'name="cap.all" value="6"' in html


def test_an_in_progress_item_is_committed_to_the_first_period(tmp_path, run):
    """Capacity 2 in 2027-Q1, 5 in Q2. Free, A (effort 2, the best value) takes Q1 and C
    (effort 1) waits for Q2 with B; in progress, C is committed to Q1."""
    planning = ('[planning]\nperiods = ["2027-Q1", "2027-Q2"]\nvalue_of_time = "linear"\n'
                '[[planning.teams]]\nid = "core"\ncapacity = [2, 5]\n')
    free = json.loads(run(make(tmp_path, planning), "plan", "--format", "json").output)
    assert planned(free)["C"] == "2027-Q2"
    res = run(make(tmp_path, planning, C={"status": "In Progress,indeterminate"}), "plan", "--format", "json")
    d = json.loads(res.output)
    assert planned(d)["C"] == "2027-Q1"


def test_a_due_date_and_a_pin_from_the_file_are_respected(tmp_path, run):
    """A due by 2027-03-31 may only go in 2027-Q1; B pinned to 2027-Q2 goes there."""
    planning = ('[planning]\nperiods = ["2027-Q1", "2027-Q2"]\n[[planning.teams]]\nid = "core"\ncapacity = 6\n')
    make(tmp_path, planning)
    text = (tmp_path / "initiatives.csv").read_text().splitlines()
    text[0] += ",due,period"
    extra = {"A": ",2027-03-31,", "B": ",,2027-Q2"}
    text[1:] = [line + extra.get(line.split(",")[0], ",,") for line in text[1:]]
    (tmp_path / "initiatives.csv").write_text("\n".join(text) + "\n")
    d = json.loads(run(tmp_path, "plan", "--format", "json").output)
    assert planned(d)["A"] == "2027-Q1" and planned(d)["B"] == "2027-Q2"
