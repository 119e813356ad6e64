"""What an analysis may cost, decided in one place for the pages, the API and the CLI's
defaults (docs/http.md, "Limits"; docs/configuration.md, "[service]").

- The risk analysis (P(in plan), spreads, value of information) grows with items x draws,
  and its value of information with items x estimates. A request may analyse at most
  `RISK_ITEMS` eligible items and `RISK_CELLS` items x draws, and value estimates within
  `RISK_PROBES` item-probes (those of the items nearest the line first); with no `draws`
  given, the config's draws are cut to what the backlog affords.
- The plan may solve at most `PLAN_CELLS` items x periods and `PLAN_PERIODS` periods, with
  the solver's time limit cut to `PLAN_SOLVER_SECONDS` (the explanation's re-solves get as
  long again), so an answer comes within about ten seconds.
- At most `[service] max_concurrent_analyses` plan or risk computations run at once in a
  process; one more is refused with `Busy` (503 and Retry-After), never queued behind
  them. A cached answer takes no slot, so only new work (a new seed, a new scenario) is
  counted, and a new seed is checked against the budget like any other request.

Over the budget is `OverBudget` (400), naming the limit and the largest affordable value.
The CLI may go past the budget on purpose (`with unbounded():` around a command given
explicit values); its defaults stay within it.

>>> largest_draws(10_000)
1000
>>> largest_draws(10)
50000
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import threading
from typing import Callable, TypeVar

from scoring.errors import Busy, OverBudget

RISK_ITEMS = 10_000            # eligible items one risk analysis may take
RISK_CELLS = 10_000_000        # items x draws (about 3 s of CPU at 10,000 items, bench/risk.py)
RISK_PROBES = 10_000_000       # item-probes of the value of information (about 1.3 s of CPU)
MAX_DRAWS = 50_000             # draws, whatever the backlog
PLAN_CELLS = 40_000            # items x periods one plan may solve (10,000 x 4 periods: about 8 s, bench/budget.py)
PLAN_PERIODS = 24              # periods one plan may have
PLAN_SOLVER_SECONDS = 3.0      # the solver's time limit on the web and the API
RETRY_AFTER = 5                # seconds a refused (busy) client is asked to wait

T = TypeVar("T")
_bounded: contextvars.ContextVar[bool] = contextvars.ContextVar("roadmap_budget_bounded", default=True)
_held = threading.local()
_slots_lock = threading.Lock()


@contextlib.contextmanager
def unbounded():
    """The CLI's explicit values: the budget's limits do not apply inside (the slots do)."""
    token = _bounded.set(False)
    try:
        yield
    finally:
        _bounded.reset(token)


def bounded() -> bool:
    return _bounded.get()


# -- risk -----------------------------------------------------------------------------------

def largest_draws(items: int) -> int:
    """The most draws `items` eligible items afford."""
    return max(1, min(MAX_DRAWS, RISK_CELLS // max(items, 1)))


def eligible_items(ws) -> int:
    """Active items that are not done (the ones a risk analysis ranks), read once per data version."""
    from sqlalchemy import func, select, true

    from app.store import schema
    version = ws.store.data_version()
    cached = ws.__dict__.get("_budget_items")
    if cached is not None and cached[0] == version:
        return cached[1]
    it = schema.initiatives
    with ws.store.engine.connect() as c:
        n = c.execute(select(func.count()).where(it.c.active == true(), it.c.status_category != "done")).scalar_one()
    ws.__dict__["_budget_items"] = (version, int(n))
    return int(n)


def risk_draws(ws, items: int | None = None) -> int:
    """The default number of draws: the config's, cut to what the backlog affords."""
    n = eligible_items(ws) if items is None else items
    return min(ws.settings.uncertainty.draws, largest_draws(n))


def check_risk(items: int, draws: int) -> None:
    """OverBudget when `items` eligible items x `draws` draws are more than a request may cost."""
    if not bounded():
        return
    if items > RISK_ITEMS:
        raise OverBudget(f"the risk analysis takes at most {RISK_ITEMS:,} items per request and this backlog "
                         f"has {items:,} not done; run `roadmap risk` on the command line for a backlog this size")
    most = largest_draws(items)
    if draws > most:
        raise OverBudget(f"draws: at most {most:,} for {items:,} items (a request may cost "
                         f"{RISK_CELLS:,} items x draws, at most {MAX_DRAWS:,} draws); ask for draws={most}")


def risk_refusal(items: int) -> str | None:
    """Why a page leaves the risk out for a backlog of `items` eligible items, or None."""
    if items <= RISK_ITEMS:
        return None
    return (f"P(in plan) and the estimates to refine first are left out of this page for a backlog this size "
            f"({items:,} items; a request analyses at most {RISK_ITEMS:,}): `roadmap risk` computes them.")


# -- plan -----------------------------------------------------------------------------------

def check_plan(items: int, periods: int) -> None:
    """OverBudget when a plan of `items` items over `periods` periods costs more than a request may."""
    if not bounded():
        return
    if periods > PLAN_PERIODS:
        raise OverBudget(f"periods: a plan has at most {PLAN_PERIODS} periods; ask for {PLAN_PERIODS} or fewer")
    if items * periods > PLAN_CELLS:
        most = PLAN_CELLS // max(items, 1)
        if most >= 1:
            raise OverBudget(f"periods: at most {most} for {items:,} items (a plan may cost {PLAN_CELLS:,} "
                             f"items x periods); ask for {most} or fewer")
        raise OverBudget(f"the plan takes at most {PLAN_CELLS:,} items per request and this one has {items:,}; "
                         "run `roadmap plan` on the command line for a backlog this size")


def plan_input(inp):
    """The kernel's PlanInput within the budget: OverBudget for too many items x periods; the
    solver's time limit cut to PLAN_SOLVER_SECONDS (unbounded: as given)."""
    check_plan(len(inp.keys), len(inp.periods))
    if not bounded() or inp.solver_seconds <= PLAN_SOLVER_SECONDS:
        return inp
    return dataclasses.replace(inp, solver_seconds=PLAN_SOLVER_SECONDS)


# -- running --------------------------------------------------------------------------------

def _semaphore(ws) -> threading.BoundedSemaphore:
    limit = ws.settings.service.max_concurrent_analyses
    with _slots_lock:
        got = ws.__dict__.get("_analysis_slots")
        if got is None or got[0] != limit:
            got = (limit, threading.BoundedSemaphore(limit))
            ws.__dict__["_analysis_slots"] = got
        return got[1]


@contextlib.contextmanager
def slot(ws):
    """One of the process's `max_concurrent_analyses` slots, or Busy. Re-entrant per thread
    (a plan computed inside a risk analysis takes no second slot)."""
    depth = getattr(_held, "depth", 0)
    if depth:
        _held.depth = depth + 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    sem = _semaphore(ws)
    if not sem.acquire(blocking=False):
        limit = ws.settings.service.max_concurrent_analyses
        raise Busy(f"{limit} plan or risk analyses are running in this process ([service] "
                   f"max_concurrent_analyses); try again in a few seconds", retry_after=RETRY_AFTER)
    _held.depth = 1
    try:
        yield
    finally:
        _held.depth = 0
        sem.release()


def run(ws, compute: Callable[..., T], inp) -> T:
    """`compute(inp)` for a risk input (RiskInput) or a plan input (PlanInput), within the
    budget and one of the process's analysis slots."""
    if hasattr(inp, "draws"):
        import numpy as np
        check_risk(int(np.count_nonzero(np.asarray(inp.eligible, bool))), int(inp.draws))
        if bounded():
            inp = dataclasses.replace(inp, voi_probes=RISK_PROBES)
    else:
        inp = plan_input(inp)
    with slot(ws):
        return compute(inp)
