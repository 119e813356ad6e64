"""The Shapley kernel of "what moved" (docs/model.md, "What moved"): given S(T)
for every subset T of the changed groups, each group's part of an item's score change,

    φ_g = Σ_{T ⊆ G∖{g}} |T|!(|G|-|T|-1)!/|G|! · (S(T ∪ {g}) - S(T)),

and the rule that a part below 1e-9 of the item's score is exactly 0 (rounding is not a
cause). Pure numpy; `attribution` builds the S(T) and calls this.

>>> import numpy as np
>>> parts = shapley(np.array([[1.0], [3.0], [2.0], [6.0]]), 2)   # S(∅), S({a}), S({b}), S({a,b})
>>> [round(float(x), 6) for x in parts[:, 0]]
[3.0, 2.0]
"""
from __future__ import annotations

import math

import numpy as np

EXACT_ZERO = 1e-9     # a part below this fraction of the item's score is reported as 0


def shapley_weights(n: int) -> np.ndarray:
    """C [n, 2^n] with parts = C @ S: φ_g = Σ_{T ∌ g} |T|!(n-|T|-1)!/n! · (S(T ∪ {g}) - S(T)),
    so row g holds +w(|T|) at T ∪ {g} and -w(|T|) at T."""
    w = [math.factorial(t) * math.factorial(n - t - 1) / math.factorial(n) for t in range(n)]
    C = np.zeros((n, 1 << n))
    for g in range(n):
        for m in range(1 << n):
            if not m >> g & 1:
                t = bin(m).count("1")
                C[g, m | 1 << g] += w[t]
                C[g, m] -= w[t]
    return C


def shapley(values: np.ndarray, n: int) -> np.ndarray:
    """Parts [n, items] from `values[mask]` = S(T) for T the set bits of `mask`."""
    return shapley_weights(n) @ values


def exact_zeros(parts: np.ndarray, score_from: np.ndarray, score_to: np.ndarray) -> np.ndarray:
    """`parts` [groups, items] with every part below EXACT_ZERO of the item's score
    (the larger of |score_from|, |score_to|) set to exactly 0; what was dropped is added to
    the item's largest part, so the parts still sum to the change.

    >>> exact_zeros(np.array([[0.5], [1e-17]]), np.array([1.0]), np.array([1.5]))[:, 0].tolist()
    [0.5, 0.0]
    """
    if parts.size == 0:
        return parts
    scale = np.maximum(np.abs(score_from), np.abs(score_to))
    small = np.abs(parts) < EXACT_ZERO * scale
    if not small.any():
        return parts
    out = parts.copy()
    dropped = np.where(small, out, 0.0).sum(axis=0)
    out[small] = 0.0
    big = np.abs(out).argmax(axis=0)
    cols = np.arange(out.shape[1])
    has_big = out[big, cols] != 0
    out[big[has_big], cols[has_big]] += dropped[has_big]
    return out
