"""The Monte Carlo half of the uncertainty analysis (docs/model.md, "Uncertainty"): draws of
every link's effect and lift and of every ranged edge weight, the drawn impacts, scores and
ranks, the decision D(s) in each draw (`decision.py`), and from them P(in plan) and the
percentiles.

Everything is vectorised over draws, in chunks: a chunk of draws holds at most
`CHUNK_NUMBERS` item-draws (and its link draws are taken in sub-chunks of as many
numbers), so memory stays bounded whatever the backlog. The decision walks the items once
per chunk. Percentiles of impact and rank come from the per-draw values of the first
`percentile_draws(n, draws)` draws (every draw up to `PERCENTILE_NUMBERS` item-draws; at
10,000 items, the first 600 of the draws), kept as float64 and int32; P(in plan), the
mean and the standard deviation use every draw.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.uncertainty.decision import decide
from scoring.uncertainty.inputs import DECIMALS, Prepared, kpi_values, rounded
from scoring.uncertainty.kernels import add_contributions, ranking_orders

CHUNK_NUMBERS = 2_000_000         # item-draws per chunk (and link-draws per sub-chunk): bounds the memory
PERCENTILE_NUMBERS = 6_000_000    # item-draws kept for the percentiles (float64 impacts, int32 ranks)


@dataclass(frozen=True)
class Simulation:
    """Per eligible item (in `Prepared.keys` order)."""
    p_in_plan: np.ndarray
    p_in_plan_se: np.ndarray       # Monte Carlo standard error sqrt(p (1 - p) / N)
    impact_mean: np.ndarray
    impact_sd: np.ndarray
    impact_percentiles: np.ndarray  # [3, n]: 5th, 50th, 95th
    rank_percentiles: np.ndarray    # [3, n]
    percentile_draws: int = 0       # how many draws the percentiles come from


def percentile_draws(n: int, draws: int) -> int:
    return max(1, min(draws, PERCENTILE_NUMBERS // max(n, 1)))


def drawn_impacts(p: Prepared, rng: np.random.Generator, size: int) -> np.ndarray:
    """[size, n] drawn impacts, the links drawn in sub-chunks of at most CHUNK_NUMBERS."""
    n, n_links = len(p.keys), p.link_item.size
    out = np.zeros((size, n))
    if not n_links:
        return out
    ranged_links = np.flatnonzero(p.link_sd > 0)
    ranged = np.full(n_links, -1, np.int64)
    ranged[ranged_links] = np.arange(ranged_links.size)
    ranged_edges = np.flatnonzero(p.edge_sd > 0)
    step = max(1, CHUNK_NUMBERS // max(n_links, p.urgency.size, 1))
    for start in range(0, size, step):
        m = min(step, size - start)
        happens = effects(p, rng, m)
        normal = rng.standard_normal((m, ranged_links.size))
        if ranged_edges.size:
            weight = np.broadcast_to(p.edge_mean, (m, p.edge_mean.size)).copy()
            weight[:, ranged_edges] += p.edge_sd[ranged_edges] * rng.standard_normal((m, ranged_edges.size))
            value = p.link_sign * kpi_values(p.urgency, p.objective_value, p.edge_child, p.edge_node,
                                             weight)[:, p.link_kpi]
        else:
            value = np.broadcast_to(p.link_value, (m, n_links))
        add_contributions(out[start:start + m], happens, normal, value, p.link_item, p.link_mean,
                          ranged, p.link_sd)
    np.round(out, DECIMALS, out=out)
    return out


def simulate(p: Prepared, rng: np.random.Generator) -> Simulation:
    n, n_links, draws = len(p.keys), p.link_item.size, p.draws
    kept = percentile_draws(n, draws)
    impacts = np.empty((kept, n))
    ranks = np.empty((kept, n), np.int32)
    total, squares, in_plan = np.zeros(n), np.zeros(n), np.zeros(n)
    chunk = max(1, min(draws, CHUNK_NUMBERS // max(n, 1)))
    for start in range(0, draws, chunk):
        size = min(chunk, draws - start)
        impact = drawn_impacts(p, rng, size)
        score = rounded(impact / p.effort)
        order = ranking_orders(score, impact, p.key_rank)
        total += impact.sum(axis=0)
        squares += np.square(impact).sum(axis=0)
        keep = max(0, min(size, kept - start))
        if keep:
            impacts[start:start + keep] = impact[:keep]
            rank = np.empty((keep, n), np.int32)
            np.put_along_axis(rank, order[:keep], np.arange(1, n + 1, dtype=np.int32)[None, :], axis=1)
            ranks[start:start + keep] = rank
        in_plan += decide(p, impact, order).sum(axis=0)
    share = in_plan / draws
    mean = total / draws
    q = [5, 50, 95]
    return Simulation(
        p_in_plan=share, p_in_plan_se=np.sqrt(share * (1 - share) / draws),
        impact_mean=mean, impact_sd=np.sqrt(np.maximum(squares / draws - mean ** 2, 0.0)),
        impact_percentiles=column_percentiles(impacts, q), rank_percentiles=column_percentiles(ranks, q),
        percentile_draws=kept)


def column_percentiles(values: np.ndarray, q) -> np.ndarray:
    """np.percentile over the rows, a block of columns at a time (bounded memory); [len(q), n]."""
    rows, n = values.shape
    out = np.empty((len(q), n))
    step = max(1, CHUNK_NUMBERS // max(rows, 1))
    for start in range(0, n, step):
        block = values[:, start:start + step].astype(np.float64)
        out[:, start:start + step] = np.percentile(block, q, axis=0)
    return rounded(out) if values.dtype.kind == "f" else out


def effects(p: Prepared, rng: np.random.Generator, size: int) -> np.ndarray:
    """[size, links]: whether each link's effect happens in each draw. With several raters
    on a link, each draw first picks one of them uniformly, then draws its Bernoulli c_r
    (docs/model.md "Several estimators"); the picked rater's lift is then the link's."""
    if p.link_group is None:
        return rng.random((size, p.link_item.size)) < p.link_confidence
    happens = rng.random((size, p.link_item.size)) < p.rater_confidence
    pick = np.floor(rng.random((size, p.group_size.size)) * p.group_size).astype(np.int64)
    return happens & (pick[:, p.link_group] == p.link_slot)
