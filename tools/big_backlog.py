"""A large generated backlog for benchmarks and the budget tests: `n` initiatives with 1 to 4
random impact lines on the given KPIs, each on one of `teams` (the demo's by default, so
that the demo's plan has work to place), seeded, written as an initiatives CSV.

Nothing is in progress: work in progress is committed to the plan, and thousands of such
items could not all fit.
"""
from __future__ import annotations

import csv
import random
from pathlib import Path


DEMO_TEAMS = ("growth", "customer", "platform")


def write_backlog(path: Path, kpis: list[str], n: int, *, seed: int = 7, teams=DEMO_TEAMS) -> None:
    rng = random.Random(seed)
    with Path(path).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "title", "status", "effort", "impact", "url", "team"])
        for i in range(n):
            lines = "; ".join(f"{rng.choice(kpis)} {rng.uniform(-5, 15):+.1f}% @{rng.randint(30, 90)}%"
                              for _ in range(rng.randint(1, 4)))
            w.writerow([f"WEB-{i}", f"Initiative number {i}", rng.choice(["To Do", "Backlog"]),
                        rng.choice([1, 2, 3, 5, 8, 13]), lines, f"https://jira.example/browse/WEB-{i}",
                        rng.choice(teams)])
