"""The KPI-impact kernel of docs/model.md: KPI values V_k, the vectorised backlog product,
and per-link contributions.

Because every step is linear, I_i = Σ_links δ_link · W[k_link] with
W[k] = 100 · Σ_o ŵ_o · V[k, o], where V[k, o] = u_k · Σ_{k->p} e · V[p, o] carries the
urgency of every KPI on the way (docs/model.md step 4). V comes from one reverse-topological
pass over the graph, (I - U·A) V = U·B with U = diag(u): a sparse triangular solve, so
scoring is O(links) however many paths the graph has.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from scoring.goals.graph import GoalGraph


@dataclass(frozen=True)
class GraphArrays:
    """The goal graph as sparse arrays, rows in `graph.kpi_order`, built once per graph.
    `to_kpi` is A, the KPI -> KPI edge weights (strictly upper triangular, because the
    order is topological); `obj_*` the KPI -> objective edges."""
    to_kpi: sp.csr_array | None   # None when no KPI feeds another KPI
    obj_kpi: np.ndarray
    obj_objective: np.ndarray
    obj_weight: np.ndarray
    reach: np.ndarray          # bool [kpi, objective]: a path exists


def _system(to_kpi: sp.csr_array | None, u: np.ndarray | None = None) -> sp.csr_array | None:
    """I - U·A (U = diag(u), the identity when u is None): still upper triangular with a
    unit diagonal, since scaling the rows of A keeps its pattern."""
    if to_kpi is None or to_kpi.nnz == 0:
        return None
    a = to_kpi
    if u is not None:
        a = to_kpi.copy()
        a.data = a.data * np.repeat(u, np.diff(to_kpi.indptr))
    return (sp.eye_array(to_kpi.shape[0], format="csr") - a).tocsr()


def _solve(system: sp.csr_array | None, direct: np.ndarray) -> np.ndarray:
    """V = direct + (U·A) @ V, i.e. (I - U·A) V = direct: one triangular solve in C."""
    if system is None or not direct.size:
        return direct
    return spla.spsolve_triangular(system, direct, lower=False, unit_diagonal=True)


def graph_arrays(graph: GoalGraph) -> GraphArrays:
    cached = graph.__dict__.get("_arrays")
    if cached is not None:
        return cached
    kidx = {k: n for n, k in enumerate(graph.kpi_order)}
    oidx = {o.id: n for n, o in enumerate(graph.objectives)}
    rows, cols, vals, ok, oo, ow = [], [], [], [], [], []
    for e in graph.edges:
        if e.target in oidx:
            ok.append(kidx[e.source]); oo.append(oidx[e.target]); ow.append(e.weight)
        else:
            rows.append(kidx[e.source]); cols.append(kidx[e.target]); vals.append(e.weight)
    n, m = len(kidx), len(oidx)
    to_kpi = sp.csr_array((np.array(vals, float), (np.array(rows, np.int64), np.array(cols, np.int64))), shape=(n, n))
    obj_kpi, obj_o = np.array(ok, np.int64), np.array(oo, np.int64)
    pattern = sp.csr_array((np.ones(len(vals)), to_kpi.indices.copy(), to_kpi.indptr.copy()), shape=(n, n)) \
        if to_kpi.nnz else to_kpi
    direct = np.zeros((n, m))
    direct[obj_kpi, obj_o] = 1.0
    reach = _solve(_system(pattern if pattern.nnz else None), direct) > 0
    arrays = GraphArrays(to_kpi if to_kpi.nnz else None, obj_kpi, obj_o, np.array(ow, float), reach)
    graph.__dict__["_arrays"] = arrays
    return arrays


def kpi_values(graph: GoalGraph, urgency: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """V[k, o] (rows in `graph.kpi_order`, columns in `graph.objectives` order): the
    urgency-weighted improvement of objective o from a unit improvement of KPI k, summed
    over all paths, each path's product of edge weights times the urgency of every KPI on
    it (docs/model.md's V_k is 100 · Σ_o ŵ_o · V[k, o]). Also returns `reach[k, o]`, True
    where a path exists.

    The reverse-topological pass V[k] = u_k · (Σ_{k->o} e + Σ_{k->p} e·V[p]) is one
    sparse triangular solve, (I - U·A) V = U·B, so a graph with 2^40 paths costs what its
    edges cost."""
    ga = graph_arrays(graph)
    u = np.array([urgency.get(k, 1.0) for k in graph.kpi_order])
    direct = np.zeros((len(graph.kpi_order), len(graph.objectives)))
    np.add.at(direct, (ga.obj_kpi, ga.obj_objective), ga.obj_weight * u[ga.obj_kpi])
    return _solve(_system(ga.to_kpi, u), direct), ga.reach


def physical_propagation(graph: GoalGraph, delta: np.ndarray) -> np.ndarray:
    """Δ(k) = δ(k) + Σ_{c->k} e · Δ(c) for every KPI (rows in `graph.kpi_order`): the
    physical propagation of docs/model.md step 2, without urgency, used for forecasts.
    One triangular solve of (I - A)ᵀ Δ = δ."""
    ga = graph_arrays(graph)
    if ga.to_kpi is None or not delta.size:
        return np.asarray(delta, dtype=float)
    system = (sp.eye_array(ga.to_kpi.shape[0], format="csr") - ga.to_kpi).T.tocsr()
    return spla.spsolve_triangular(system, np.asarray(delta, dtype=float), lower=True, unit_diagonal=True)


def direct_improvement(sign: np.ndarray, lift: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """δ per link = d_k · ℓ · c (for estimated links; an unestimated one contributes 0)."""
    return sign * lift * confidence


def impact_kernel(link_item: np.ndarray, link_kpi: np.ndarray, delta: np.ndarray,
                  unit_impact: np.ndarray, n_items: int) -> np.ndarray:
    """I_i = Σ over i's links of δ · W[k]: the pure numeric kernel, no validation.
    `link_kpi` indexes `unit_impact` (W); `link_item` indexes the items."""
    return np.bincount(link_item, weights=delta * unit_impact[link_kpi], minlength=n_items)


def round10(a):
    """Round to 10 decimal places so that equal estimates tie exactly (docs/model.md)."""
    return np.round(a, 10) + 0.0   # + 0.0 turns -0.0 into 0.0


def round10_float(x: float) -> float:
    """`round10` of one Python float, bit for bit, without a numpy call (a view rounds a
    few numbers per item, and a numpy call costs more than the item): numpy scales by
    1e10, rounds half to even (`rint`) and scales back; `round` on a float rounds half to
    even too, and is exact below 2**53 (above, the scaled value is already whole).

    >>> round10_float(0.12345678905), float(round10(0.12345678905)), round10_float(-0.0)
    (0.123456789, 0.123456789, 0.0)
    """
    y = x * 1e10
    if y != y or y in (_INF, -_INF):     # NaN, or too large to scale: numpy gives y / 1e10 too
        return y / 1e10 + 0.0
    return float(round(y)) / 1e10 + 0.0


_INF = float("inf")


def kpi_impact_scores(n_items: int, link_item: np.ndarray, link_kpi: np.ndarray, lift: np.ndarray,
                      confidence: np.ndarray, sign: np.ndarray, V: np.ndarray, weights: np.ndarray,
                      effort: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Impact, score and δ per link for a whole backlog: one sparse product, O(links).
    Links must be estimated and name known KPIs (`link_kpi` indexes the rows of V)."""
    unit = 100.0 * (V @ weights) if len(V) else np.zeros(0)
    delta = direct_improvement(sign[link_kpi], lift, confidence)
    impact = round10(impact_kernel(link_item, link_kpi, delta, unit, n_items))
    return impact, round10(impact / effort), delta
