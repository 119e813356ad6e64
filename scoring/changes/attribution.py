"""What moved between two snapshots, and why: the Shapley split of each item's score
change over the groups of inputs that changed (docs/model.md "What moved").

For the changed groups G, S(T) is the whole backlog's score with the groups in T taken
from B and the rest from A. Each of the 2^|G| mixed inputs (at most 128) is built once
and scored once through the public `rank_backlog`, vectorised over items, so the split
follows whatever the scoring model does. Then for each group g

    φ_g = Σ_{T ⊆ G∖{g}} |T|!(|G|-|T|-1)!/|G|! · (S(T ∪ {g}) - S(T)).

S(∅) and S(G) are exactly the scores A and B publish, so the parts sum to
`score_to - score_from` up to float addition (~1e-15 relative). The intermediate S(T)
are rounded to 10 decimals like every published score; that moves a part by at most
~1e-10 and never the sum. Subsets are indexed by the groups' fixed order in `GROUPS`,
whatever order a caller lists them in, so the result is bit-identical for any order.

What each group carries in a mixed input:
- `kpi-values`: the KPIs' current values (and dates); `targets`: the KPI definitions
  (targets, baselines, dates, direction, unit, window), KPI by KPI;
- `estimates`: each item's links, confidence and factors; `effort`: each item's effort,
  and the backlog whose efforts give the "median" default (its items and their status);
- `objective-weights`: the objectives' weights (an objective absent from a side weighs 0);
- `edges`: the edge list (weights and structure); `parameters`: `ScoringParams`;
- `calibration`: the estimators' track-record factors a calibrated snapshot froze (its
  `meta["calibration"]`), applied to whichever side's estimates are in play.
Only items ranked in both snapshots (not done in either) are split; an item ranked only
in A is `removed`, only in B `added` (an item done in B counts as removed).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from scoring.errors import BadInput
from scoring.goals.graph import GoalGraph
from scoring.goals.impact import round10
from scoring.model import Backlog, Kpi, Objective
from scoring.ranking import Ranking, rank_backlog
from scoring.changes.snapshot import Snapshot, backlog_of, rescore
from scoring.changes import reasons
from scoring.changes.edits import Edit, edits_between
from scoring.changes.overtaking import _counts, _overtaking  # noqa: F401 - _counts re-exported for tests
from scoring.changes.shapley import exact_zeros, shapley, shapley_weights  # noqa: F401

GROUPS = ("kpi-values", "estimates", "effort", "objective-weights", "edges", "targets", "parameters", "calibration")


@dataclass
class ItemChange:
    key: str
    status: str                      # moved | added | removed | unchanged
    rank_from: int | None
    rank_to: int | None
    score_from: float | None
    score_to: float | None
    change: dict[str, float] = field(default_factory=dict)   # group -> part, sums to the score change
    overtaken_by: list[str] = field(default_factory=list)    # were behind in A, ahead in B (nearest first)
    overtook: list[str] = field(default_factory=list)        # were ahead in A, behind in B (nearest first)
    added_ahead: int = 0             # items new in B ranked ahead of it
    removed_ahead: int = 0           # items gone from B that were ahead of it in A
    edited: bool = False             # a person edited one of its fields between A and B
    _words: reasons.Words | None = field(default=None, repr=False, compare=False)
    _reason: str | None = field(default=None, repr=False, compare=False)

    @property
    def reason(self) -> str:
        """One line in words (built on first use: a diff of 50,000 items shows a few)."""
        if self._reason is None:
            w = self._words
            if w is None:
                self._reason = ""
            elif self.status == "added":
                self._reason = w.added(self.key, self.rank_to)
            elif self.status == "removed":
                self._reason = w.removed(self.key, self.rank_from)
            else:
                self._reason = w.moved(self)
        return self._reason

    def as_dict(self) -> dict:
        return {"key": self.key, "status": self.status, "rank_from": self.rank_from, "rank_to": self.rank_to,
                "score_from": self.score_from, "score_to": self.score_to, "change": dict(self.change),
                "overtaken_by": list(self.overtaken_by), "overtook": list(self.overtook), "reason": self.reason,
                "edited": self.edited}


@dataclass
class Diff:
    """The comparison of two snapshots. `items` in B's rank order, then removed items in
    A's rank order; `groups` the groups that changed, in `GROUPS` order."""
    from_name: str
    to_name: str
    groups: list[str]
    items: list[ItemChange]
    scorings: int                    # how many whole-backlog scorings the split took
    edits: list[Edit] = field(default_factory=list)   # what people edited, apart from drift
    _by_key: dict = field(default_factory=dict, repr=False, compare=False)

    def item(self, key: str) -> ItemChange | None:
        if len(self._by_key) != len(self.items):
            self._by_key = {c.key: c for c in self.items}
        return self._by_key.get(key)

    def crossed(self, cut: int) -> tuple[list[ItemChange], list[ItemChange]]:
        """(entered, left) the top `cut` of the ranking."""
        def inside(r):
            return r is not None and r <= cut
        entered = [c for c in self.items if inside(c.rank_to) and not inside(c.rank_from)]
        left = [c for c in self.items if inside(c.rank_from) and not inside(c.rank_to)]
        return entered, left

    def movers(self, limit: int = 10) -> tuple[list[ItemChange], list[ItemChange]]:
        """(up, down): the items ranked in both that climbed, or fell, the most places
        (then by the size of their score change, then key)."""
        both = [c for c in self.items if c.rank_from is not None and c.rank_to is not None]

        def by(c: ItemChange, sign: int):
            return (-sign * (c.rank_from - c.rank_to), -abs(c.score_to - c.score_from), c.key)
        up = sorted((c for c in both if c.rank_to < c.rank_from), key=lambda c: by(c, 1))
        down = sorted((c for c in both if c.rank_to > c.rank_from), key=lambda c: by(c, -1))
        return up[:limit], down[:limit]

    def as_dict(self) -> dict:
        """Shaped like docs/cli.md's `diff --format json`."""
        return {"from": self.from_name, "to": self.to_name, "groups": list(self.groups),
                "edits": [e.as_dict() for e in self.edits], "items": [c.as_dict() for c in self.items]}


# -- which groups changed ---------------------------------------------------------------

def _readable(e: float | None) -> float | None:
    return e if e is not None and math.isfinite(e) and e > 0 else None


def _kpi_def(k: Kpi) -> dict:
    return k.model_dump(exclude={"name"})


def _weights(objectives: list[Objective]) -> dict[str, float]:
    return {o.id: float(o.weight) for o in objectives if o.weight != 0}


def _population(s: Snapshot) -> list[tuple[bool, float]]:
    """What a backlog-wide default effort ("median") can depend on."""
    return sorted((it.status_category == "done", e) for it in s.initiatives
                  if (e := _readable(it.effort)) is not None)


def changed_groups(a: Snapshot, b: Snapshot, common: list[str]) -> set[str]:
    """The groups whose inputs differ in a way that can move a common item's score."""
    ia = {it.key: it for it in a.initiatives}
    ib = {it.key: it for it in b.initiatives}
    out = set()
    if a.currents != b.currents:
        out.add("kpi-values")
    if any((ia[k].links, ia[k].confidence, ia[k].factors) != (ib[k].links, ib[k].confidence, ib[k].factors)
           for k in common):
        out.add("estimates")
    efforts_differ = any(_readable(ia[k].effort) != _readable(ib[k].effort) for k in common)
    defaulted = any(_readable(ia[k].effort) is None or _readable(ib[k].effort) is None for k in common)
    if efforts_differ or (defaulted and _population(a) != _population(b)):
        out.add("effort")
    if _weights(a.objectives) != _weights(b.objectives):
        out.add("objective-weights")
    if [e.model_dump() for e in a.edges] != [e.model_dump() for e in b.edges]:
        out.add("edges")
    ka, kb = {k.id: _kpi_def(k) for k in a.kpis}, {k.id: _kpi_def(k) for k in b.kpis}
    if any(ka[k] != kb[k] for k in ka.keys() & kb.keys()):
        out.add("targets")
    if a.params != b.params:
        out.add("parameters")
    if a.meta.get("calibration") != b.meta.get("calibration"):
        out.add("calibration")
    return out


# -- mixed inputs -----------------------------------------------------------------------

class _Mixer:
    """Builds (and caches) the mixed inputs: each part depends on a few groups only, so
    128 subsets need at most 4 graphs and 4 backlogs."""

    def __init__(self, a: Snapshot, b: Snapshot, ra: Ranking, rb: Ranking, common: list[str]):
        self.side = {False: a, True: b}
        self.ranking = {False: ra, True: rb}
        self.common = common
        self.common_set = set(common)
        self.graphs: dict = {}
        self.backlogs: dict = {}
        self.efforts_used: dict = {}
        self.scorings = 0                # whole-backlog scorings run
        for key, r in ((False, ra), (True, rb)):
            pos = {k: n for n, k in enumerate(r.backlog.keys)}
            self.backlogs[(key, key, key)] = (r.backlog, np.array([pos[k] for k in common], np.int64))
            self.efforts_used[(key, key)] = r.effort
        same_nodes = [o.id for o in a.objectives] == [o.id for o in b.objectives] and \
            [k.id for k in a.kpis] == [k.id for k in b.kpis]
        if same_nodes:           # the mixed graph of one side's targets and edges is its own
            self.graphs[(False, False)], self.graphs[(True, True)] = ra.graph, rb.graph

    def graph(self, targets_b: bool, edges_b: bool) -> GoalGraph:
        """Every objective and KPI of both sides (the targets side's definitions first),
        the edges of the edges side."""
        key = (targets_b, edges_b)
        if key not in self.graphs:
            a, b = self.side[False], self.side[True]
            objectives = list(a.objectives)
            seen = {o.id for o in objectives}
            objectives += [o for o in b.objectives if o.id not in seen]
            t_src, t_other = self.side[targets_b], self.side[not targets_b]
            kpis = list(t_src.kpis)
            seen = {k.id for k in kpis}
            kpis += [k for k in t_other.kpis if k.id not in seen]
            self.graphs[key] = GoalGraph.build(objectives, kpis, self.side[edges_b].edges)
        return self.graphs[key]

    def weights(self, weights_b: bool) -> dict[str, float]:
        """Objective weights of one side; an objective only the other side has weighs 0."""
        ids = [o.id for o in self.side[False].objectives] + [o.id for o in self.side[True].objectives]
        own = {o.id: o.weight for o in self.side[weights_b].objectives}
        return {o: own.get(o, 0.0) for o in ids}

    def backlog(self, estimates_b: bool, effort_b: bool, calibration_b: bool | None = None
                ) -> tuple[Backlog, np.ndarray]:
        """The effort side's items (efforts, status), with the estimate side's links,
        confidence and factors for the common items, scaled by the calibration side's
        factors; and where the common items are in it."""
        key = (estimates_b, effort_b, estimates_b if calibration_b is None else calibration_b)
        if key not in self.backlogs:
            eff, eff_backlog = self.side[effort_b], self.backlogs[(effort_b, effort_b, effort_b)][0]
            est = {it.key: it for it in self.side[estimates_b].initiatives}
            items = [est[it.key] if it.key in self.common_set else it for it in eff.initiatives]
            backlog = dataclasses.replace(backlog_of(self.side[key[2]], items), effort=eff_backlog.effort,
                                          done=eff_backlog.done)
            pos = {it.key: n for n, it in enumerate(items)}
            self.backlogs[key] = (backlog, np.array([pos[k] for k in self.common], np.int64))
        return self.backlogs[key]

    def efforts(self, effort_b: bool, params_b: bool) -> np.ndarray:
        """The efforts the common items are scored with: the effort side's, a default
        filled in by the parameters side over the effort side's backlog, as `rank_backlog`
        resolves it."""
        key = (effort_b, params_b)
        if key not in self.efforts_used:
            backlog, _ = self.backlogs[(effort_b, effort_b, effort_b)]
            side = self.side[params_b]
            self.scorings += 1
            self.efforts_used[key] = rank_backlog(backlog, self.ranking[params_b].graph, side.params,
                                                  side.currents).effort
        return self.efforts_used[key][self.backlogs[(effort_b, effort_b, effort_b)][1]]

    def _run(self, backlog: Backlog, from_b: set[str]) -> Ranking:
        self.scorings += 1
        side = {g: self.side[g in from_b] for g in ("parameters", "kpi-values")}
        return rank_backlog(backlog, self.graph("targets" in from_b, "edges" in from_b),
                            side["parameters"].params, side["kpi-values"].currents,
                            objective_weights=self.weights("objective-weights" in from_b))

    def score(self, from_b: set[str]) -> np.ndarray:
        """S(T) for the common items, T = `from_b`: the mixed input scored as it is."""
        backlog, idx = self.backlog("estimates" in from_b, "effort" in from_b, "calibration" in from_b)
        return self._run(backlog, from_b).score[idx]

    def values(self, G: list[str]) -> np.ndarray:
        """S(T) for every subset T of G, row `mask` for T = the groups of its set bits.

        For kpi-impact, S = round10(I / E) (docs/model.md steps 5-6) where the impact I does
        not depend on the efforts and E only on the effort and parameters groups: so I is
        scored once per subset without `effort` (on a side's own backlog, marked done so
        that nothing is sorted), E once per (effort, parameters) side. The ends are checked
        against the published scores; if the model ever scores otherwise, every subset is
        scored as a whole mixed input instead."""
        subsets = [{G[j] for j in range(len(G)) if m >> j & 1} for m in range(1 << len(G))]
        a, b = self.side[False], self.side[True]
        if a.params.method == b.params.method == "kpi-impact":
            impacts: dict[frozenset, np.ndarray] = {}
            out = np.empty((len(subsets), len(self.common)))
            for m, T in enumerate(subsets):
                base = frozenset(T - {"effort"})
                if base not in impacts:
                    est_b = "estimates" in T
                    own, idx = self.backlog(est_b, est_b, "calibration" in T)
                    quiet = dataclasses.replace(own, effort=self.ranking[est_b].effort,
                                                done=np.ones(len(own), dtype=bool))
                    impacts[base] = self._run(quiet, set(base)).impact[idx]
                out[m] = round10(impacts[base] / self.efforts("effort" in T, "parameters" in T))
            ra, rb = self.ranking[False], self.ranking[True]
            # the ends may differ from the published scores by an ulp when the union of
            # both sides' objectives and KPIs sums in another order; a model that scored
            # otherwise would differ by far more
            if np.allclose(out[0], ra.score[self.backlogs[(False, False, False)][1]], rtol=0, atol=1e-10) and \
                    np.allclose(out[-1], rb.score[self.backlogs[(True, True, True)][1]], rtol=0, atol=1e-10):
                return out
        return np.array([self.score(T) for T in subsets])


# -- the diff ---------------------------------------------------------------------------

def _ranks(r: Ranking) -> dict[str, int]:
    keys = r.backlog.keys
    return {keys[i]: n + 1 for n, i in enumerate(r.ranked.tolist())}


def attribute(a: Snapshot, b: Snapshot, *, groups: tuple[str, ...] | list[str] = GROUPS,
              cap: int = 5) -> Diff:
    """Compare snapshot `a` (from) with `b` (to). `groups` limits the groups considered
    (their order does not matter); `cap` bounds the overtaking lists."""
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise BadInput(f"unknown group(s) {', '.join(sorted(unknown))}; use {', '.join(GROUPS)}")
    ra, rb = rescore(a), rescore(b)
    rank_a, rank_b = _ranks(ra), _ranks(rb)
    common = [k for k in rank_b if k in rank_a]
    changed = changed_groups(a, b, common)
    missing = changed - set(groups)
    if missing:
        raise BadInput(f"group(s) {', '.join(sorted(missing))} changed but were left out; "
                         "the parts would not sum to the change")
    G = [g for g in GROUPS if g in changed]
    mixer = _Mixer(a, b, ra, rb, common)
    values = mixer.values(G) if common and G else np.zeros((1 << len(G), len(common)))
    score_a = dict(zip(ra.backlog.keys, ra.score.tolist()))
    score_b = dict(zip(rb.backlog.keys, rb.score.tolist()))
    parts = shapley(values, len(G)) if G else np.zeros((0, len(common)))
    parts = exact_zeros(parts, np.array([score_a[k] for k in common]), np.array([score_b[k] for k in common]))
    edits = edits_between(a, b)
    edited = {e.key for e in edits}
    overtaking = _overtaking(common, rank_a, cap)
    words = reasons.Words(a, b, ra, rb)
    items: list[ItemChange] = []
    col = {k: n for n, k in enumerate(common)}
    by_item = parts.T.tolist()
    added_ranks = np.array(sorted(r for k, r in rank_b.items() if k not in rank_a))
    removed_ranks = np.array(sorted(r for k, r in rank_a.items() if k not in rank_b))
    r_to_common = np.array([rank_b[k] for k in common], dtype=np.int64)
    r_from_common = np.array([rank_a[k] for k in common], dtype=np.int64)
    added_ahead = np.searchsorted(added_ranks, r_to_common).tolist() if len(added_ranks) else [0] * len(common)
    removed_ahead = np.searchsorted(removed_ranks, r_from_common).tolist() if len(removed_ranks) else [0] * len(common)
    for key, r_to in rank_b.items():
        if key not in col:
            items.append(ItemChange(key, "added", None, r_to, None, score_b[key], edited=key in edited, _words=words))
            continue
        n, r_from = col[key], rank_a[key]
        change = dict(zip(G, by_item[n]))
        s_from, s_to = score_a[key], score_b[key]
        moved = r_from != r_to or s_from != s_to
        up, down = overtaking[key]
        items.append(ItemChange(key, "moved" if moved else "unchanged", r_from, r_to, s_from, s_to, change, up, down,
                                added_ahead[n], removed_ahead[n], edited=key in edited,
                                _words=words))
    for key, r_from in rank_a.items():
        if key not in rank_b:
            items.append(ItemChange(key, "removed", r_from, None, score_a[key], None, edited=key in edited,
                                    _words=words))
    return Diff(a.name, b.name, G, items, mixer.scorings, edits)
