"""Goal graphs for the layout tests, in the shape services.graph_data returns."""
from __future__ import annotations

import random


def forty_kpis() -> dict:
    """A synthetic strategy: 5 objectives, 40 KPIs in 4 levels, each feeding one or two KPIs
    (or objectives) above it; fixed seed, so the drawing is the same on every run."""
    rnd = random.Random(40)
    objectives = [f"obj{n}" for n in range(5)]
    levels = [objectives, [f"k{n}" for n in range(0, 12)], [f"k{n}" for n in range(12, 26)],
              [f"k{n}" for n in range(26, 36)], [f"k{n}" for n in range(36, 40)]]
    edges = []
    for lv in range(1, len(levels)):
        for k in levels[lv]:
            above = [n for lvl in levels[max(0, lv - 2):lv] for n in lvl]
            for parent in rnd.sample(above, rnd.choice((1, 1, 2))):
                edges.append({"from": k, "to": parent, "weight": rnd.choice((0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.8, -0.2))})
    parents: dict[str, list[str]] = {}
    for e in edges:
        parents.setdefault(e["from"], []).append(e["to"])
    layer = {o: 0 for o in objectives}
    for lv in levels[1:]:
        for k in lv:
            layer[k] = 1 + max(layer[p] for p in parents[k])
    nodes = [{"id": o, "kind": "objective", "name": f"Objective number {n} of the plan", "layer": 0, "weight": 1}
             for n, o in enumerate(objectives)]
    nodes += [{"id": k, "kind": "kpi", "name": f"Key indicator {k} with a fairly long name", "layer": layer[k],
               "status": "off-track" if n % 4 == 0 else "on-track", "off_track": n % 4 == 0, "orphan": False}
              for n, k in enumerate(f"k{i}" for i in range(40))]
    return {"nodes": nodes, "edges": edges}
