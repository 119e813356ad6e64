"""The plan and the risk analysis stored once computed (app/store/analyses.py): a sync of a
large backlog computes them, and a web worker that never solved anything serves the roadmap
page's Plan column and P(in plan) from the store; a change of data or of the planning
settings is computed afresh; an unreadable row is computed again, never a 500."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import create_app
from app.config import load_settings
from app.services import Workspace
from app.services.planning import plan as plans
from app.services.planning import risk as risks
from app.services import sync as sync_module
from app.store import schema
from app.workspaces import build_demo


def stored(ws) -> list[tuple[str, int]]:
    t = schema.stored_analyses
    with ws.store.engine.connect() as c:
        return sorted(c.execute(select(t.c.kind, t.c.data_version)).all())


def rows(body: str) -> dict[str, str]:
    """Each ranking row's html by key (a row ends where the next begins)."""
    table = body.split('id="ranking"', 1)[1].split("</tbody>", 1)[0]
    parts = re.split(r'<tr data-key="([^"]+)">', table)
    return {parts[n]: parts[n + 1] for n in range(1, len(parts), 2)}


def no_solving(monkeypatch) -> None:
    """This process may read the plan and the risk, never compute them."""
    def refuse(*_a, **_kw):
        raise AssertionError("computed instead of read from the store")
    monkeypatch.setattr(plans, "solve_plan", refuse)
    monkeypatch.setattr(risks, "analyse_risk", refuse)


@pytest.fixture
def demo_dir(tmp_path):
    return build_demo(tmp_path)


def test_a_small_backlogs_sync_computes_nothing_more(demo_dir):
    ws = Workspace(load_settings(demo_dir))
    sync_module.sync(ws)
    assert stored(ws) == []          # 61 items, under PRECOMPUTE_ITEMS: the first page computes them


def test_a_sync_stores_them_and_another_process_serves_the_page_from_the_store(demo_dir, monkeypatch):
    monkeypatch.setattr(sync_module, "PRECOMPUTE_ITEMS", 1)
    first = Workspace(load_settings(demo_dir))
    reports = sync_module.sync(first)
    assert not [s for r in reports for s in r.skipped if s[0] == "analyses"]
    version = first.store.data_version()
    assert stored(first) == [("plan", version), ("risk", version)]
    marks, summary = plans.plan_marks(first), risks.risk_summary(first)
    assert len(marks) > 10 and len(summary["p_in_plan"]) > 10

    other = Workspace(load_settings(demo_dir))      # a web worker: its caches are empty
    no_solving(monkeypatch)
    assert plans.plan_marks(other) == marks
    assert risks.risk_summary(other) == summary
    body = create_app(workspace=Workspace(load_settings(demo_dir))).test_client().get("/").get_data(as_text=True)
    shown = rows(body)
    assert len(shown) == 50
    for key, html in shown.items():
        badge = re.findall(r'<span class="planned"[^>]*>([^<]+)</span>', html)
        assert badge == ([marks[key]] if key in marks else []), key
        if key in summary["p_in_plan"]:                  # P(in plan), read from the store
            assert f">{100 * summary['p_in_plan'][key]:.0f} %<" in html, key
    assert sum(k in marks for k in shown) > 10


def test_new_data_or_other_planning_settings_are_computed_afresh(demo_dir, monkeypatch):
    monkeypatch.setattr(sync_module, "PRECOMPUTE_ITEMS", 1)
    ws = Workspace(load_settings(demo_dir))
    sync_module.sync(ws)
    before = plans.plan_marks(ws)
    solved = []
    real = plans.solve_plan
    monkeypatch.setattr(plans, "solve_plan", lambda inp, **kw: solved.append(1) or real(inp, **kw))

    settings = load_settings(demo_dir)
    settings.planning.teams[0].capacity = [1.0] * len(settings.planning.periods)   # growth: 11 -> 1 a period
    smaller = Workspace(settings)
    assert plans.plan_marks(smaller) != before and solved == [1]

    old = ws.store.data_version()
    sync_module.sync(Workspace(load_settings(demo_dir)), full=True)   # new data: solved by the sync, old rows gone
    newest = ws.store.data_version()
    assert newest > old and stored(ws) == [("plan", newest), ("risk", newest)] and len(solved) == 2
    assert plans.plan_marks(Workspace(load_settings(demo_dir))) == before and len(solved) == 2


def test_an_unreadable_row_is_computed_again(demo_dir, monkeypatch):
    monkeypatch.setattr(sync_module, "PRECOMPUTE_ITEMS", 1)
    ws = Workspace(load_settings(demo_dir))
    sync_module.sync(ws)
    marks, summary = plans.plan_marks(ws), risks.risk_summary(ws)
    t = schema.stored_analyses
    with ws.store.engine.begin() as c:
        c.execute(t.update().values(body=b"\x00garbage"))
    other = Workspace(load_settings(demo_dir))
    assert plans.plan_marks(other) == marks and risks.risk_summary(other) == summary
    res = create_app(workspace=Workspace(load_settings(demo_dir))).test_client().get("/")
    assert res.status_code == 200
    with ws.store.engine.connect() as c:
        assert b"\x00garbage" not in c.execute(select(t.c.body)).scalars().all()   # stored over


def test_the_command_lines_unbounded_analyses_are_stored_apart_from_the_webs(demo_dir, monkeypatch):
    """`roadmap plan` solves with its own time limit and `roadmap risk` values every
    estimate: neither reads the web's budgeted analysis, nor the web theirs."""
    from app.services.planning import budget
    monkeypatch.setattr(sync_module, "PRECOMPUTE_ITEMS", 1)
    ws = Workspace(load_settings(demo_dir))
    sync_module.sync(ws)                                   # the web's (bounded) analyses
    computed = []
    real_plan, real_risk = plans.solve_plan, risks.analyse_risk
    monkeypatch.setattr(plans, "solve_plan", lambda inp, **kw: computed.append("plan") or real_plan(inp, **kw))
    monkeypatch.setattr(risks, "analyse_risk", lambda inp: computed.append("risk") or real_risk(inp))
    with budget.unbounded():
        plans.plan(Workspace(load_settings(demo_dir)), request=plans.PlanRequest(explain=False))
        risks.analyse(Workspace(load_settings(demo_dir)))
    assert computed == ["plan", "risk"] and len(stored(ws)) == 4
    with budget.unbounded():                               # and the CLI's are read back by the CLI
        plans.plan(Workspace(load_settings(demo_dir)), request=plans.PlanRequest(explain=False))
        risks.analyse(Workspace(load_settings(demo_dir)))
    plans.plan_marks(Workspace(load_settings(demo_dir)))
    assert computed == ["plan", "risk"]


def test_a_worker_computes_them_once_its_queue_is_empty(demo_dir, monkeypatch):
    """A burst of webhooks is published first: the job's sync leaves the analyses to the
    worker's idle time, which computes them once per store version."""
    from app.store import queue as q
    from app.worker import Worker
    monkeypatch.setattr(sync_module, "PRECOMPUTE_ITEMS", 1)
    ws = Workspace(load_settings(demo_dir))
    order = []
    real_sync, real_pre = sync_module.sync, sync_module.precompute_analyses
    monkeypatch.setattr(sync_module, "sync", lambda *a, **kw: order.append(("sync", kw.get("precompute")))
                        or real_sync(*a, **kw))
    monkeypatch.setattr(sync_module, "precompute_analyses", lambda *a, **kw: order.append("analyses")
                        or real_pre(*a, **kw))
    q.enqueue(ws.store, "api")
    w = Worker(ws, lease=5)
    w.every = None
    w.run(once=True)
    assert order == [("sync", False), "analyses"]
    version = ws.store.data_version()
    assert stored(ws) == [("plan", version), ("risk", version)]
    w.run(once=True)                      # nothing new: nothing computed again
    assert order == [("sync", False), "analyses"]


def test_a_sync_queued_while_the_worker_computes_them_goes_first(demo_dir, monkeypatch):
    """A webhook arriving during the plan waits for the plan only: the risk analysis is left
    for after its sync, and computed for the newer data."""
    from app.store import queue as q
    from app.worker import Worker
    monkeypatch.setattr(sync_module, "PRECOMPUTE_ITEMS", 1)
    ws = Workspace(load_settings(demo_dir))
    sync_module.sync(ws, precompute=False)
    order = []
    real_marks, real_risk, real_sync = plans.plan_marks, risks.risk_summary, sync_module.sync

    def marks(*a, **kw):
        order.append("plan")
        if order.count("plan") == 1:
            q.enqueue(ws.store, "api")              # a sync asked for meanwhile
        return real_marks(*a, **kw)
    monkeypatch.setattr(plans, "plan_marks", marks)
    monkeypatch.setattr(risks, "risk_summary", lambda *a, **kw: order.append("risk") or real_risk(*a, **kw))
    monkeypatch.setattr(sync_module, "sync", lambda *a, **kw: order.append("sync") or real_sync(*a, **kw))
    w = Worker(ws, lease=5)
    w.every = None
    w.run(once=True)
    assert order == ["plan", "sync", "plan", "risk"]
    version = ws.store.data_version()
    assert stored(ws) == [("plan", version), ("risk", version)]


def test_with_calibration_applied_they_are_the_calibrated_rankings(demo_dir, monkeypatch):
    """`[calibration] apply = true`: the page shows the calibrated ranking, so what a sync
    stores is the analysis of that ranking (the demo's alice x0.37 and bob x1.55 move the
    impacts), not of the uncalibrated one."""
    from app.services import ranking
    monkeypatch.setattr(sync_module, "PRECOMPUTE_ITEMS", 1)
    settings = load_settings(demo_dir)
    settings.calibration.apply = True
    ws = Workspace(settings)
    sync_module.sync(ws, precompute=False)
    sync_module.precompute_analyses(ws)
    got = risks.risk_summary(Workspace(settings))                  # read back

    def fresh(calibrated: bool) -> dict:
        with ws.store.engine.begin() as c:
            c.execute(schema.stored_analyses.delete())
        w = Workspace(settings)
        return risks.risk_summary(w, base=ranking(w, calibrated=calibrated))
    assert got == fresh(True) and got["spread"] != fresh(False)["spread"]


def test_a_ranking_or_analyses_not_stored_is_reported_with_the_sync_and_no_secret(demo_dir, monkeypatch):
    """Both failures are the sync's report, never its end: the ranking's and the analyses'
    reasons went through redact() with the settings in place of their secrets (a TypeError
    that ended the sync)."""
    from app.services import published
    monkeypatch.setattr(sync_module, "PRECOMPUTE_ITEMS", 1)
    monkeypatch.setenv("ROADMAP_TEST_API_TOKEN", "tok-s3cret-4711")
    settings = load_settings(demo_dir)
    settings.service.api_token_env = "ROADMAP_TEST_API_TOKEN"

    def unreachable(*_a, **_kw):
        raise RuntimeError("https://api:tok-s3cret-4711@stats.example is down")
    monkeypatch.setattr(published, "ranking", unreachable)
    reports = sync_module.sync(Workspace(settings))
    assert all(r.status == "ok" for r in reports)
    skipped = dict(s for r in reports for s in r.skipped)
    assert skipped["ranking"].startswith("not stored: RuntimeError") and "is down" in skipped["analyses"]
    assert not any("tok-s3cret-4711" in why for why in skipped.values()) and "***" in skipped["ranking"]
