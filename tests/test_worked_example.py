"""docs/model.md's v2 worked example, number for number (by hand in docs/model.md: urgency on
every KPI along a path, V values, impacts, scores, contributions, the median effort)."""
from __future__ import annotations

import pytest

from scoring.model import Backlog, Initiative, Link
from scoring.ranking import ScoringParams, rank_backlog
from tests.conftest import AS_OF


@pytest.fixture
def ranking(example_graph, example_currents, example_initiatives):
    return rank_backlog(Backlog.from_initiatives(example_initiatives), example_graph,
                        ScoringParams(as_of=AS_OF), example_currents)


def test_urgency_of_every_kpi(ranking):
    st = ranking.states
    assert (st["activation"].progress, st["activation"].expected_progress) == (pytest.approx(0.2), pytest.approx(0.5))
    assert st["activation"].urgency == pytest.approx(1.3)
    assert st["churn"].progress == pytest.approx(0.2) and st["churn"].urgency == pytest.approx(1.3)
    assert st["mrr"].progress == pytest.approx(0.8) and st["mrr"].urgency == 1.0
    assert st["nps"].progress == pytest.approx(1.1) and st["nps"].urgency == 0.5


def test_values_carry_urgency_along_paths(ranking):
    # V_mrr = 1 · 1.0 · 75; V_nps = 0.5 · (1.0 · 25 + 0.1 · 75); V_activation = 1.3 · 0.5 · 75; V_churn = 1.3 · 0.8 · 75
    assert ranking.kpi_values == {"activation": 48.75, "churn": 78.0, "mrr": 75.0, "nps": 16.25}


def test_impact_and_score_per_initiative(ranking):
    got = {ranking.backlog.keys[i]: (ranking.impact[i], ranking.score[i]) for i in range(4)}
    assert got == {"A": (3.9, 1.95), "B": (3.9, 0.975), "C": (1.625, 1.625), "D": (0.0, 0.0)}


def test_rank_order(ranking):
    assert [it["key"] for it in ranking.items()] == ["A", "C", "B", "D"]
    assert [it["rank"] for it in ranking.items()] == [1, 2, 3, 4]


def test_contributions_by_hand_and_sum_to_impact(ranking):
    by_key = {it["key"]: it["contributions"] for it in ranking.items()}
    assert by_key["A"] == [{"kpi": "activation", "objective": "revenue", "impact": 3.9}]
    assert by_key["B"] == [{"kpi": "churn", "objective": "revenue", "impact": 3.9}]
    # C: to revenue 0.1 · 0.5 · 0.1 · 1 · 75 = 0.375; to delight 0.1 · 0.5 · 1.0 · 25 = 1.25
    assert by_key["C"] == [{"kpi": "nps", "objective": "revenue", "impact": 0.375},
                           {"kpi": "nps", "objective": "delight", "impact": 1.25}]
    for item in ranking.items():
        assert sum(x["impact"] for x in item["contributions"]) == pytest.approx(item["impact"], abs=1e-12)


def test_item_json_shape_matches_contract(ranking):
    c = ranking.items()[1]
    assert c["key"] == "C" and c["links"] == [{"kpi": "nps", "lift": 0.2, "confidence": 0.5}]
    assert c["flags"] == [] and c["effort"] == 1.0 and c["score"] == 1.625 and c["effort_defaulted"] is False


def test_label_only_item_is_flagged_unestimated(ranking):
    d = ranking.items()[3]
    assert d["key"] == "D" and d["flags"] == ["unestimated-link:churn"]
    assert d["links"] == [{"kpi": "churn", "lift": None, "confidence": 0.5}]
    assert d["contributions"] == []


def test_d_without_effort_gets_the_median_of_2_4_1(example_graph, example_currents, example_initiatives):
    items = example_initiatives[:3] + [Initiative(key="D", links=(Link(kpi="churn"),))]
    r = rank_backlog(Backlog.from_initiatives(items), example_graph, ScoringParams(as_of=AS_OF), example_currents)
    d = r.item(3)
    assert r.default_effort == 2.0 and d["effort"] == 2.0 and d["effort_defaulted"] is True
    assert d["flags"] == ["effort-defaulted", "unestimated-link:churn"]
    assert [it["key"] for it in r.items()] == ["A", "C", "B", "D"]


# -- the same numbers through the CLI (a real process) and the API ----------------------
EXPECTED = [("A", 1.95, 3.9), ("C", 1.625, 1.625), ("B", 0.975, 3.9), ("D", 0.0, 0.0)]
CONTRIBUTIONS = {"A": [{"kpi": "activation", "objective": "revenue", "impact": 3.9}],
                 "C": [{"kpi": "nps", "objective": "revenue", "impact": 0.375},
                       {"kpi": "nps", "objective": "delight", "impact": 1.25}],
                 "B": [{"kpi": "churn", "objective": "revenue", "impact": 3.9}], "D": []}


def _cli(workspace_dir, *args):
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root), ROADMAP_CONFIG=str(workspace_dir / "roadmap.toml"))
    env.pop("ROADMAP_DATABASE", None)
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=workspace_dir, env=env,
                          capture_output=True, text=True, timeout=120)


def test_worked_example_through_the_cli(workspace_dir):
    import json
    assert _cli(workspace_dir, "sync").returncode == 0
    res = _cli(workspace_dir, "score", "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert [(it["key"], it["score"], it["impact"]) for it in data["items"]] == EXPECTED
    assert {it["key"]: it["contributions"] for it in data["items"]} == CONTRIBUTIONS
    kpis = {k["id"]: k["urgency"] for k in json.loads(_cli(workspace_dir, "kpis", "--format", "json").stdout)["kpis"]}
    assert kpis == {"activation": pytest.approx(1.3), "churn": pytest.approx(1.3), "mrr": 1.0, "nps": 0.5}
    explain = json.loads(_cli(workspace_dir, "explain", "C", "--format", "json").stdout)
    assert [(p["path"], p["impact"]) for p in explain["paths"]] == [
        (["nps", "delight"], pytest.approx(1.25)), (["nps", "mrr", "revenue"], pytest.approx(0.375))]
    assert [u["text"] for u in explain["paths"][1]["urgency"]] == [
        "nps ×0.50: target met (110 % of the way)", "mrr ×1.00: 80 % of the way, 50 % expected by now"]


def test_worked_example_through_the_api(workspace_dir, monkeypatch):
    from app import create_app
    from app.config import load_settings
    from app.services import Workspace
    from app.services.sync import sync
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    ws = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    sync(ws)
    client = create_app(workspace=ws).test_client()
    data = client.get("/api/v1/roadmap").get_json()
    assert [(it["key"], it["score"], it["impact"]) for it in data["items"]] == EXPECTED
    assert {it["key"]: it["contributions"] for it in data["items"]} == CONTRIBUTIONS
    a = client.get("/api/v1/initiatives/A").get_json()
    assert (a["rank"], a["score"], a["paths"][0]["weight"]) == (1, 1.95, pytest.approx(0.65))
    assert a["paths"][0]["urgency"][0]["text"] == "activation ×1.30: 20 % of the way, 50 % expected by now"
    kpis = {k["id"]: k for k in client.get("/api/v1/kpis").get_json()["kpis"]}
    assert kpis["nps"]["urgency"] == 0.5 and kpis["nps"]["window"] == "value of 2026-07-01"
    page = client.get("/initiatives/A").get_data(as_text=True)
    assert "activation ×1.30: 20 % of the way, 50 % expected by now" in page and "confidence" in page
    assert "<p class=\"window muted\">value of 2026-07-01</p>" in client.get("/kpis").get_data(as_text=True)
