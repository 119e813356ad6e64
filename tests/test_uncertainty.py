"""The uncertainty kernel (docs/model.md "Uncertainty"): drawn impacts against the
worked example, closed forms for P(in plan) and the value of information, estimates that
cannot move the plan, repeatability, and uncertain edge weights."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from scoring.uncertainty import RiskInput, analyse_risk, prepare

NAN = float("nan")


def Phi(z):
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def phi(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def worked_example(**changes) -> RiskInput:
    """docs/model.md's worked example: KPIs children before parents (activation, churn, nps,
    mrr) with urgencies 1.3, 1.3, 0.5, 1; ŵ = 0.75 (revenue), 0.25 (delight); so V_mrr = 75,
    V_nps = 16.25, V_activation = 48.75, V_churn = 78. Items A, B, C, D as there, A and B
    with ranges around the document's point lifts (same midpoints)."""
    base = dict(
        keys=["A", "B", "C", "D"], effort=[2.0, 4.0, 1.0, 1.0], eligible=[True] * 4,
        kpis=["activation", "churn", "nps", "mrr"], urgency=[1.3, 1.3, 0.5, 1.0],
        objective_weight=[0.75, 0.25],
        link_initiative=[0, 1, 2, 3], link_kpi=[0, 1, 2, 1], link_direction=[1, -1, 1, -1],
        link_low=[0.05, -0.15, 0.20, NAN], link_high=[0.15, -0.05, 0.20, NAN],
        link_confidence=[0.8, 0.5, 0.5, 0.5], link_line=[1, 1, 1, 1],
        edge_child=[0, 1, 2, 2, 3], edge_parent=[3, 3, 1, 3, 0],
        edge_to_objective=[False, False, True, False, True], edge_weight=[0.5, 0.8, 1.0, 0.1, 1.0],
        top=2, draws=40_000, seed=3)
    base.update(changes)
    return RiskInput(**base)


def test_kpi_values_and_expected_impacts_are_the_worked_example():
    p = prepare(worked_example())
    assert p.kpi_value.tolist() == pytest.approx([48.75, 78.0, 16.25, 75.0])
    assert p.impact.tolist() == [3.9, 3.9, 1.625, 0.0]
    assert p.score.tolist() == [1.95, 0.975, 1.625, 0.0]
    assert [p.keys[i] for i in p.order] == ["A", "C", "B", "D"]


def test_mean_drawn_impact_matches_the_deterministic_impact():
    r = analyse_risk(worked_example(), with_voi=False)
    sim = r.simulation
    error = sim.impact_sd / math.sqrt(r.draws)
    for i, expected in enumerate([3.9, 3.9, 1.625, 0.0]):
        assert abs(sim.impact_mean[i] - expected) <= 4 * error[i] + 1e-12
    # C: nps +20 % @50 %, a point lift: impact 0.2 · 16.25 = 3.25 or 0, each half the time
    assert sim.impact_sd[2] == pytest.approx(1.625, rel=0.02)
    assert sim.impact_percentiles[[0, 2], 2].tolist() == [0.0, 3.25]
    assert r.as_dict()["items"][-1] == {"key": "D", "p_in_plan": 0.0, "p_in_plan_se": 0.0,
                                        "impact": {"p5": 0.0, "p50": 0.0, "p95": 0.0},
                                        "rank": {"p5": 4.0, "p50": 4.0, "p95": 4.0}}


def test_p_in_plan_sums_to_the_plan_size_and_its_error_is_reported():
    r = analyse_risk(worked_example(draws=10_000), with_voi=False)
    p = r.simulation.p_in_plan
    # The top 2 among the items with a drawn impact > 0 (the decision's rule since v3; before,
    # zero-impact items filled the top 2 and the sum was 2): A, B and C happen with c = 0.8,
    # 0.5, 0.5 and their drawn impacts are then > 0; D is unestimated. With K of them
    # happening, min(K, 2) are taken: E = 2 - 2 P(K=0) - P(K=1) = 2 - 0.1 - 0.3 = 1.6.
    assert p.sum() == pytest.approx(1.6, abs=4 * 0.008)
    assert p[3] == 0.0
    assert r.simulation.p_in_plan_se.tolist() == pytest.approx(np.sqrt(p * (1 - p) / 10_000).tolist())


def two_items(**changes) -> RiskInput:
    """One KPI worth V = 100 (u = 1, one edge of weight 1 to the only objective), c = 1:
    I_A ~ N(12, σ_A), I_B ~ N(10, σ_B), σ = 100 · (high - low) / (2 · 1.645)."""
    base = dict(
        keys=["A", "B"], effort=[1.0, 1.0], eligible=[True, True], kpis=["k"], urgency=[1.0],
        objective_weight=[1.0], link_initiative=[0, 1], link_kpi=[0, 0], link_direction=[1, 1],
        link_low=[0.08, 0.04], link_high=[0.16, 0.16], link_confidence=[1.0, 1.0], link_line=[1, 1],
        edge_child=[0], edge_parent=[0], edge_to_objective=[True], edge_weight=[1.0],
        top=1, draws=40_000, seed=11)
    base.update(changes)
    return RiskInput(**base)


SD_A, SD_B = 100 * 0.08 / 3.29, 100 * 0.12 / 3.29


def test_two_items_closed_form_p_in_plan_and_value_of_information():
    """Top 1, equal efforts: A is in the plan when I_A > I_B, I_A - I_B ~ N(2, sqrt(σ_A² +
    σ_B²)), so P(A) = Φ(2 / sqrt(σ_A² + σ_B²)).
    Value of information: at expected scores A (12) is chosen, U = 12. Knowing I_A = x,
    B is chosen when x < 10: VOI_A = E[(10 - x)⁺] = (10 - 12) Φ(z_A) + σ_A φ(z_A), z_A =
    (10 - 12) / σ_A. Knowing I_B = x, B is chosen when x > 12: VOI_B = E[(x - 12)⁺] =
    (10 - 12) Φ(z_B) + σ_B φ(z_B), z_B = (10 - 12) / σ_B (E[(X - t)⁺] = (μ - t) Φ((μ - t)/σ)
    + σ φ((μ - t)/σ) for X ~ N(μ, σ))."""
    r = analyse_risk(two_items())
    p_a = Phi(2 / math.hypot(SD_A, SD_B))                # 0.6728
    assert r.simulation.p_in_plan.tolist() == pytest.approx([p_a, 1 - p_a], rel=0.02)
    z_a, z_b = -2 / SD_A, -2 / SD_B
    voi_a = -2 * Phi(z_a) + SD_A * phi(z_a)              # 0.4126
    voi_b = -2 * Phi(z_b) + SD_B * phi(z_b)              # 0.8577
    assert r.voi.tolist() == pytest.approx([voi_a, voi_b], rel=0.02)
    assert [(e["key"], e["kpi"], e["line"]) for e in r.as_dict()["refine_first"]] == [("B", "k", 1), ("A", "k", 1)]


def test_two_items_closed_form_with_a_capacity_and_different_efforts():
    """Efforts 2 and 3, capacity 4: only one fits, the first by score. P(A) =
    P(I_A/2 > I_B/3) = Φ((12/2 - 10/3) / sqrt(σ_A²/4 + σ_B²/9)). At expected scores A
    (6 > 3.33) is chosen; knowing I_A = x, B is chosen when x/2 < 10/3, i.e. x < 20/3:
    VOI_A = E[(10 - x) 1{x < 20/3}] = (10 - 12) Φ(z) + σ_A φ(z), z = (20/3 - 12) / σ_A."""
    r = analyse_risk(two_items(effort=[2.0, 3.0], capacity=4.0))
    p_a = Phi((6 - 10 / 3) / math.sqrt(SD_A ** 2 / 4 + SD_B ** 2 / 9))
    assert r.simulation.p_in_plan[0] == pytest.approx(p_a, rel=0.02)
    z = (20 / 3 - 12) / SD_A
    assert r.voi[0] == pytest.approx(-2 * Phi(z) + SD_A * phi(z), rel=0.02)


def test_an_estimate_that_cannot_move_its_item_across_the_line_is_worth_nothing():
    """A (impact about 50) is always in the top 2 whatever its range; B and C (10 and 9)
    compete for the second place, so their estimates are worth refining and A's is not."""
    r = analyse_risk(two_items(keys=["A", "B", "C"], effort=[1.0] * 3, eligible=[True] * 3,
                               link_initiative=[0, 1, 2], link_kpi=[0, 0, 0], link_direction=[1, 1, 1],
                               link_low=[0.45, 0.06, 0.05], link_high=[0.55, 0.14, 0.13],
                               link_confidence=[1.0, 0.9, 0.9], link_line=[1, 1, 2], top=2))
    assert abs(r.voi[0]) < 1e-9
    assert r.voi[1] > 0.1 and r.voi[2] > 0.1
    assert r.simulation.p_in_plan[0] == 1.0


def test_an_item_that_never_fits_the_capacity_has_no_chance_and_no_value_of_information():
    r = analyse_risk(two_items(effort=[5.0, 1.0], capacity=4.0))
    # B is taken whenever its drawn impact is > 0 (the v3 rule): I_B ~ N(10, σ_B)
    assert r.simulation.p_in_plan[0] == 0.0
    assert r.simulation.p_in_plan[1] == pytest.approx(Phi(10 / SD_B), abs=0.002)
    # and knowing I_B = x < 0 leaves it out: VOI_B = E[(-x)⁺] = -10 Φ(-10/σ_B) + σ_B φ(10/σ_B)
    z = -10 / SD_B
    assert r.voi[0] == 0.0 and r.voi[1] == pytest.approx(-10 * Phi(z) + SD_B * phi(z), rel=1e-6)


def reference_voi(inp: RiskInput, link: int, samples: int, rng) -> tuple[float, float]:
    """A plain sampling of the definition: draw X (Bernoulli c, normal lift), recompute the
    item's expected impact, decide greedily in Python, and average
    U(D(s̄|X)|X) - U(D(s̄)|X) (the same as VOI, since E_X[U(D(s̄)|X)] = U(D(s̄)))."""
    keys, effort = list(inp.keys), list(inp.effort)
    value = 100.0                                        # one KPI, V = 100, every direction +1
    mean = [(lo + hi) / 2 for lo, hi in zip(inp.link_low, inp.link_high)]
    sd = [(hi - lo) / 3.29 for lo, hi in zip(inp.link_low, inp.link_high)]
    expected = [0.0] * len(keys)
    for j, i in enumerate(inp.link_initiative):
        expected[i] += value * mean[j] * inp.link_confidence[j]

    def decide(impact):
        order = sorted(range(len(keys)), key=lambda i: (-round(impact[i] / effort[i], 10), -impact[i], keys[i]))
        if inp.capacity is None:
            return order[:inp.top]
        used, chosen = 0.0, []
        for i in order:
            if used + effort[i] <= inp.capacity + 1e-9:
                used += effort[i]
                chosen.append(i)
        return chosen

    base = decide(expected)
    i, c = inp.link_initiative[link], inp.link_confidence[link]
    gains = []
    for _ in range(samples):
        x = value * (mean[link] + sd[link] * rng.standard_normal()) * (rng.random() < c)
        impact = list(expected)
        impact[i] = expected[i] - c * value * mean[link] + x
        gains.append(sum(impact[k] for k in decide(impact)) - sum(impact[k] for k in base))
    return float(np.mean(gains)), float(np.std(gains) / math.sqrt(samples))


@pytest.mark.parametrize("capacity, top", [(6.0, 10), (None, 2)])
def test_value_of_information_agrees_with_a_plain_sampling_of_its_definition(capacity, top):
    """Five items, capacity 6 (or the top 2), point and ranged lifts, confidences below 1."""
    inp = two_items(keys=["P", "Q", "R", "S", "T"], effort=[2.0, 3.0, 1.0, 2.0, 4.0], eligible=[True] * 5,
                    link_initiative=[0, 0, 1, 2, 3, 4, 4], link_kpi=[0] * 7, link_direction=[1] * 7,
                    link_low=[0.05, 0.02, 0.10, 0.03, 0.04, 0.10, 0.01],
                    link_high=[0.15, 0.02, 0.20, 0.03, 0.12, 0.30, 0.09],
                    link_confidence=[0.8, 0.5, 0.7, 1.0, 0.6, 0.5, 0.9], link_line=[1, 2, 1, 1, 1, 1, 2],
                    capacity=capacity, top=top, draws=1000)
    r = analyse_risk(inp)
    rng = np.random.default_rng(2026)
    for link in range(7):
        mean, error = reference_voi(inp, link, 3000, rng)
        assert abs(r.voi[link] - mean) <= 4 * error + 1e-9, (link, r.voi[link], mean, error)
    assert r.voi[3] == 0.0                               # a certain point estimate: nothing to learn


def test_same_seed_same_results_and_another_seed_other_draws():
    first = analyse_risk(worked_example(draws=2000)).as_dict()
    assert analyse_risk(worked_example(draws=2000)).as_dict() == first
    other = analyse_risk(worked_example(draws=2000, seed=4)).as_dict()
    assert [it["p_in_plan"] for it in other["items"]] != [it["p_in_plan"] for it in first["items"]]
    assert other["refine_first"] == first["refine_first"]   # exact: it does not sample


def test_a_weight_range_changes_the_spread_but_not_the_mean():
    """A alone with a point lift +10 % @80 %: X = 0.1 · 1.3 · e · 75 · B = 9.75 e B.
    Fixed e = 0.5: mean 9.75 · 0.5 · 0.8 = 3.9, sd 9.75 · 0.5 · sqrt(0.8 · 0.2) = 1.95.
    e ~ N(0.5, 0.4/3.29) for weight_range [0.3, 0.7]: E[X²] = 9.75² · 0.8 · (0.25 + sd_e²),
    so the sd grows to sqrt(E[X²] - 3.9²) = 2.2197; the mean stays 3.9."""
    point = dict(link_low=[0.10, -0.15, 0.20, NAN], link_high=[0.10, -0.05, 0.20, NAN], draws=100_000)
    fixed = analyse_risk(worked_example(**point), with_voi=False)
    ranged = analyse_risk(worked_example(**point, edge_low=[0.3, NAN, NAN, NAN, NAN],
                                         edge_high=[0.7, NAN, NAN, NAN, NAN]), with_voi=False)
    sd_e = 0.4 / 3.29
    sd = math.sqrt(9.75 ** 2 * 0.8 * (0.25 + sd_e ** 2) - 3.9 ** 2)
    assert fixed.simulation.impact_sd[0] == pytest.approx(1.95, rel=0.02)
    assert ranged.simulation.impact_sd[0] == pytest.approx(sd, rel=0.02)
    assert ranged.expected_impact[0] == fixed.expected_impact[0] == 3.9
    for r in (fixed, ranged):
        assert abs(r.simulation.impact_mean[0] - 3.9) <= 4 * r.simulation.impact_sd[0] / math.sqrt(r.draws)


def test_done_items_are_left_out_and_unestimated_links_have_no_value():
    r = analyse_risk(worked_example(eligible=[True, False, True, True], draws=500))
    assert r.keys == ["A", "C", "D"]
    assert [k for k in r.link_key] == ["A", "B", "C", "D"]
    assert math.isnan(r.voi[1]) and math.isnan(r.voi[3])
    assert {e["key"] for e in r.as_dict()["refine_first"]} == {"A", "C"}


@pytest.mark.parametrize("change, message", [
    (dict(edge_parent=[3, 3, 1, 0, 0], edge_to_objective=[False, False, True, False, True]), "topological"),
    (dict(effort=[2.0, 0.0, 1.0, 1.0]), "effort"),
    (dict(link_confidence=[0.8, 1.5, 0.5, 0.5]), "confidence"),
    (dict(draws=0), "draws"),
])
def test_bad_input_is_refused_with_the_reason(change, message):
    with pytest.raises(ValueError, match=message):
        prepare(replace(worked_example(), **change))


def test_ties_in_a_draw_go_by_impact_then_key_as_in_the_ranking():
    """Certain point lifts on V = 100: "A" (impact 1, effort 1) and "B" (impact 2, effort 2)
    both score 1; B ranks first on impact. "C" is B's twin and follows it on its key."""
    r = analyse_risk(two_items(keys=["A", "B", "C"], effort=[1.0, 2.0, 2.0], eligible=[True] * 3,
                               link_initiative=[0, 1, 2], link_kpi=[0, 0, 0], link_direction=[1, 1, 1],
                               link_low=[0.01, 0.02, 0.02], link_high=[0.01, 0.02, 0.02],
                               link_confidence=[1.0, 1.0, 1.0], link_line=[1, 1, 1], top=1, draws=100))
    assert r.simulation.p_in_plan.tolist() == [0.0, 1.0, 0.0]
    assert r.simulation.rank_percentiles[1].tolist() == [3.0, 1.0, 2.0]
    assert r.expected_rank.tolist() == [3, 1, 2]
