"""Uncertainty benchmark: prints figures and ratios measured in this one run.

A synthetic backlog of N initiatives (default 1,000, 2,000, 5,000 and 10,000) with 1-3
links each (most with a range, confidences 0.3-1.0), 30 KPIs in 3 levels, 4 objectives,
60 edges of which 25 carry a weight_range; the plan's rules: 4 teams x 4 periods with
capacity a quarter of the effort, 15 % of the items blocked by an earlier one, 2 %
must-haves. For each size, 10,000 draws: the simulation (P(in plan) and percentiles) and
the value of information, wall and CPU seconds, against the goals (5,000 items <= 30 s,
10,000 <= 60 s with the value of information), and the growth exponent between sizes
(log time ratio / log size ratio: 1 is linear, ~1.1 is n log n). Also the cost estimate
`scoring.uncertainty.estimate_seconds` against the measured CPU.

Run: python3 bench/risk.py [--sizes 1000 2000 5000 10000] [--draws N] [--repeat R]
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.plan import PlanInput  # noqa: E402
from scoring.uncertainty import RiskInput, estimate_seconds, prepare, simulate, value_of_information  # noqa: E402

GOALS = {5000: 30.0, 10000: 60.0}


def backlog(items: int, draws: int, seed: int = 7) -> RiskInput:
    rng = np.random.default_rng(seed)
    levels = [list(range(0, 20)), list(range(20, 27)), list(range(27, 30))]   # leaves, middle, top
    n_kpi, n_obj = 30, 4
    child, parent, to_obj = [], [], []
    for k in levels[0]:
        for p in rng.choice(levels[1], 2, replace=False):
            child.append(k); parent.append(int(p)); to_obj.append(False)
    for k in levels[1]:
        for p in rng.choice(levels[2], 2, replace=False):
            child.append(k); parent.append(int(p)); to_obj.append(False)
    for k in levels[2]:
        for o in rng.choice(n_obj, 2, replace=False):
            child.append(k); parent.append(int(o)); to_obj.append(True)
    weight = rng.uniform(0.2, 1.0, len(child))
    low, high = np.full(len(child), np.nan), np.full(len(child), np.nan)
    ranged = rng.choice(len(child), 25, replace=False)
    low[ranged], high[ranged] = weight[ranged] * 0.6, weight[ranged] * 1.4
    per_item = rng.integers(1, 4, items)
    link_item = np.repeat(np.arange(items), per_item)
    n_links = link_item.size
    mid = rng.uniform(0.01, 0.2, n_links)
    width = np.where(rng.random(n_links) < 0.8, rng.uniform(0.2, 1.5, n_links) * mid, 0.0)
    line = np.concatenate([np.arange(1, c + 1) for c in per_item])
    w = rng.uniform(0.5, 2.0, n_obj)
    keys = [f"ROAD-{i + 1}" for i in range(items)]
    effort = rng.integers(1, 13, items).astype(float)
    eligible = rng.random(items) < 0.95
    T, P = 4, 4
    team = rng.integers(0, T, items)
    per_team = np.bincount(team, weights=effort * eligible, minlength=T)
    blocked = [(keys[int(rng.integers(0, i))],) if i and rng.random() < 0.15 else () for i in range(items)]
    mandatory = rng.random(items) < 0.02
    plan = PlanInput(keys=keys, impact=np.zeros(items), effort=effort, order=np.arange(items), team=team,
                     done=~eligible, blocked_by=blocked, mandatory=mandatory, teams=[f"t{t}" for t in range(T)],
                     periods=["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"],
                     capacity=np.repeat(per_team[:, None] / 4 / P, P, axis=1))
    return RiskInput(
        keys=keys, effort=effort, eligible=eligible, kpis=[f"kpi{k}" for k in range(n_kpi)],
        urgency=rng.uniform(0.5, 2.0, n_kpi), objective_weight=w / w.sum(),
        link_initiative=link_item, link_kpi=rng.integers(0, 20, n_links),
        link_direction=rng.choice([-1.0, 1.0], n_links),
        link_low=mid - width / 2, link_high=mid + width / 2,
        link_confidence=rng.choice([0.3, 0.5, 0.7, 0.8, 1.0], n_links), link_line=line,
        edge_child=child, edge_parent=parent, edge_to_objective=to_obj, edge_weight=weight,
        edge_low=low, edge_high=high, plan=plan, top=50, draws=draws, seed=1)


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10000])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"{args.draws:,} draws; cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'items':>6} {'links':>6} {'sim wall':>9} {'sim cpu':>8} {'voi wall':>9} {'voi cpu':>8} "
          f"{'total wall':>10} {'goal':>6} {'ratio':>6} {'estimate':>9} {'in (0,1)':>8} {'valued':>7}")
    rows = []
    for n in args.sizes:
        walls, cpus = [], []
        for _ in range(args.repeat):
            inp = backlog(n, args.draws)
            t_sim, c_sim, (p, sim) = timed(lambda: (lambda p: (p, simulate(p, np.random.Generator(
                np.random.PCG64(p.seed)))))(prepare(inp)))
            t_voi, c_voi, voi = timed(lambda: value_of_information(p, sim.p_in_plan))
            walls.append(t_sim + t_voi)
            cpus.append(c_sim + c_voi)
        total = statistics.median(walls)
        goal = GOALS.get(n)
        between = int(np.sum((sim.p_in_plan > 0) & (sim.p_in_plan < 1)))
        est = estimate_seconds(len(p.keys), args.draws, len(inp.link_initiative))
        print(f"{n:>6} {len(inp.link_initiative):>6} {t_sim:>9.2f} {c_sim:>8.2f} {t_voi:>9.2f} {c_voi:>8.2f} "
              f"{total:>10.2f} {goal or float('nan'):>6.0f} {total / goal if goal else float('nan'):>6.2f} "
              f"{est:>9.1f} {between:>8} {int(np.sum(~np.isnan(voi))):>7}", flush=True)
        rows.append((n, total, min(walls)))
    print("growth (exponent of n between consecutive sizes, from the median wall time):")
    for (n0, t0, _), (n1, t1, _) in zip(rows, rows[1:]):
        print(f"  {n0:>6} -> {n1:>6}: x{t1 / t0:.2f} for x{n1 / n0:.1f} items: n^{math.log(t1 / t0) / math.log(n1 / n0):.2f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
