"""A straightforward reading of docs/model.md, used as an oracle in tests and as the slow
baseline in bench/scoring.py: per initiative, walk every path from each linked KPI to
every objective and add up the products of edge weights and of the urgency of every KPI
on the path (docs/model.md). Exponential in the number of paths, on purpose."""
from __future__ import annotations

from scoring.goals.graph import GoalGraph
from scoring.model import Initiative


def path_walk_impact(item: Initiative, graph: GoalGraph, urgency: dict[str, float],
                     default_confidence: float = 0.5) -> float:
    weights = graph.objective_weights()
    objective_ids = set(weights)
    total = 0.0

    def walk(node: str, carried: float) -> float:
        # v2: every KPI on the path multiplies what it carries by its urgency
        out = 0.0
        for parent, data in graph.graph[node].items():
            step = carried * urgency.get(node, 1.0) * data["weight"]
            if parent in objective_ids:
                out += 100 * weights[parent] * step
            else:
                out += walk(parent, step)
        return out

    for link in item.links:
        if link.lift is None or link.kpi not in graph.graph:
            continue
        conf = link.confidence if link.confidence is not None else (
            item.confidence if item.confidence is not None else default_confidence)
        total += walk(link.kpi, graph.kpi(link.kpi).sign * link.lift * conf)
    return total
