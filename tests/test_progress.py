"""Urgency and status of a KPI (SCORING.md step 3, CONTRACT.md KPI status)."""
from __future__ import annotations

from datetime import date

import pytest

from scoring.model import Kpi
from scoring.progress import Current, kpi_state

AS_OF = date(2026, 7, 2)
WINDOW = dict(start=date(2026, 1, 1), deadline=date(2026, 12, 31))


def state(kpi, value=None, **kw):
    return kpi_state(kpi, None if value is None else Current(value, date(2026, 7, 1)), AS_OF, **kw)


def test_lagging_kpi_is_urgent_by_its_lag():
    # p = (0.32 - 0.30) / 0.10 = 0.2, π = 182 / 364 = 0.5, lag 0.3, u = 1 + 2 * 0.3
    s = state(Kpi(id="a", baseline=0.30, target=0.40, **WINDOW), 0.32, urgency=2.0)
    assert (s.progress, s.expected_progress, s.status) == (pytest.approx(0.2), 0.5, "off-track")
    assert s.urgency == pytest.approx(1.6)


def test_down_kpi_progress_is_direction_aware():
    s = state(Kpi(id="churn", direction="down", baseline=0.05, target=0.03, **WINDOW), 0.046)
    assert s.progress == pytest.approx(0.2) and s.urgency == pytest.approx(1.3)


def test_met_target_uses_the_met_factor():
    s = state(Kpi(id="nps", baseline=30, target=50), 52, met_target_factor=0.25)
    assert (s.status, s.urgency) == ("met", 0.25)


def test_no_target_means_no_urgency():
    s = state(Kpi(id="x", baseline=1), 5)
    assert (s.status, s.urgency, s.progress) == ("no-target", 1.0, None)


def test_no_data_and_no_baseline_means_no_urgency():
    s = state(Kpi(id="x", target=5, **WINDOW))
    assert (s.status, s.urgency) == ("no-data", 1.0)


def test_no_data_falls_back_to_the_baseline_for_urgency():
    # x = b, p = 0 against π = 0.5: u = 1.5, but the status says there is no data
    s = state(Kpi(id="x", baseline=10, target=20, **WINDOW))
    assert (s.status, s.urgency) == ("no-data", 1.5)


def test_no_baseline_reads_progress_zero():
    s = state(Kpi(id="x", target=20, **WINDOW), 12)
    assert s.progress == 0 and s.urgency == 1.5


def test_target_equal_to_baseline():
    up = Kpi(id="x", baseline=10, target=10, **WINDOW)
    assert state(up, 10).progress == 1 and state(up, 10).urgency == 0.5
    assert state(up, 9).progress == 0 and state(up, 9).urgency == 1.5
    down = Kpi(id="y", direction="down", baseline=3, target=3, **WINDOW)
    assert state(down, 2.5).status == "met" and state(down, 3.5).progress == 0


def test_expected_progress_is_clamped_and_needs_a_window():
    before = kpi_state(Kpi(id="x", baseline=0, target=1, start=date(2026, 8, 1), deadline=date(2026, 9, 1)),
                       Current(0.1, AS_OF), AS_OF)
    assert before.expected_progress == 0 and before.urgency == 1.0 and before.status == "on-track"
    after = kpi_state(Kpi(id="x", baseline=0, target=1, start=date(2026, 1, 1), deadline=date(2026, 3, 1)),
                      Current(0.25, AS_OF), AS_OF)
    assert after.expected_progress == 1 and after.urgency == pytest.approx(1.75)
    no_window = state(Kpi(id="x", baseline=0, target=1), 0.1)
    assert no_window.expected_progress is None and no_window.urgency == 1 and no_window.status == "on-track"
    inverted = state(Kpi(id="x", baseline=0, target=1, start=date(2026, 12, 31), deadline=date(2026, 1, 1)), 0.1)
    assert inverted.expected_progress is None and inverted.urgency == 1


def test_progress_beyond_the_wrong_side_clamps_lag_at_one():
    s = state(Kpi(id="x", baseline=10, target=20, start=date(2025, 1, 1), deadline=date(2026, 1, 1)), 5, urgency=1.0)
    assert s.progress == -0.5 and s.urgency == 2.0
