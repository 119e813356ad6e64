"""One-line reasons for a diff's items, in words: the largest parts of an item's score
change, each with what changed in that group for this item ("#14 -> #3: kpi-values
+0.12 (activation fell further behind), estimates +0.05 (activation +5 % -> +8 %)").
"""
from __future__ import annotations

import dataclasses

import networkx as nx

from scoring.model import Initiative, Link
from scoring.ranking import Ranking
from scoring.changes.snapshot import Snapshot

SHOWN_PARTS = 3        # groups named per reason
SHOWN_DETAILS = 2      # details named per group


def _num(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _lift(ln: Link, confidence: bool = True) -> str:
    if ln.low is None or ln.high is None:
        return "unestimated"
    unit = getattr(ln, "unit", "")

    def one(v: float) -> str:
        if unit == "pp":
            return f"{v * 100:+.3g}pp"
        if unit == "pt":
            return f"{v:+.3g}pt"
        return f"{v * 100:+.3g} %"
    text = one(ln.low) if ln.low == ln.high else f"{one(ln.low)}..{one(ln.high)}"
    if confidence and ln.confidence is not None:
        text += f" @{ln.confidence * 100:.3g} %"
    return text


def _limit(details: list[str]) -> str:
    more = len(details) - SHOWN_DETAILS
    return ", ".join(details[:SHOWN_DETAILS]) + (f" and {more} more" if more > 0 else "")


class Words:
    """Describes changes between snapshots `a` and `b` (with their rankings)."""

    def __init__(self, a: Snapshot, b: Snapshot, ra: Ranking, rb: Ranking):
        self.a, self.b, self.ra, self.rb = a, b, ra, rb
        self.ia = {it.key: it for it in a.initiatives}
        self.ib = {it.key: it for it in b.initiatives}
        self._paths: dict[frozenset, set[str]] = {}
        self._reach: dict[str, set[str]] | None = None
        self._texts: dict[tuple, str] = {}
        self._links: dict[str, frozenset] = {}
        self.kpi_changes = {k for k in set(a.currents) | set(b.currents) if a.currents.get(k) != b.currents.get(k)}
        self.edge_changes = self._edge_changes()
        self.target_changes = self._target_changes()
        wa = {o.id: o.weight for o in a.objectives}
        wb = {o.id: o.weight for o in b.objectives}
        self.weight_changes = [f"{o} weight {_num(float(wa.get(o, 0)))} -> {_num(float(wb.get(o, 0)))}"
                               for o in list(wb) + [o for o in wa if o not in wb] if wa.get(o, 0) != wb.get(o, 0)]
        pa, pb = dataclasses.asdict(a.params), dataclasses.asdict(b.params)
        self.param_changes = [f"{k} {_num(pa.get(k))} -> {_num(pb.get(k))}" for k in pb if pa.get(k) != pb.get(k)]

    # -- whole-snapshot changes, each tagged with the KPI it concerns --------------------
    def _edge_changes(self) -> list[tuple[str, str]]:
        ea = {(e.source, e.target): e.weight for e in self.a.edges}
        eb = {(e.source, e.target): e.weight for e in self.b.edges}
        out = []
        for (s, t), w in eb.items():
            if (s, t) not in ea:
                out.append((s, f"new edge {s} -> {t} ({_num(w)})"))
            elif ea[(s, t)] != w:
                out.append((s, f"{s} -> {t} {_num(ea[(s, t)])} -> {_num(w)}"))
        out += [(s, f"edge {s} -> {t} removed") for (s, t) in ea if (s, t) not in eb]
        return out

    def _target_changes(self) -> list[tuple[str, str]]:
        ka = {k.id: k.model_dump(exclude={"name", "id"}) for k in self.a.kpis}
        out = []
        for k in self.b.kpis:
            old = ka.get(k.id)
            if old is None:
                continue
            new = k.model_dump(exclude={"name", "id"})
            out += [(k.id, f"{k.id} {f} {_num(old[f])} -> {_num(new[f])}") for f in new if old.get(f) != new[f]]
        return out

    def _descendants(self) -> dict[str, set[str]]:
        """For every node of either graph, the nodes it reaches (one reverse-topological pass)."""
        if self._reach is None:
            reach: dict[str, set[str]] = {}
            for r in (self.ra, self.rb):
                g = r.graph.graph
                for node in reversed(list(nx.topological_sort(g))):
                    found = reach.setdefault(node, set())
                    for p in g.successors(node):
                        found.add(p)
                        found |= reach.get(p, set())
            self._reach = reach
        return self._reach

    def _linked(self, key: str) -> frozenset:
        got = self._links.get(key)
        if got is None:
            got = self._links[key] = frozenset(ln.kpi for it in (self.ia.get(key), self.ib.get(key)) if it
                                               for ln in it.links)
        return got

    def _on_paths(self, linked: frozenset) -> set[str]:
        """The KPIs these links reach, in either snapshot's graph."""
        if linked not in self._paths:
            reach = self._descendants()
            found = set(linked)
            for k in linked:
                found |= reach.get(k, set())
            self._paths[linked] = found
        return self._paths[linked]

    # -- per group, for one item --------------------------------------------------------
    def _kpi_values(self, linked: frozenset) -> list[str]:
        out = []
        sa, sb = self.ra.states, self.rb.states
        for k in sorted(self._on_paths(linked) & self.kpi_changes,
                        key=lambda k: (-abs(sb[k].urgency - sa[k].urgency) if k in sa and k in sb else 0, k)):
            if k not in sa or k not in sb:
                continue
            a, b = sa[k], sb[k]
            if b.status == "met" and a.status != "met":
                out.append(f"{k} met its target")
            elif a.status == "met" and b.status != "met":
                out.append(f"{k} fell below its target")
            elif b.urgency > a.urgency:
                out.append(f"{k} fell further behind")
            elif b.urgency < a.urgency:
                out.append(f"{k} caught up")
            else:
                out.append(f"{k} {_num(a.current)} -> {_num(b.current)}")
        return out

    def _estimates(self, key: str) -> list[str]:
        a, b = self.ia[key], self.ib[key]
        out = []
        # one estimate per KPI and person (several estimators: docs/model.md "Several estimators")
        la = {(ln.kpi, (ln.by or "").casefold()): ln for ln in a.links}
        lb = {(ln.kpi, (ln.by or "").casefold()): ln for ln in b.links}
        for (k, who), ln in lb.items():
            by = f" by {ln.by}" if ln.by else ""
            if (k, who) not in la:
                out.append(f"{k} {_lift(ln)}{by} added")
            elif la[(k, who)] != ln:
                same_confidence = la[(k, who)].confidence == ln.confidence
                out.append(f"{k} {_lift(la[(k, who)], not same_confidence)} -> {_lift(ln, not same_confidence)}{by}")
        out += [f"{k} link dropped" if not ln.by else f"{k} estimate by {ln.by} dropped"
                for (k, who), ln in la.items() if (k, who) not in lb]
        if a.confidence != b.confidence:
            out.append(f"confidence {_num(a.confidence)} -> {_num(b.confidence)}")
        out += [f"{f} {_num(a.factors.get(f))} -> {_num(b.factors.get(f))}"
                for f in sorted(set(a.factors) | set(b.factors)) if a.factors.get(f) != b.factors.get(f)]
        return out

    def _effort(self, key: str) -> list[str]:
        def used(r: Ranking) -> str:
            i = r.index_of(key)
            text = _num(float(r.effort[i]))
            return text if r.effort_given[i] else f"{text} (default)"
        return [f"effort {used(self.ra)} -> {used(self.rb)}"]

    def _about_paths(self, linked: frozenset, changes: list[tuple[str, str]]) -> list[str]:
        on = self._on_paths(linked)
        mine = [text for k, text in changes if k in on]
        return mine or [text for _k, text in changes]

    def detail(self, group: str, key: str) -> str:
        """What changed in `group` for this item, in words (shared by items with the same links)."""
        if group in ("kpi-values", "edges", "targets"):
            linked = self._linked(key)
            cache_key = (group, linked)
            if cache_key not in self._texts:
                d = self._kpi_values(linked) if group == "kpi-values" else \
                    self._about_paths(linked, self.edge_changes if group == "edges" else self.target_changes)
                self._texts[cache_key] = _limit(d)
            return self._texts[cache_key]
        if group == "estimates":
            return _limit(self._estimates(key))
        if group == "effort":
            return _limit(self._effort(key))
        if group == "calibration":
            return "the estimators' track-record factors changed"
        return _limit(self.weight_changes if group == "objective-weights" else self.param_changes)

    # -- the reasons ----------------------------------------------------------------------
    def moved(self, c) -> str:
        head = f"#{c.rank_from} -> #{c.rank_to}" if c.rank_from != c.rank_to else f"stays #{c.rank_to}"
        parts = sorted(((p, g) for g, p in c.change.items() if p != 0), key=lambda x: -abs(x[0]))
        # (a part below 1e-9 of the score is an exact zero: rounding is not a cause)
        words = []
        for p, g in parts[:SHOWN_PARTS]:
            d = self.detail(g, c.key)
            words.append(f"{g} {p:+.3g}" + (f" ({d})" if d else ""))
        if not words:
            if c.rank_from == c.rank_to:
                return f"{head}: unchanged"
            words.append("score unchanged")
        if c.rank_from != c.rank_to:
            if c.added_ahead:
                words.append(f"{c.added_ahead} new item{'s' * (c.added_ahead > 1)} ahead")
            if c.removed_ahead:
                words.append(f"{c.removed_ahead} item{'s' * (c.removed_ahead > 1)} ahead gone")
            if c.overtaken_by:
                words.append("overtaken by " + ", ".join(c.overtaken_by[:3]))
            if c.overtook and not parts:
                words.append("passed " + ", ".join(c.overtook[:3]))
        return f"{head}: " + ", ".join(words)

    def added(self, key: str, rank: int) -> str:
        old = self.ia.get(key)
        if old is not None and old.status_category == "done":
            return f"reopened, now #{rank}"
        return f"new at #{rank}"

    def removed(self, key: str, rank: int) -> str:
        new: Initiative | None = self.ib.get(key)
        if new is not None and new.status_category == "done":
            return f"done (was #{rank})"
        return f"left the backlog (was #{rank})"

