"""What-if: the ranking under changed objective weights, edge weights, KPI values or
extra initiatives. Nothing is stored."""
from __future__ import annotations

import math
from datetime import date

from app import services
from scoring.graph import GoalGraph
from scoring.model import MAX_EDGE_WEIGHT, MAX_OBJECTIVE_WEIGHT, Backlog, Edge, Initiative, join_backlogs
from scoring.notation import parse_impact
from scoring.progress import Current
from scoring.ranking import Ranking, rank_backlog


class WhatIfError(ValueError):
    """The what-if body is not usable; the message names the key."""


def _number(where: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise WhatIfError(f"{where}: must be a finite number")
    return float(v)


def what_if(ws: services.Workspace, body: dict, *, baseline: Ranking | None = None,
            method: str | None = None) -> tuple[Ranking, dict]:
    """The changed ranking, and each key's rank in the unchanged one (to show who moved),
    scored by `method` (default: the config's)."""
    if not isinstance(body, dict):
        raise WhatIfError("the body must be a JSON object")
    unknown = set(body) - {"objective_weights", "edge_weights", "kpi_values", "initiatives", "as_of"}
    if unknown:
        raise WhatIfError(f"unknown keys: {', '.join(sorted(unknown))}")
    graph = ws.graph
    objective_ids = {o.id for o in graph.objectives}
    weights = {}
    for k, v in (body.get("objective_weights") or {}).items():
        if k not in objective_ids:
            raise WhatIfError(f"objective_weights.{k}: no such objective")
        weights[k] = _number(f"objective_weights.{k}", v)
        if not 0 <= weights[k] <= MAX_OBJECTIVE_WEIGHT:
            raise WhatIfError(f"objective_weights.{k}: must be from 0 to {MAX_OBJECTIVE_WEIGHT:g}")
    if weights and sum({**{o.id: o.weight for o in graph.objectives}, **weights}.values()) <= 0:
        raise WhatIfError("objective_weights: at least one objective needs a weight above 0")
    if body.get("edge_weights"):
        changed = {}
        existing = {(x.source, x.target) for x in graph.edges}
        for n, e in enumerate(body["edge_weights"]):
            if not isinstance(e, dict) or (e.get("from"), e.get("to")) not in existing:
                raise WhatIfError(f"edge_weights[{n}]: no edge from {e.get('from')!r} to {e.get('to')!r}")
            changed[(e["from"], e["to"])] = _number(f"edge_weights[{n}].weight", e.get("weight"))
            if abs(changed[(e["from"], e["to"])]) > MAX_EDGE_WEIGHT:
                raise WhatIfError(f"edge_weights[{n}].weight: must be from -{MAX_EDGE_WEIGHT:g} to {MAX_EDGE_WEIGHT:g}")
        edges = [Edge(**{"from": x.source, "to": x.target, "weight": changed.get((x.source, x.target), x.weight)})
                 for x in graph.edges]
        graph = GoalGraph.build(graph.objectives, graph.kpis, edges)
    try:
        as_of = date.fromisoformat(body["as_of"]) if body.get("as_of") else None
    except (TypeError, ValueError):
        raise WhatIfError("as_of: must be a date, YYYY-MM-DD") from None
    params = ws.params(as_of, method)
    currents = services.currents(ws, params.as_of)
    for k, v in (body.get("kpi_values") or {}).items():
        if k not in {x.id for x in graph.kpis}:
            raise WhatIfError(f"kpi_values.{k}: no such KPI")
        currents[k] = Current(_number(f"kpi_values.{k}", v), params.as_of)
    backlog = ws.store.load_backlog(factors=params.method != "kpi-impact")
    extra = []
    for n, it in enumerate(body.get("initiatives") or []):
        if not isinstance(it, dict) or not it.get("key"):
            raise WhatIfError(f"initiatives[{n}].key: required")
        parsed = parse_impact(str(it.get("impact") or ""))
        effort = it.get("effort")
        extra.append(Initiative(key=str(it["key"]), title=str(it.get("title") or it["key"]),
                                effort=None if effort is None else _number(f"initiatives[{n}].effort", effort),
                                links=tuple(parsed.links), flags=tuple(parsed.flags), status="what-if"))
    if extra:
        backlog = join_backlogs(backlog, Backlog.from_initiatives(extra))
    ranking = rank_backlog(backlog, graph, params, currents, objective_weights=weights or None)
    base = baseline or services.ranking(ws, as_of=params.as_of, method=params.method)
    before = {base.backlog.keys[i]: r + 1 for r, i in enumerate(base.ranked.tolist())}
    return ranking, before
