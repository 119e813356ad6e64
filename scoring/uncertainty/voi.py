"""The value of refining an estimate (SCORING.md: expected value of partial perfect
information, in impact points), computed exactly rather than by sampling.

For link j of item i, the refined estimate reveals the drawn contribution
X_j = d_k · ℓ · B · V̄_k (B the Bernoulli effect; edge-weight uncertainty is averaged out,
since it is independent of ℓ and B, so V̄_k is the expected KPI value). Then

    VOI_j = E_X[ U(D(s̄ | X) | X) ] - U(D(s̄)),

where only item i's expected impact changes: I_i(x) = a_ij + x with a_ij = Ī_i - c·d·ℓ̄·V̄_k,
and its score is I_i(x) / E_i. Every other item keeps its place in the expected order, so
the decision given x depends only on the *slot* q of item i among the others (how many rank
ahead of it), and U is

    U(q, x) = a_ij + x + T[i, q]   if item i is taken at slot q,      else  N[i],

with T[i, q] the others' impacts taken when i sits at slot q and is taken, N[i] the others'
impacts taken when i is not taken (the greedy over the others alone). The slot is q exactly
when t_q < x < t_{q-1}, with thresholds t_q = s̄_{o_q} · E_i - a_ij over the others o_q in
order (descending; t_{-1} = +∞, t_{n-1} = -∞). X is a mixture:
- with probability 1 - c, x = 0, and with probability c and a point lift, x = d·ℓ·V̄_k:
  U at that point, its slot found by the ranking's own tie-breaks;
- with probability c and a range, x ~ Normal(μ = d·ℓ̄·V̄_k, σ = |d·V̄_k|·sd); per slot
  P_q = Φ(β_q) - Φ(α_q) and E[x; slot q] = μ·P_q + σ·(φ(α_q) - φ(β_q)), with α_q, β_q the
  standardised thresholds t_q, t_{q-1}; so E[U] = Σ_q [taken_q ((a + T_q) P_q + E[x; q])
  + (1 - taken_q) N P_q], a closed form per slot.
Since E_X[U(D(s̄) | X)] = U(D(s̄)) (U is linear in x), VOI_j = E_X[U(D(s̄|X)|X) - U(D(s̄)|X)]:
zero when no x can move item i across the line. It can be slightly negative when the rule
"by score, while effort fits" is not the impact-maximising choice (scores are per effort).

The tables T, N (and whether i is taken at each slot) cost one loop over ranked positions
vectorised over (item, slot), only over the slots at which the item can be taken (a
prefix: the capacity used before a slot only grows), and stopping once nothing more fits.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from scoring.uncertainty.draws import greedy_taken
from scoring.uncertainty.inputs import Prepared, rounded

CHUNK_NUMBERS = 2_000_000
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def insertion_tables(p: Prepared, items: np.ndarray):
    """For each item in `items` (eligible indices): `others` [m, n-1] the other items in
    expected order; `taken` [m, n] whether the item, placed at slot q among them, is
    taken; `with_item` [m, n] the others' impacts taken then; `without` [m] the others'
    impacts taken when it is not taken."""
    n = len(p.keys)
    position = np.empty(n, np.int64)
    position[p.order] = np.arange(n)
    slots = np.arange(n - 1)
    others = p.order[slots[None, :] + (slots[None, :] >= position[items][:, None])]
    weight_o, impact_o = p.decision_weight[others], p.impact[others]
    weight_i = p.decision_weight[items]
    cap = p.decision_limit + p.tolerance
    m = items.size
    # The greedy over the others alone: capacity used and impact taken before each slot.
    alone = greedy_taken(weight_o, p.decision_limit, p.tolerance)
    used = np.zeros((m, n))
    gained = np.zeros((m, n))
    np.cumsum(np.where(alone, weight_o, 0.0), axis=1, out=used[:, 1:])
    np.cumsum(np.where(alone, impact_o, 0.0), axis=1, out=gained[:, 1:])
    taken = used + weight_i[:, None] <= cap     # a prefix of the slots: `used` only grows
    width = int(taken.sum(axis=1).max(initial=0))
    without = gained[:, n - 1].copy()
    # With the item taken at slot q: the greedy goes on from used[q] + its weight.
    used_with = used[:, :width] + weight_i[:, None]
    with_item = np.repeat(without[:, None], n, axis=1)
    with_item[:, :width] = gained[:, :width]
    rest_min = np.minimum.accumulate(weight_o[:, ::-1], axis=1)[:, ::-1] if n > 1 else weight_o
    for r in range(n - 1):
        block = slice(0, min(r + 1, width))
        if block.stop == 0:
            break
        if r >= width - 1 and r % 16 == 0 and np.all(used_with[:, block] + rest_min[:, r:r + 1] > cap):
            break                     # every slot started, and nothing more fits
        w, gain = weight_o[:, r:r + 1], impact_o[:, r:r + 1]
        fits = used_with[:, block] + w <= cap
        used_with[:, block] += np.where(fits, w, 0.0)
        with_item[:, block] += np.where(fits, gain, 0.0)
    return others, taken, with_item, without


def value_of_information(p: Prepared) -> np.ndarray:
    """VOI per prepared link (in `Prepared.link_*` order), in impact points."""
    n_links, n = p.link_item.size, len(p.keys)
    voi = np.zeros(n_links)
    c, sd, value = p.link_confidence, p.link_sd, p.link_value
    uncertain = (value != 0) & (c > 0) & ((c < 1) | (sd > 0))
    if not uncertain.any():
        return voi
    order_weight = p.decision_weight[p.order]
    baseline = float(p.impact[p.order][greedy_taken(order_weight[None, :], p.decision_limit,
                                                    p.tolerance)[0]].sum())
    items = np.unique(p.link_item[uncertain])
    per_chunk = max(1, CHUNK_NUMBERS // (4 * max(n, 1)))
    for start in range(0, items.size, per_chunk):
        chunk_items = items[start:start + per_chunk]
        others, taken, with_item, without = insertion_tables(p, chunk_items)
        row_of = np.full(n, -1, np.int64)
        row_of[chunk_items] = np.arange(chunk_items.size)
        links = np.flatnonzero(uncertain & (row_of[p.link_item] >= 0))
        for part in np.array_split(links, max(1, links.size * n // CHUNK_NUMBERS + 1)):
            if part.size:
                expected = _expected_utility(p, part, row_of[p.link_item[part]], others, taken,
                                             with_item, without)
                voi[part] = rounded(expected - baseline) + 0.0    # no -0.0
    return voi


def _expected_utility(p, links, rows, others, taken, with_item, without):
    item = p.link_item[links]
    effort = p.effort[item]
    c, mean, sd, value = (p.link_confidence[links], p.link_mean[links], p.link_sd[links],
                          p.link_value[links])
    rest = p.impact[item] - c * value * mean          # a_ij: the item without this effect
    o = others[rows]
    taken, with_item, without = taken[rows], with_item[rows], without[rows]

    def utility_at(x):
        impact = rest + x
        slot = _slot(p, o, rounded(impact), rounded(rounded(impact) / effort), p.key_rank[item])
        line = np.arange(links.size)
        return np.where(taken[line, slot], impact + with_item[line, slot], without)

    expected = (1 - c) * utility_at(np.zeros(links.size))
    point = sd == 0
    if point.any():
        expected = expected + np.where(point, c * utility_at(value * mean), 0.0)
    ranged = ~point
    if ranged.any():
        mu = value * mean
        sigma = np.where(ranged, np.abs(value) * sd, 1.0)
        z = (p.score[o] * effort[:, None] - rest[:, None] - mu[:, None]) / sigma[:, None]
        pad = np.ones((links.size, 1))
        cdf = np.hstack([pad, ndtr(z), 0 * pad])
        pdf = np.hstack([0 * pad, _INV_SQRT_2PI * np.exp(-0.5 * z * z), 0 * pad])
        prob = cdf[:, :-1] - cdf[:, 1:]
        partial = mu[:, None] * prob + sigma[:, None] * (pdf[:, 1:] - pdf[:, :-1])
        normal = np.where(taken, (rest[:, None] + with_item) * prob + partial,
                          without[:, None] * prob).sum(axis=1)
        expected = expected + np.where(ranged, c * normal, 0.0)
    return expected


def _slot(p: Prepared, others, impact, score, key_rank):
    """How many of `others` [L, n-1] rank ahead of an item with this impact, score and key
    rank (score desc, impact desc, key asc)."""
    s_o, i_o, k_o = p.score[others], p.impact[others], p.key_rank[others]
    ahead = (s_o > score[:, None]) | ((s_o == score[:, None]) & (
        (i_o > impact[:, None]) | ((i_o == impact[:, None]) & (k_o < key_rank[:, None]))))
    return ahead.sum(axis=1)
