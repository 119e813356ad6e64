"""What-if at the speed of a slider: a scored ranking re-scored under changed objective
weights, KPI values or edge weights, computing only what the change touches
(docs/model.md, "What-if").

Each item keeps its contribution per objective at unit weight, `P[i, o] = 100 · Σ over its
links of δ · V[k, o]` (SCORING.md step 5 before the weights), so that

- new objective weights cost one matrix product, `I = P @ ŵ`, and a sort of the scores;
- new KPI values or edge weights change V (and the base of absolute estimates) only on
  the KPIs they reach; only the items with a link on one of those have their row of P
  computed again, from their links in the same order as a full scoring would.

The ranking returned is the same as `rank_backlog` on the changed inputs (the tests compare
both on the demo and on a random graph).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from scoring.graph import GoalGraph
from scoring.impact import kpi_values, round10
from scoring.ranking import Ranking, ScoringParams, convert_lifts, kpi_states


def objective_unit(r: Ranking) -> np.ndarray:
    """P[item, objective]: each item's impact per objective at unit objective weight."""
    got = r.__dict__.get("_objective_unit")
    if got is None:
        got = r.__dict__["_objective_unit"] = _unit_rows(r, np.ones(len(r.backlog.link_item), dtype=bool),
                                                         r.link_delta, r.V, len(r.backlog))
    return got


def _unit_rows(r: Ranking, links: np.ndarray, delta: np.ndarray, V: np.ndarray, n: int) -> np.ndarray:
    """P rows from the links selected by the mask `links` (all of an item's links, in order)."""
    k = r.link_kpi_index
    use = links & (k >= 0)
    items, kk, d = r.backlog.link_item[use], k[use], delta[use]
    out = np.zeros((n, V.shape[1] if V.ndim == 2 else 0))
    for o in range(out.shape[1]):
        out[:, o] = np.bincount(items, weights=100.0 * d * V[kk, o], minlength=n)
    return out


def key_order(r: Ranking) -> np.ndarray:
    """Each item's position among the keys sorted as text (the last tie-break), computed once."""
    got = r.__dict__.get("_key_order")
    if got is None:
        pos = np.empty(len(r.backlog), dtype=np.int64)
        pos[np.argsort(np.array(r.backlog.keys, dtype=str), kind="stable")] = np.arange(len(r.backlog))
        got = r.__dict__["_key_order"] = pos
    return got


def order(r: Ranking, impact: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Score descending, then impact descending, then key ascending, over the items `r` ranks."""
    idx = np.sort(r.ranked)
    return idx[np.lexsort((key_order(r)[idx], -impact[idx], -score[idx]))]


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
    P, V, states = objective_unit(base), base.V, base.states
    fields: dict = {}
    if graph is not base.graph or currents is not None:
        states = kpi_states(graph, currents, base.params) if currents is not None else base.states
        V, reach = kpi_values(graph, {k: s.urgency for k, s in states.items()})
        low, high, problem, link_base = convert_lifts(base.backlog, base.link_kpi_index, graph, states)
        changed_kpi = np.any(V != base.V, axis=1) if V.size else np.zeros(len(graph.kpi_order), dtype=bool)
        lift_changed = ~(((low == base.link_low) | (np.isnan(low) & np.isnan(base.link_low)))
                         & ((high == base.link_high) | (np.isnan(high) & np.isnan(base.link_high))))
        k = base.link_kpi_index
        touched_link = lift_changed | ((k >= 0) & np.append(changed_kpi, False)[k])
        touched_item = np.zeros(len(base.backlog), dtype=bool)
        touched_item[base.backlog.link_item[touched_link]] = True
        delta = base.link_delta.copy()
        if touched_link.any():
            sign = np.array([graph.kpi(x).sign for x in graph.kpi_order] + [0], dtype=float)
            lift = (low[touched_link] + high[touched_link]) / 2
            est = ~np.isnan(lift) & (k[touched_link] >= 0)
            d = np.zeros(int(touched_link.sum()))
            d[est] = sign[k[touched_link][est]] * lift[est] * base.link_confidence[touched_link][est]
            delta[touched_link] = d
            P = P.copy()
            rows = _unit_rows(base, touched_item[base.backlog.link_item], delta, V, len(base.backlog))
            P[touched_item] = rows[touched_item]
        fields = dict(states=states, V=V, reach=reach, link_delta=delta, link_low=low, link_high=high,
                      link_problem=problem, link_base=link_base)
    impact = round10(P @ w) if P.size else np.zeros(len(base.backlog))
    score = round10(impact / base.effort)
    r = replace(base, graph=graph, weights=weights, impact=impact, score=score,
                ranked=order(base, impact, score), **fields)
    r.__dict__["_objective_unit"] = P
    r.__dict__["_key_order"] = key_order(base)
    r.__dict__["objective_impact"] = P * w
    return r


__all__ = ["ScoringParams", "objective_unit", "order", "rescore"]
