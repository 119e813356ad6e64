"""The mixed-integer program of docs/model.md "The plan", built once and re-solved with HiGHS
(`scipy.optimize.milp`).

One binary column `x_ip` per plannable item and allowed period (an item only gets the
periods whose capacity can hold its effort and that its blockers can precede). Rows:
- each item at most once (exactly once when mandatory or blocking a mandatory item);
- per team and period, planned effort <= capacity;
- per blocker edge (j blocked by b) and period p, the cumulative form
  `Σ_{q<=p} x_jq <= Σ_{q<=p} x_bq`: it implies docs/model.md's `x_jp <= Σ_{q<=p} x_bq`, admits
  the same integer plans, and gives a tighter relaxation.
The objective maximises `Σ x_ip · I_i · f_p` (HiGHS minimises its negative).

Why scipy's `milp` and not `highspy` directly: highspy's warm start (the greedy plan as a
starting solution) was measured on the benchmark's backlogs and did not pay (n = 1,200:
proven gap 1.9 % -> 1.8 % in 5 s; n = 600: no better), and it would add a dependency. The
floor (greedy, LP-rounded, polished) is kept outside the solver instead.

`solve` takes per-call changes (an item's impact or effort, an item forced in, columns
fixed) so that `enters_if` re-solves without rebuilding.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

from scoring.plan.model import Prepared


@dataclass
class Solved:
    status: str                 # optimal | time-limit | infeasible | error
    assign: np.ndarray | None   # period index per item, -1 when not planned
    value: float | None         # the objective of `assign`
    bound: float | None         # proven upper bound on the value


class PlanModel:
    def __init__(self, prep: Prepared, items: np.ndarray | None = None):
        """Columns for `items` (default: the items worth planning)."""
        self.prep = prep
        items = prep.needed if items is None else items
        col_item, col_period = [], []
        self.cols: dict[int, list[int]] = {}
        for i in np.flatnonzero(items):
            for p in np.flatnonzero(prep.allowed[i]):
                self.cols.setdefault(int(i), []).append(len(col_item))
                col_item.append(int(i))
                col_period.append(int(p))
        self.col_item = np.array(col_item, dtype=int)
        self.col_period = np.array(col_period, dtype=int)
        self.n_x = len(col_item)
        # a spanning item's effort spent in period q: continuous columns after the binaries
        self.spend: dict[int, list[tuple[int, int]]] = {}   # item -> [(column, period)]
        for i in self.cols:
            if prep.span[i]:
                last = int(self.col_period[self.cols[i]].max())
                self.spend[i] = [(len(col_item) + q, q) for q in range(last + 1)]
                col_item += [i] * (last + 1)
                col_period += list(range(last + 1))
        self.col_item = np.array(col_item, dtype=int)
        self.col_period = np.array(col_period, dtype=int)
        m = len(col_item)
        rows, cols, vals, lo, hi = [], [], [], [], []

        def row(entries, low, high):
            r = len(lo)
            for c, v in entries:
                rows.append(r)
                cols.append(c)
                vals.append(v)
            lo.append(low)
            hi.append(high)

        self.once_row: dict[int, int] = {}
        for i, cs in self.cols.items():
            self.once_row[i] = len(lo)
            row([(c, 1.0) for c in cs], 1.0 if prep.forced[i] else 0.0, 1.0)
        self.effort_at: dict[int, list[tuple[int, float]]] = {}   # item -> (position in vals, sign)
        binary = np.arange(m) < self.n_x
        spanning = prep.span[self.col_item] if m else np.zeros(0, bool)
        for t in range(prep.capacity.shape[0]):
            for p in range(prep.P):
                mine = np.flatnonzero((prep.team[self.col_item] == t) & (self.col_period == p)
                                      & (binary != spanning)) if m else []
                if len(mine) == 0:
                    continue
                for k, c in enumerate(mine):
                    if binary[c]:
                        self.effort_at.setdefault(int(self.col_item[c]), []).append((len(vals) + k, 1.0))
                row([(int(c), prep.effort[self.col_item[c]] if binary[c] else 1.0) for c in mine],
                    -np.inf, prep.capacity[t, p])
        for i, spend in self.spend.items():   # Σ_q y_iq = E_i Σ_p x_ip; y_iq <= E_i Σ_{p>=q} x_ip
            E = prep.effort[i]
            self.effort_at.setdefault(i, []).extend((len(vals) + len(spend) + k, -1.0)
                                                    for k in range(len(self.cols[i])))
            row([(c, 1.0) for c, _ in spend] + [(c, -E) for c in self.cols[i]], 0.0, 0.0)
            for c, q in spend:
                later = [d for d in self.cols[i] if self.col_period[d] >= q]
                self.effort_at[i].extend((len(vals) + 1 + k, -1.0) for k in range(len(later)))
                row([(c, 1.0)] + [(d, -E) for d in later], -np.inf, 0.0)
        for j, cs in self.cols.items():
            for b in prep.blockers[j]:
                bcols = self.cols.get(b, [])
                for p in range(prep.P):
                    if p not in self.col_period[cs]:
                        continue  # the row of j's previous period already implies this one
                    mine = [c for c in cs if self.col_period[c] <= p]
                    theirs = [c for c in bcols if self.col_period[c] <= p]
                    row([(c, 1.0) for c in mine] + [(c, -1.0) for c in theirs], -np.inf, 0.0)
        self.rows = np.array(rows, dtype=int)
        self.cols_ = np.array(cols, dtype=int)
        self.vals = np.array(vals, dtype=float)
        self.lo = np.array(lo, dtype=float)
        self.hi = np.array(hi, dtype=float)
        self.value_coef = np.where(binary, prep.impact[self.col_item] * prep.f[self.col_period], 0.0) \
            if m else np.zeros(0)
        self.integrality = binary.astype(float)

    @property
    def size(self) -> int:
        return len(self.col_item)

    def decode(self, x: np.ndarray) -> np.ndarray:
        assign = np.full(self.prep.n, -1)
        on = np.flatnonzero(x[:self.n_x] > 0.5)
        assign[self.col_item[on]] = self.col_period[on]
        return assign

    def relaxation(self, seconds: float) -> np.ndarray | None:
        """The LP relaxation's solution per column (None if HiGHS gives none in time)."""
        if not self.size:
            return None
        A = csr_matrix((self.vals, (self.rows, self.cols_)), shape=(len(self.lo), self.size))
        res = milp(-self.value_coef, integrality=np.zeros(self.size), bounds=Bounds(0, self._upper()),
                   constraints=LinearConstraint(A, self.lo, self.hi),
                   options={"time_limit": max(seconds, 0.01)})
        return None if res.x is None else res.x[:self.n_x]

    def _upper(self) -> np.ndarray:
        ub = np.ones(self.size)
        ub[self.n_x:] = self.prep.effort[self.col_item[self.n_x:]]
        return ub

    def solve(self, seconds: float, gap: float = 1e-4, *, impact: dict[int, float] | None = None,
              effort: dict[int, float] | None = None, force: dict[int, int | None] | None = None,
              fixed: np.ndarray | None = None, free: dict[int, bool] | None = None) -> Solved:
        """Re-solve with changes: `impact`/`effort` per item; `force` item -> period
        (None: any period); `fixed` a period-per-item assignment whose columns are held
        where `free` (item -> True) does not release them; `free` also opens columns
        closed by default (none are closed unless `fixed`)."""
        m = self.size
        if m == 0:
            return Solved("optimal", np.full(self.prep.n, -1), 0.0, 0.0)
        coef = self.value_coef.copy()
        for i, v in (impact or {}).items():
            cs = self.cols.get(i, [])   # the binaries only
            coef[cs] = v * self.prep.f[self.col_period[cs]]
        vals = self.vals
        if effort:
            vals = vals.copy()
            for i, e in effort.items():
                for pos, sign in self.effort_at.get(i, []):
                    vals[pos] = sign * e
        lb, ub = np.zeros(m), self._upper()
        if effort:
            for i, e in effort.items():
                ub[[c for c, _ in self.spend.get(i, [])]] = e
        if fixed is not None:
            held = np.array([not (free or {}).get(int(i), False) for i in self.col_item])
            held[self.n_x:] = False
            val = (fixed[self.col_item] == self.col_period).astype(float)
            lb[held] = ub[held] = val[held]
        lo = self.lo.copy()
        for i, p in (force or {}).items():
            cs = self.cols.get(i, [])
            if not cs or (p is not None and p not in self.col_period[cs]):
                return Solved("infeasible", None, None, None)
            if p is None:
                lo[self.once_row[i]] = 1.0
            else:
                for c in cs:
                    lb[c] = ub[c] = float(self.col_period[c] == p)
        A = csr_matrix((vals, (self.rows, self.cols_)), shape=(len(self.lo), m))
        res = milp(-coef, integrality=self.integrality, bounds=Bounds(lb, ub),
                   constraints=LinearConstraint(A, lo, self.hi),
                   options={"time_limit": max(seconds, 0.01), "mip_rel_gap": gap})
        bound = None if res.mip_dual_bound is None or not np.isfinite(res.mip_dual_bound) \
            else -float(res.mip_dual_bound)
        if res.status == 2:
            return Solved("infeasible", None, None, None)
        if res.x is None:
            return Solved("time-limit" if res.status == 1 else "error", None, None, bound)
        assign = self.decode(res.x)
        value = float(coef[:self.n_x][res.x[:self.n_x] > 0.5].sum())
        return Solved("optimal" if res.status == 0 else "time-limit", assign, value, bound)
