"""Build and validate the goal graph: KPIs -> higher KPIs -> objectives.

>>> from scoring.model import Objective, Kpi, Edge
>>> g = GoalGraph.build([Objective(id="rev", weight=1)], [Kpi(id="mrr")],
...                     [Edge(**{"from": "mrr", "to": "rev", "weight": 1.0})])
>>> g.kpi_order
['mrr']
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx

from scoring.model import Edge, Kpi, Objective
from scoring.errors import BadInput, Conflict


@dataclass(frozen=True)
class GraphProblem:
    """One thing wrong with the graph. `code` is a check finding code."""
    code: str          # "cycle" | "unknown-node"
    subject: str
    message: str


class GraphError(Conflict):
    """The goal graph cannot be scored; `problems` lists every reason: 409, exit 2."""
    code = "graph-invalid"

    def __init__(self, problems: list[GraphProblem]):
        self.problems = problems
        super().__init__("the goal graph cannot be scored: " + "; ".join(p.message for p in problems))


def find_problems(objectives: list[Objective], kpis: list[Kpi], edges: list[Edge]) -> list[GraphProblem]:
    """Every reason the graph cannot be scored: unknown ids, edges out of objectives,
    non-finite weights and cycles (each named by its nodes in order)."""
    objective_ids = {o.id for o in objectives}
    kpi_ids = {k.id for k in kpis}
    problems: list[GraphProblem] = []
    g = nx.DiGraph()
    for n, e in enumerate(edges):
        where = f"edges[{n}] ({e.source} -> {e.target})"
        if e.source in objective_ids:
            problems.append(GraphProblem(
                "unknown-node", e.source,
                f"{where}: '{e.source}' is an objective; objectives have no outgoing edges, "
                "an edge must start at a KPI"))
        elif e.source not in kpi_ids:
            problems.append(GraphProblem(
                "unknown-node", e.source, f"{where}: '{e.source}' is not a KPI id; define it under [[kpis]]"))
        if e.target not in kpi_ids and e.target not in objective_ids:
            problems.append(GraphProblem(
                "unknown-node", e.target,
                f"{where}: '{e.target}' is not a KPI or objective id; define it or fix the edge"))
        if not math.isfinite(e.weight):
            problems.append(GraphProblem("unknown-node", e.source, f"{where}: weight must be a finite number"))
        g.add_edge(e.source, e.target)
    for cycle in cycles(g):
        names = " -> ".join(cycle + [cycle[0]])
        problems.append(GraphProblem("cycle", names, f"the goal graph has a cycle: {names}"))
    return problems


def cycles(g: nx.DiGraph) -> list[list[str]]:
    """One cycle per strongly connected component (enough to name every loop to break),
    nodes in edge order, starting from the smallest id so the message is stable."""
    found = []
    for comp in nx.strongly_connected_components(g):
        if len(comp) == 1:
            (node,) = comp
            if not g.has_edge(node, node):
                continue
            found.append([node])
            continue
        start = min(comp)
        cyc = nx.find_cycle(g.subgraph(comp), source=start)
        nodes = [u for u, _v in cyc]
        i = nodes.index(min(nodes))
        found.append(nodes[i:] + nodes[:i])
    return sorted(found)


@dataclass
class GoalGraph:
    """A validated, acyclic goal graph with its KPIs in topological order
    (children before the KPIs they feed)."""
    objectives: list[Objective]
    kpis: list[Kpi]
    edges: list[Edge]
    graph: nx.DiGraph
    kpi_order: list[str]

    @classmethod
    def build(cls, objectives: list[Objective], kpis: list[Kpi], edges: list[Edge]) -> "GoalGraph":
        problems = find_problems(objectives, kpis, edges)
        if problems:
            raise GraphError(problems)
        g = nx.DiGraph()
        for o in objectives:
            g.add_node(o.id, kind="objective")
        for k in kpis:
            g.add_node(k.id, kind="kpi")
        for e in edges:
            g.add_edge(e.source, e.target, weight=e.weight)
        kpi_ids = {k.id for k in kpis}
        order = [n for n in nx.lexicographical_topological_sort(g) if n in kpi_ids]
        return cls(list(objectives), list(kpis), list(edges), g, order)

    def kpi(self, kpi_id: str) -> Kpi:
        return self._kpis_by_id[kpi_id]

    @property
    def _kpis_by_id(self) -> dict[str, Kpi]:
        cache = self.__dict__.get("_kpi_cache")
        if cache is None:
            cache = self.__dict__["_kpi_cache"] = {k.id: k for k in self.kpis}
        return cache

    def objective_weights(self, override: dict[str, float] | None = None) -> dict[str, float]:
        """ŵ_o = w_o / Σ w (docs/model.md); raises BadInput when all weights are zero."""
        raw = {o.id: float((override or {}).get(o.id, o.weight)) for o in self.objectives}
        total = sum(raw.values())
        if not total > 0:
            raise BadInput("objective weights are all zero; give at least one objective a weight above 0")
        return {k: v / total for k, v in raw.items()}

    def reaches_objective(self) -> dict[str, set[str]]:
        """For every KPI, the objectives it has a path to."""
        objective_ids = {o.id for o in self.objectives}
        reach: dict[str, set[str]] = {}
        for k in reversed(self.kpi_order):
            r: set[str] = set()
            for p in self.graph.successors(k):
                r |= {p} if p in objective_ids else reach[p]
            reach[k] = r
        return reach
