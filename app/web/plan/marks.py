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
from app.services import plan as plans
from app.services import risk as risks
from scoring.ranking import Ranking

log = logging.getLogger("app.web")

REFINE_SHOWN = 5      # the roadmap page's "Refine these estimates first" list
# Items x draws a page may analyse while the reader waits (cached per data version after):
# the decision under the plan's rules costs about 1 µs of CPU per item-draw (bench/risk.py),
# so 3 million is a few seconds; beyond, `roadmap risk` or /api/v1/risk computes it.
RISK_BUDGET = 3_000_000


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
    """Why a page leaves the risk out (the analysis would keep the reader waiting), or None."""
    n, draws = len(r.backlog), ws.settings.uncertainty.draws
    if n * draws <= RISK_BUDGET:
        return None
    return (f"P(in plan) and the estimates to refine first are left out of this page for a backlog this size "
            f"({n:,} items × {draws:,} draws): `roadmap risk` or /api/v1/risk computes them.")


def summary(ws: Workspace, r: Ranking) -> dict | None:
    """risk_summary for the ranking's date, plus the number of draws; None when it fails."""
    try:
        s = risks.risk_summary(ws, as_of=r.params.as_of, base=r)
    except Exception:         # noqa: BLE001 - the page stays up without the risk columns
        log.exception("the risk analysis could not be computed")
        return None
    return {**s, "draws": ws.settings.uncertainty.draws}


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
