"""Shared fixtures: the worked example of SCORING.md as plain data and as a workspace."""
from __future__ import annotations

from datetime import date

import pytest

from scoring.graph import GoalGraph
from scoring.model import Edge, Initiative, Kpi, Link, Objective
from scoring.progress import Current

AS_OF = date(2026, 7, 2)


def edge(a, b, w):
    return Edge(**{"from": a, "to": b, "weight": w})


@pytest.fixture
def example_graph() -> GoalGraph:
    window = dict(start=date(2026, 1, 1), deadline=date(2026, 12, 31))
    return GoalGraph.build(
        [Objective(id="revenue", weight=3), Objective(id="delight", weight=1)],
        [Kpi(id="activation", baseline=0.30, target=0.40, **window),
         Kpi(id="churn", direction="down", baseline=0.05, target=0.03, **window),
         Kpi(id="mrr", baseline=100000, target=150000, **window),
         Kpi(id="nps", baseline=30, target=50)],
        [edge("activation", "mrr", 0.5), edge("churn", "mrr", 0.8), edge("mrr", "revenue", 1.0),
         edge("nps", "delight", 1.0), edge("nps", "mrr", 0.1)])


@pytest.fixture
def example_currents() -> dict[str, Current]:
    return {k: Current(v, AS_OF) for k, v in
            {"activation": 0.32, "churn": 0.046, "mrr": 140000, "nps": 52}.items()}


@pytest.fixture
def example_initiatives() -> list[Initiative]:
    return [
        Initiative(key="A", title="Guided onboarding", effort=2,
                   links=(Link(kpi="activation", low=0.10, high=0.10, confidence=0.8),)),
        Initiative(key="B", title="Cancellation flow", effort=4,
                   links=(Link(kpi="churn", low=-0.10, high=-0.10, confidence=0.5),)),
        Initiative(key="C", title="NPS survey in app", effort=1,
                   links=(Link(kpi="nps", low=0.20, high=0.20),)),
        Initiative(key="D", title="Churn research", effort=1, links=(Link(kpi="churn"),)),
    ]
