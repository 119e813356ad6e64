"""Uncertainty benchmark (issue 14): prints figures and ratios measured in this one run.

- a synthetic backlog: 500 initiatives with 1-3 links each (most with a range, confidences
  0.3-1.0), 30 KPIs in 3 levels, 4 objectives, 60 edges of which 25 carry a weight_range;
- 10,000 draws: the time for P(in plan) and the percentiles (validation, expected values
  and the simulation), against the 2 s goal;
- the value of information of every estimate, against the 10 s goal;
- both with a capacity (greedy by score while effort fits) and with a top N.

Run: python3 bench/risk.py [--items N] [--draws N]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.uncertainty import RiskInput, prepare, simulate, value_of_information  # noqa: E402

GOAL_SIMULATION, GOAL_VOI = 2.0, 10.0


def backlog(items: int, draws: int, capacity: float | None, seed: int = 7) -> RiskInput:
    rng = np.random.default_rng(seed)
    levels = [list(range(0, 20)), list(range(20, 27)), list(range(27, 30))]   # leaves, middle, top
    n_kpi, n_obj = 30, 4
    child, parent, to_obj = [], [], []
    for k in levels[0]:                       # each leaf feeds two middle KPIs
        for p in rng.choice(levels[1], 2, replace=False):
            child.append(k); parent.append(int(p)); to_obj.append(False)
    for k in levels[1]:                       # each middle KPI feeds two top KPIs
        for p in rng.choice(levels[2], 2, replace=False):
            child.append(k); parent.append(int(p)); to_obj.append(False)
    for k in levels[2]:                       # each top KPI feeds two objectives
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
    return RiskInput(
        keys=[f"ROAD-{i + 1}" for i in range(items)], effort=rng.integers(1, 13, items).astype(float),
        eligible=rng.random(items) < 0.95, kpis=[f"kpi{k}" for k in range(n_kpi)],
        urgency=rng.uniform(0.5, 2.0, n_kpi), objective_weight=w / w.sum(),
        link_initiative=link_item, link_kpi=rng.integers(0, 20, n_links),
        link_direction=rng.choice([-1.0, 1.0], n_links),
        link_low=mid - width / 2, link_high=mid + width / 2,
        link_confidence=rng.choice([0.3, 0.5, 0.7, 0.8, 1.0], n_links), link_line=line,
        edge_child=child, edge_parent=parent, edge_to_objective=to_obj, edge_weight=weight,
        edge_low=low, edge_high=high, capacity=capacity, top=50, draws=draws, seed=1)


def best(fn, repeat=3):
    """Best wall time and best CPU time of `repeat` runs (CPU time is the steadier figure
    when other processes share the cores), and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--draws", type=int, default=10_000)
    args = parser.parse_args()
    for label, capacity in (("capacity 25 % of the effort", "quarter"), ("top 50", None)):
        inp = backlog(args.items, args.draws, None)
        if capacity:
            inp = backlog(args.items, args.draws, float(np.sum(inp.effort)) / 4)
        n_links = len(inp.link_initiative)

        def run_simulation():
            p = prepare(inp)
            return p, simulate(p, np.random.Generator(np.random.PCG64(p.seed)))

        t_sim, c_sim, (p, sim) = best(run_simulation)
        t_voi, c_voi, voi = best(lambda: value_of_information(p))
        estimates = int(np.sum((p.link_sd > 0) | (p.link_confidence < 1)))
        print(f"{label}: {len(p.keys)} eligible items, {n_links} links, {len(inp.edge_child)} edges "
              f"({int(np.sum(~np.isnan(inp.edge_low)))} ranged), {args.draws:,} draws")
        print(f"  P(in plan) + percentiles: {t_sim:6.2f} s wall, {c_sim:6.2f} s CPU   goal {GOAL_SIMULATION:.0f} s "
              f"(ratio {t_sim / GOAL_SIMULATION:.2f})   sum P = {sim.p_in_plan.sum():.1f}, "
              f"max SE = {sim.p_in_plan_se.max():.4f}")
        print(f"  value of information:     {t_voi:6.2f} s wall, {c_voi:6.2f} s CPU   goal {GOAL_VOI:.0f} s "
              f"(ratio {t_voi / GOAL_VOI:.2f})   {estimates} uncertain estimates, "
              f"{int(np.sum(voi > 1e-6))} worth > 1e-6, top {np.sort(voi)[-1]:.3f}")
    print(f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

if __name__ == "__main__":
    main()
