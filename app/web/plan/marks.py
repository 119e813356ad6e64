"""The plan and the risk as the roadmap and initiative pages show them (docs/http.md, "Pages"):
the period each item is planned in, where a plain cut of the ranked list runs out of the
plan's capacity, P(in plan) with its Monte Carlo error, the estimates worth refining first,
and one item's impact spread. A failing analysis hides its part of the page (logged), never
a 500."""
from __future__ import annotations

import logging
import math

import numpy as np

from app.services import Workspace
from app.services.planning import budget
from app.services.planning import plan as plans
from app.services.planning import risk as risks
from scoring.ranking import Ranking

log = logging.getLogger("app.web")

REFINE_SHOWN = 5      # the roadmap page's "Refine these estimates first" list


def cut_rank(r: Ranking, capacity: float) -> int:
    """How many ranked items a plain cut takes: the longest prefix of the ranked list whose
    cumulative effort fits the plan's total capacity."""
    effort = np.asarray(r.effort, float)[r.ranked]
    fits = np.cumsum(effort) <= capacity * (1 + 1e-12) + 1e-9
    return int(fits.argmin()) if not fits.all() else len(fits)


def plan_marks(ws: Workspace, r: Ranking) -> tuple[dict[str, str], int | None]:
    """{key: period} of the configured plan and the plain cut's length; ({}, None) without
    a plan (no capacity, or mandatory items that cannot all be planned)."""
    try:
        marks = plans.plan_marks(ws, as_of=r.params.as_of, base=r)
    except Exception:         # noqa: BLE001 - a page shows the ranking even when the plan fails
        log.exception("the plan marks could not be computed")
        return {}, None
    capacity = risks.total_capacity(ws)
    if not marks or capacity is None:
        return {}, None
    return marks, cut_rank(r, capacity)


def scenario_marks(ws: Workspace, r: Ranking, whatif: dict, base: Ranking) -> tuple[dict[str, str], int | None]:
    """`plan_marks` under a what-if scenario: the plan of the scenario's ranking (solved for
    this scenario, not from the stored plan's cache)."""
    capacity = risks.total_capacity(ws)
    if capacity is None:
        return {}, None
    try:
        d = plans.plan(ws, as_of=r.params.as_of, request=plans.PlanRequest(explain=False),
                       whatif=whatif, base=base)
    except (plans.PlanNotConfigured, plans.PlanRefused):
        return {}, None
    except Exception:         # noqa: BLE001 - the page shows the scenario's ranking even when its plan fails
        log.exception("the scenario's plan marks could not be computed")
        return {}, None
    return {p["key"]: p["period"] for p in d["planned"]}, cut_rank(r, capacity)


def scenario_risk(ws: Workspace, r: Ranking) -> dict | None:
    """`risk_for_roadmap` under a what-if scenario: the analysis of the scenario's ranking
    (its weights, KPI values, edges and extra items), computed for it."""
    note = too_big(ws, r)
    if note:
        return {"p": {}, "refine": [], "note": note}
    u = ws.settings.uncertainty
    draws = budget.risk_draws(ws)
    try:
        from scoring.uncertainty import analyse_risk
        res = budget.run(ws, analyse_risk, risks.risk_input(ws, r, draws=draws, seed=u.seed, top=u.top))
    except Exception:         # noqa: BLE001 - the page stays up without the risk columns (also when refused)
        log.exception("the scenario's risk analysis could not be computed")
        return None
    kpis = {k.id: k.name or k.id for k in ws.settings.kpis}
    refine = [{**x, "kpi_name": kpis.get(x["kpi"], x["kpi"])} for x in res.refine_first() if x["voi"] > 0]
    return {"p": {it["key"]: {"text": percent(it["p_in_plan"]), "error": mc_error(it["p_in_plan"], draws)}
                  for it in res.items()},
            "refine": refine[:REFINE_SHOWN], "draws": draws, "note": None}


def scenario_risk_json(ws: Workspace, args, as_of, *, draws: int | None, seed: int, top: int) -> dict | None:
    """`risk --format json` under the scenario in a URL's query (`w.<objective>`,
    `kpi.<kpi>` in the KPI's own unit, extra items; `confirm=1` not needed: an API states
    what it wants), or None when the URL holds none. A bad scenario is a 400 naming it."""
    from app.services.whatif import what_if
    from app.web.scenario import in_config_unit, read_scenario
    graph = ws.graph
    sc = in_config_unit(read_scenario(args, graph.objectives, {k.id for k in graph.kpis}), graph.kpis)
    if not sc.active:
        return None
    params = ws.params(as_of, "kpi-impact")
    r, _ = what_if(ws, {**sc.body(), "as_of": params.as_of.isoformat()}, method="kpi-impact")
    from scoring.uncertainty import analyse_risk
    draws = budget.risk_draws(ws) if draws is None else draws      # within the analysis budget, as without
    res = budget.run(ws, analyse_risk, risks.risk_input(ws, r, draws=draws, seed=seed, top=top))
    return {"as_of": params.as_of.isoformat(), **res.as_dict()}


def cut_after(ranks: list[int | None], next_rank: int | None, cut: int | None) -> list[bool]:
    """Per shown row (ranks in page order): does the cut line follow it? After the last row
    within the cut when the next row shown (or the first on the next page) lies beyond it."""
    out = []
    for n, rank in enumerate(ranks):
        nxt = ranks[n + 1] if n + 1 < len(ranks) else next_rank
        out.append(cut is not None and rank is not None and rank <= cut
                   and (rank == cut if nxt is None else nxt > cut))
    return out


def percent(p: float) -> str:
    """A probability as the pages print it: '87 %'."""
    return f"{100 * p:.0f} %"


def mc_error(p: float, draws: int) -> str:
    """The Monte Carlo (binomial) standard error of an estimated probability, for a title."""
    se = math.sqrt(max(p * (1 - p), 0.0) / max(draws, 1))
    return f"± {100 * se:.1f} percentage points (Monte Carlo standard error over {draws:,} draws)"


def too_big(ws: Workspace, r: Ranking) -> str | None:
    """Why a page leaves the risk out (over the analysis budget, app/services/planning/budget.py), or None."""
    return budget.risk_refusal(int(np.count_nonzero(~np.asarray(r.backlog.done, bool))))


def summary(ws: Workspace, r: Ranking) -> dict | None:
    """risk_summary for the ranking's date, plus the number of draws; None when it fails
    (or is refused: over the budget, or too many analyses running)."""
    try:
        s = risks.risk_summary(ws, as_of=r.params.as_of, base=r)
    except Exception:         # noqa: BLE001 - the page stays up without the risk columns
        log.exception("the risk analysis could not be computed")
        return None
    return {**s, "draws": budget.risk_draws(ws)}


def risk_for_roadmap(ws: Workspace, r: Ranking) -> dict | None:
    """P(in plan) per key (text and error), the first REFINE_SHOWN estimates worth refining,
    and a note when the backlog is too big to analyse here."""
    note = too_big(ws, r)
    if note:
        return {"p": {}, "refine": [], "note": note}
    s = summary(ws, r)
    if s is None:
        return None
    kpis = {k.id: k.name or k.id for k in ws.settings.kpis}
    refine = [{**x, "kpi_name": kpis.get(x["kpi"], x["kpi"])} for x in s["refine_first"] if x["voi"] > 0]
    return {"p": {k: {"text": percent(p), "error": mc_error(p, s["draws"])} for k, p in s["p_in_plan"].items()},
            "refine": refine[:REFINE_SHOWN], "draws": s["draws"], "note": None}


def risk_for_item(ws: Workspace, r: Ranking, key: str) -> dict | None:
    """The item's impact spread and P(in plan) for the initiative page; None without them."""
    s = None if too_big(ws, r) else summary(ws, r)
    if s is None or key not in s["spread"]:
        return None
    p = s["p_in_plan"].get(key)
    return {"spread": s["spread"][key], "draws": s["draws"],
            "p": None if p is None else {"text": percent(p), "error": mc_error(p, s["draws"])}}
