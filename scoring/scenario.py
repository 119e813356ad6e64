"""What-if at the speed of a slider: a scored ranking re-scored under changed objective
weights, KPI values or edge weights, computing only what the change touches
(docs/model.md, "What-if").

The scored ranking keeps each link's direct improvement δ (docs/model.md step 1, after
conversion and pooling) and each KPI's value per objective V[k, o]. Then

- new objective weights cost one matrix-vector product, W = 100 · V @ ŵ (per KPI), one
  pass over the link arrays, I = Σ δ · W[k], and a sort of the scores;
- new KPI values or edge weights change V (and the base of absolute estimates) only on
  the KPIs they reach; δ is computed again only for the links whose lift changed, and only
  the items holding a link on a changed KPI are summed again.

Every sum runs over an item's links in the order a full scoring uses, so the result is the
ranking `rank_backlog` gives on the changed inputs, to the last bit (scores are rounded to
10 decimals, and round-number estimates often land on the rounding's half-way point, so a
sum in another order, such as a per-objective matrix product, would move some of them by
1e-10 and break exact ties). The tests compare both on the demo and on random graphs.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from scoring.goals.graph import GoalGraph
from scoring.goals.impact import kpi_values, round10
from scoring.ranking import Ranking, convert_lifts, kpi_states


def key_order(r: Ranking) -> np.ndarray:
    """Each item's position among the keys sorted as text (the last tie-break), computed once."""
    got = r.__dict__.get("_key_order")
    if got is None:
        pos = np.empty(len(r.backlog), dtype=np.int64)
        pos[np.argsort(np.array(r.backlog.keys, dtype=str), kind="stable")] = np.arange(len(r.backlog))
        got = r.__dict__["_key_order"] = pos
    return got


def _eligible(r: Ranking) -> np.ndarray:
    got = r.__dict__.get("_eligible")
    if got is None:
        got = r.__dict__["_eligible"] = np.sort(r.ranked)
    return got


def _estimated_links(r: Ranking) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The estimated links' items, KPIs and δ, in link order, computed once per ranking
    (new weights sum these again; the links themselves do not change)."""
    got = r.__dict__.get("_estimated")
    if got is None:
        est = (r.link_kpi_index >= 0) & ~np.isnan(r.link_low)
        got = r.__dict__["_estimated"] = (r.backlog.link_item[est], r.link_kpi_index[est], r.link_delta[est])
    return got


def order(r: Ranking, impact: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Score descending, then impact descending, then key ascending, over the items `r`
    ranks: one sort of the scores, then only the runs of equal scores sorted by all three."""
    idx = _eligible(r)
    out = idx[np.argsort(-score[idx])]
    s = score[out]
    tie = np.flatnonzero(s[1:] == s[:-1])
    if len(tie):
        pos = np.union1d(tie, tie + 1)      # whole runs of equal scores, in place
        sub = out[pos]
        out[pos] = sub[np.lexsort((key_order(r)[sub], -impact[sub], -score[sub]))]
    return out


def rescore(base: Ranking, *, objective_weights: dict[str, float] | None = None, graph: GoalGraph | None = None,
            currents: dict | None = None) -> Ranking:
    """`base` re-scored with new objective weights, a goal graph with other edge weights
    (same nodes and edges) and/or other KPI values (`currents`, all of them). Only the
    KPI-impact method; the caller scores anything else in full."""
    if base.params.method != "kpi-impact":
        raise ValueError("only the kpi-impact method is re-scored in part")
    graph = graph or base.graph
    weights = graph.objective_weights(objective_weights)
    w = np.array([weights[o.id] for o in graph.objectives])
    b, k = base.backlog, base.link_kpi_index
    V, delta, low, fields = base.V, base.link_delta, base.link_low, {}
    touched_item = np.zeros(len(b), dtype=bool)
    if graph is not base.graph or currents is not None:
        states = kpi_states(graph, currents, base.params) if currents is not None else base.states
        V, reach = kpi_values(graph, {x: s.urgency for x, s in states.items()})
        low, high, problem, link_base = convert_lifts(b, k, graph, states)
        changed_kpi = np.append(np.any(V != base.V, axis=1) if V.size else np.zeros(len(graph.kpi_order), bool),
                                False)
        redo = ~((((low == base.link_low) | (np.isnan(low) & np.isnan(base.link_low)))
                  & ((high == base.link_high) | (np.isnan(high) & np.isnan(base.link_high)))))
        touched_item[b.link_item[redo | changed_kpi[k]]] = True
        if redo.any():
            delta = base.link_delta.copy()
            sign = np.array([graph.kpi(x).sign for x in graph.kpi_order] + [0], dtype=float)
            conf = base.link_confidence[redo]
            if getattr(base, "link_share", None) is not None:    # several raters on a link: each counts 1/R
                conf = conf * base.link_share[redo]
            lift = (low[redo] + high[redo]) / 2
            delta[redo] = np.where(np.isnan(lift) | (k[redo] < 0), 0.0, sign[k[redo]] * lift * conf)
        fields = dict(states=states, V=V, reach=reach, link_delta=delta, link_low=low, link_high=high,
                      link_problem=problem, link_base=link_base)
    if w.tolist() != [base.weights[o.id] for o in graph.objectives]:
        touched_item[:] = True            # new weights move every item
    unit = 100.0 * (V @ w) if len(V) else np.zeros(0)
    est = (k >= 0) & ~np.isnan(low)
    if touched_item.all():
        item, kpi, d = _estimated_links(base) if not fields else (b.link_item[est], k[est], delta[est])
        impact = round10(np.bincount(item, weights=d * unit[kpi], minlength=len(b)))
        score = round10(impact / base.effort)
    else:
        impact, score = base.impact.copy(), base.score.copy()
        if touched_item.any():
            mine = est & touched_item[b.link_item]
            sums = np.bincount(b.link_item[mine], weights=delta[mine] * unit[k[mine]], minlength=len(b))
            impact[touched_item] = round10(sums[touched_item])
            score[touched_item] = round10(impact[touched_item] / base.effort[touched_item])
    r = replace(base, graph=graph, weights=weights, impact=impact, score=score,
                ranked=order(base, impact, score), **fields)
    # what depends only on the backlog (the same object) is computed once, on the base
    r.__dict__["_key_order"], r.__dict__["_eligible"] = key_order(base), _eligible(base)
    r.__dict__["_link_slices"] = base._link_slices
    if not fields:            # the links are the base's too, and all an item shows but its numbers
        r.__dict__["maybe_flagged"] = base.maybe_flagged
        r.__dict__["_unweighted_memo"] = base.__dict__.setdefault("_unweighted_memo", {})
    return r
