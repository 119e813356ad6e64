"""The uncertainty analysis as a use case (docs/model.md "Uncertainty", `roadmap risk`,
/api/v1/risk): the kernel's `RiskInput` from the KPI-impact ranking (links with their line
within the item, direction, converted low/high and confidence; each KPI's urgency from the
ranking's states, in `graph.kpi_order`; edges with their `weight_range`; the normalised
objective weights) and the decision: the plan's own rules (teams, periods, capacity,
blockers, must-haves, due dates, pins, work in progress) when `[planning]` has teams,
else the top N. Results are cached by data version, as_of, settings and
draws/seed/top, in the process and in the store (app/store/analyses.py), apart for the
web's budget (the value of information probes fewer estimates) and the command line.
"""
from __future__ import annotations

import threading
from datetime import date

import numpy as np

from app.services import Workspace, ranking as rank
from app.services.planning import budget
from scoring import pool
from scoring.errors import BadInput
from scoring.ranking import Ranking
from scoring.uncertainty import RiskInput, RiskResult, analyse_risk

MAX_DRAWS = 50_000


def total_capacity(ws: Workspace) -> float | None:
    """The plan's capacity over every team and period, None without configured teams."""
    cfg = ws.settings.planning
    if not cfg.teams:
        return None
    return float(sum(sum(cfg.capacity_of(t)) for t in cfg.teams))


def link_lines(r: Ranking) -> np.ndarray:
    """Each link's 1-based line within its item, in source order."""
    item = r.backlog.link_item
    order = np.argsort(item, kind="stable")
    starts = np.searchsorted(item[order], np.arange(len(r.backlog) + 1))
    line = np.empty(len(item), dtype=np.int64)
    line[order] = np.arange(len(item)) - starts[item[order]] + 1
    return line


def plan_input(ws: Workspace, r: Ranking, request=None):
    """The plan's kernel input for the decision (the configured plan, or a scenario's
    request), None when no capacity is configured."""
    from app.services.planning import plan as plans
    try:
        inp, _ = plans.build_input(ws, r, request or plans.PlanRequest(explain=False))
    except plans.PlanNotConfigured:
        return None
    return inp


def risk_input(ws: Workspace, r: Ranking, *, draws: int, seed: int, top: int, request=None) -> RiskInput:
    g = r.graph
    kidx = {k: n for n, k in enumerate(g.kpi_order)}
    oidx = {o.id: n for n, o in enumerate(g.objectives)}
    known = r.link_kpi_index >= 0
    link_kpi = np.where(known, r.link_kpi_index, 0)
    sign = np.array([g.kpi(k).sign for k in g.kpi_order] + [1.0], dtype=float)
    low = np.where(known, r.link_low, np.nan)
    high = np.where(known, r.link_high, np.nan)
    edges = list(g.edges)
    w = np.array([r.weights[o.id] for o in g.objectives], dtype=float)
    return RiskInput(
        keys=list(r.backlog.keys), effort=np.asarray(r.effort, float), eligible=~np.asarray(r.backlog.done),
        kpis=list(g.kpi_order), urgency=[r.states[k].urgency for k in g.kpi_order],
        objective_weight=w / w.sum() if w.sum() > 0 else w,
        link_initiative=r.backlog.link_item, link_kpi=link_kpi,
        link_direction=sign[np.where(known, r.link_kpi_index, -1)],
        link_low=low, link_high=high, link_confidence=np.clip(np.nan_to_num(r.link_confidence), 0, 1),
        link_line=link_lines(r),
        edge_child=[kidx[e.source] for e in edges],
        edge_parent=[oidx[e.target] if e.target in oidx else kidx[e.target] for e in edges],
        edge_to_objective=[e.target in oidx for e in edges],
        edge_weight=[e.weight for e in edges],
        edge_low=[e.weight_range[0] if e.weight_range else np.nan for e in edges],
        edge_high=[e.weight_range[1] if e.weight_range else np.nan for e in edges],
        link_pool=link_pools(r), plan=plan_input(ws, r, request), top=top, draws=draws, seed=seed)

def link_pools(r: Ranking) -> np.ndarray | tuple:
    """The pooled link of each row when some link has several estimators, else ()."""
    if r.link_share is None or not (r.link_share < 1).any():
        return ()
    counted = (r.link_kpi_index >= 0) & ~np.isnan(r.link_low)
    group, _count = pool.groups(r.backlog.link_item, r.link_kpi_index, counted)
    return np.where(group >= 0, group, -1 - np.arange(len(group)))     # uncounted rows: their own


_lock = threading.RLock()


def _cache(ws: Workspace) -> dict:
    """This workspace's own cache (a fresh workspace, e.g. per CLI run or test, starts empty)."""
    with _lock:
        return ws.__dict__.setdefault("_risk_cache", {})


def analyse(ws: Workspace, *, as_of: date | None = None, draws: int | None = None, seed: int | None = None,
            top: int | None = None, base: Ranking | None = None, max_draws: int = MAX_DRAWS) -> RiskResult:
    """The kernel's result for the workspace (cached); BadInput for bad numbers."""
    u = ws.settings.uncertainty
    as_of = ws.as_of(as_of)
    draws, seed, top = budget.risk_draws(ws) if draws is None else draws, u.seed if seed is None else seed, u.top if top is None else top
    if not 1 <= draws <= max_draws:
        raise BadInput(f"draws must be from 1 to {max_draws:,}")
    if seed < 0 or top < 1:
        raise BadInput("seed must be >= 0 and top >= 1")
    key = (ws.store.cache_version(), as_of, draws, seed, top)
    with _lock:
        hit = _cache(ws).get(key)
    if hit is not None:
        return hit
    result = _read_stored(ws, key)        # simulated by a sync or another process
    if result is None:
        r = base if base is not None and base.params.as_of == as_of and base.params.method == "kpi-impact" \
            else rank(ws, as_of=as_of, method="kpi-impact")
        result = budget.run(ws, analyse_risk, risk_input(ws, r, draws=draws, seed=seed, top=top))
        _store(ws, key, result)
    with _lock:
        cache = _cache(ws)
        if len(cache) > 16:
            cache.clear()
        cache[key] = result
    return result


def _stored_key(ws: Workspace, key) -> str:
    version, as_of, *request = key
    return ws.analysis_key("risk", list(version), as_of.isoformat(), request, budget.bounded())


def _read_stored(ws: Workspace, key) -> RiskResult | None:
    from app.store import analyses
    from scoring.uncertainty.packing import unpack_risk
    blob = analyses.read(ws.store, _stored_key(ws, key))
    try:
        return None if blob is None else unpack_risk(blob)
    except (ValueError, KeyError, OSError):
        return None               # another format: simulated again, and stored over


def _store(ws: Workspace, key, result: RiskResult) -> None:
    from app.store import analyses
    from scoring.uncertainty.packing import pack_risk
    analyses.write(ws.store, _stored_key(ws, key), "risk", int(key[0][0] or 0), pack_risk(result))


def risk(ws: Workspace, **kw) -> dict:
    """`risk --format json`: {"as_of", "draws", "seed", "items", "refine_first"}."""
    as_of = ws.as_of(kw.pop("as_of", None))
    return {"as_of": as_of.isoformat(), **analyse(ws, as_of=as_of, **kw).as_dict()}


def risk_summary(ws: Workspace, *, as_of: date | None = None, refine: int = 10, base: Ranking | None = None) -> dict:
    """For pages: {"p_in_plan": {key: p}, "refine_first": [{key, kpi, line, voi}] (the first
    `refine`), "spread": {key: {p5, p50, p95}} of the impact}. Cached with the analysis."""
    res = analyse(ws, as_of=as_of, base=base)
    items = res.items()
    return {"p_in_plan": {it["key"]: it["p_in_plan"] for it in items},
            "refine_first": res.refine_first()[:refine],
            "spread": {it["key"]: it["impact"] for it in items}}
