"""The value of refining an estimate (docs/model.md, "Uncertainty": expected value of
partial perfect information, in impact points), by probing the decision.

For link j of item i, the refined estimate reveals the drawn contribution
X_j = d_k · ℓ · B · V̄_k (B the Bernoulli effect; edge-weight uncertainty is averaged out,
since it is independent of ℓ and B). Only item i's expected impact changes:
I_i(x) = a + x with a = Ī_i - c·d·ℓ̄·V̄_k. Every other item keeps its place in the expected
order, so the decision given x depends only on item i's *slot* among the others and on the
sign of I_i(x) (an item with impact <= 0 is only taken when mandatory or blocking). Slot q
holds for t_q < x < t_{q-1}, with t_q = s̄_{o_q} · E_i - a over the others o_q in order.

X is a mixture: x = 0 with probability 1 - c; with probability c, x = d·ℓ·V̄_k (a point)
or x ~ Normal(μ, σ) (a range). Each point, and each region of the normal between two
thresholds (within μ ± 8σ; at most `REGIONS` of them, neighbours merged by probability
beyond that), is one *probe*: the plan's decision (`decision.decide`) on the expected
scores with i at that slot, all probes of all links decided together in chunks. With
P the region's probability and E[x; region] = μ·P + σ·(φ(α) - φ(β)) its partial mean,

    VOI_j = Σ_probes [ U(D_probe) - U(D(s̄)) ],   U(D) = P · Σ_{k in D, k != i} Ī_k
                                                        + [i in D] · (a·P + E[x; region]),

which is exact when no region was merged. It can be slightly negative when the greedy
rule is not the impact-maximising choice. Estimates whose item is in the plan in every
draw or in none (`p_in_plan` 0 or 1) are worth 0 here (they cannot move the item across
the line); past `PROBE_NUMBERS` item-probes, the links of items nearest the line
(P(in plan) closest to 1/2, widest spread) are valued first and the rest left NaN.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from scoring.uncertainty.decision import decide, insert_orders
from scoring.uncertainty.inputs import Prepared, rounded

CHUNK_NUMBERS = 1_000_000      # item-probes decided at once (bounds the memory)
PROBE_NUMBERS = 100_000_000    # item-probes in all (about 10 s of two cores, bench/risk.py)
REGIONS = 8                    # probes per ranged estimate, at most
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _phi(z):
    return np.where(np.isfinite(z), _INV_SQRT_2PI * np.exp(-0.5 * np.square(np.clip(np.nan_to_num(z), -60, 60))), 0.0)


def probes_of(p: Prepared, j: int, position: np.ndarray):
    """(slot, impact of i, weight P, partial E[x; region]) per probe of link j."""
    i = p.link_item[j]
    c, mean, sd, value = p.link_confidence[j], p.link_mean[j], p.link_sd[j], p.link_value[j]
    effort = p.effort[i]
    a = p.impact[i] - c * value * mean
    others = np.delete(p.order, position[i])
    t = p.score[others] * effort - a                       # descending
    s_o, i_o, k_o = p.score[others], p.impact[others], p.key_rank[others]

    def slot_at(x):                                        # the ranking's own tie-breaks
        imp = rounded(a + x)
        sc = rounded(imp / effort)
        ahead = (s_o > sc) | ((s_o == sc) & ((i_o > imp) | ((i_o == imp) & (k_o < p.key_rank[i]))))
        return int(ahead.sum())

    out = []
    if c < 1:
        out.append((slot_at(0.0), a, 1 - c, 0.0))
    mu = value * mean
    if sd == 0:
        out.append((slot_at(mu), a + mu, c, c * mu))
        return out
    sigma = abs(value) * sd
    lo, hi = mu - 8 * sigma, mu + 8 * sigma
    inner = t[(t > lo) & (t < hi)]
    if lo < -a < hi:
        inner = np.sort(np.append(inner, -a))[::-1]
    edges = np.concatenate([[np.inf], inner, [-np.inf]])
    upper, lower = edges[:-1], edges[1:]
    beta, alpha = (upper - mu) / sigma, (lower - mu) / sigma
    prob = ndtr(beta) - ndtr(alpha)
    partial = mu * prob + sigma * (_phi(alpha) - _phi(beta))
    finite = np.isfinite(upper) & np.isfinite(lower)
    middle = np.where(np.isfinite(lower), np.maximum(lower + 1, hi), np.where(np.isfinite(upper),
                                                                             np.minimum(upper - 1, lo), mu))
    middle[finite] = (upper[finite] + lower[finite]) / 2
    slots = np.searchsorted(-t, -middle, side="left")
    if prob.size > REGIONS:                                # merge neighbours, never across impact 0
        positive = middle > -a
        cum = np.cumsum(prob) - prob / 2
        group = np.floor(cum * (REGIONS - 1)).astype(int) * 2 + positive
        keys, inverse = np.unique(group, return_inverse=True)
        p_sum = np.bincount(inverse, prob, keys.size)
        e_sum = np.bincount(inverse, partial, keys.size)
        best = np.full(keys.size, -1)
        for k in np.argsort(prob):                          # the most likely region's slot
            best[inverse[k]] = k
        slots, prob, partial = slots[best], p_sum, e_sum
    for q, pr, pa in zip(slots, prob, partial):
        if pr > 1e-12:
            out.append((int(q), a + pa / pr, c * pr, c * pa))
    return out


def value_of_information(p: Prepared, p_in_plan: np.ndarray | None = None,
                         probes: int | None = None) -> np.ndarray:
    """VOI per prepared link (in `Prepared.link_*` order), in impact points, within
    `probes` item-probes (default PROBE_NUMBERS)."""
    n_links, n = p.link_item.size, len(p.keys)
    voi = np.zeros(n_links)
    c, sd, value = p.link_confidence, p.link_sd, p.link_value
    uncertain = (value != 0) & (c > 0) & ((c < 1) | (sd > 0))
    if p_in_plan is not None:
        uncertain &= ((p_in_plan > 0) & (p_in_plan < 1))[p.link_item]
    links = np.flatnonzero(uncertain)
    if not links.size or n == 0:
        return voi
    if p_in_plan is not None:       # nearest the line first, should the budget run out
        closeness = p_in_plan[p.link_item[links]] * (1 - p_in_plan[p.link_item[links]])
        links = links[np.lexsort((-(np.abs(value) * (sd + p.link_mean))[links], -closeness))]
    position = np.empty(n, np.int64)
    position[p.order] = np.arange(n)
    base = decide(p, p.impact[None, :], p.order[None, :])[0]
    base_sum = float(p.impact[base].sum())
    rows = []                       # (link, slot, impact of i, weight, partial)
    budget = (PROBE_NUMBERS if probes is None else probes) // max(n, 1)
    for k, j in enumerate(links):
        mine = probes_of(p, int(j), position)
        if len(rows) + len(mine) > budget:
            voi[links[k:]] = np.nan     # not valued within the budget
            break
        rows += [(int(j), *r) for r in mine]
    if not rows:
        return voi
    link, slot, imp, weight, partial = (np.array(col) for col in zip(*rows))
    link = link.astype(np.int64)
    slot = slot.astype(np.int64)
    item = p.link_item[link]
    a = p.impact[item] - c[link] * value[link] * p.link_mean[link]
    gain = np.zeros(link.size)
    step = max(1, CHUNK_NUMBERS // n)
    for start in range(0, link.size, step):
        r = slice(start, start + step)
        it = item[r]
        order = insert_orders(p.order, it, slot[r])
        impact = np.broadcast_to(p.impact, (it.size, n)).copy()
        impact[np.arange(it.size), it] = rounded(imp[r])
        taken = decide(p, impact, order)
        mine = taken[np.arange(it.size), it]
        others = taken.astype(float) @ p.impact - mine * p.impact[it]
        u = weight[r] * others + mine * (a[r] * weight[r] + partial[r])
        u0 = weight[r] * (base_sum - base[it] * p.impact[it]) + base[it] * (a[r] * weight[r] + partial[r])
        gain[r] = u - u0
    total = np.bincount(link, gain, n_links)
    done = np.unique(link)
    voi[done] = rounded(total[done]) + 0.0     # no -0.0
    return voi
