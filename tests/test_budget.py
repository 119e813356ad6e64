"""Analysis budgets and concurrency (app/services/planning/budget.py): the same limits for the pages,
the API and the CLI's defaults; over the budget is a 400 naming the limit and the largest
affordable value; beyond `[service] max_concurrent_analyses` a 503 with Retry-After.

The 10,000-item store is the one the hostile-client probe used (bench/web.py's generator):
every risk request there is refused before the kernel runs, and a plan uses the web's
solver limit. bench/budget.py measures the time and memory of the same requests."""
from __future__ import annotations

import re
import threading

import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import load_settings
from app.services import Workspace
from app.services.planning import budget
from app.services.planning import risk as risks
from app.services import sync as sync_module
from app.services.sync import sync
from app.web import build_app
from app.workspaces import build_demo
from scoring.errors import Busy, OverBudget


def big_store(tmp, n: int) -> Workspace:
    """The demo's config with `n` generated initiatives (bench/web.py's generator, seeded)."""
    cfg = build_demo(tmp)
    kpis = [k.id for k in load_settings(cfg).kpis]
    from tools.big_backlog import write_backlog
    write_backlog(tmp / "initiatives.csv", kpis, n)
    ws = Workspace(load_settings(cfg))
    with pytest.MonkeyPatch.context() as mp:     # what a request computes is tested here, not read back
        mp.setattr(sync_module, "PRECOMPUTE_ITEMS", n + 1)
        sync(ws)
    return ws


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    ws = big_store(tmp_path_factory.mktemp("big"), 10_000)
    yield ws
    ws.close()


@pytest.fixture
def demo(tmp_path):
    ws = Workspace(load_settings(build_demo(tmp_path)))
    sync(ws)
    yield ws
    ws.close()


def test_the_largest_affordable_draws_follow_items_times_draws():
    assert budget.largest_draws(61) == budget.MAX_DRAWS == 50_000
    assert budget.largest_draws(1_000) == 10_000
    assert budget.largest_draws(10_000) == 1_000
    assert budget.largest_draws(10_001) == 999
    assert budget.largest_draws(1) == budget.MAX_DRAWS


@pytest.mark.parametrize("query, draws", [("", 1_000), ("?draws=1", 1), ("?draws=1000&seed=77", 1_000)])
def test_a_10000_item_store_is_analysed_within_the_budget(big, monkeypatch, query, draws):
    seen = []
    monkeypatch.setattr(risks, "analyse_risk", lambda inp: seen.append(inp) or (_ for _ in ()).throw(
        OverBudget("stop here")))
    res = build_app(workspace=big).test_client().get("/api/v1/risk" + query)
    assert [(inp.draws, inp.voi_probes) for inp in seen] == [(draws, budget.RISK_PROBES)]
    assert res.status_code == 400 and res.get_json()["error"]["message"] == "stop here"


@pytest.mark.parametrize("query", ["?draws=1001", "?draws=5000&seed=77", "?draws=50000&seed=8"])
def test_draws_past_the_budget_on_a_10000_item_store_are_refused_before_computing(big, monkeypatch, query):
    called = []
    monkeypatch.setattr(risks, "analyse_risk", lambda inp: called.append(inp))
    res = build_app(workspace=big).test_client().get("/api/v1/risk" + query)
    assert res.status_code == 400, res.get_data(as_text=True)
    err = res.get_json()["error"]
    assert err["code"] == "over-budget"
    assert err["message"].startswith("draws: at most 1,000 for 10,000 items") and err["message"].endswith(
        "ask for draws=1000")
    assert called == []


def test_a_store_over_the_items_limit_is_refused_before_computing(big, monkeypatch):
    called = []
    monkeypatch.setattr(budget, "RISK_ITEMS", 9_999)
    monkeypatch.setattr(risks, "analyse_risk", lambda inp: called.append(inp))
    res = build_app(workspace=big).test_client().get("/api/v1/risk")
    err = res.get_json()["error"]
    assert res.status_code == 400 and err["code"] == "over-budget"
    assert "at most 9,999 items" in err["message"] and "has 10,000" in err["message"]
    assert called == []


def test_a_plan_on_a_10000_item_store_uses_the_webs_solver_limit(big, monkeypatch):
    from app.services.planning import plan as plans
    seen = []
    real = plans.solve_plan
    monkeypatch.setattr(plans, "solve_plan", lambda inp: seen.append(inp.solver_seconds) or real(inp))
    big.settings.planning.solver_seconds = 60.0
    try:
        res = build_app(workspace=big).test_client().post("/api/v1/plan", json={"capacity": {"growth": 100}})
    finally:
        big.settings.planning.solver_seconds = 5.0
    assert res.status_code == 200, res.get_data(as_text=True)[:300]
    assert seen == [budget.PLAN_SOLVER_SECONDS]


def test_a_plan_over_items_times_periods_names_the_largest_affordable_periods(big):
    client = build_app(workspace=big).test_client()
    caps = {t.id: 50 for t in big.settings.planning.teams}
    res = client.post("/api/v1/plan", json={"periods": [f"P{n}" for n in range(1, 24)], "capacity": caps})
    assert res.status_code == 400
    msg = res.get_json()["error"]["message"]
    assert res.get_json()["error"]["code"] == "over-budget"
    n = budget.eligible_items(big)
    assert f"periods: at most {budget.PLAN_CELLS // n} for {n:,} items" in msg


def test_draws_over_the_budget_are_a_400_naming_the_largest_affordable_whatever_the_seed(demo, monkeypatch):
    monkeypatch.setattr(budget, "RISK_CELLS", 3_000_000)
    client = build_app(workspace=demo).test_client()
    for seed in (1, 2, 99):
        res = client.get(f"/api/v1/risk?draws=50000&seed={seed}")
        assert res.status_code == 400
        assert res.get_json()["error"] == {
            "code": "over-budget",
            "message": "draws: at most 49,180 for 61 items (a request may cost 3,000,000 items x draws, "
                       "at most 50,000 draws); ask for draws=49180"}


def test_the_default_draws_are_cut_to_what_the_backlog_affords(demo, monkeypatch):
    monkeypatch.setattr(budget, "RISK_CELLS", 61 * 500)
    monkeypatch.setattr(risks, "analyse_risk", lambda inp: (_ for _ in ()).throw(AssertionError(inp.draws)))
    assert budget.risk_draws(demo) == 500
    with pytest.raises(AssertionError, match="^500$"):
        risks.analyse(demo)


def test_the_cli_may_ask_past_the_budget_and_says_when_its_default_is_cut(demo, monkeypatch):
    monkeypatch.setattr(budget, "RISK_CELLS", 61 * 200)
    monkeypatch.chdir(demo.settings.database_url.split("///", 1)[1].rsplit("/", 1)[0])
    res = CliRunner().invoke(main, ["risk", "--format", "json", "--draws", "300"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["risk", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "using 200 draws, what 61 items afford ([uncertainty] draws = 10,000)" in res.stderr


def test_beyond_max_concurrent_analyses_a_503_with_retry_after(demo, monkeypatch):
    demo.settings.service.max_concurrent_analyses = 1
    started, release = threading.Event(), threading.Event()
    real = risks.analyse_risk

    def slow(inp):
        started.set()
        release.wait(30)
        return real(inp)
    monkeypatch.setattr(risks, "analyse_risk", slow)
    app = build_app(workspace=demo)
    answers = []
    t = threading.Thread(target=lambda: answers.append(app.test_client().get("/api/v1/risk?draws=100&seed=5")))
    t.start()
    assert started.wait(30)
    try:
        res = app.test_client().get("/api/v1/risk?draws=100&seed=6")
        assert res.status_code == 503
        assert res.headers["Retry-After"] == "5"
        assert res.get_json()["error"]["code"] == "busy"
        assert "max_concurrent_analyses" in res.get_json()["error"]["message"]
    finally:
        release.set()
        t.join(60)
    assert answers[0].status_code == 200
    # the slot is free again; a cached answer never needs one
    assert app.test_client().get("/api/v1/risk?draws=100&seed=5").status_code == 200


def test_slots_are_reentrant_within_a_thread_and_refuse_others(demo):
    demo.settings.service.max_concurrent_analyses = 1
    with budget.slot(demo):
        with budget.slot(demo):
            pass
        errors = []

        def other():
            try:
                with budget.slot(demo):
                    pass
            except Busy as exc:
                errors.append(exc)
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert len(errors) == 1 and errors[0].status == 503
    with budget.slot(demo):      # released
        pass


def test_check_functions_raise_over_budget_unless_unbounded():
    with pytest.raises(OverBudget, match="draws: at most 10,000 for 1,000 items"):
        budget.check_risk(1_000, 10_001)
    with pytest.raises(OverBudget, match="periods: a plan has at most 24 periods"):
        budget.check_plan(10, 25)
    with budget.unbounded():
        budget.check_risk(10_000, 1_000_000)
        budget.check_plan(100_000, 100)


def test_the_roadmap_page_shows_p_in_plan_for_a_10000_item_store(big):
    html = build_app(workspace=big).test_client().get("/").get_data(as_text=True)
    assert "are left out of this page" not in html
    assert html.count("Monte Carlo standard error over 1,000 draws") >= 50    # every row of the first page
    shown = re.findall(r">(\d+) %<", html)
    assert any(0 < int(v) for v in shown), shown[:20]     # the best-ranked items make the plan in some draws


def test_the_roadmap_pages_plan_marks_are_left_out_over_the_budget_without_building_the_plan(big, monkeypatch):
    from app.services.planning import plan as plans
    assert len(big.settings.planning.periods) == 4 and budget.eligible_items(big) == 10_000
    assert len(plans.plan_marks(big)) > 10                            # within the budget: planned
    monkeypatch.setattr(budget, "PLAN_CELLS", 10_000 * 4 - 1)
    monkeypatch.setattr(plans, "build_input", lambda *a, **k: (_ for _ in ()).throw(AssertionError("built")))
    assert plans.plan_marks(big) == {}
