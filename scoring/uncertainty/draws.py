"""The Monte Carlo half of the uncertainty analysis (SCORING.md "Uncertainty"): draws of
every link's effect and lift and of every ranged edge weight, the drawn impacts, scores and
ranks, the decision D(s) in each draw, and from them P(in plan) and the percentiles.

Everything is vectorised over draws; draws are taken in chunks so that a [draws, links]
array never exceeds a few million numbers. The only Python loops are over KPIs (the V
pass, when some edge weight is uncertain) and over ranked positions (the greedy decision).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from scoring.uncertainty.inputs import Prepared, kpi_values, ranking_order, rounded

CHUNK_NUMBERS = 2_000_000     # numbers per [draws, links] array in one chunk


@dataclass(frozen=True)
class Simulation:
    """Per eligible item (in `Prepared.keys` order)."""
    p_in_plan: np.ndarray
    p_in_plan_se: np.ndarray       # Monte Carlo standard error sqrt(p (1 - p) / N)
    impact_mean: np.ndarray
    impact_sd: np.ndarray
    impact_percentiles: np.ndarray  # [3, n]: 5th, 50th, 95th
    rank_percentiles: np.ndarray    # [3, n]


def greedy_taken(weight_in_order: np.ndarray, limit: float, tolerance: float) -> np.ndarray:
    """The decision along the last axis: items in ranked order are taken while their
    weight (effort, or 1 for a top N) still fits `limit`, continuing past items that do
    not fit. Vectorised over the leading axes; one step per ranked position."""
    taken = np.zeros(weight_in_order.shape, bool)
    used = np.zeros(weight_in_order.shape[:-1])
    cap = limit + tolerance
    smallest = weight_in_order.min(initial=np.inf)
    for j in range(weight_in_order.shape[-1]):
        w = weight_in_order[..., j]
        fits = used + w <= cap
        taken[..., j] = fits
        used = np.where(fits, used + w, used)
        if j % 16 == 15 and np.all(used + smallest > cap):
            break                     # nothing more can fit in any draw
    return taken


def simulate(p: Prepared, rng: np.random.Generator) -> Simulation:
    n, n_links, draws = len(p.keys), p.link_item.size, p.draws
    ranged_links = np.flatnonzero(p.link_sd > 0)
    ranged_edges = np.flatnonzero(p.edge_sd > 0)
    per_item = sp.csr_array((np.ones(n_links), (p.link_item, np.arange(n_links))), shape=(n, n_links))
    impacts = np.empty((draws, n))
    rank_count = np.zeros(n * n, np.int64)       # [item, rank - 1]: draws with that rank
    in_plan = np.zeros(n)
    chunk = max(1, min(draws, CHUNK_NUMBERS // max(n_links, n, p.urgency.size, 1)))
    for start in range(0, draws, chunk):
        size = min(chunk, draws - start)
        happens = effects(p, rng, size)
        lift = np.broadcast_to(p.link_mean, (size, n_links)).copy()
        lift[:, ranged_links] += p.link_sd[ranged_links] * rng.standard_normal((size, ranged_links.size))
        if ranged_edges.size:
            weight = np.broadcast_to(p.edge_mean, (size, p.edge_mean.size)).copy()
            weight[:, ranged_edges] += p.edge_sd[ranged_edges] * rng.standard_normal((size, ranged_edges.size))
            value = p.link_sign * kpi_values(p.urgency, p.objective_value, p.edge_child, p.edge_node,
                                             weight)[:, p.link_kpi]
        else:
            value = p.link_value
        contribution = np.where(happens, lift * value, 0.0)
        impact = rounded((per_item @ contribution.T).T) if n_links else np.zeros((size, n))
        score = rounded(impact / p.effort)
        order = ranking_order(score, impact, p.key_rank)
        rows = slice(start, start + size)
        impacts[rows] = impact
        rank_count += np.bincount((order * n + np.arange(n)).ravel(), minlength=n * n)
        taken = greedy_taken(p.decision_weight[order], p.decision_limit, p.tolerance)
        in_plan += np.bincount(order[taken], minlength=n)
    share = in_plan / draws
    q = [5, 50, 95]
    return Simulation(
        p_in_plan=share, p_in_plan_se=np.sqrt(share * (1 - share) / draws),
        impact_mean=impacts.mean(axis=0), impact_sd=impacts.std(axis=0),
        impact_percentiles=np.percentile(impacts, q, axis=0).reshape(3, n),
        rank_percentiles=percentiles_of_counts(rank_count.reshape(n, n), q))


def effects(p: Prepared, rng: np.random.Generator, size: int) -> np.ndarray:
    """[size, links]: whether each link's effect happens in each draw. With several raters
    on a link, each draw first picks one of them uniformly, then draws its Bernoulli c_r
    (docs/model.md "Several estimators"); the picked rater's lift is then the link's."""
    if p.link_group is None:
        return rng.random((size, p.link_item.size)) < p.link_confidence
    happens = rng.random((size, p.link_item.size)) < p.rater_confidence
    pick = np.floor(rng.random((size, p.group_size.size)) * p.group_size).astype(np.int64)
    return happens & (pick[:, p.link_group] == p.link_slot)


def percentiles_of_counts(count: np.ndarray, q) -> np.ndarray:
    """np.percentile's default (linear) percentiles of the values 1..m, one row of counts
    [rows, m] per sample, without the samples: the k-th smallest value (from 0) is the
    first value whose cumulative count exceeds k. Returns [len(q), rows]."""
    rows, m = count.shape
    total = int(count[0].sum()) if rows else 0
    cumulative = (np.cumsum(count, axis=1) + total * np.arange(rows)[:, None]).ravel()
    out = np.empty((len(q), rows))
    for n_q, share in enumerate(q):
        h = (total - 1) * share / 100
        low = int(np.floor(h))
        high = min(low + 1, total - 1)
        base = total * np.arange(rows)
        x_low = np.searchsorted(cumulative, base + low, side="right") - np.arange(rows) * m + 1
        x_high = np.searchsorted(cumulative, base + high, side="right") - np.arange(rows) * m + 1
        out[n_q] = x_low + (h - low) * (x_high - x_low)
    return out
