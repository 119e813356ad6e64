"""The /plan board (docs/http.md, "Plan"): periods as columns, teams as lanes, a card per
planned item with its pin (a select per card, kept in the URL as `pin.<key>=<period>`),
due date and load against capacity; what did not fit and why.

It keeps up with a meeting: a request paints the greedy plan at once (milliseconds), and
the page's script then asks `GET /plan/live?...&stage=exact` for the exact plan and
`stage=explain` for "enters if" of the items the page shows, each answer JSON with the
board's HTML, swapped in place. Plans are cached per data version and scenario, so a
reload or a shared URL shows the best answer already found. Without JavaScript, the
"exact plan" link (`exact=1`) renders the exact, explained plan in one request.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import jsonify, render_template, request, url_for

from scoring.errors import Busy

from app import render
from app.services.planning import plan as plans
from app.web.plan.blueprint import planning
from app.web.plan.api import _solve, url_request
from app.web.state import ApiError, as_of_arg, cache, workspace

NEXT = {"greedy": "exact", "exact": "explain"}


def _cap_text(values: list[float]) -> str:
    same = all(v == values[0] for v in values)
    return f"{values[0]:g}" if same else ",".join(f"{v:g}" for v in values)


def _query(**extra) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("stage", "exact")]
    return urlencode(args + list(extra.items()))


def _stage_request(stage: str) -> plans.PlanRequest:
    return url_request(greedy=stage == "greedy", explain=stage == "explain")


def _scenario():
    """The roadmap's what-if scenario carried to the plan (`w.`, `kpi.`, `new_` keys)."""
    from app.web.scenario import page_scenario
    ws = workspace()
    return page_scenario(request.args, ws.graph.objectives, ws.graph.kpis, cache().currents(as_of_arg()),
                         url_for("planning.plan_page"))


def _compute(stage: str, ps):
    """(plan dict or None, refused or None, error text or None, status)."""
    if ps.error:
        return None, None, f"The what-if scenario cannot be used: {ps.error}", 400
    try:
        return _solve(_stage_request(stage), ps.body(), as_of=as_of_arg()), None, None, 200
    except plans.PlanOverrideError as exc:
        return None, None, str(exc), 400
    except plans.PlanRefused as exc:
        return None, exc, None, 422
    except (ApiError, plans.PlanNotConfigured) as exc:
        message = getattr(exc, "message", str(exc))
        return None, None, message, (getattr(exc, "status", 409) if getattr(exc, "status", 409) != 409 else 200)


def _best_cached(ps) -> str | None:
    """The most advanced stage already computed for this URL's scenario."""
    ws = workspace()
    if ps.body():
        return None
    for stage in ("explain", "exact"):
        try:
            hit = plans.peek(ws, as_of=as_of_arg(), request=_stage_request(stage))
        except plans.PlanOverrideError:
            return None
        if hit is not None:
            return stage
    return None


def _context(d, refused, error, stage: str, ps) -> dict:
    ws = workspace()
    cfg = ws.settings.planning
    if d is not None:
        caps: dict[str, list[float]] = {}
        for row in d["load"]:
            caps.setdefault(row["team"], []).append(row["capacity"])
        teams = [(t, _cap_text(caps.get(t, [0.0]))) for t in d["teams"]]
    else:
        given = dict(request.args)
        teams = [(t.id, given.get(f"cap.{t.id}", _cap_text(cfg.capacity_of(t)))) for t in cfg.teams] \
            or [("all", given.get("cap.all", ""))]     # no teams configured: one capacity for all
    load = {(r["team"], r["period"]): r for r in (d or {}).get("load", [])}
    cells: dict = {}
    for p in (d or {}).get("planned", []):
        cells.setdefault((p["team"], p["period"]), []).append(p)
    must = plans.mandatory_keys(ws) if d is not None else set()
    periods = (d or {}).get("periods") or list(cfg.periods)
    nxt = NEXT.get(stage) if d is not None else None
    from app.web.scenario import query
    from app.web.scenarios import saved_for
    keep = [(k, v) for k, v in request.args.items(multi=True)
            if k.startswith(("w.", "kpi.", "new_")) or k == "confirm"]       # the scenario, kept on re-plan
    here = query(request.args, page=None)
    return dict(d=d, error=error, refused=refused, teams=teams, load=load, must=must, cells=cells,
                ps=ps, keep=keep, fmt=render, units={k.id: k.unit for k in ws.settings.kpis},
                saved=saved_for("plan"), saved_open=bool(request.args), save_page="plan", save_query=here,
                back=url_for("planning.plan_page") + (f"?{here}" if here else ""),
                roadmap_url=url_for("pages.roadmap") + (f"?{query(request.args, page=None)}" if keep else ""),
                periods=periods, stage=stage, ends={p: cfg.end_of(p) for p in periods},
                next_url=url_for("planning.plan_live") + "?" + _query(stage=nxt) if nxt else None,
                exact_url=url_for("planning.plan_page") + "?" + _query(exact="1"))


@planning.get("/plan")
def plan_page():
    ps = _scenario()
    stage = "explain" if request.args.get("exact") == "1" else (_best_cached(ps) or "greedy")
    d, refused, error, status = _compute(stage, ps)
    return render_template("plan.html", **_context(d, refused, error, stage, ps)), status


@planning.get("/plan/live")
def plan_live():
    """The board at a later stage, as JSON: {"stage", "status", "gap", "html", "next"}."""
    stage = request.args.get("stage", "exact")
    if stage not in ("greedy", "exact", "explain"):
        raise ApiError(400, "bad-request", "stage: must be greedy, exact or explain")
    ps = _scenario()
    try:
        d, refused, error, status = _compute(stage, ps)
    except Busy as exc:       # the analysis slots are taken: the page keeps what it shows and asks again
        return jsonify({"stage": stage, "status": "busy", "busy": True,
                        "retry_after": int(exc.headers.get("Retry-After", 2)), "next": request.full_path})
    ctx = _context(d, refused, error, stage, ps)
    return jsonify({"stage": stage, "status": (d or {}).get("status", "infeasible" if refused else "error"),
                    "gap": (d or {}).get("gap"), "html": render_template("_plan_body.html", **ctx),
                    "next": ctx["next_url"]}), (status if status != 422 else 200)
