"""The pages people read: the ranked roadmap, one initiative, KPIs, alignment, the graph."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from app import render, services
from app.web import charts
from app.web.state import cache, ranking, workspace

pages = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static")

PAGE_SIZE = 50


def _objective_colors(r) -> dict[str, str]:
    return {o.id: charts.color(n) for n, o in enumerate(r.graph.objectives)}


@pages.get("/")
def roadmap():
    return cache().response(_roadmap_page, "page", request.full_path)


def _roadmap_page():
    r = ranking()
    args = {k: request.args.get(k, "") for k in ("objective", "q", "status", "flag")}
    try:
        among = services.select(r, **{k: v or None for k, v in args.items()}, ws=workspace())
    except ValueError as exc:
        abort(400, str(exc))
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    size = PAGE_SIZE
    items = services.items(workspace(), r, (page - 1) * size, size, among=among)
    colors = _objective_colors(r)
    scale = max([abs(x) for it in items for x in [sum(abs(c["impact"]) for c in it["contributions"])]] + [1e-9])
    for it in items:
        by_obj: dict[str, float] = {}
        for c in it["contributions"]:
            by_obj[c["objective"]] = by_obj.get(c["objective"], 0.0) + c["impact"]
        it["bar"] = charts.impact_bar([(o, v, colors[o]) for o, v in by_obj.items()], scale)
    statuses = services.statuses(workspace(), r)
    return render_template("roadmap.html", r=r, items=items, args=args, page=page, total=len(among),
                           pages=max(1, -(-len(among) // size)), colors=colors, statuses=statuses,
                           objectives=r.graph.objectives, weights=r.weights, fmt=render,
                           fix=services.flag_fix)


@pages.get("/initiatives/<key>")
def initiative(key: str):
    item = services.explain(workspace(), key, with_done=cache().get(include_done=True))
    if item is None:
        abort(404, f"no initiative with key '{key}'")
    return render_template("initiative.html", it=item, fmt=render)


@pages.get("/kpis")
def kpis():
    ws = workspace()
    data = services.kpis(ws)
    as_of = ws.as_of()
    rows = []
    for k, cfg in zip(data["kpis"], ws.settings.kpis):
        chart = charts.trend(ws.store.history(k["id"]), cfg, as_of, lambda v, u=k["unit"]: render.value(v, u))
        rows.append({**k, "chart": chart})
    return render_template("kpis.html", kpis=rows, as_of=data["as_of"], fmt=render)


@pages.get("/alignment")
def alignment():
    data = cache().check()
    groups = {lv: [f for f in data["findings"] if f["level"] == lv] for lv in ("error", "warning", "info")}
    return render_template("alignment.html", groups=groups, chart=charts.allocation(data["allocation"]),
                           allocation=data["allocation"], fmt=render)


@pages.get("/graph")
def graph():
    data = services.graph_data(workspace(), cache().check())
    return render_template("graph.html", svg=charts.goal_graph(data), data=data)
