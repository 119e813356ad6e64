"""Plan benchmark: prints figures and ratios measured in this one run.

Generated backlogs of 100, 300, 600 and 1,200 items: teams = n/40, four
periods, 20 % of the items blocked (1-2 blockers each, on any team, acyclic), 3 %
mandatory, total effort twice the capacity. Impacts are log-normal (5 % are 0, as
unestimated items are), efforts are story points 1..13, capacities vary by period.
For each size and seed: the MILP's solve time, its proven gap, its value against the
dependency-aware greedy plan and against the plain cut of the ranked list, and the time
spent on `enters_if` for the best 10 excluded items and how many it explained within its
budget, wall-clock and CPU seconds of the whole call (CPU well below wall-clock means other
processes held the cores: the time limits are wall-clock); then medians and the worst.

Then the board's latency at 100 and 600 items (what a meeting waits for): the greedy
plan's first paint (`greedy_only`), the exact answer (no `enters_if`), and "enters if"
for the shown items over the solved plan (`explain_plan`), wall and CPU seconds each.
"cpu/wall" is what the machine gave the solver: the share of one core this process got
while solving (the limit counts solver_seconds in CPU seconds, stretching the wall-clock
at most 3x; `cpu_budget=False` is the plain wall-clock limit, `--wall` to compare).

Run: python3 bench/plan.py [--sizes 100 300 600 1200 2400] [--seeds 5] [--seconds 5] [--wall]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from scoring.plan import PlanInput, solve_plan  # noqa: E402
from scoring.plan.solve import explain_plan  # noqa: E402

POINTS = np.array([1, 2, 3, 5, 8, 13], dtype=float)
POINT_ODDS = np.array([0.12, 0.2, 0.25, 0.22, 0.14, 0.07])


def backlog(n: int, seed: int, seconds: float) -> PlanInput:
    rng = np.random.default_rng(seed)
    T, P = max(1, n // 40), 4
    impact = np.round(rng.lognormal(0.0, 1.0, n), 4)
    impact[rng.random(n) < 0.05] = 0.0
    effort = rng.choice(POINTS, size=n, p=POINT_ODDS)
    team = rng.integers(0, T, n)
    position = rng.permutation(n)          # blockers come earlier in this order: no cycles
    by_position = np.argsort(position)
    blocked_by: list[tuple[str, ...]] = [() for _ in range(n)]
    for i in np.flatnonzero(rng.random(n) < 0.2):
        if position[i] == 0:
            continue
        k = min(position[i], rng.integers(1, 3))
        blocked_by[i] = tuple(f"IT-{by_position[j]}" for j in rng.choice(position[i], k, replace=False))
    mandatory = np.zeros(n, dtype=bool)
    mandatory[rng.choice(n, max(1, round(0.03 * n)), replace=False)] = True
    spread = rng.uniform(0.8, 1.2, (T, P))
    spread /= spread.sum(axis=1, keepdims=True)
    per_team = np.bincount(team, weights=effort, minlength=T)
    capacity = np.round(per_team[:, None] / 2 * spread, 1)
    score = impact / effort
    order = np.array(sorted(range(n), key=lambda i: (-score[i], -impact[i], f"IT-{i}")))
    return PlanInput(keys=[f"IT-{i}" for i in range(n)], impact=impact, effort=effort, order=order,
                     team=team, done=np.zeros(n, dtype=bool), blocked_by=blocked_by,
                     mandatory=mandatory, teams=[f"team-{t}" for t in range(T)],
                     periods=["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"], capacity=capacity,
                     solver_seconds=seconds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 600, 1200, 2400])
    ap.add_argument("--wall", action="store_true", help="plain wall-clock solver limit (no CPU budget)")
    ap.add_argument("--latency-only", action="store_true")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    print(f"solver_seconds={args.seconds:g}; value vs greedy / cut = plan value / baseline - 1; "
          f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (wall-clock limits: other "
          "processes on the machine slow the solver)")
    latency(args)
    if args.latency_only:
        return
    print(f"{'n':>5} {'seed':>4} {'status':>10} {'solve s':>8} {'solve cpu':>9} {'cpu/wall':>8} {'gap %':>7} "
          f"{'vs greedy %':>11} {'vs best simple %':>16} {'enters_if s':>11} {'explained':>9} {'total s':>8} {'cpu s':>6}")
    summary = []
    for n in args.sizes:
        rows = []
        for seed in range(1, args.seeds + 1):
            inp = replace(backlog(n, seed, args.seconds), cpu_budget=not args.wall)
            start, cpu = time.perf_counter(), time.process_time()
            r = solve_plan(inp)
            total, cpu = time.perf_counter() - start, time.process_time() - cpu
            vs_greedy = 100 * (r.value / r.greedy_value - 1)
            best = max(r.simple_plans().values())
            vs_cut = 100 * (r.value / best - 1)
            gap = 100 * r.gap if r.gap is not None else float("nan")
            rows.append((r.solve_seconds, gap, vs_greedy, vs_cut, r.enters_if_seconds, total))
            explained = sum(e["enters_if"] is not None for e in r.excluded)
            share = r.solve_cpu_seconds / max(r.solve_seconds, 1e-9)
            print(f"{n:>5} {seed:>4} {r.status:>10} {r.solve_seconds:>8.2f} {r.solve_cpu_seconds:>9.2f} {share:>8.2f} "
                  f"{gap:>7.3f} {vs_greedy:>11.2f} {vs_cut:>16.2f} {r.enters_if_seconds:>11.2f} {explained:>9} "
                  f"{total:>8.2f} {cpu:>6.2f}", flush=True)
        summary.append((n, rows))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    print(f"{'n':>5} {'solve s med/max':>16} {'gap % med/max':>14} {'vs greedy % med/min':>20} "
          f"{'vs best simple % med/min':>25} {'enters_if s med':>16}")
    for n, rows in summary:
        col = list(zip(*rows))
        print(f"{n:>5} {statistics.median(col[0]):>7.2f}/{max(col[0]):<8.2f} "
              f"{statistics.median(col[1]):>6.3f}/{max(col[1]):<7.3f} "
              f"{statistics.median(col[2]):>9.2f}/{min(col[2]):<10.2f} "
              f"{statistics.median(col[3]):>16.2f}/{min(col[3]):<8.2f} "
              f"{statistics.median(col[4]):>16.2f}")


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def latency(args) -> None:
    """The board's three stages at 100 and 600 items (seed 1), after the one-time load of
    the compiled greedy (a web process pays it on its first plan), printed apart."""
    first, _, _ = timed(lambda: solve_plan(replace(backlog(20, 1, args.seconds), greedy_only=True, explain_top=0)))
    print(f"first plan in this process (numba imported, the compiled greedy loaded): {first:.2f} s")
    print(f"board latency (seed 1): {'n':>5} {'greedy paint s':>15} {'exact s':>8} {'exact cpu':>9} "
          f"{'status':>10} {'gap %':>6} {'enters if s':>11}")
    for n in (100, 600):
        inp = replace(backlog(n, 1, args.seconds), cpu_budget=not args.wall)
        g_wall, g_cpu, g = timed(lambda: solve_plan(replace(inp, greedy_only=True, explain_top=0)))
        e_wall, e_cpu, e = timed(lambda: solve_plan(replace(inp, explain_top=0)))
        x_wall, _, _ = timed(lambda: explain_plan(inp, e.assignment, e.status, e.gap))
        gap = 100 * e.gap if e.gap is not None else float("nan")
        print(f"{'':>23} {n:>5} {g_wall:>10.3f} ({g_cpu:.3f} cpu) {e_wall:>8.2f} {e_cpu:>9.2f} {e.status:>10} "
              f"{gap:>6.2f} {x_wall:>11.2f}", flush=True)


if __name__ == "__main__":
    main()
