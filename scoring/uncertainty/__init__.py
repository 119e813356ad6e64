"""How sure is the plan, and which estimate to refine first (docs/model.md "Uncertainty").

A pure numpy kernel over plain arrays, so that it does not depend on how the model or the
ranking are built: `RiskInput` (see `inputs.py` for its conventions) in, `RiskResult` out.

    >>> from scoring.uncertainty import RiskInput, analyse_risk
    >>> result = analyse_risk(RiskInput(
    ...     keys=["A", "B"], effort=[1.0, 1.0], eligible=[True, True],
    ...     kpis=["mrr"], urgency=[1.0], objective_weight=[1.0],
    ...     link_initiative=[0, 1], link_kpi=[0, 0], link_direction=[1, 1],
    ...     link_low=[0.10, 0.05], link_high=[0.10, 0.05], link_confidence=[1.0, 1.0],
    ...     link_line=[1, 1], edge_child=[0], edge_parent=[0], edge_to_objective=[True],
    ...     edge_weight=[1.0], top=1, draws=100))
    >>> [(it["key"], it["p_in_plan"]) for it in result.as_dict()["items"]]
    [('A', 1.0), ('B', 0.0)]

- `simulate`: the draws (Bernoulli effects with probability c, normal lifts for ranges,
  normal edge weights for `weight_range`), the decision in each draw, P(in plan) with its
  Monte Carlo standard error, impact and rank percentiles (`draws.py`).
- `decide`: the decision D(s), the plan's own greedy under every rule of the plan, for a
  batch of drawn scores (`decision.py`);
- `value_of_information`: the expected value of partial perfect information of every
  link estimate, given the expected scores, by probing the decision (`voi.py`).

Readings of docs/model.md worth knowing:
- an edge with a `weight_range` is drawn around the range's midpoint ("drawn the same
  way" as a lift), so the expected impacts here equal the ranking's only when `weight` is
  that midpoint;
- an item with a drawn impact <= 0 is never taken, unless mandatory or pulled in as a
  blocker (nor in a top N);
- a bare `capacity` is one team with one period of that size; `plan` (a
  `scoring.plan.PlanInput` over the same keys) brings every rule of the plan;
- ranks and the decision count eligible (not done) items only; done items get nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.uncertainty.decision import decide
from scoring.uncertainty.draws import Simulation, simulate
from scoring.uncertainty.inputs import Prepared, RiskInput, prepare
from scoring.uncertainty.voi import value_of_information

__all__ = ["RiskInput", "RiskResult", "analyse_risk", "prepare", "simulate", "value_of_information",
           "Prepared", "Simulation", "decide", "estimate_seconds"]


@dataclass(frozen=True)
class RiskResult:
    """The analysis of the eligible items. Item arrays follow `keys`; `voi` has one value
    per link of the `RiskInput` (NaN for unestimated links and links of done items), in
    impact points; see `voi.py` for why it can be slightly negative."""
    draws: int
    seed: int
    keys: list[str]
    expected_impact: np.ndarray     # Ī (docs/model.md's I_i at the ranges' midpoints)
    expected_score: np.ndarray
    expected_rank: np.ndarray       # 1-based, by expected score
    simulation: Simulation
    voi: np.ndarray
    link_key: list[str]             # per RiskInput link
    link_kpi: list[str]
    link_line: list[int]

    def refine_first(self) -> list[dict]:
        """Every estimate, most worth refining first (voi desc, then key, then line)."""
        rows = [(-float(v), self.link_key[j], self.link_line[j], j)
                for j, v in enumerate(self.voi) if not np.isnan(v)]
        return [{"key": key, "kpi": self.link_kpi[j], "line": line, "voi": -neg}
                for neg, key, line, j in sorted(rows)]

    def items(self) -> list[dict]:
        """Per item in expected rank order: P(in plan) with its standard error, impact and
        rank percentiles."""
        sim = self.simulation
        out = []
        for i in np.argsort(self.expected_rank, kind="stable"):
            ip, rp = sim.impact_percentiles[:, i], sim.rank_percentiles[:, i]
            out.append({"key": self.keys[i], "p_in_plan": float(sim.p_in_plan[i]),
                        "p_in_plan_se": float(sim.p_in_plan_se[i]),
                        "impact": {"p5": float(ip[0]), "p50": float(ip[1]), "p95": float(ip[2])},
                        "rank": {"p5": float(rp[0]), "p50": float(rp[1]), "p95": float(rp[2])}})
        return out

    def as_dict(self) -> dict:
        """`risk --format json` without `as_of` (the app adds it)."""
        return {"draws": self.draws, "seed": self.seed, "items": self.items(),
                "refine_first": self.refine_first()}


# CPU seconds measured by bench/risk.py (1,000 to 10,000 items, 4 teams x 4 periods, 10,000
# draws): the simulation about 0.3 µs per item-draw; the value of information about
# 0.6 µs per item x link, at most the probe budget's (voi.PROBE_NUMBERS) worth.
SECONDS_PER_ITEM_DRAW = 0.3e-6
SECONDS_PER_ITEM_LINK = 0.6e-6
SECONDS_OF_PROBES = 0.13e-6


def estimate_seconds(items: int, draws: int, links: int | None = None, with_voi: bool = True) -> float:
    """A rough cost of `analyse_risk` in CPU seconds, for budgets: linear in items x draws,
    plus the value of information (items x links, at most `voi.PROBE_NUMBERS` probes).

    >>> round(estimate_seconds(1000, 10_000, 2000), 1), round(estimate_seconds(5000, 10_000), 1)
    (4.2, 28.0)
    """
    from scoring.uncertainty.voi import PROBE_NUMBERS
    links = 2 * items if links is None else links
    sim = SECONDS_PER_ITEM_DRAW * items * draws
    voi = min(SECONDS_PER_ITEM_LINK * items * links, SECONDS_OF_PROBES * PROBE_NUMBERS) if with_voi else 0.0
    return sim + voi


def analyse_risk(inp: RiskInput, *, with_voi: bool = True) -> RiskResult:
    """Validate `inp` (ValueError with the reason), simulate, and value every estimate."""
    p = prepare(inp)
    sim = simulate(p, np.random.Generator(np.random.PCG64(p.seed)))
    voi = np.full(len(inp.link_initiative), np.nan)
    if with_voi:
        voi[p.link_source] = value_of_information(p, sim.p_in_plan, inp.voi_probes)
    rank = np.empty(len(p.keys), np.int64)
    rank[p.order] = np.arange(1, len(p.keys) + 1)
    keys = list(inp.keys)
    return RiskResult(
        draws=p.draws, seed=p.seed, keys=p.keys, expected_impact=p.impact,
        expected_score=p.score, expected_rank=rank, simulation=sim, voi=voi,
        link_key=[keys[int(i)] for i in inp.link_initiative],
        link_kpi=[inp.kpis[int(k)] for k in inp.link_kpi],
        link_line=[int(x) for x in inp.link_line])
