"""Rank a backlog: the one validating function around the numeric kernels.

`rank_backlog` resolves links to KPIs, fills defaults, runs the kernel of the chosen
method and returns a `Ranking` that answers for every item: score, impact, rank, flags,
contributions (which sum to the impact) and, for the classic frameworks, their factors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np

from scoring import frameworks
from scoring.graph import GoalGraph
from scoring.impact import direct_improvement, kpi_impact_scores, kpi_values, round10
from scoring.model import Backlog
from scoring.progress import Current, KpiState, kpi_state

METHODS = ("kpi-impact", "rice", "ice", "wsjf")


@dataclass(frozen=True)
class ScoringParams:
    as_of: date
    method: str = "kpi-impact"
    urgency: float = 1.0               # λ
    met_target_factor: float = 0.5     # μ
    default_confidence: float = 0.5
    default_effort: float = 1.0


def kpi_states(graph: GoalGraph, currents: dict[str, Current], params: ScoringParams) -> dict[str, KpiState]:
    return {k.id: kpi_state(k, currents.get(k.id), params.as_of, urgency=params.urgency,
                            met_target_factor=params.met_target_factor) for k in graph.kpis}


def rank_backlog(backlog: Backlog, graph: GoalGraph, params: ScoringParams,
                 currents: dict[str, Current] | None = None, *,
                 objective_weights: dict[str, float] | None = None,
                 include_done: bool = False) -> "Ranking":
    """Score and rank `backlog` through `graph` as SCORING.md defines it."""
    if params.method not in METHODS:
        raise ValueError(f"unknown scoring method '{params.method}'; use one of {', '.join(METHODS)}")
    states = kpi_states(graph, currents or {}, params)
    weights = graph.objective_weights(objective_weights)
    n = len(backlog)
    kidx = {k: i for i, k in enumerate(graph.kpi_order)}
    code_to_kpi = np.array([kidx.get(name, -1) for name in backlog.kpi_names] + [-1], dtype=np.int64)
    link_k = code_to_kpi[backlog.link_kpi_code]
    item_conf = np.where(np.isnan(backlog.confidence), params.default_confidence, backlog.confidence)
    link_conf = item_conf[backlog.link_item] if len(link_k) else np.zeros(0)
    link_conf = np.where(np.isnan(backlog.link_confidence), link_conf, backlog.link_confidence)
    effort_given = ~np.isnan(backlog.effort) & (np.nan_to_num(backlog.effort) > 0)
    effort = np.where(effort_given, backlog.effort, params.default_effort)

    V, reach = kpi_values(graph, {k: s.urgency for k, s in states.items()})
    w = np.array([weights[o.id] for o in graph.objectives])
    sign = np.array([graph.kpi(k).sign for k in graph.kpi_order], dtype=float)
    lift = (backlog.link_low + backlog.link_high) / 2
    est = (link_k >= 0) & ~np.isnan(lift)     # only estimated links on known KPIs carry impact
    delta = np.zeros(len(link_k))
    factors = None
    if params.method == "kpi-impact":
        impact, score, delta[est] = kpi_impact_scores(
            n, backlog.link_item[est], link_k[est], lift[est], link_conf[est], sign, V, w, effort)
    else:
        delta[est] = direct_improvement(sign[link_k[est]], lift[est], link_conf[est])
        factors = frameworks.factor_table(backlog, params.method, item_conf, effort, effort_given)
        impact, score, effort = frameworks.score(params.method, factors)
        impact, score = round10(impact), round10(score)
    eligible = np.ones(n, dtype=bool) if include_done else ~backlog.done
    return Ranking(params=params, backlog=backlog, graph=graph, weights=weights, states=states,
                   V=V, reach=reach, impact=impact, score=score, effort=effort,
                   effort_given=effort_given, link_kpi_index=link_k, link_delta=delta,
                   link_confidence=link_conf, ranked=_order(backlog, impact, score, eligible),
                   factors=factors)


def _order(backlog: Backlog, impact: np.ndarray, score: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Score descending, then impact descending, then key ascending (as text)."""
    idx = np.flatnonzero(eligible)
    if not len(idx):
        return idx
    keys = np.array([backlog.keys[i] for i in idx])
    order = np.lexsort((keys, -impact[idx], -score[idx]))
    return idx[order]


@dataclass
class Ranking:
    params: ScoringParams
    backlog: Backlog
    graph: GoalGraph
    weights: dict[str, float]             # ŵ per objective
    states: dict[str, KpiState]
    V: np.ndarray
    reach: np.ndarray
    impact: np.ndarray
    score: np.ndarray
    effort: np.ndarray                    # effort used (default filled in)
    effort_given: np.ndarray
    link_kpi_index: np.ndarray            # -1 for a KPI the graph does not know
    link_delta: np.ndarray
    link_confidence: np.ndarray
    ranked: np.ndarray                    # item indices, best first
    factors: dict[str, np.ndarray] | None = None
    _index: dict = field(default_factory=dict, repr=False)

    @property
    def total(self) -> int:
        return len(self.ranked)

    @cached_property
    def rank_of(self) -> np.ndarray:
        """1-based rank per item; 0 for items not ranked (done)."""
        r = np.zeros(len(self.backlog), dtype=np.int64)
        r[self.ranked] = np.arange(1, len(self.ranked) + 1)
        return r

    @cached_property
    def objective_impact(self) -> np.ndarray:
        """[item, objective]: each item's contribution to each objective (rows sum to its impact)."""
        b, n_obj = self.backlog, len(self.graph.objectives)
        out = np.zeros((len(b), n_obj))
        if self.params.method != "kpi-impact":
            return out
        known = self.link_kpi_index >= 0
        k = self.link_kpi_index[known]
        for o, obj in enumerate(self.graph.objectives):
            w = 100.0 * self.weights[obj.id] * self.link_delta[known] * self.V[k, o]
            out[:, o] = np.bincount(b.link_item[known], weights=w, minlength=len(b))
        return out

    @cached_property
    def _link_slices(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.backlog.link_item, kind="stable")
        starts = np.searchsorted(self.backlog.link_item[order], np.arange(len(self.backlog) + 1))
        return order, starts

    def links_of(self, i: int) -> np.ndarray:
        """Indices of item i's links, in source order."""
        order, starts = self._link_slices
        return order[starts[i]:starts[i + 1]]

    def index_of(self, key: str) -> int | None:
        if not self._index:
            self._index.update((k, n) for n, k in enumerate(self.backlog.keys))
        return self._index.get(key)

    @cached_property
    def _may_have_flags(self) -> np.ndarray:
        """Items that could carry a flag; every other item's flags are [] (saves a
        per-item look at the links when rendering a whole ranking)."""
        b = self.backlog
        m = b.has_source_flags | ~self.effort_given
        odd = (self.link_kpi_index < 0) | np.isnan(b.link_low)
        m[b.link_item[odd]] = True
        if self.factors is not None:
            for col in self.factors.values():
                if col.dtype.kind == "f":
                    m |= np.isnan(col)
        return m

    def flags(self, i: int) -> list[str]:
        if not self._may_have_flags[i]:
            return []
        b = self.backlog
        out = list(b.details.get(i)[3])
        if self.factors is not None:
            out += frameworks.missing_flags(self.factors, i)
        elif not self.effort_given[i]:
            out.append("effort-defaulted")
        for j in self.links_of(i):
            kpi = b.kpi_of(j)
            if self.link_kpi_index[j] < 0:
                out.append(f"unknown-kpi:{kpi}")
            elif np.isnan(b.link_low[j]):
                out.append(f"unestimated-link:{kpi}")
        return list(dict.fromkeys(out))

    def contributions(self, i: int) -> list[dict]:
        """100 · ŵ_o · δ · V[k, o] per (KPI, objective) the item reaches; they sum to its impact."""
        if self.params.method != "kpi-impact":
            return []
        acc: dict[tuple[str, str], float] = {}
        w = [self.weights[o.id] for o in self.graph.objectives]
        for j in self.links_of(i):
            k = self.link_kpi_index[j]
            if k < 0 or np.isnan(self.backlog.link_low[j]):
                continue
            for o, obj in enumerate(self.graph.objectives):
                if self.reach[k, o]:
                    key = (self.graph.kpi_order[k], obj.id)
                    acc[key] = acc.get(key, 0.0) + 100.0 * w[o] * self.link_delta[j] * self.V[k, o]
        return [{"kpi": k, "objective": o, "impact": float(round10(v))} for (k, o), v in acc.items()]

    def links(self, i: int) -> list[dict]:
        b = self.backlog
        out = []
        for j in self.links_of(i):
            low, high = b.link_low[j], b.link_high[j]
            d = {"kpi": b.kpi_of(j),
                 "lift": None if np.isnan(low) else float(round10((low + high) / 2)),
                 "confidence": float(self.link_confidence[j])}
            if not np.isnan(low) and low != high:
                d["range"] = [float(low), float(high)]
            out.append(d)
        return out

    def item(self, i: int) -> dict:
        """One item as `score --format json` shows it."""
        b = self.backlog
        title, status, url, _flags = b.details.get(i)
        d = {"rank": int(self.rank_of[i]) or None, "key": b.keys[i], "title": title,
             "status": status, "url": url,
             "score": float(self.score[i]), "impact": float(self.impact[i]),
             "effort": None if np.isnan(self.effort[i]) else float(self.effort[i]),
             "flags": self.flags(i), "links": self.links(i),
             "contributions": self.contributions(i)}
        if self.factors is not None:
            d["factors"] = frameworks.factors_of(self.factors, i)
        return d

    def rows(self, offset: int = 0, limit: int | None = None, *, among: np.ndarray | None = None) -> list[dict]:
        """The ranked items without links and contributions (tables, CSV); `among` is a
        selection of ranked items to page through instead of all of them."""
        end = None if limit is None else offset + limit
        idx = (self.ranked if among is None else among)[offset:end]
        b, rank, score, impact, effort = self.backlog, self.rank_of[idx], self.score[idx], self.impact[idx], self.effort[idx]
        b.details.prefetch(idx.tolist())
        out = []
        for n, i in enumerate(idx.tolist()):
            title, status, url, _flags = b.details.get(i)
            out.append({"rank": int(rank[n]), "key": b.keys[i], "title": title, "status": status, "url": url,
                        "score": float(score[n]), "impact": float(impact[n]),
                        "effort": None if effort[n] != effort[n] else float(effort[n]), "flags": self.flags(i)})
        return out

    def items(self, offset: int = 0, limit: int | None = None, *, among: np.ndarray | None = None) -> list[dict]:
        end = None if limit is None else offset + limit
        idx = (self.ranked if among is None else among)[offset:end].tolist()
        self.backlog.details.prefetch(idx)
        return [self.item(i) for i in idx]
