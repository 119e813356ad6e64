"""SCORING.md's worked example, number for number."""
from __future__ import annotations

import pytest

from scoring.model import Backlog
from scoring.ranking import ScoringParams, rank_backlog
from tests.conftest import AS_OF


@pytest.fixture
def ranking(example_graph, example_currents, example_initiatives):
    return rank_backlog(Backlog.from_initiatives(example_initiatives), example_graph,
                        ScoringParams(as_of=AS_OF), example_currents)


def test_urgency_of_the_kpis_that_feed_objectives(ranking):
    assert ranking.states["mrr"].progress == pytest.approx(0.8)
    assert ranking.states["mrr"].expected_progress == pytest.approx(0.5)
    assert ranking.states["mrr"].urgency == 1.0
    assert ranking.states["nps"].progress == pytest.approx(1.1)
    assert ranking.states["nps"].urgency == 0.5
    # churn lags: p = 0.2 against π = 0.5, so u = 1.3 (unused: churn feeds no objective)
    assert ranking.states["churn"].urgency == pytest.approx(1.3)


def test_impact_and_score_per_initiative(ranking):
    got = {ranking.backlog.keys[i]: (ranking.impact[i], ranking.score[i]) for i in range(4)}
    assert got == {"A": (3.0, 1.5), "B": (3.0, 0.75), "C": (2.0, 2.0), "D": (0.0, 0.0)}


def test_rank_order(ranking):
    assert [it["key"] for it in ranking.items()] == ["C", "A", "B", "D"]
    assert [it["rank"] for it in ranking.items()] == [1, 2, 3, 4]


def test_contributions_split_c_over_both_objectives_and_sum_to_impact(ranking):
    c = ranking.items()[0]
    assert c["contributions"] == [{"kpi": "nps", "objective": "revenue", "impact": 0.75},
                                  {"kpi": "nps", "objective": "delight", "impact": 1.25}]
    for item in ranking.items():
        assert sum(x["impact"] for x in item["contributions"]) == pytest.approx(item["impact"], abs=1e-12)


def test_item_json_shape_matches_contract(ranking):
    c = ranking.items()[0]
    assert c["links"] == [{"kpi": "nps", "lift": 0.2, "confidence": 0.5}]
    assert c["flags"] == [] and c["effort"] == 1.0 and c["score"] == 2.0


def test_label_only_item_is_flagged_unestimated(ranking):
    d = ranking.items()[3]
    assert d["key"] == "D" and d["flags"] == ["unestimated-link:churn"]
    assert d["links"] == [{"kpi": "churn", "lift": None, "confidence": 0.5}]
    assert d["contributions"] == []
