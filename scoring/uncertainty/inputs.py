"""The uncertainty analysis's input as plain arrays (`RiskInput`), its validation, and the
expected quantities every part of the analysis starts from (`Prepared`).

Conventions (the caller, `app.services`, builds these from the model):
- KPIs are listed in a topological order with **children before parents**: an edge
  `child -> parent` between two KPIs has `parent index > child index` (the order of
  `GoalGraph.kpi_order`). The KPI values are then computed from the last KPI back to the
  first, one pass over the KPIs vectorised over draws.
- An edge's parent is a KPI index, or an objective index when `edge_to_objective` is set.
- A link's lift is the range `[low, high]` (`low == high` for a point estimate; NaN for an
  unestimated link, which contributes 0 and has no value of information). `direction` is
  the KPI's d_k (+1 up, -1 down); `line` is the link's 1-based line within its item.
- An edge's `low`/`high` are its `weight_range` (NaN when it has none).
- `link_pool` (optional) names the pooled link of each row: rows sharing a number are
  several estimators' estimates of one link (docs/model.md "Several estimators"). Each counts
  1/R in the expected impact, and each draw picks one of them uniformly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

Z90 = 1.645          # a range is a 90 % interval: sd = (high - low) / (2 · 1.645)
DECIMALS = 10        # docs/model.md rounds impacts and scores so that equal estimates tie


@dataclass(frozen=True)
class RiskInput:
    """Everything the simulation needs, as plain data (see the module docstring)."""
    keys: Sequence[str]
    effort: Sequence[float]                 # > 0, defaults already filled in
    eligible: Sequence[bool]                # not done: ranked and plannable
    kpis: Sequence[str]                     # KPI ids, children before parents
    urgency: Sequence[float]                # u_k, fixed
    objective_weight: Sequence[float]       # normalised ŵ_o
    link_initiative: Sequence[int]
    link_kpi: Sequence[int]
    link_direction: Sequence[float]         # d_k of the link's KPI
    link_low: Sequence[float]
    link_high: Sequence[float]
    link_confidence: Sequence[float]
    link_line: Sequence[int]
    edge_child: Sequence[int] = ()
    edge_parent: Sequence[int] = ()
    edge_to_objective: Sequence[bool] = ()
    edge_weight: Sequence[float] = ()
    edge_low: Sequence[float] = ()          # weight_range; NaN = fixed weight
    edge_high: Sequence[float] = ()
    link_pool: Sequence[int] = ()           # pooled link per row (raters share it); () = one rater each
    capacity: float | None = None           # total capacity of the horizon (one team, one period), else top N
    plan: object | None = None              # a scoring.plan.PlanInput over the same keys: the plan's rules
    top: int = 10
    draws: int = 10_000
    seed: int = 1
    voi_probes: int | None = None           # item-probes the value of information may take (None: voi.PROBE_NUMBERS)


@dataclass
class Prepared:
    """Validated arrays restricted to eligible items and estimated links, plus the
    expected KPI values, impacts, scores and order (`s̄`) of the analysis."""
    keys: list[str]                 # eligible items
    effort: np.ndarray              # [n]
    key_rank: np.ndarray            # [n] rank of the key, compared as text
    link_item: np.ndarray           # [L] estimated links of eligible items
    link_kpi: np.ndarray
    link_sign: np.ndarray
    link_mean: np.ndarray           # (low + high) / 2
    link_sd: np.ndarray             # 0 for a point estimate
    link_confidence: np.ndarray     # c, or c / R for one of R raters (the chance it is the one drawn)
    link_source: np.ndarray         # index of the link in RiskInput
    urgency: np.ndarray             # [K]
    objective_value: np.ndarray     # [O] V_o = 100 · ŵ_o
    edge_child: np.ndarray          # [M]
    edge_node: np.ndarray           # [M] parent: KPI index, or K + objective index
    edge_mean: np.ndarray
    edge_sd: np.ndarray             # 0 for a fixed weight
    top: int                        # the decision's size without a plan
    plan: object | None             # the plan's prepared problem (scoring.plan.model.Prepared) over every key
    ids: np.ndarray                 # [n] each eligible item's index among every key
    draws: int
    seed: int
    kpi_value: np.ndarray = field(default=None)        # [K] V̄ at the expected edge weights
    link_value: np.ndarray = field(default=None)       # [L] d_k · V̄_k
    impact: np.ndarray = field(default=None)           # [n] Ī, rounded
    score: np.ndarray = field(default=None)            # [n] s̄, rounded
    order: np.ndarray = field(default=None)            # [n] items by s̄, Ī desc, key asc
    # several raters on a link (None when every link has one): the pooled link per row,
    # the row's place among its link's raters, the number of raters, and each rater's c
    link_group: np.ndarray | None = None
    link_slot: np.ndarray | None = None
    group_size: np.ndarray | None = None
    rater_confidence: np.ndarray | None = None


def kpi_values(urgency, objective_value, edge_child, edge_node, weight) -> np.ndarray:
    """V per draw: `weight` is [S, M] (one row per draw); returns [S, K]. One pass over the
    KPIs from the last (nearest the objectives) to the first, vectorised over draws:
    V_k = u_k · Σ_{k -> p} e · V_p, with V_o = 100 · ŵ_o for an objective."""
    n_kpi, draws = len(urgency), weight.shape[0]
    values = np.zeros((draws, n_kpi + len(objective_value)))
    values[:, n_kpi:] = objective_value
    by_child = np.argsort(edge_child, kind="stable")
    bounds = np.searchsorted(edge_child[by_child], np.arange(n_kpi + 1))
    for k in range(n_kpi - 1, -1, -1):
        edges = by_child[bounds[k]:bounds[k + 1]]
        if edges.size:
            values[:, k] = urgency[k] * np.einsum(
                "se,se->s", weight[:, edges], values[:, edge_node[edges]])
    return values[:, :n_kpi]


def rounded(values: np.ndarray) -> np.ndarray:
    return np.round(values, DECIMALS)


def ranking_order(score: np.ndarray, impact: np.ndarray, key_rank: np.ndarray) -> np.ndarray:
    """Items by score desc, then impact desc, then key asc (one order; for a batch of rows,
    `kernels.ranking_orders`)."""
    return np.lexsort((key_rank, -impact, -score))


def prepare(inp: RiskInput) -> Prepared:
    """Validate `inp` (ValueError naming the field) and compute the expected quantities."""
    keys = list(inp.keys)
    n_all = len(keys)
    effort = np.asarray(inp.effort, float).reshape(-1)
    eligible = np.asarray(inp.eligible, bool).reshape(-1)
    n_kpi = len(inp.kpis)
    urgency = np.asarray(inp.urgency, float).reshape(-1)
    what = np.asarray(inp.objective_weight, float).reshape(-1)
    _check(effort.size == n_all and eligible.size == n_all, "effort and eligible need one value per key")
    _check(len(set(keys)) == n_all, "keys must be unique")
    _check(bool(np.all(np.isfinite(effort[eligible]) & (effort[eligible] > 0))),
           "every effort must be a number > 0")
    _check(urgency.size == n_kpi, "urgency needs one value per KPI")
    _check(inp.draws >= 1, "draws must be at least 1")
    _check(inp.capacity is not None or inp.top >= 1, "top must be at least 1")
    _check(inp.capacity is None or (math.isfinite(inp.capacity) and inp.capacity >= 0),
           "capacity must be a number >= 0")

    links = [np.asarray(a).reshape(-1) for a in (inp.link_initiative, inp.link_kpi, inp.link_direction,
                                                  inp.link_low, inp.link_high, inp.link_confidence,
                                                  inp.link_line)]
    _check(len({a.size for a in links}) <= 1, "every link array needs one value per link")
    item, kpi = links[0].astype(np.int64), links[1].astype(np.int64)
    sign, low, high, conf = (a.astype(float) for a in links[2:6])
    _check(bool(np.all((item >= 0) & (item < n_all))), "link_initiative out of range")
    _check(bool(np.all((kpi >= 0) & (kpi < n_kpi))), "link_kpi out of range")
    _check(bool(np.all(np.isin(sign, (-1.0, 1.0)))), "link_direction must be +1 or -1")
    _check(bool(np.all((conf >= 0) & (conf <= 1))), "link_confidence must be in [0, 1]")
    estimated = ~(np.isnan(low) | np.isnan(high))
    _check(bool(np.all(low[estimated] <= high[estimated])), "a link's low exceeds its high")

    n_obj = what.size
    child = np.asarray(inp.edge_child, np.int64).reshape(-1)
    parent = np.asarray(inp.edge_parent, np.int64).reshape(-1)
    to_obj = np.asarray(inp.edge_to_objective, bool).reshape(-1)
    e_weight = np.asarray(inp.edge_weight, float).reshape(-1)
    e_low = np.asarray(inp.edge_low, float).reshape(-1) if np.size(inp.edge_low) else np.full(child.size, np.nan)
    e_high = np.asarray(inp.edge_high, float).reshape(-1) if np.size(inp.edge_high) else np.full(child.size, np.nan)
    _check(len({child.size, parent.size, to_obj.size, e_weight.size, e_low.size, e_high.size}) == 1,
           "every edge array needs one value per edge")
    _check(bool(np.all((child >= 0) & (child < n_kpi))), "edge_child out of range")
    _check(bool(np.all(np.where(to_obj, parent < n_obj, parent < n_kpi) & (parent >= 0))),
           "edge_parent out of range")
    _check(bool(np.all(to_obj | (parent > child))),
           "KPIs must be in topological order, children before parents (edge parent index > child index)")
    ranged = ~(np.isnan(e_low) | np.isnan(e_high))
    _check(bool(np.all(e_low[ranged] <= e_high[ranged])), "an edge's weight_range low exceeds its high")

    keep = estimated & eligible[item]
    ids = np.flatnonzero(eligible)
    new_index = np.full(n_all, -1, np.int64)
    new_index[ids] = np.arange(ids.size)
    text_rank = np.empty(ids.size, np.int64)
    text_rank[np.argsort(np.array([keys[i] for i in ids], dtype=object), kind="stable")] = np.arange(ids.size)
    p = Prepared(
        keys=[keys[i] for i in ids], effort=effort[ids], key_rank=text_rank,
        link_item=new_index[item[keep]], link_kpi=kpi[keep], link_sign=sign[keep],
        link_mean=(low[keep] + high[keep]) / 2, link_sd=(high[keep] - low[keep]) / (2 * Z90),
        link_confidence=conf[keep], link_source=np.flatnonzero(keep),
        urgency=urgency, objective_value=100.0 * what,
        edge_child=child, edge_node=np.where(to_obj, n_kpi + parent, parent),
        edge_mean=np.where(ranged, (e_low + e_high) / 2, e_weight),
        edge_sd=np.where(ranged, (e_high - e_low) / (2 * Z90), 0.0),
        top=int(inp.top), plan=plan_problem(inp, keys, effort, eligible), ids=ids,
        draws=int(inp.draws), seed=int(inp.seed))
    # V is multilinear in independent edge weights, so E[V] is V at the expected weights.
    _pool(p, inp.link_pool, keep)
    p.kpi_value = kpi_values(p.urgency, p.objective_value, p.edge_child, p.edge_node, p.edge_mean[None, :])[0]
    p.link_value = p.link_sign * p.kpi_value[p.link_kpi]
    p.impact = rounded(np.bincount(p.link_item, p.link_value * p.link_mean * p.link_confidence,
                                   minlength=ids.size))
    p.score = rounded(p.impact / p.effort)
    p.order = ranking_order(p.score, p.impact, p.key_rank)
    return p


def plan_problem(inp: RiskInput, keys: list[str], effort: np.ndarray, eligible: np.ndarray):
    """The plan's prepared problem the decision runs on: `inp.plan`, or for a bare
    `capacity` one team with one period of that size; None for a top N."""
    from scoring.plan.model import PlanInput, prepare as prepare_plan
    plan = inp.plan
    if plan is None and inp.capacity is None:
        return None
    if plan is None:
        n = len(keys)
        plan = PlanInput(keys=keys, impact=np.zeros(n), effort=np.where(eligible, effort, 1.0),
                         order=np.arange(n), team=np.zeros(n, int), done=~eligible,
                         blocked_by=[()] * n, mandatory=np.zeros(n, bool), teams=["all"], periods=["all"],
                         capacity=np.array([[float(inp.capacity)]]), value_of_time="none")
    _check(list(plan.keys) == keys, "plan: its keys must be the analysis's keys, in the same order")
    return prepare_plan(plan, check=False)


def _pool(p: Prepared, link_pool, keep: np.ndarray) -> None:
    """Raters sharing a pooled link: c / R per row for the expected impact, and what the
    draws need to pick one rater per link."""
    pool = np.asarray(link_pool, np.int64).reshape(-1)
    if not pool.size:
        return
    _check(pool.size == keep.size, "link_pool needs one value per link")
    _, group, size = np.unique(pool[keep], return_inverse=True, return_counts=True)
    group = group.reshape(-1)
    if not group.size or size.max() == 1:
        return
    order = np.argsort(group, kind="stable")
    slot = np.empty(group.size, np.int64)
    slot[order] = np.arange(group.size) - np.searchsorted(group[order], group[order])
    p.rater_confidence = p.link_confidence
    p.link_confidence = p.link_confidence / size[group]
    p.link_group, p.link_slot, p.group_size = group, slot, size


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
