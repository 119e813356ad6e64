"""Why an initiative scores what it does, as plain data: the paths its estimates take to
the objectives with every KPI's urgency factor on the way and why, and the forecast of
each KPI it moves (docs/model.md "Contributions").

Paths are walked for one item only, and bounded: explanation, never scoring.
"""
from __future__ import annotations

import numpy as np

from scoring.goals.impact import physical_propagation
from scoring.goals.progress import urgency_reason
from scoring.ranking import Ranking

URGENCY_MEANS = ("Urgency: each KPI on the way multiplies the value it carries by its urgency factor: "
                 "above 1 when it lags behind the pace its deadline asks for, below 1 once its target is met.")
FORECAST_MEANS = ("Forecasts are expected values, weighted by each estimate's confidence, and propagate "
                  "through the edge weights without urgency.")


def urgency_factor(r: Ranking, kpi: str) -> dict:
    """`{"kpi", "urgency", "why"}`: "activation ×1.30: 20 % of the way, 50 % expected by now"."""
    st = r.states[kpi]
    why = urgency_reason(st)
    return {"kpi": kpi, "urgency": st.urgency, "why": why, "text": f"{kpi} ×{st.urgency:.2f}: {why}"}


def paths(r: Ranking, i: int, limit: int = 5, max_paths: int = 10_000) -> list[dict]:
    """The main paths from the item's estimated KPIs to objectives, largest first. Each:
    `path` (ids, objective last), `weight` (Π u·e along it), `impact` (what it carries,
    in impact points), `urgency` (one entry per KPI on the path, see `urgency_factor`)."""
    g = r.graph
    objective_ids = {o.id for o in g.objectives}
    found: list[dict] = []
    for j in r.links_of(i):
        k = r.link_kpi_index[j]
        if k < 0 or np.isnan(r.link_low[j]):
            continue
        stack = [([g.kpi_order[k]], r.states[g.kpi_order[k]].urgency)]
        while stack and len(found) < max_paths:
            path, carried = stack.pop()
            for nxt, data in g.graph[path[-1]].items():
                w = carried * data["weight"]
                if nxt in objective_ids:
                    found.append({"path": path + [nxt], "weight": w,
                                  "impact": 100 * r.weights[nxt] * float(r.link_delta[j]) * w})
                else:
                    stack.append((path + [nxt], w * r.states[nxt].urgency))
    if r.link_share is not None:        # several estimators of one KPI walk the same paths: one each
        merged: dict[tuple, dict] = {}
        for p in found:
            seen = merged.setdefault(tuple(p["path"]), {**p, "impact": 0.0})
            seen["impact"] += p["impact"]
        found = list(merged.values())
    found.sort(key=lambda p: -abs(p["impact"]))
    for p in found[:limit]:
        p["urgency"] = [urgency_factor(r, kid) for kid in p["path"][:-1]]
    return found[:limit]


def forecasts(r: Ranking, i: int) -> list[dict]:
    """Every KPI the item moves, directly or through edges: Δ_i(k) by physical propagation
    (no urgency) and the forecast x_k · (1 + d_k · Δ_i(k)), expected and confidence-weighted."""
    g = r.graph
    delta = np.zeros(len(g.kpi_order))
    for j in r.links_of(i):
        k = r.link_kpi_index[j]
        if k >= 0:
            delta[k] += float(r.link_delta[j])
    if not delta.any():
        return []
    moved = physical_propagation(g, delta)
    out = []
    for n, kid in enumerate(g.kpi_order):
        d = float(moved[n])
        if not d:
            continue
        st, kpi = r.states[kid], g.kpi(kid)
        x = st.current if st.current is not None else kpi.baseline
        out.append({"kpi": kid, "name": kpi.name or kid, "unit": kpi.unit, "improvement": d,
                    "current": x, "forecast": None if x is None else x * (1 + kpi.sign * d),
                    "expected": True, "confidence_weighted": True})
    return out
