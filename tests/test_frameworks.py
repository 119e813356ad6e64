"""The classic frameworks on published values (Intercom RICE, SAFe WSJF)."""
from __future__ import annotations

import numpy as np
import pytest

from scoring import frameworks
from scoring.model import Backlog, Initiative
from scoring.ranking import ScoringParams, rank_backlog
from tests.conftest import AS_OF


def test_rice_matches_intercoms_examples():
    got = frameworks.rice([450, 2000, 800], [3, 1, 2], [1.0, 0.8, 0.5], [2, 4, 1])
    assert got.tolist() == [675.0, 400.0, 800.0]


def test_wsjf_matches_safes_examples():
    assert frameworks.wsjf([100, 80], [50, 30], [20, 10], [10, 5]).tolist() == [17.0, 24.0]


def test_ice_multiplies_its_three_factors():
    assert frameworks.ice([8], [0.7], [5]).tolist() == [pytest.approx(28.0)]


def _rank(items, method, **kw):
    return rank_backlog(Backlog.from_initiatives(items), None_graph(), ScoringParams(as_of=AS_OF, method=method, **kw))


def None_graph():
    from scoring.goals.graph import GoalGraph
    from scoring.model import Objective
    return GoalGraph.build([Objective(id="o", weight=1)], [], [])


def test_rice_ranks_intercoms_projects_with_their_factors():
    items = [Initiative(key="P1", effort=2, confidence=1.0, factors={"reach": 450, "factor_impact": 3}),
             Initiative(key="P2", effort=4, confidence=0.8, factors={"reach": 2000, "factor_impact": 1}),
             Initiative(key="P3", effort=1, confidence=0.5, factors={"reach": 800, "factor_impact": 2})]
    r = _rank(items, "rice")
    got = [(it["key"], it["score"]) for it in r.items()]
    assert got == [("P3", 800.0), ("P1", 675.0), ("P2", 400.0)]
    assert r.items()[0]["factors"] == {"reach": 800.0, "factor_impact": 2.0, "confidence": 0.5, "effort": 1.0}
    assert r.items()[0]["contributions"] == []


def test_wsjf_uses_job_size_else_effort():
    items = [Initiative(key="F1", factors={"business_value": 100, "time_criticality": 50, "risk_reduction": 20,
                                           "job_size": 10}),
             Initiative(key="F2", effort=5, factors={"business_value": 80, "time_criticality": 30,
                                                     "risk_reduction": 10})]
    r = _rank(items, "wsjf")
    assert [(it["key"], it["score"], it["impact"], it["effort"]) for it in r.items()] == [
        ("F2", 24.0, 120.0, 5.0), ("F1", 17.0, 170.0, 10.0)]
    assert r.items()[0]["flags"] == [] and r.items()[1]["flags"] == []


def test_missing_factor_counts_zero_and_is_flagged():
    items = [Initiative(key="X", effort=1, factors={"reach": 100}),
             Initiative(key="Y", factors={"reach": 10, "factor_impact": 1})]
    r = _rank(items, "rice", default_effort=2.0)
    by_key = {it["key"]: it for it in r.items()}
    assert by_key["X"]["score"] == 0 and "missing-factor:factor_impact" in by_key["X"]["flags"]
    assert by_key["Y"]["score"] == pytest.approx(10 * 1 * 0.5 / 2)
    assert "effort-defaulted" in by_key["Y"]["flags"]


def test_frameworks_tie_break_by_key_as_text():
    items = [Initiative(key=k, factors={"factor_impact": 5, "ease": 2}, confidence=1.0) for k in ("B-10", "B-9", "A-2")]
    r = _rank(items, "ice")
    assert [it["key"] for it in r.items()] == ["A-2", "B-10", "B-9"]
    assert np.all(r.score == 10.0)
