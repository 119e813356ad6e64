"""Did it move the KPI? Outcomes of launched initiatives and each estimator's track record,
shared by `roadmap outcomes` / `roadmap calibration`, the API and the /outcomes page
(docs/model.md, "Outcomes" and "Calibration"; docs/cli.md, "outcomes").

`evaluate` measures every estimated link of every launched initiative with the estimate
frozen before launch (the newest snapshot saved before the launch day; with none, the
estimate first measured, kept in the outcome row; with no row yet, the current one). It
reuses a stored row whenever nothing it depends on changed (its launch, its confounded
group, its estimate, the observations in its windows) and its window has ended, so a new
day of data recomputes only the links still in their post window or newly launched.
`refresh` (run after every sync) stores what changed; reads never write.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np

from app.services import Workspace
from app.store import outcomes as so
from scoring.errors import NotFound
from scoring.model import Initiative
from scoring.outcomes import Calibration, LaunchedLink, OutcomeParams, Resolved, calibrate, measure_links
from scoring.outcomes.measure import EPOCH, RESOLVED, confounded_groups

MEASURED_COLUMNS = ("verdict", "reason", "realised", "realised_low", "realised_high", "se", "observed",
                    "expected_level", "placebos", "group_keys", "group_expected", "post_start", "post_end")


def params(ws: Workspace) -> OutcomeParams:
    o = ws.settings.outcomes
    return OutcomeParams(post_days=o.post_days, ramp_days=o.ramp_days, pre_days=o.pre_days,
                         placebos=o.placebos, level=o.level)


def estimator_of(link, item) -> str:
    """Who made an estimate: the link's `by`, else the initiative's estimator, else
    "unknown"; compared case-insensitively, so kept in lower case."""
    name = getattr(link, "by", None) or getattr(item, "estimator", None) or "unknown"
    return str(name).strip().lower() or "unknown"


@dataclass
class Estimate:
    key: str
    kpi: str
    estimator: str
    launched_on: date
    low: float | None           # relative lift (absolute estimates converted at launch)
    high: float | None
    confidence: float
    snapshot: str               # where the estimate was frozen ("" = first measured)
    reason: str = ""            # why it cannot be measured before looking at data

    @property
    def lift(self) -> float | None:
        return None if self.low is None or self.high is None else (self.low + self.high) / 2

    @property
    def expected(self) -> float | None:
        return None if self.lift is None else self.lift * self.confidence


@dataclass
class Evaluation:
    as_of: date
    params: OutcomeParams
    rows: list[dict]
    counts: dict = field(default_factory=dict)


def _estimates(ws: Workspace, items: list[Initiative], stored: dict, series_at_launch) -> list[Estimate]:
    """Each launched item's estimates as frozen before launch."""
    frozen = so.FrozenEstimates(ws.store)
    kpis = {k.id: k for k in ws.settings.kpis}
    default_c = ws.settings.scoring.default_confidence
    by_key: dict[str, list[dict]] = {}
    for r in stored.values():
        by_key.setdefault(r["key"], []).append(r)
    out: list[Estimate] = []
    for item in items:
        launch = item.launch_date
        kept = [r for r in by_key.get(item.key, []) if r["launched_on"] == launch]
        if kept:          # measured before with this launch: its frozen estimate stays
            out += [Estimate(r["key"], r["kpi"], r["estimator"], launch, r["low"], r["high"],
                             r["confidence"] if r["confidence"] is not None else default_c, r["snapshot"])
                    for r in kept]
            continue
        got = frozen.before(item.key, launch)
        source, snap = (got[0], got[1]) if got else (item, "")
        per: dict[tuple[str, str], Estimate] = {}
        for ln in source.links:
            if ln.low is None:
                continue
            c = ln.confidence if ln.confidence is not None else (
                source.confidence if source.confidence is not None else default_c)
            low, high, reason = ln.low, ln.high if ln.high is not None else ln.low, ""
            if ln.unit in ("pp", "pt"):
                base = series_at_launch(ln.kpi, launch)
                if base is None:
                    base = kpis[ln.kpi].baseline if ln.kpi in kpis else None
                if not base:
                    low = high = None
                    reason = f"the absolute estimate on '{ln.kpi}' has no KPI value at launch to convert it"
                else:
                    low, high = sorted((low / base, high / base))
            if ln.kpi not in kpis:
                reason = f"KPI '{ln.kpi}' is not defined in the config"
            est = estimator_of(ln, source)
            per[(ln.kpi, est)] = Estimate(item.key, ln.kpi, est, launch, low, high, float(c), snap, reason)
        out += per.values()
    return out


def _digest(day: np.ndarray, value: np.ndarray, since: int, until: int) -> str:
    keep = (day >= since) & (day <= until)
    h = hashlib.sha256(day[keep].tobytes())
    h.update(value[keep].tobytes())
    return h.hexdigest()[:32]


def evaluate(ws: Workspace, as_of: date | None = None, *, write: bool = False, force: bool = False,
             key: str | None = None) -> Evaluation:
    """Every launched estimate's outcome on `as_of` (reusing stored rows that still hold).
    With `write`, recomputed rows are stored and rows no longer launched are retired."""
    as_of = ws.as_of(as_of)
    p = params(ws)
    store = ws.store
    stored = {(r["key"], r["kpi"], r["estimator"]): r for r in so.rows(store, active_only=False)}
    items = so.launched(store)
    span = p.pre_days + p.placebos * 7 + 2 * (p.post_days + p.ramp_days)
    launches = [it.launch_date for it in items]
    kpi_names = sorted({ln.kpi for it in items for ln in it.links} | {r[1] for r in stored})
    first = min(launches, default=as_of)
    # the series from a year before the first pre window (from the calendar's start, for an as_of near year 1)
    since = first - timedelta(days=span + 366) if first.toordinal() > span + 366 else date.min
    data = so.series(store, kpi_names, since, as_of) if items else {}
    empty = (np.zeros(0, np.int64), np.zeros(0))

    def at_launch(kpi: str, launch: date) -> float | None:
        d, v = data.get(kpi, empty)
        n = int(np.searchsorted(d, (launch - EPOCH).days))       # the newest day before launch
        return float(v[n - 1]) if n > 0 else None

    estimates = _estimates(ws, items, stored, at_launch)
    measurable = [e for e in estimates if e.lift is not None and not e.reason]
    pooled: dict[tuple[str, str], list[Estimate]] = {}
    for e in measurable:
        pooled.setdefault((e.key, e.kpi), []).append(e)
    links = [LaunchedLink(k, kpi, es[0].launched_on, float(np.mean([e.expected for e in es])))
             for (k, kpi), es in pooled.items()]
    now = datetime.now(timezone.utc)
    rows: list[dict] = []
    fresh: list[dict] = []
    kept = recomputed = 0
    for group in confounded_groups(links, p.post_days + p.ramp_days):
        members = [links[n] for n in group]
        keys = list(dict.fromkeys(m.key for m in members))
        start = min(m.launched_on for m in members)
        length = (max(m.launched_on for m in members) - start).days + p.post_days if len(keys) > 1 else p.post_days
        first = (start - EPOCH).days - (length + p.ramp_days) - 7 * max(p.placebos - 1, 0) - p.pre_days
        last = min((as_of - EPOCH).days, (start - EPOCH).days + p.ramp_days + length - 1)
        d, v = data.get(members[0].kpi, empty)
        digest = _digest(d, v, first, last)
        group_keys = " ".join(keys) if len(keys) > 1 else ""
        ests = [e for m in members for e in pooled[(m.key, m.kpi)]]
        old = [stored.get((e.key, e.kpi, e.estimator)) for e in ests]
        if not force and all(
                o is not None and o["launched_on"] == e.launched_on and o["group_keys"] == group_keys
                and o["obs_digest"] == digest and o["verdict"] != "measuring" and o["active"]
                and o["post_end"] is not None and o["post_end"] <= as_of
                and (o["low"], o["high"], o["confidence"]) == (e.low, e.high, e.confidence)
                for o, e in zip(old, ests)):
            rows += [dict(o) for o in old]
            kept += len(ests)
            continue
        got = measure_links(members, {members[0].kpi: (d, v)}, as_of=as_of, params=p)
        by_link = {(g.link.key, g.link.kpi): g for g in got}
        for e in ests:
            g = by_link[(e.key, e.kpi)]
            m = g.measure
            row = _row(e, as_of, now, digest, date.fromordinal(EPOCH.toordinal() + last) if last >= first else None)
            row.update(verdict=g.verdict, reason=m.reason, realised=m.realised, realised_low=m.low,
                       realised_high=m.high, se=m.se, observed=m.observed, expected_level=m.expected_level,
                       placebos=m.placebos, group_keys=" ".join(g.group) if g.group else "",
                       group_expected=g.group_expected, post_start=m.post_start, post_end=m.post_end)
            rows.append(row)
            fresh.append(row)
            recomputed += 1
    for e in estimates:
        if e.lift is None or e.reason:
            row = _row(e, as_of, now, "", None)
            row.update(verdict="not-measurable", reason=e.reason)
            rows.append(row)
            old = stored.get((e.key, e.kpi, e.estimator))
            if old is None or old["verdict"] != "not-measurable" or old["reason"] != e.reason or not old["active"]:
                fresh.append(row)
    current = {(r["key"], r["kpi"], r["estimator"]) for r in rows}
    retired = [k for k, r in stored.items() if r["active"] and k not in current]
    if write:
        so.write(store, fresh, retired)
    if key is not None:
        rows = [r for r in rows if r["key"] == key]
    rows.sort(key=lambda r: (-r["launched_on"].toordinal(), r["key"], r["kpi"], r["estimator"]))
    counts = {"launched": len(items), "estimates": len(estimates), "recomputed": recomputed, "kept": kept,
              "retired": len(retired)}
    return Evaluation(as_of, p, rows, counts)


def _row(e: Estimate, as_of: date, now: datetime, digest: str, through: date | None) -> dict:
    return {"key": e.key, "kpi": e.kpi, "estimator": e.estimator, "launched_on": e.launched_on,
            "snapshot": e.snapshot, "low": e.low, "high": e.high, "confidence": e.confidence,
            "expected": e.expected, "verdict": "not-measurable", "reason": "", "realised": None,
            "realised_low": None, "realised_high": None, "se": None, "observed": None, "expected_level": None,
            "placebos": 0, "group_keys": "", "group_expected": None, "post_start": None, "post_end": None,
            "obs_through": through, "obs_digest": digest, "as_of": as_of, "computed_at": now, "active": True}


def refresh(ws: Workspace, as_of: date | None = None, *, force: bool = False) -> dict:
    """Recompute and store what new observations or launches change (after a sync)."""
    return evaluate(ws, as_of, write=True, force=force).counts


def _num(x):
    return None if x is None else float(x)


def link_json(r: dict, title: str = "") -> dict:
    lift = None if r["low"] is None or r["high"] is None else (r["low"] + r["high"]) / 2
    return {"key": r["key"], "title": title, "kpi": r["kpi"], "estimator": r["estimator"],
            "launched_on": r["launched_on"].isoformat(), "expected": _num(r["expected"]), "lift": _num(lift),
            "range": [r["low"], r["high"]] if r["low"] is not None and r["low"] != r["high"] else None,
            "confidence": _num(r["confidence"]), "realised": _num(r["realised"]), "low": _num(r["realised_low"]),
            "high": _num(r["realised_high"]), "se": _num(r["se"]), "verdict": r["verdict"], "reason": r["reason"],
            "group": r["group_keys"].split() if r["group_keys"] else None, "placebos": int(r["placebos"] or 0),
            "estimate_from": r["snapshot"] or None,
            "post_start": r["post_start"].isoformat() if r["post_start"] else None,
            "post_end": r["post_end"].isoformat() if r["post_end"] else None}


def outcomes(ws: Workspace, as_of: date | None = None, key: str | None = None) -> dict:
    """`outcomes --format json`: each launched initiative's estimated links."""
    ev = evaluate(ws, as_of, key=key)
    if key is not None and not ev.rows:
        raise NotFound(f"no launched initiative '{key}' with an estimate; an initiative is launched on its "
                       "launched_on date, or the day it became done")
    texts = ws.store.texts(sorted({r["key"] for r in ev.rows}))
    return {"as_of": ev.as_of.isoformat(), "level": ev.params.level,
            "links": [link_json(r, texts.get(r["key"], ("",))[0]) for r in ev.rows]}


def resolved_records(rows: list[dict]) -> list[Resolved]:
    return [Resolved(r["estimator"], r["expected"], r["realised"], r["se"], r["confidence"], r["verdict"],
                     r["low"], r["high"])
            for r in rows if r["verdict"] in RESOLVED and not r["group_keys"] and r["expected"] is not None]


def calibration_model(ws: Workspace, as_of: date | None = None, rows: list[dict] | None = None) -> Calibration:
    rows = evaluate(ws, as_of).rows if rows is None else rows
    return calibrate(resolved_records(rows), prior_sd=ws.settings.calibration.prior_sd)


def visible_to(person, estimator: str) -> bool:
    """A person's card is theirs, a planner's or an admin's to see."""
    return person.can("planner") or person.name.strip().lower() == estimator


def calibration(ws: Workspace, person=None, rows: list[dict] | None = None) -> dict:
    """`calibration --format json`; `person` (app.auth.Person) sees only the cards they may."""
    cal = calibration_model(ws, rows=rows)
    out = cal.as_dict()
    if person is not None:
        out["estimators"] = [e for e in out["estimators"] if visible_to(person, e["estimator"])]
    return out


def outcomes_summary(ws: Workspace) -> str:
    """One line on what launched initiatives did and whose estimates to trust (the demo's
    first run, say)."""
    rows = evaluate(ws).rows
    if not rows:
        return "outcomes: nothing launched with an estimate yet"
    n = {v: sum(r["verdict"] == v for r in rows) for v in ("moved", "no-detectable-move", "measuring")}
    cal = calibration_model(ws, rows=rows)
    who = ", ".join(f"{e.estimator} x{e.factor:.2f}" for e in cal.estimators)
    return (f"outcomes: {len({r['key'] for r in rows})} launched, {n['moved']} estimates moved their KPI, "
            f"{n['no-detectable-move']} did not, {n['measuring']} still measuring; track records: "
            f"{who or 'none yet'} (`roadmap outcomes`, `roadmap calibration`, /outcomes)")
