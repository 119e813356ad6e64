"""scoring.outcomes: realised lift, placebo intervals and verdicts on simulated series
with known true lifts, the edge cases, and the calibration factor against a hand
computation (docs/model.md, "Outcomes" and "Calibration")."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from scoring.outcomes import (LaunchedLink, OutcomeParams, Resolved, calibrate, counterfactual_path, measure,
                              measure_links)

START = date(2025, 1, 1)
SEASON = np.array([1.0, 1.03, 1.04, 1.02, 0.99, 0.93, 0.90])     # Monday .. Sunday


def simulated(rng, lift: float, *, n: int = 400, launch_at: int = 330, drift_sd: float = 0.002,
              gap: float = 0.0, level: float = 100.0):
    """A KPI with weekly seasonality, 3 % daily noise and a slowly drifting level (a
    random walk of 0.2 % a day), multiplied by 1 + `lift` from the launch on."""
    walk = level * np.exp(np.cumsum(rng.normal(0, drift_sd, n)))
    dow = np.array([(START + timedelta(i)).weekday() for i in range(n)])
    y = walk * SEASON[dow] * (1 + rng.normal(0, 0.03, n))
    y[launch_at:] *= 1 + lift
    keep = rng.random(n) >= gap
    days = [START + timedelta(i) for i in range(n)]
    return [d for d, k in zip(days, keep) if k], y[keep], START + timedelta(launch_at)


def _trial(seed: int, lifts, count: int, gap: float = 0.0):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        lift = lifts[k % len(lifts)]
        days, y, launch = simulated(rng, lift, gap=gap)
        m = measure(days, y, launch, 0.10, as_of=launch + timedelta(40))
        out.append((lift, m))
    return out


def test_promised_properties_on_simulated_series():
    # 240 links: a third each with no effect, +5 % and +15 %
    got = _trial(11, (0.0, 0.05, 0.15), 240)
    cover = np.mean([m.low <= lift <= m.high for lift, m in got])
    half = np.median([(m.high - m.low) / 2 for _, m in got])
    errors = np.median([abs(m.realised - lift) for lift, m in got])
    false_moved = np.mean([m.verdict == "moved" for lift, m in got if lift == 0])
    detected = np.mean([m.verdict == "moved" for lift, m in got if lift == 0.15])
    assert cover >= 0.80, cover
    assert half < 0.08, half
    assert false_moved <= 0.15, false_moved
    assert detected >= 0.80, detected
    assert errors < 0.02, errors
    # placebos widen the model's interval: without them it covers far less often
    model_cover = np.mean([abs(m.realised - lift) <= m.model_half_width for lift, m in got])
    assert model_cover < cover
    assert all(m.placebos == 12 for _, m in got)
    se = [m.se for _, m in got]
    assert all(abs(s - (m.high - m.low) / (2 * 1.6448536)) < 1e-6 for s, (_, m) in zip(se, got))


def test_gaps_in_the_series_are_allowed():
    got = _trial(5, (0.0, 0.15), 60, gap=0.1)       # a tenth of the days missing, at random
    measured = [(lift, m) for lift, m in got if m.realised is not None]
    assert len(measured) >= 55
    assert np.mean([m.low <= lift <= m.high for lift, m in measured]) >= 0.8
    assert all(m.post_observed < 28 for _, m in measured[:10])


def test_a_drop_on_a_down_kpi_is_moved_and_a_rise_is_the_wrong_way():
    rng = np.random.default_rng(3)
    days, y, launch = simulated(rng, -0.2)
    assert measure(days, y, launch, -0.05, as_of=launch + timedelta(30)).verdict == "moved"
    assert measure(days, y, launch, +0.05, as_of=launch + timedelta(30)).verdict == "moved-wrong-way"


def test_negative_kpi_uses_the_absolute_counterfactual_level():
    rng = np.random.default_rng(4)
    days, y, launch = simulated(rng, 0.0, level=1.0)
    y = np.asarray(y) * -100.0                  # a KPI around -100 (a net outflow, say)
    launch_n = (launch - START).days
    y[launch_n:] += 20.0                         # +20 on a level of ~-100: r ~ +0.2
    m = measure(days, y, launch, 0.1, as_of=launch + timedelta(30))
    assert m.expected_level < 0
    assert 0.15 < m.realised < 0.25 and m.verdict == "moved"


def test_zero_kpi_is_not_measurable_with_the_reason():
    days = [START + timedelta(i) for i in range(300)]
    m = measure(days, [0.0] * 300, START + timedelta(250), 0.1, as_of=START + timedelta(299))
    assert m.verdict == "not-measurable" and "too close to 0" in m.reason
    # a KPI swinging around 0: the level is tiny against its spread
    rng = np.random.default_rng(2)
    m = measure(days, rng.normal(0.01, 5, 300), START + timedelta(250), 0.1, as_of=START + timedelta(299))
    assert m.verdict == "not-measurable"


def test_measuring_and_not_measurable_cases():
    rng = np.random.default_rng(9)
    days, y, launch = simulated(rng, 0.1)
    m = measure(days, y, launch, 0.1, as_of=launch + timedelta(10))
    assert m.verdict == "measuring" and "ends on" in m.reason and m.realised is None
    m = measure(days, y, launch + timedelta(500), 0.1, as_of=launch + timedelta(30))
    assert m.verdict == "measuring" and "launches on" in m.reason
    # the post window ended but most of its days are missing
    sparse = [(d, v) for d, v in zip(days, y) if d < launch or (d - launch).days % 3 == 0]
    m = measure([d for d, _ in sparse], [v for _, v in sparse], launch, 0.1, as_of=launch + timedelta(40))
    assert m.verdict == "measuring" and "of the 28 days" in m.reason
    # too little history before launch
    m = measure(days[-90:], y[-90:], launch, 0.1, as_of=launch + timedelta(40))
    assert m.verdict == "not-measurable" and "observed days" in m.reason
    m = measure([], [], launch, 0.1, as_of=launch + timedelta(40))
    assert m.verdict == "not-measurable" and "no observations" in m.reason
    # observations after as_of are not used
    m = measure(days, y, launch, 0.1, as_of=launch + timedelta(27))
    assert m.verdict == "moved" and m.post_end == launch + timedelta(27)


def test_confounded_launches_are_measured_once_as_a_group():
    rng = np.random.default_rng(12)
    days, y, launch = simulated(rng, 0.12)
    links = [LaunchedLink("A", "act", launch, 0.05), LaunchedLink("B", "act", launch + timedelta(10), 0.03),
             LaunchedLink("C", "act", launch - timedelta(60), 0.02),      # far enough apart: alone
             LaunchedLink("A", "other", launch, 0.05)]
    got = measure_links(links, {"act": (days, y)}, as_of=launch + timedelta(69))
    assert [g.verdict for g in got[:2]] == ["confounded", "confounded"]
    assert got[0].group == ("A", "B") and got[0].group_expected == pytest.approx(0.08)
    assert got[0].measure is got[1].measure
    assert got[0].measure.post_end == launch + timedelta(10 + 27)        # through B's whole window
    assert got[2].group is None and got[2].verdict in ("no-detectable-move", "moved", "moved-wrong-way")
    assert got[3].verdict == "not-measurable"                          # a KPI with no observations
    # the group's window has not ended yet: it is measuring
    got = measure_links(links[:2], {"act": (days, y)}, as_of=launch + timedelta(30))
    assert [g.verdict for g in got] == ["measuring", "measuring"] and got[0].group == ("A", "B")


def test_the_interval_order_statistic():
    from scoring.outcomes.measure import half_width
    effects = np.array([0.01 * k for k in range(1, 13)])        # n = 12: ⌈13 · 0.9⌉ = 12th smallest
    assert half_width(0.0, effects, 0.90) == pytest.approx(0.12)
    assert half_width(0.0, effects[:5], 0.90) == pytest.approx(0.05)     # ⌈6 · 0.9⌉ = 6 > 5: the largest
    assert half_width(0.0, effects, 0.50) == pytest.approx(0.07)         # ⌈6.5⌉ = 7th
    assert half_width(0.2, effects, 0.90) == 0.2                          # the model's is wider


def test_counterfactual_path_for_the_chart():
    rng = np.random.default_rng(1)
    days, y, launch = simulated(rng, 0.1)
    p = counterfactual_path(days, y, launch, as_of=launch + timedelta(40), params=OutcomeParams(pre_days=60))
    assert len(p["days"]) == 60 + 28 and p["days"][60] == launch
    assert all(v is not None for v in p["counterfactual"])


def test_calibration_factor_by_hand_on_three_links():
    recs = [Resolved("Alice", 0.08, 0.04, 0.02, 0.8, "moved"),
            Resolved("alice", 0.05, 0.03, 0.01, 0.6, "moved", low=0.02, high=0.12),
            Resolved("bob", 0.02, 0.03, 0.02, 0.5, "no-detectable-move", low=0.0, high=0.02),
            Resolved("bob", 0.5, 0.0, 0.01, 0.5, "measuring")]          # not resolved: ignored
    cal = calibrate(recs, prior_sd=0.5)
    # w = 2500, 10000, 2500; team Σwxr = 8 + 15 + 1.5 = 24.5, P_T = 16 + 25 + 1 = 42
    assert cal.team.raw == pytest.approx(24.5 / 42)
    b_t = (24.5 + 4) / (42 + 4)
    assert cal.team.factor == pytest.approx(b_t) and cal.team.resolved == 3
    alice, bob = cal.estimators
    assert alice.estimator == "alice" and alice.resolved == 2
    assert alice.raw == pytest.approx(23 / 41) and alice.precision == pytest.approx(41)
    assert alice.factor == pytest.approx((23 + 4 * b_t) / (41 + 4))             # 0.5662
    assert bob.factor == pytest.approx((1.5 + 4 * b_t) / (1 + 4))               # 0.7957
    assert alice.brier == pytest.approx((0.2 ** 2 + 0.4 ** 2) / 2) and bob.brier == pytest.approx(0.25)
    assert alice.inside_range == 1.0 and bob.inside_range == 0.0
    assert cal.factor("ALICE") == alice.factor and cal.factor("carol") == cal.team.factor
    d = cal.as_dict()
    assert set(d["team"]) == {"factor", "raw", "precision", "resolved", "brier"}
    assert set(d["estimators"][0]) == {"estimator", "factor", "raw", "precision", "resolved", "brier",
                                       "inside_range"}


def test_calibration_clips_and_handles_nothing_resolved():
    cal = calibrate([], prior_sd=0.5)
    assert cal.team.factor == 1.0 and cal.team.raw == 0.0 and cal.estimators == []
    big = calibrate([Resolved("x", 0.01, 0.2, 0.001, 0.5, "moved")], prior_sd=0.5)
    assert big.estimators[0].factor == 3.0
    wrong = calibrate([Resolved("x", 0.1, -0.3, 0.001, 0.5, "moved-wrong-way")], prior_sd=0.5)
    assert wrong.estimators[0].factor == 0.0
