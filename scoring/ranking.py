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

from scoring import frameworks, pool
from scoring.errors import BadInput
from scoring.frameworks import METHODS  # noqa: F401 - re-exported: the scorers' names
from scoring.goals.graph import GoalGraph
from scoring.goals.impact import direct_improvement, kpi_impact_scores, kpi_values, round10, round10_float
from scoring.model import LINK_UNITS, Backlog
from scoring.notation import converted_text, written_lift
from scoring.goals.progress import Current, KpiState, kpi_state

PP = LINK_UNITS.index("pp")
# Why an estimated link carries no lift (`Ranking.link_problem`): codes -> flag names
LINK_PROBLEMS = {1: "no-base", 2: "unreadable-impact"}
MEMO_ITEMS = 5_000      # items whose unweighted part a ranking keeps (Ranking._unweighted)


@dataclass(frozen=True)
class ScoringParams:
    as_of: date
    method: str = "kpi-impact"
    urgency: float = 1.0               # λ
    met_target_factor: float = 0.5     # μ
    default_confidence: float = 0.5
    default_effort: float | str = "median"   # a number, or "median" of the ranked items' efforts


def default_effort(effort: np.ndarray, given: np.ndarray, ranked: np.ndarray, setting: float | str) -> float:
    """The effort of an item with none (docs/model.md): the number configured, or with
    "median" the median of the readable efforts of the items being ranked (the mean of
    the two middle ones for an even count; 1.0 when none has one).

    >>> default_effort(np.array([2., 4., 1., np.nan]), np.array([1, 1, 1, 0], bool), np.ones(4, bool), "median")
    2.0
    """
    if setting != "median":
        return float(setting)
    readable = effort[given & ranked]
    return float(np.median(readable)) if len(readable) else 1.0


def convert_lifts(backlog: Backlog, link_k: np.ndarray, graph: GoalGraph,
                  states: dict[str, KpiState]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Relative (low, high) per link, absolute estimates divided by the KPI's base value
    β_k (current value, else baseline): +2pp -> 0.02 / β on a KPI with unit "%", +3pt ->
    3 / β. Also the problem code per link (1: no base or a base of 0, 2: pp on a KPI whose
    unit is not "%"), and β per link (NaN for relative ones). Unconvertible links get NaN
    lifts: they carry no impact."""
    units = backlog.units()
    low, high = backlog.link_low.copy(), backlog.link_high.copy()
    problem = np.zeros(len(low), dtype=np.int8)
    base = np.full(len(low), np.nan)
    absolute = (units > 0) & (link_k >= 0) & ~np.isnan(low)
    if not absolute.any():
        return low, high, problem, base
    kpis = [graph.kpi(k) for k in graph.kpi_order]
    beta = np.array([np.nan if (x := _base(states.get(k.id), k.baseline)) is None else x for k in kpis] + [np.nan])
    percent = np.array([k.unit.strip() == "%" for k in kpis] + [False])
    b = beta[link_k]
    bad_unit = absolute & (units == PP) & ~percent[link_k]
    no_base = absolute & ~bad_unit & (np.isnan(b) | (b == 0))
    ok = absolute & ~bad_unit & ~no_base
    base[ok] = b[ok]
    low[ok], high[ok] = low[ok] / b[ok], high[ok] / b[ok]
    swap = ok & (low > high)            # a negative base turns the range around
    low[swap], high[swap] = high[swap], low[swap]
    low[bad_unit | no_base] = high[bad_unit | no_base] = np.nan
    problem[no_base], problem[bad_unit] = 1, 2
    return low, high, problem, base


def _base(state: KpiState | None, baseline: float | None) -> float | None:
    return state.current if state is not None and state.current is not None else baseline


def kpi_states(graph: GoalGraph, currents: dict[str, Current], params: ScoringParams) -> dict[str, KpiState]:
    return {k.id: kpi_state(k, currents.get(k.id), params.as_of, urgency=params.urgency,
                            met_target_factor=params.met_target_factor) for k in graph.kpis}


def rank_backlog(backlog: Backlog, graph: GoalGraph, params: ScoringParams,
                 currents: dict[str, Current] | None = None, *,
                 objective_weights: dict[str, float] | None = None,
                 include_done: bool = False) -> "Ranking":
    """Score and rank `backlog` through `graph` as docs/model.md defines it."""
    if params.method not in METHODS:
        raise BadInput(f"unknown scoring method '{params.method}'; use one of {', '.join(METHODS)}")
    states = kpi_states(graph, currents or {}, params)
    weights = graph.objective_weights(objective_weights)
    n = len(backlog)
    kidx = {k: i for i, k in enumerate(graph.kpi_order)}
    code_to_kpi = np.array([kidx.get(name, -1) for name in backlog.kpi_names] + [-1], dtype=np.int64)
    link_k = code_to_kpi[backlog.link_kpi_code]
    item_conf = np.where(np.isnan(backlog.confidence), params.default_confidence, backlog.confidence)
    link_conf = item_conf[backlog.link_item] if len(link_k) else np.zeros(0)
    link_conf = np.where(np.isnan(backlog.link_confidence), link_conf, backlog.link_confidence)
    eligible = np.ones(n, dtype=bool) if include_done else ~backlog.done
    effort_given = ~np.isnan(backlog.effort) & (np.nan_to_num(backlog.effort) > 0)
    # the median of the items ranked by default (not done), also when done items are shown,
    # so an item's score is the same in every view (the list, --include-done, explain)
    effort_default = default_effort(backlog.effort, effort_given, ~backlog.done, params.default_effort)
    effort = np.where(effort_given, backlog.effort, effort_default)

    V, reach = kpi_values(graph, {k: s.urgency for k, s in states.items()})
    w = np.array([weights[o.id] for o in graph.objectives])
    sign = np.array([graph.kpi(k).sign for k in graph.kpi_order], dtype=float)
    low, high, problem, base = convert_lifts(backlog, link_k, graph, states)
    lift = (low + high) / 2
    est = (link_k >= 0) & ~np.isnan(lift)     # only estimated links on known KPIs carry impact
    # several people on one link: each rater's row counts 1/R (a linear opinion pool); with
    # nobody named every row is one person's, so nothing is pooled
    share = None if backlog.link_by is None else pool.shares(backlog.link_item, link_k, est)
    pooled_conf = link_conf if share is None else link_conf * share
    delta = np.zeros(len(link_k))
    factors = None
    if params.method == "kpi-impact":
        impact, score, delta[est] = kpi_impact_scores(
            n, backlog.link_item[est], link_k[est], lift[est], pooled_conf[est], sign, V, w, effort)
    else:
        delta[est] = direct_improvement(sign[link_k[est]], lift[est], pooled_conf[est])
        factors = frameworks.factor_table(backlog, params.method, item_conf, effort, effort_given)
        impact, score, effort = frameworks.score(params.method, factors)
        impact, score = round10(impact), round10(score)
    return Ranking(params=params, backlog=backlog, graph=graph, weights=weights, states=states,
                   V=V, reach=reach, impact=impact, score=score, effort=effort,
                   effort_given=effort_given, link_kpi_index=link_k, link_delta=delta,
                   link_confidence=link_conf, ranked=_order(backlog, impact, score, eligible),
                   factors=factors, default_effort=effort_default, link_low=low, link_high=high,
                   link_problem=problem, link_base=base, link_share=share)


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
    """A scored backlog as plain data: numbers, keys and flags. Items show `title`,
    `status` and `url` as None when the backlog came from a store: the services join
    them for the items on show (app/services.py `items`, `rows`)."""
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
    default_effort: float = 1.0           # the effort an item with none was given
    link_low: np.ndarray | None = None    # relative lifts after converting pp / pt (NaN: none)
    link_high: np.ndarray | None = None
    link_problem: np.ndarray | None = None  # code per link, see LINK_PROBLEMS (0: none)
    link_base: np.ndarray | None = None   # β used to convert an absolute estimate (NaN: relative)
    link_share: np.ndarray | None = None  # 1/R per rater's row of a pooled link; None: no pooling
    _index: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        b = self.backlog
        if self.link_low is None:
            self.link_low, self.link_high = b.link_low, b.link_high
        if self.link_problem is None:
            self.link_problem = np.zeros(len(b.link_item), dtype=np.int8)
        if self.link_base is None:
            self.link_base = np.full(len(b.link_item), np.nan)

    @cached_property
    def kpi_values(self) -> dict[str, float]:
        """V_k of docs/model.md step 4 per KPI: the urgency-weighted value of one unit of
        improvement, 100 · Σ_o ŵ_o · V[k, o]."""
        w = np.array([self.weights[o.id] for o in self.graph.objectives])
        unit = 100.0 * (self.V @ w) if len(self.V) else np.zeros(0)
        return {k: float(round10(v)) for k, v in zip(self.graph.kpi_order, unit)}

    @property
    def effort_defaulted(self) -> np.ndarray:
        """True per item whose effort is the default (views show it as such, `2.0*`)."""
        if self.factors is not None and "effort_defaulted" in self.factors:
            return self.factors["effort_defaulted"]
        return ~self.effort_given

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
    def maybe_flagged(self) -> np.ndarray:
        """Items that could carry a flag; every other item's flags are [] (saves a
        per-item look at the links when rendering a whole ranking)."""
        b = self.backlog
        m = b.has_source_flags | ~self.effort_given
        odd = (self.link_kpi_index < 0) | np.isnan(self.link_low)
        m[b.link_item[odd]] = True
        if self.factors is not None:
            for col in self.factors.values():
                if col.dtype.kind == "f":
                    m |= np.isnan(col)
        return m

    def flags(self, i: int) -> list[str]:
        if not self.maybe_flagged[i]:
            return []
        b = self.backlog
        out = list(b.source_flags.get(i, ()))
        if self.factors is not None:
            out += frameworks.missing_flags(self.factors, i)
        elif not self.effort_given[i]:
            out.append("effort-defaulted")
        for j in self.links_of(i):
            kpi = b.kpi_of(j)
            if self.link_kpi_index[j] < 0:
                out.append(f"unknown-kpi:{kpi}")
            elif self.link_problem[j]:
                out.append(f"{LINK_PROBLEMS[int(self.link_problem[j])]}:{kpi}")
            elif np.isnan(b.link_low[j]):
                out.append(f"unestimated-link:{kpi}")
        return list(dict.fromkeys(out))

    def contributions(self, i: int) -> list[dict]:
        """100 · ŵ_o · δ · V[k, o] per (KPI, objective) the item reaches; they sum to its impact."""
        return self.contributions_of([i])[0]

    def contributions_of(self, idx: list[int]) -> list[list[dict]]:
        """`contributions` of several items in a few array passes (a page of 50 costs what
        one item's Python loop did). Each (KPI, objective) sums its links' terms
        (100 · ŵ_o) · δ · V[k, o] in link order from 0.0, in the order each first appears:
        the same floats, bit for bit, as a loop over the links."""
        if self.params.method != "kpi-impact" or not len(idx):
            return [[] for _ in idx]
        order, starts = self._link_slices
        pos = np.asarray(idx, dtype=np.int64)
        counts = starts[pos + 1] - starts[pos]
        owner = np.repeat(np.arange(len(pos)), counts)
        js = order[np.repeat(starts[pos] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))]
        k = self.link_kpi_index[js]
        keep = (k >= 0) & ~np.isnan(self.link_low[js])
        js, k, owner = js[keep], k[keep], owner[keep]
        link, obj = np.nonzero(self.reach[k]) if len(k) else (np.zeros(0, int), np.zeros(0, int))
        weights = 100.0 * np.array([self.weights[o.id] for o in self.graph.objectives])
        terms = weights[obj] * self.link_delta[js[link]] * self.V[k[link], obj]
        n_obj = max(len(weights), 1)
        group = (owner[link] * len(self.graph.kpi_order) + k[link]) * n_obj + obj
        groups, first, which = np.unique(group, return_index=True, return_inverse=True)
        sums = round10(np.bincount(which, weights=terms, minlength=len(groups)))
        out: list[list[dict]] = [[] for _ in idx]
        kpis, objectives = self.graph.kpi_order, [o.id for o in self.graph.objectives]
        at = np.argsort(first, kind="stable")
        g = groups[at]
        for item, kk, o, v in zip((g // n_obj // len(kpis)).tolist(), (g // n_obj % len(kpis)).tolist(),
                                  (g % n_obj).tolist(), sums[at].tolist()):
            out[item].append({"kpi": kpis[kk], "objective": objectives[o], "impact": v})
        return out

    def links(self, i: int) -> list[dict]:
        """Item i's links as `score --format json` shows them. Several estimators' rows of
        one KPI come out as one pooled link: its `lift` times `confidence` is the mean of
        theirs, with `estimators` (each one's) and `disagreement` D (docs/model.md "Who
        estimated")."""
        out = self._link_rows(i)
        if self.link_share is None:
            return out
        shares = self.link_share[self.links_of(i)]
        if not (shares < 1).any():
            return out
        pooled: dict[str, list[dict]] = {}
        merged: list[dict] = []
        for d, share in zip(out, shares.tolist()):
            if share < 1:
                if d["kpi"] not in pooled:
                    pooled[d["kpi"]] = []
                    merged.append({"kpi": d["kpi"], "_raters": pooled[d["kpi"]]})
                pooled[d["kpi"]].append(d)
            else:
                merged.append(d)
        for d in merged:
            raters = d.pop("_raters", None)
            if raters is not None:
                d.update(pool.pooled_link(raters))
        return merged

    def _link_rows(self, i: int) -> list[dict]:
        b = self.backlog
        out = []
        js = self.links_of(i)
        units = b.link_unit[js].tolist() if b.link_unit is not None else [0] * len(js)
        for j, low, high, conf, unit in zip(js.tolist(), self.link_low[js].tolist(), self.link_high[js].tolist(),
                                            self.link_confidence[js].tolist(), units):
            d = {"kpi": b.kpi_of(j),
                 "lift": None if low != low else round10_float((low + high) / 2),
                 "confidence": conf}
            if low == low and low != high:
                d["range"] = [round10_float(low), round10_float(high)]
            if unit:
                d["written"] = written_lift(b.link_low[j], b.link_high[j], LINK_UNITS[unit])
                if not np.isnan(self.link_base[j]):
                    d["base"] = float(self.link_base[j])
                    d["converted"] = converted_text(d["written"], d["lift"], d["base"],
                                                    self.graph.kpi(d["kpi"]).unit)
            if b.link_by is not None and (by := b.by_of(j)) is not None:
                d["by"] = by
            out.append(d)
        return out

    def _unweighted(self, i: int) -> tuple:
        """What `item` shows of item i that objective weights do not change, built once per
        ranking (a what-if of the weights alone shares them with the ranking it re-scores)."""
        memo = self.__dict__.setdefault("_unweighted_memo", {})
        got = memo.get(i)
        if got is None:
            b = self.backlog
            got = (b.keys[i], *(b.text(i) or (None, None, None)),
                   None if np.isnan(self.effort[i]) else float(self.effort[i]),
                   bool(self.effort_defaulted[i] if self.factors is not None else not self.effort_given[i]),
                   tuple(self.flags(i)), tuple(self.links(i)))
            if len(memo) < MEMO_ITEMS:       # the items people look at, not a whole listing
                memo[i] = got
        return got

    def item(self, i: int, contributions: list[dict] | None = None) -> dict:
        """One item as `score --format json` shows it (fresh dicts and lists: callers add
        to them); `contributions` when the caller computed them for several items."""
        key, title, status, url, effort, defaulted, flags, links = self._unweighted(i)
        d = {"rank": int(self.rank_of[i]) or None, "key": key, "title": title,
             "status": status, "url": url,
             "score": float(self.score[i]), "impact": float(self.impact[i]),
             "effort": effort, "effort_defaulted": defaulted,
             "flags": list(flags), "links": [dict(link) for link in links],
             "contributions": self.contributions(i) if contributions is None else contributions}
        if self.factors is not None:
            d["factors"] = frameworks.factors_of(self.factors, i)
        return d

    def rows(self, offset: int = 0, limit: int | None = None, *, among: np.ndarray | None = None) -> list[dict]:
        """The ranked items without links and contributions (tables, CSV); `among` is a
        selection of ranked items to page through instead of all of them."""
        end = None if limit is None else offset + limit
        idx = (self.ranked if among is None else among)[offset:end]
        b, flagged = self.backlog, self.maybe_flagged[idx].tolist()
        columns = zip(idx.tolist(), self.rank_of[idx].tolist(), self.score[idx].tolist(), self.impact[idx].tolist(),
                      self.effort[idx].tolist(), self.effort_defaulted[idx].tolist(), flagged)
        none = (None, None, None)
        out = []
        for i, rank, score, impact, effort, defaulted, maybe in columns:   # plain floats: no numpy per row
            title, status, url = (b.texts[i] if b.texts is not None else None) or none
            out.append({"rank": rank, "key": b.keys[i], "title": title, "status": status, "url": url,
                        "score": score, "impact": impact, "effort": None if effort != effort else effort,
                        "effort_defaulted": defaulted, "flags": self.flags(i) if maybe else []})
        return out

    def items(self, offset: int = 0, limit: int | None = None, *, among: np.ndarray | None = None) -> list[dict]:
        end = None if limit is None else offset + limit
        idx = (self.ranked if among is None else among)[offset:end].tolist()
        return [self.item(i, c) for i, c in zip(idx, self.contributions_of(idx))]
