"""Use cases shared by the CLI and the web: sync, ranking, explain, kpis, check.

Everything here reads the settings and the store and hands plain dicts or result objects
to the views; nothing here prints or knows HTTP.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property

import numpy as np

from app.config import Settings
from app.store import Store
from scoring.goals import alignment as al
from scoring import explain as ex
from scoring.errors import BadInput
from scoring.goals.graph import GoalGraph, GraphError
from scoring.goals.progress import Current
from scoring.ranking import Ranking, ScoringParams, kpi_states, rank_backlog


@dataclass
class Workspace:
    """A loaded config with its store; the graph is validated on first use."""
    settings: Settings
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.database_url)
        return self._store

    @cached_property
    def graph(self) -> GoalGraph:
        """The goal graph; raises GraphError (cycle, unknown node) when it cannot be scored.
        Kept in the config cache with the settings it was built from (app/config_cache.py)."""
        from app import config_cache
        s = self.settings
        cached = config_cache.graph_of(s)
        if cached is not None:
            return cached
        graph = GoalGraph.build(s.objectives, list(s.kpis), s.edges)
        config_cache.remember_graph(s, graph)
        return graph

    @cached_property
    def config_digest(self) -> str:
        """The hash of the config's inputs to the ranking (app/ranking_inputs.py)."""
        from app import config_cache
        from app.ranking_inputs import config_digest
        return config_cache.digest_of(self.settings) or config_digest(self.settings)

    def analysis_key(self, kind: str, *parts) -> str:
        """The key a plan or a risk analysis is stored under (app/store/analyses.py): the
        config's inputs to the ranking, its planning and uncertainty sections, and `parts`
        (the store's cache version, the date, the request)."""
        from app.store.analyses import key_of
        s = self.settings
        ends = [str(s.planning.end_of(p)) for p in s.planning.periods]     # not in the dump
        return key_of(kind, self.config_digest, s.planning.model_dump(mode="json"), ends,
                      s.uncertainty.model_dump(mode="json"), *parts)

    def as_of(self, override: date | None = None) -> date:
        return override or self.settings.scoring.as_of or datetime.now(timezone.utc).date()

    def params(self, as_of: date | None = None, method: str | None = None) -> ScoringParams:
        sc = self.settings.scoring
        return ScoringParams(as_of=self.as_of(as_of), method=method or sc.method, urgency=sc.urgency,
                             met_target_factor=sc.met_target_factor,
                             default_confidence=sc.default_confidence, default_effort=sc.default_effort)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def currents(ws: Workspace, as_of: date) -> dict[str, Current]:
    """Each KPI's current value at `as_of`, over its configured window (docs/model.md)."""
    return ws.store.currents(as_of, {k.id: (k.window_days, k.aggregate) for k in ws.settings.kpis})


def ranking(ws: Workspace, *, as_of: date | None = None, method: str | None = None,
            include_done: bool = False, objective_weights: dict[str, float] | None = None,
            calibrated: bool | None = None) -> Ranking:
    """The ranking: the published one, read from the store (app/services/published.py),
    unless objective weights change it or it is calibrated (`calibrated`, default
    `[calibration] apply`, scales every estimate by its estimator's track-record factor
    first: docs/model.md, "Calibration"), which are scored here."""
    if objective_weights is None and not calibration_wanted(ws, calibrated):
        from app.services import published
        return published.ranking(ws, as_of=as_of, method=method, include_done=include_done)
    return compute_ranking(ws, as_of=as_of, method=method, include_done=include_done,
                           objective_weights=objective_weights, calibrated=calibrated)


def compute_ranking(ws: Workspace, *, as_of: date | None = None, method: str | None = None,
                    include_done: bool = False, objective_weights: dict[str, float] | None = None,
                    calibrated: bool | None = None) -> Ranking:
    """Load the backlog and score it (what the published ranking stores)."""
    params = ws.params(as_of, method)
    backlog = ws.store.load_backlog(include_done=include_done, factors=params.method != "kpi-impact")
    from app.services.estimates import merged
    backlog = merged(ws, backlog)       # estimates kept in the store, as more estimators
    applied = None
    if calibration_wanted(ws, calibrated):
        from app.services import calibrated as cb
        backlog, applied = cb.apply(ws, backlog)
    r = rank_backlog(backlog, ws.graph, params, currents(ws, params.as_of),
                     objective_weights=objective_weights, include_done=include_done)
    if applied is not None:
        r.calibration = applied       # type: ignore[attr-defined]  (read by calibrated.annotate)
    return r


def calibration_wanted(ws: Workspace, calibrated: bool | None) -> bool:
    return ws.settings.calibration.apply if calibrated is None else bool(calibrated)


def kpis(ws: Workspace, as_of: date | None = None) -> dict:
    """Each KPI: current value and its date, target, progress vs expected, status, urgency."""
    params = ws.params(as_of)
    now = currents(ws, params.as_of)
    states = kpi_states(_graph_or_flat(ws), now, params)
    out = []
    for k in ws.settings.kpis:
        st = states[k.id]
        out.append({"id": k.id, "name": k.name or k.id, "unit": k.unit, "direction": k.direction,
                    "current": st.current, "current_date": st.current_date.isoformat() if st.current_date else None,
                    "window": now[k.id].window if k.id in now else None,
                    "baseline": k.baseline, "target": k.target, "progress": st.progress,
                    "expected_progress": st.expected_progress, "status": st.status, "urgency": st.urgency})
    return {"as_of": params.as_of.isoformat(), "kpis": out}


def _graph_or_flat(ws: Workspace):
    """Per-KPI views need only the KPI list, so they work on a graph that cannot be scored."""
    try:
        return ws.graph
    except GraphError:
        return GoalGraph(ws.settings.objectives, list(ws.settings.kpis), [], None, [])  # type: ignore[arg-type]


def check(ws: Workspace, as_of: date | None = None) -> dict:
    """The alignment findings and the effort-vs-weight allocation (docs/cli.md `check`)."""
    s = ws.settings
    params = ws.params(as_of)
    rules = al.AlignmentRules(as_of=params.as_of, stale_days=s.alignment.stale_days,
                              max_kpis_per_objective=s.alignment.max_kpis_per_objective,
                              allocation_tolerance=s.alignment.allocation_tolerance)
    now = currents(ws, params.as_of)
    problems = s.graph_problems()
    findings = al.problem_findings(problems)
    alloc: list[dict] = []
    if problems:
        states = kpi_states(_graph_or_flat(ws), now, params)
        findings += al.kpi_findings(list(s.kpis), states, rules)
    else:
        from app.services import estimates
        r = rank_backlog(estimates.merged(ws, ws.store.load_backlog()), ws.graph,
                         ScoringParams(**{**params.__dict__, "method": "kpi-impact"}), now)
        findings += al.disagreement_findings(discuss(ws, r))
        findings += al.graph_findings(ws.graph, rules)
        findings += al.kpi_findings(list(s.kpis), r.states, rules)
        findings += al.initiative_findings(r)
        findings += al.data_quality_findings(r)
        alloc = al.allocation(r)
        findings += al.allocation_findings(alloc, rules)
    findings += al.outlier_findings(list(s.kpis), kpi_histories(ws, params.as_of), params.as_of)
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: (order[f.level], al.CODES.index(f.code), f.subject))
    return {"as_of": params.as_of.isoformat(), "findings": [f.as_dict() for f in findings], "allocation": alloc}


def kpi_histories(ws: Workspace, as_of: date) -> dict[str, list[tuple[date, float]]]:
    """The observations up to `as_of` of the KPIs whose current value aggregates a window
    (mean or sum over 3 days or more): what the outlier guard reads."""
    return {k.id: ws.store.history(k.id, until=as_of) for k in ws.settings.kpis
            if k.aggregate in ("mean", "sum") and k.window_days >= 3}


FLAG_FIXES = {
    "effort-defaulted": "no effort was given, so the default effort was used{shown}; set the effort field",
    "unestimated-link": "links the KPI without an estimate, so it adds nothing; add an impact line such as '{e}'",
    "unknown-kpi": "names KPI '{d}', which the config does not define; fix the id or add the KPI",
    "unreadable-impact": "estimate {d} cannot be read; write it as '<kpi-id> +5% @70%', a range '-5%..-2%' "
                         "or an absolute change '+2pp' / '+3pt' (pp only on a KPI with unit '%')",
    "no-base": "the absolute estimate on '{d}' cannot be converted: the KPI has no current value and no "
               "baseline (or they are 0); give it a baseline or a source",
    "discuss": "the estimators disagree on '{d}', and it can change the plan: discuss this estimate",
    "unreadable-confidence": "a confidence cannot be read; write it as 70%, 70 or 0.7",
    "unreadable-effort": "the effort is not a positive number; the default effort was used",
    "unreadable-factor": "the factor {d} is not a number",
    "missing-factor": "the factor {d} is missing, so it counts as 0; fill it in the tracker or the file",
    "unreadable-date": "the date in {d} cannot be read; write it as YYYY-MM-DD",
}


def flag_fix(flag: str, graph: GoalGraph | None = None, effort: float | None = None) -> str:
    """The fix of a flag in words; `effort` is the item's effort as used, so an
    effort-defaulted item's text names the value it actually shows (`shown as 5.0*`)."""
    code, _, detail = flag.partition(":")
    kpi = graph.kpi(detail) if graph is not None and detail in graph.kpi_order else None
    shown = f" (shown as {effort:.1f}*)" if effort is not None else ""
    return FLAG_FIXES.get(code, "").format(d=detail, e=al.suggested_estimate(kpi, detail), shown=shown)


def explain(ws: Workspace, key: str, *, as_of: date | None = None, method: str | None = None,
            with_done: Ranking | None = None, calibrated: bool | None = None) -> dict | None:
    """Why an initiative ranks where it does: contributions, paths, forecasts, flags.
    `with_done` is a ranking that includes done items, when the caller holds one already."""
    r = with_done or ranking(ws, as_of=as_of, method=method, include_done=True, calibrated=calibrated)
    i = r.index_of(key)
    if i is None:
        return None
    from app.services.calibrated import annotate
    from app.services.estimates import flag_items
    item = flag_items(annotate(r, join_texts(ws, [r.item(i)])), discuss(ws, r))[0]
    if item["rank"] is not None:
        # rank among the items that are ranked by default (done ones are left out)
        not_done = r.ranked[~r.backlog.done[r.ranked]]
        item["rank"] = int((not_done == i).nonzero()[0][0]) + 1 if not r.backlog.done[i] else None
        item["total"] = len(not_done)
    item["flags"] = [{"flag": f, "fix": flag_fix(f, r.graph, item.get("effort"))} for f in item["flags"]]
    item["forecasts"] = ex.forecasts(r, i)
    item["paths"] = ex.paths(r, i)
    item["urgency_means"] = ex.URGENCY_MEANS
    item["forecast_means"] = ex.FORECAST_MEANS
    return item


forecasts, paths = ex.forecasts, ex.paths     # kept under their old names for the views


def join_texts(ws: Workspace, shown: list[dict], texts=None) -> list[dict]:
    """Fill in title, status and url of ranked items (plain dicts from a `Ranking`) from
    the store (or `texts(keys)`, a caller's cache of it), by key; an item gone from the
    store since the ranking shows empty text."""
    missing = [d["key"] for d in shown if d.get("title") is None]
    if missing:
        texts = (texts or ws.store.texts)(missing)
        for d in shown:
            if d.get("title") is None:
                d["title"], d["status"], d["url"] = texts.get(d["key"], ("", "", ""))
    return shown


def items(ws: Workspace, r: Ranking, offset: int = 0, limit: int | None = None, *,
          among: np.ndarray | None = None, texts=None) -> list[dict]:
    """`score --format json`'s items, with their text joined in (from `texts(keys)`, a
    caller's cache of the store's, when given), `discuss` flags, and each link's
    calibration factor when the ranking was calibrated."""
    from app.services.calibrated import annotate
    from app.services.estimates import flag_items
    return flag_items(annotate(r, join_texts(ws, r.items(offset, limit, among=among), texts)), discuss(ws, r))


def rows(ws: Workspace, r: Ranking, offset: int = 0, limit: int | None = None, *,
         among: np.ndarray | None = None) -> list[dict]:
    """The ranked rows for tables and CSV, with their text joined in (and `discuss` flags)."""
    from app.services.estimates import flag_items
    return flag_items(join_texts(ws, r.rows(offset, limit, among=among)), discuss(ws, r))


def discuss(ws: Workspace, r: Ranking) -> dict[str, list[dict]]:
    """The disputed links that can change the plan, once per ranking (app/services/estimates.py)."""
    if "_discuss" not in r.__dict__:
        from app.services import estimates
        r.__dict__["_discuss"] = estimates.discuss(ws, r)
    return r.__dict__["_discuss"]


def _texts_of(ws: Workspace | None, r: Ranking, idx: np.ndarray) -> list[tuple[str, str, str]]:
    keys = [r.backlog.keys[i] for i in idx.tolist()]
    stored = ws.store.texts([k for i, k in zip(idx.tolist(), keys) if r.backlog.text(i) is None]) if ws else {}
    return [r.backlog.text(i) or stored.get(k, ("", "", "")) for i, k in zip(idx.tolist(), keys)]


def statuses(ws: Workspace, r: Ranking, limit: int = 2000) -> list[str]:
    """The statuses among the first ranked items (for a filter's choices)."""
    return sorted({t[1] for t in _texts_of(ws, r, r.ranked[:limit]) if t[1]})


def select(r: Ranking, *, objective: str | None = None, q: str | None = None, status: str | None = None,
           flag: str | None = None, ws: Workspace | None = None) -> np.ndarray:
    """The ranked items that pass the filters, best first: an objective they contribute to,
    text in the key or title, a status, a flag code. Text filters read the titles and
    statuses from the store of `ws`."""
    idx = r.ranked
    if objective:
        ids = [o.id for o in r.graph.objectives]
        if objective not in ids:
            raise BadInput(f"objective: no objective '{objective}'; known: {', '.join(ids)}")
        idx = idx[r.objective_impact[idx, ids.index(objective)] != 0]
    if q or status:
        texts = _texts_of(ws, r, idx)
        keep = [n for n, (i, t) in enumerate(zip(idx.tolist(), texts))
                if (not q or q.lower() in r.backlog.keys[i].lower() or q.lower() in t[0].lower())
                and (not status or t[1].lower() == status.lower())]
        idx = idx[np.array(keep, dtype=np.int64)]
    if flag:
        idx = np.array([i for i in idx.tolist() if any(f.split(":")[0] == flag for f in r.flags(i))], dtype=np.int64)
    return idx


def graph_data(ws: Workspace, alignment: dict | None = None) -> dict:
    """Objectives and KPIs in layers (objectives on top, each KPI one below the highest
    thing it feeds), edges with weights, off-track and orphan KPIs marked."""
    g = ws.graph
    states = kpis(ws)["kpis"]
    status = {k["id"]: k["status"] for k in states}
    orphans = {f["subject"] for f in (alignment or check(ws))["findings"] if f["code"] == "orphan-kpi"}
    layer = {o.id: 0 for o in g.objectives}
    for k in reversed(g.kpi_order):
        parents = list(g.graph.successors(k))
        layer[k] = 1 + max((layer[p] for p in parents), default=0)
    nodes = [{"id": o.id, "kind": "objective", "name": o.name or o.id, "layer": 0, "weight": o.weight}
             for o in g.objectives]
    nodes += [{"id": k.id, "kind": "kpi", "name": k.name or k.id, "layer": layer[k.id], "status": status[k.id],
               "off_track": status[k.id] == "off-track", "orphan": k.id in orphans} for k in g.kpis]
    edges = [{"from": e.source, "to": e.target, "weight": e.weight} for e in g.edges]
    return {"nodes": nodes, "edges": edges}
