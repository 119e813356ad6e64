"""The edits people made between two snapshots, apart from drift (docs/model.md, "What
moved, and why"): an estimate, an effort, a status, a team, an objective's weight, an
edge, a KPI's target (or another field of its definition), a scoring parameter; listed
whether or not they moved anything. Drift (new KPI values, the passing of time, i.e.
`as_of`) is never an edit.

Each edit is `{key, group, field, from, to, by}`: `key` the initiative, KPI, objective or
edge (`from -> to`) edited; `group` the group of inputs its change is attributed to
(`estimates`, `effort`, `objective-weights`, `edges`, `targets`, `parameters`, or
`backlog` for a status or a team, which move no score but decide what is ranked and
planned); `field` what was edited (`link:<kpi>` for an estimate, `confidence`,
`factor:<name>`, `effort`, `status`, `team`, `weight`, `target`, ...); `from`/`to` the
values as people write them (None for absent); `by` the estimator of an estimate when
the estimate names one, else None.

>>> from datetime import date
>>> from scoring.model import Initiative, Link
>>> from scoring.ranking import ScoringParams
>>> from scoring.changes.snapshot import snapshot_of
>>> p = ScoringParams(as_of=date(2026, 7, 2))
>>> a = snapshot_of([Initiative(key="A", effort=2, links=(Link(kpi="act", low=0.05, high=0.05),))], [], [], [], {}, p)
>>> b = snapshot_of([Initiative(key="A", effort=3, links=(Link(kpi="act", low=0.08, high=0.08),))], [], [], [], {}, p)
>>> [(e.key, e.field, e.from_, e.to) for e in edits_between(a, b)]
[('A', 'link:act', '+5 %', '+8 %'), ('A', 'effort', 2.0, 3.0)]
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from scoring.model import Initiative, Link
from scoring.changes.snapshot import Snapshot

DRIFT_PARAMS = ("as_of",)          # the passing of time: never an edit
KPI_FIELDS = ("target", "baseline", "start", "deadline", "direction", "unit", "window_days", "aggregate")


@dataclass(frozen=True)
class Edit:
    key: str
    group: str
    field: str
    from_: object
    to: object
    by: str | None = None

    def as_dict(self) -> dict:
        return {"key": self.key, "group": self.group, "field": self.field, "from": _plain(self.from_),
                "to": _plain(self.to), "by": self.by}


def _plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def _num(v: float) -> str:
    return f"{v:.4g}"


def lift_text(ln: Link | None) -> str | None:
    """An estimate as people write it: `+5 %`, `+2pp`, `-3..+5 % @70 %`, `unestimated`."""
    if ln is None:
        return None
    if ln.low is None or ln.high is None:
        return "unestimated"

    def one(v: float) -> str:
        if ln.unit == "pp":
            return f"{v * 100:+.3g}pp"
        if ln.unit == "pt":
            return f"{v:+.3g}pt"
        return f"{v * 100:+.3g} %"
    text = one(ln.low) if ln.low == ln.high else f"{one(ln.low)}..{one(ln.high)}"
    if ln.confidence is not None:
        text += f" @{ln.confidence * 100:.3g} %"
    return text


def _by(ln: Link | None, item: Initiative) -> str | None:
    """Who made an estimate: the link's estimator, else the item's, when either is known."""
    for who in (getattr(ln, "by", None), getattr(item, "estimator", None)):
        if isinstance(who, str) and who and who != "unknown":
            return who
    return None


def _link_key(ln: Link) -> tuple[str, str]:
    by = getattr(ln, "by", None)
    return ln.kpi, (by or "").lower() if isinstance(by, str) else ""


def item_edits(a: Initiative, b: Initiative) -> list[Edit]:
    """The fields of one initiative a person edited, estimates first."""
    out: list[Edit] = []
    key = b.key
    la = {_link_key(ln): ln for ln in a.links}
    lb = {_link_key(ln): ln for ln in b.links}
    for lk in list(lb) + [k for k in la if k not in lb]:
        old, new = la.get(lk), lb.get(lk)
        if old != new:
            out.append(Edit(key, "estimates", f"link:{lk[0]}", lift_text(old), lift_text(new),
                            _by(new or old, b if new else a)))
    if a.confidence != b.confidence:
        out.append(Edit(key, "estimates", "confidence", a.confidence, b.confidence, _by(None, b)))
    for f in sorted(set(a.factors) | set(b.factors)):
        fa, fb = a.factors.get(f), b.factors.get(f)
        if fa != fb and not (fa != fa and fb != fb):          # NaN means "not given" on both sides
            out.append(Edit(key, "estimates", f"factor:{f}", fa, fb, _by(None, b)))
    if a.effort != b.effort:
        out.append(Edit(key, "effort", "effort", a.effort, b.effort))
    if a.status != b.status or a.status_category != b.status_category:
        out.append(Edit(key, "backlog", "status", a.status or a.status_category, b.status or b.status_category))
    if a.team != b.team:
        out.append(Edit(key, "backlog", "team", a.team or None, b.team or None))
    if a.mandatory != b.mandatory:
        out.append(Edit(key, "backlog", "mandatory", a.mandatory, b.mandatory))
    if a.blocked_by != b.blocked_by:
        out.append(Edit(key, "backlog", "blocked_by", ", ".join(a.blocked_by) or None, ", ".join(b.blocked_by) or None))
    return out


def edits_between(a: Snapshot, b: Snapshot) -> list[Edit]:
    """Every edit from `a` to `b`: items (in key order) for the keys in both, then
    objective weights, edges, KPI definitions and scoring parameters. New KPI values and
    a later `as_of` are drift, not edits."""
    out: list[Edit] = []
    ia = {it.key: it for it in a.initiatives}
    for it in b.initiatives:
        old = ia.get(it.key)
        if old is not None and old != it:
            out += item_edits(old, it)
    wa = {o.id: o.weight for o in a.objectives}
    wb = {o.id: o.weight for o in b.objectives}
    for o in list(wb) + [o for o in wa if o not in wb]:
        if wa.get(o) != wb.get(o):
            out.append(Edit(o, "objective-weights", "weight", wa.get(o), wb.get(o)))
    ea = {(e.source, e.target): e.weight for e in a.edges}
    eb = {(e.source, e.target): e.weight for e in b.edges}
    for st in list(eb) + [st for st in ea if st not in eb]:
        if ea.get(st) != eb.get(st):
            out.append(Edit(f"{st[0]} -> {st[1]}", "edges", "weight", ea.get(st), eb.get(st)))
    ka = {k.id: k for k in a.kpis}
    for k in b.kpis:
        old = ka.get(k.id)
        if old is None:
            continue
        for f in KPI_FIELDS:
            va, vb = getattr(old, f), getattr(k, f)
            if va != vb:
                out.append(Edit(k.id, "targets", f, va, vb))
    pa, pb = dataclasses.asdict(a.params), dataclasses.asdict(b.params)
    for f in pb:
        if f not in DRIFT_PARAMS and pa.get(f) != pb.get(f):
            out.append(Edit("parameters", "parameters", f, pa.get(f), pb.get(f)))
    return out
