"""The pages people read: the ranked roadmap (with its what-if scenario), one initiative,
KPIs, alignment, the goal graph. Everything a page shows is in its URL; the CSV link of the
roadmap exports exactly the rows the page shows."""
from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
from flask import Blueprint, Response, abort, render_template, request, url_for

from app import render, services
from app.services import published
from app.web.svg import charts
from app.web.plan import marks as plan_risk
from app.web.svg.strip import strip
from app.web.scenario import FILTERS, page_scenario, query, without_scenario
from app.web.state import cache, calibrated_arg, ranking, workspace
from app.services.whatif import WhatIfError, what_if
from scoring.goals.graph import GraphError
from scoring.ranking import METHODS

pages = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static")

PAGE_SIZE = 50
TOP_N = 10                        # the scenario comparison looks at the first TOP_N items
FLAGS = ["effort-defaulted", "unestimated-link", "unknown-kpi", "unreadable-impact", "unreadable-confidence",
         "unreadable-effort", "no-base", "missing-factor"]
# The ranking table's columns, in order; a new column is one entry here and one branch in
# templates/_rows.html's `cell` macro.
COLUMNS = [("rank", "#", "n"), ("item", "Initiative", ""), ("status", "Status", ""), ("plan", "Plan", ""),
           ("p_in_plan", "P(in plan)", "n"), ("score", "Score", "n"),
           ("impact", "Impact by objective", ""), ("effort", "Effort", "n"), ("flags", "Flags", ""),
           ("moved", "Moved", "n")]


def _objective_colors(r) -> dict[str, str]:
    return {o.id: charts.color(n) for n, o in enumerate(r.graph.objectives)}


def _kpi_percent(ws) -> set[str]:
    return {k.id for k in ws.settings.kpis if k.unit == "%"}


class View:
    """One roadmap request: the ranking (baseline or scenario), the selection in page order,
    and what the scenario moved. Shared by the page and its CSV."""

    def __init__(self):
        ws = workspace()
        self.args = request.args
        self.base = ranking()
        self.method = self.base.params.method
        self.filters = {k: self.args.get(k, "") for k in FILTERS}
        self.group = self.args.get("group", "") == "objective"
        self.error = None
        self.before: dict[str, int] = {}
        self.since: dict[str, int | None] = {}     # rank in the snapshot before the last sync
        self.scenario = None
        r = self.base
        ps = page_scenario(self.args, ws.graph.objectives, ws.graph.kpis, cache().currents(self.base.params.as_of),
                           url_for("pages.roadmap"))
        self.confirm, self.confirm_url = ps.confirm, ps.confirm_url
        if ps.error:
            self.error = f"The what-if scenario cannot be used, so the stored ranking is shown: {ps.error}"
        elif ps.scenario is not None:
            try:
                body = ps.body()
                if self.args.get("as_of"):
                    body["as_of"] = self.args["as_of"]
                r, self.before = what_if(ws, body, baseline=self.base, method=self.method)
                self.scenario = ps.scenario
            except WhatIfError as exc:
                self.error = f"The what-if scenario cannot be used, so the stored ranking is shown: {exc}"
        self.r = r
        if self.scenario is None and self.method == ws.settings.scoring.method:
            from app.services.changes import moved
            self.since = moved(ws, r)     # the "Moved" column: since the snapshot before the last sync
        among = services.select(r, **{k: v or None for k, v in self.filters.items()}, ws=ws)   # BadInput: a 400 page
        self.kpi = self.args.get("kpi", "")
        if self.kpi:
            among = among[_moves(r, self.kpi)[among]]
        self.top = self._top_objective(among)
        if self.group:
            order = {o.id: n for n, o in enumerate(r.graph.objectives)}
            pos = np.array([order.get(self.top[i], len(order)) for i in among.tolist()], dtype=np.int64)
            among = among[np.argsort(pos, kind="stable")]
        self.among = among

    def _top_objective(self, idx) -> dict[int, str | None]:
        """Per item: the objective it serves most, None when it serves none (no positive
        impact); in one pass over the selection's rows (`share` is per item shown)."""
        ids = [o.id for o in self.r.graph.objectives]
        if not ids or not len(idx):
            return dict.fromkeys(idx.tolist())
        oi = self.r.objective_impact[idx]
        serves, best = (oi > 0).any(axis=1).tolist(), oi.argmax(axis=1).tolist()
        return {i: ids[o] if s else None for i, o, s in zip(idx.tolist(), best, serves)}

    def share(self, i: int) -> float:
        """The share of item `i`'s positive impact that goes to the objective it serves most."""
        row = self.r.objective_impact[i]
        pos = row[row > 0].sum() if len(row) else 0.0
        return 0.0 if pos <= 0 else float(row[int(row.argmax())] / pos)

    def moved(self, key: str, rank: int | None):
        """Rank change against the scenario's baseline, else since the last sync's snapshot."""
        if self.scenario is None and not self.since:
            return None
        was = self.was(key)
        return "new" if was is None or rank is None else was - rank

    def was(self, key: str) -> int | None:
        return self.before.get(key) if self.scenario is not None else self.since.get(key)

    def comparison(self) -> list[dict]:
        """Top-N value per objective: the baseline's first N items against the scenario's,
        both valued as the scenario scores them."""
        if self.scenario is None:
            return []
        r = self.r
        base_keys = [self.base.backlog.keys[i] for i in self.base.ranked[:TOP_N].tolist()]
        base_idx = np.array([r.index_of(k) for k in base_keys if r.index_of(k) is not None], dtype=np.int64)
        new_idx = r.ranked[:TOP_N]
        oi = r.objective_impact
        rows = [{"name": o.name or o.id, "baseline": float(oi[base_idx, n].sum()), "scenario": float(oi[new_idx, n].sum())}
                for n, o in enumerate(r.graph.objectives)] if r.params.method == "kpi-impact" else []
        rows.append({"name": "All objectives", "baseline": float(r.impact[base_idx].sum()),
                     "scenario": float(r.impact[new_idx].sum()), "total": True})
        return rows


def _bars(view: View, items: list[dict], colors: dict) -> None:
    parts = []
    for it in items:
        by_obj: dict[str, float] = {}
        for c in it["contributions"]:
            by_obj[c["objective"]] = by_obj.get(c["objective"], 0.0) + c["impact"]
        if not by_obj and it["impact"]:
            by_obj = {"impact": it["impact"]}
        parts.append(by_obj)
    pos = max([sum(v for v in p.values() if v > 0) for p in parts] + [0.0])
    neg = max([-sum(v for v in p.values() if v < 0) for p in parts] + [0.0])
    names = {o.id: o.name or o.id for o in view.r.graph.objectives}
    for it, p in zip(items, parts):
        it["bar"] = charts.impact_bar([(names.get(o, o), v, colors.get(o, "#64748b")) for o, v in p.items()],
                                      pos, neg, it["impact"])


def _roadmap_context(view: View) -> dict:
    r = view.r
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    pages_n = max(1, -(-len(view.among) // PAGE_SIZE))
    page = min(page, pages_n)
    items = services.items(workspace(), r, (page - 1) * PAGE_SIZE, PAGE_SIZE, among=view.among)
    colors = _objective_colors(r)
    _bars(view, items, colors)
    names = {o.id: o.name or o.id for o in r.graph.objectives}
    kpi_names = {k.id: k.name or k.id for k in r.graph.kpis}
    for it in items:
        i = r.index_of(it["key"])
        top = view.top.get(i)
        it["group"], it["share"] = top, view.share(i) if top is not None else 0.0
        it["moved"] = view.moved(it["key"], it["rank"])
        it["was"] = view.was(it["key"])
    statuses = services.statuses(workspace(), view.base)
    ws = workspace()
    pct = _kpi_percent(ws)
    states = r.states
    kpi_rows = [{"id": k.id, "name": k.name or k.id, "unit": k.unit, "pct": k.id in pct,
                 "current": states[k.id].current, "value": request.args.get(f"kpi.{k.id}", "")} for k in r.graph.kpis]
    extra = view.scenario.extra if view.scenario else []
    served = Counter(view.top[i] for i in view.among.tolist())
    group_info = {o.id: {"name": o.name or o.id, "share": r.weights[o.id], "count": served[o.id]}
                  for o in r.graph.objectives}
    group_info[None] = {"name": "Serves no objective", "share": None, "count": served[None]}
    marks, risk = _plan_and_risk(view, items, page)
    columns = [c for c in COLUMNS if (c[0] != "moved" or view.scenario or view.since)
               and (c[0] != "plan" or marks) and (c[0] != "p_in_plan" or (risk and risk["p"]))]
    from app.web.scenarios import saved_for
    here = query(request.args, page=None)
    return dict(k_pct=pct, kpi_units={k.id: k.unit for k in r.graph.kpis}, saved=saved_for("roadmap"), saved_open=view.scenario is not None, save_page="roadmap", save_query=here,
                back=_with_query(url_for("pages.roadmap"), here), marks=marks, risk=risk, plan_url=_with_query(url_for("planning.plan_page"), _scenario_only(request.args) if view.scenario else ""), r=r, view=view, items=items, args=view.filters, page=page, total=len(view.among), pages=pages_n,
                colors=colors, statuses=statuses, nokpi=query(request.args, kpi=None, page=None),
                default_method=ws.settings.scoring.method, cfg_weights={o.id: o.weight for o in r.graph.objectives}, objectives=r.graph.objectives, base_weights=view.base.weights,
                names=names, kpi_names=kpi_names, kpi_rows=kpi_rows, extra=extra + [{}], fmt=render,
                fix=services.flag_fix, methods=METHODS, strip=strip, columns=columns, group_info=group_info,
                comparison=view.comparison(), top_n=TOP_N, page_url=_page_url, flags=FLAGS,
                csv_url=_with_query(url_for("pages.roadmap_csv"), query(request.args, page=None)),
                reset_url=_with_query(url_for("pages.roadmap"), without_scenario(request.args)))


def _plan_and_risk(view: View, items: list[dict], page: int) -> tuple[dict, dict | None]:
    """The plan's marks and cut line (configured method, no scenario) and the risk's
    P(in plan) and refine-first list (kpi-impact, no scenario); each empty when not shown."""
    ws, r = workspace(), view.r
    marks, risk = {}, None
    if view.method == ws.settings.scoring.method:
        if view.scenario is None:
            marks, cut = plan_risk.plan_marks(ws, r)
        else:                 # the scenario's own plan: the Plan column stays under a scenario
            marks, cut = plan_risk.scenario_marks(ws, r, view.scenario.body(), view.base)
        rank_of = np.zeros(len(r.backlog), dtype=np.int64)
        rank_of[r.ranked] = np.arange(1, len(r.ranked) + 1)
        after = page * PAGE_SIZE
        nxt = int(rank_of[view.among[after]]) if after < len(view.among) else None
        flags = plan_risk.cut_after([it["rank"] for it in items], nxt, None if view.group else cut)
        for it, f in zip(items, flags):
            it["cut_after"] = f
    if view.method == "kpi-impact":
        risk = plan_risk.risk_for_roadmap(ws, r) if view.scenario is None else plan_risk.scenario_risk(ws, r)
    return marks, risk


def _scenario_only(args) -> str:
    """The what-if part of a URL (weights, KPI values, extra items, confirmation): what the
    plan page takes from the roadmap's."""
    from urllib.parse import urlencode
    return urlencode([(k, v) for k, v in args.items(multi=True)
                      if k.startswith(("w.", "kpi.", "new_")) or k == "confirm"])


def _with_query(path: str, qs: str) -> str:
    return f"{path}?{qs}" if qs else path


def _page_url(n: int) -> str:
    return url_for("pages.roadmap") + "?" + query(request.args, page=str(n))


@pages.get("/")
def roadmap():
    def build():
        view = View()
        body = render_template("roadmap.html", **_roadmap_context(view))
        return body, 400 if view.error else 200
    from app.services.scenarios import version
    body, status = cache().response(build, "page", request.full_path, version(workspace()))
    return Response(body, status=status, mimetype="text/html")


@pages.get("/roadmap.csv")
def roadmap_csv():
    """Exactly the rows the roadmap page shows for the same URL (every page of them)."""
    body, status, name = cache().response(_roadmap_csv, "csv", request.full_path)
    return Response(body, status=status, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


def _roadmap_csv():
    """Written from columns: one escaping pass per text column (formula starts neutralised),
    the flags as the page shows them."""
    view = View()
    r, idx = view.r, view.among
    names = {o.id: o.name or o.id for o in r.graph.objectives}
    b = r.backlog
    keys = [b.keys[i] for i in idx.tolist()]
    texts = published.texts_of(workspace(), r, idx) if b.texts is None else {}
    none = ("", "", "")
    got = [(b.texts[i] if b.texts is not None else None) or texts.get(k, none) for i, k in zip(idx.tolist(), keys)]
    tops = [(view.top[i], view.share(i) if view.top[i] is not None else 0.0) for i in idx.tolist()]
    ranks = r.rank_of[idx].tolist()
    # the same columns with or without a scenario: baseline_rank is the rank compared with (the
    # stored ranking's under a scenario, else the snapshot's before the last sync), blank when none
    was = [view.was(k) for k in keys]
    moved = [view.moved(k, rk) for k, rk in zip(keys, ranks)]
    columns = [list(map(str, ranks)), render.csv_column(keys), render.csv_column([t[0] for t in got]),
               render.csv_column([t[1] for t in got]), render.csv_column([names.get(top, "") for top, _ in tops]),
               [f"{share:.3f}" if top else "" for top, share in tops],
               list(map(repr, r.score[idx].tolist())), list(map(repr, r.impact[idx].tolist())),
               ["" if e != e else repr(e) for e in r.effort[idx].tolist()],
               render.csv_column(published.flags_column(workspace(), r, idx)), render.csv_column([t[2] for t in got]),
               ["" if w is None else str(w) for w in was], ["" if m is None else str(m) for m in moved]]
    head = ["rank", "key", "title", "status", "objective", "objective_share", "score", "impact", "effort", "flags",
            "url", "baseline_rank", "moved"]
    lines = [",".join(head)]
    lines.extend(map(",".join, zip(*columns)))
    body = "\n".join(lines) + "\n"
    return body, 400 if view.error else 200, "roadmap-scenario.csv" if view.scenario else "roadmap.csv"


def _links():
    """Where a subject (KPI id, objective id, initiative key) is shown."""
    ws = workspace()
    kpis = {k.id: k.name or k.id for k in ws.settings.kpis}
    objectives = {o.id: o.name or o.id for o in ws.settings.objectives}

    def link(subject: str) -> tuple[str, str]:
        if subject in kpis:
            return url_for("pages.kpis") + f"#kpi-{subject}", kpis[subject]
        if subject in objectives:
            return url_for("pages.roadmap", objective=subject, group="objective"), objectives[subject]
        return url_for("pages.initiative", key=subject), subject
    return link, kpis, objectives


@pages.get("/initiatives/<key>")
def initiative(key: str):
    item = services.explain(workspace(), key, with_done=cache().get(include_done=True, calibrated=calibrated_arg()))
    if item is None:
        abort(404, f"no initiative with key '{key}'")
    link, kpis, objectives = _links()
    ws = workspace()
    risk = plan_risk.risk_for_item(ws, cache().get(method="kpi-impact"), key)
    from app.auth import current_person
    from app.services import estimates
    row = ws.store.initiative(key) or {}
    launched = row.get("launched_on") or (row.get("done_on") if row.get("status_category") == "done" else None)
    r = cache().get(include_done=True)
    lines: dict[str, list[int]] = {}       # each KPI's lines (one per estimator): "refine first" links to them
    for n, j in enumerate(r.links_of(r.index_of(key)).tolist(), start=1):
        lines.setdefault(r.backlog.kpi_of(j), []).append(n)
    return render_template("initiative.html", it=item, fmt=render, link=link, kpi_names=kpis, names=objectives,
                           risk=risk, strip=strip, by_person=estimates.listing(ws, key, current_person()), lines=lines,
                           discuss={f["flag"].partition(":")[2] for f in item["flags"]
                                    if f["flag"].startswith("discuss:")}, launched=launched)


@pages.get("/kpis")
def kpis():
    return cache().response(_kpis_page, "kpis-page")


def _kpis_page():
    ws = workspace()
    data = services.kpis(ws)
    as_of = ws.as_of()
    rows = []
    from scoring.goals.windows import window_outliers
    for k, cfg in zip(data["kpis"], ws.settings.kpis):
        hist = ws.store.history(k["id"])
        odd = []
        if cfg.aggregate in ("mean", "sum") and cfg.window_days >= 3:
            odd = [(d, v) for d, v, _ in window_outliers([d for d, _ in hist], [v for _, v in hist],
                                                         cfg.window_days, as_of)]
        chart = charts.trend(hist, cfg, as_of, lambda v, u=k["unit"]: render.value(v, u),
                             label=k["name"], current=_current(k), outliers=odd)
        k = {**k, "outliers": odd, "aggregate": cfg.aggregate}
        window = k.get("window") or _window_text(cfg)
        rows.append({**k, "chart": chart, "window": window, "movers": _movers(k["id"])})
    return render_template("kpis.html", kpis=rows, as_of=data["as_of"], fmt=render)


def _current(k: dict):
    if k["current"] is None or not k["current_date"]:
        return None
    return date.fromisoformat(k["current_date"]), k["current"]


def _window_text(cfg) -> str:
    days, agg = cfg.window_days, cfg.aggregate
    if agg == "last" or days <= 1:
        return "current = the newest observation"
    return f"current = {agg} of the observations in the {days} days up to the newest"


def _moves(r, kpi_id: str) -> np.ndarray:
    """Per item: does one of its links name the KPI (with or without an estimate)?"""
    if kpi_id not in r.graph.kpi_order:
        abort(400, f"kpi: no KPI '{kpi_id}'")
    linked = np.zeros(len(r.backlog), dtype=bool)
    linked[r.backlog.link_item[r.link_kpi_index == r.graph.kpi_order.index(kpi_id)]] = True
    return linked


def _movers(kpi_id: str, limit: int = 5) -> dict:
    """The best-ranked initiatives that move the KPI directly (and how many do)."""
    try:
        r = cache().get()
    except GraphError:
        return {"count": 0, "items": []}
    if kpi_id not in r.graph.kpi_order:
        return {"count": 0, "items": []}
    idx = r.ranked[_moves(r, kpi_id)[r.ranked]]
    rows = services.rows(workspace(), r, 0, limit, among=idx)
    return {"count": len(idx), "items": rows}


@pages.get("/alignment")
def alignment():
    data = cache().check()
    link, kpis, objectives = _links()
    groups = {lv: [f for f in data["findings"] if f["level"] == lv] for lv in ("error", "warning", "info")}
    alloc = [{**a, "name": objectives.get(a["objective"], a["objective"])} for a in data["allocation"]]
    return render_template("alignment.html", groups=groups, chart=charts.allocation(alloc),
                           allocation=alloc, fmt=render, link=link)


@pages.get("/graph")
def graph():
    return cache().response(_graph_page, "graph-page")


def _graph_page():
    data = services.graph_data(workspace(), cache().check())

    def link(node):
        if node["kind"] == "objective":
            return url_for("pages.roadmap", objective=node["id"], group="objective")
        return url_for("pages.kpis") + f"#kpi-{node['id']}"
    return render_template("graph.html", svg=charts.goal_graph(data, link), data=data)
