"""The plan as a use case (docs/model.md "The plan", docs/cli.md `roadmap plan`, /api/v1/plan).

Builds the kernel's `PlanInput` from the ranking (impact, effort, ranked order) and the
store's planning columns (team, mandatory, labels, blocked_by), applies the `[planning]`
settings and a request's overrides (capacity, periods, mandatory, excluded, what-if keys),
solves, and joins the titles in. Plans are cached by data version, as_of, settings and
overrides, in the process and in the store (app/store/analyses.py; a scenario's plan only in
the process), apart for the web's budget and the command line's own time limit.
"""
from __future__ import annotations

import json
import threading
import zlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy import select, true

from app.services import Workspace, join_texts, ranking as rank
from app.services.planning import budget
from app.store import schema
from scoring.plan import PlanInfeasible, PlanInput, solve_plan
from scoring.plan.solve import explain_plan
from scoring.plan.model import EFFORT_TOO_BIG
from scoring.plan.periods import latest_period
from scoring.ranking import Ranking
from scoring.errors import BadInput, Conflict, OverBudget

NO_TEAM = "(none)"          # the lane of items that cannot be planned: unknown team, excluded
MAX_CAPACITY = 1e9


class PlanNotConfigured(Conflict):
    """No capacity is known: `[planning]` has no teams and none was given."""
    code = "plan-not-configured"


class PlanOverrideError(BadInput):
    """An override (capacity, periods, mandatory, excluded) is not usable; names the key."""


@dataclass(frozen=True)
class PlanRequest:
    """What a caller may change; empty means the config's. Hashable, so it keys the cache."""
    capacity: tuple[tuple[str, tuple[float, ...]], ...] = ()   # team -> one number or one per period
    every_team: float | None = None        # CLI --capacity: every team, every period
    periods: tuple[str, ...] = ()          # new period names
    first_periods: int | None = None       # CLI --periods P: the first P periods
    mandatory: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    pins: tuple[tuple[str, str], ...] = ()  # key -> period (a scenario's pins; "" unpins a stored pin)
    explain: bool = True                   # False: skip `enters_if` (the re-solves), for marks
    greedy: bool = False                   # True: the greedy plan at once (status "greedy"), no solver


@dataclass
class PlanFields:
    """The store's planning columns of the active items, by key."""
    team: dict[str, str] = field(default_factory=dict)
    mandatory: dict[str, bool] = field(default_factory=dict)
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    blocked_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    in_progress: set[str] = field(default_factory=set)
    due: dict[str, date] = field(default_factory=dict)
    pin: dict[str, str] = field(default_factory=dict)


def plan_fields(ws: Workspace) -> PlanFields:
    """team, mandatory, labels, blocked_by, due and pin of every active item; done and
    in-progress ones by key."""
    it = schema.initiatives
    out = PlanFields()
    q = select(it.c.key, it.c.team, it.c.mandatory, it.c.labels, it.c.blocked_by, it.c.status_category,
               it.c.due, it.c.period).where(it.c.active == true())
    with ws.store.engine.connect() as c:
        for key, team, mandatory, labels, blocked, cat, due, period in c.execute(q):
            if cat == "done":
                out.done.add(key)
                continue
            if cat == "indeterminate":
                out.in_progress.add(key)
            out.team[key] = team or ""
            out.mandatory[key] = bool(mandatory)
            out.labels[key] = tuple((labels or "").split())
            out.blocked_by[key] = tuple((blocked or "").split())
            if due is not None:
                out.due[key] = due
            if period:
                out.pin[key] = period
    return out


def mandatory_keys(ws: Workspace) -> set[str]:
    """The items that must be planned: the `mandatory` field or the [planning] label."""
    f, label = plan_fields(ws), ws.settings.planning.mandatory_label
    return {k for k, m in f.mandatory.items() if m or label in f.labels.get(k, ())}


def _periods(ws: Workspace, req: PlanRequest) -> list[str]:
    periods = list(ws.settings.planning.periods)
    if req.periods:
        periods = list(req.periods)
    if req.first_periods is not None:
        if not 1 <= req.first_periods <= len(periods):
            raise PlanOverrideError(f"periods: must be from 1 to {len(periods)} (the periods of [planning])")
        periods = periods[:req.first_periods]
    if len(set(periods)) != len(periods) or not all(isinstance(p, str) and p for p in periods):
        raise PlanOverrideError("periods: names must be unique, non-empty text")
    return periods


def _stretch(where: str, values: list[float], n: int) -> list[float]:
    """A capacity for n periods: one number repeats; a list gives one per period (a longer
    list from the config is cut to the first n)."""
    if len(values) == 1:
        values = values * n
    if len(values) < n:
        raise PlanOverrideError(f"{where}: has {len(values)} entries for {n} periods; "
                                "give one per period or a single number")
    for v in values:
        if not (0 <= v <= MAX_CAPACITY):
            raise PlanOverrideError(f"{where}: must be a number from 0 to {MAX_CAPACITY:g}")
    return [float(v) for v in values[:n]]


def capacities(ws: Workspace, req: PlanRequest, periods: list[str]) -> tuple[list[str], np.ndarray]:
    """Teams and their capacity per period after the overrides; PlanNotConfigured without any."""
    cfg = ws.settings.planning
    teams = {t.id: cfg.capacity_of(t) for t in cfg.teams}
    if not teams and (req.every_team is not None or req.capacity):
        teams = {"all": [0.0] * len(periods)}
    if not teams:
        raise PlanNotConfigured(
            "no capacity to plan with: add [planning] with periods and [[planning.teams]] (id, capacity) "
            "to roadmap.toml, or pass --capacity N (API: {\"capacity\": {\"all\": N}})")
    if req.every_team is not None:
        teams = {t: [req.every_team] for t in teams}
    for t, values in req.capacity:
        if t not in teams:
            raise PlanOverrideError(f"capacity.{t}: no such team; known: {', '.join(teams)}")
        teams[t] = list(values)
    names = list(teams)
    return names, np.array([_stretch(f"capacity.{t}", teams[t], len(periods)) for t in names]).reshape(
        len(names), len(periods))


def build_input(ws: Workspace, r: Ranking, req: PlanRequest, fields: PlanFields | None = None
                ) -> tuple[PlanInput, dict[str, str]]:
    """The kernel's input and the reason of each item put in the `NO_TEAM` lane."""
    cfg = ws.settings.planning
    fields = fields or plan_fields(ws)
    periods = _periods(ws, req)
    teams, cap = capacities(ws, req, periods)
    keys = list(r.backlog.keys)
    known = set(keys)
    for where, wanted in (("mandatory", req.mandatory), ("excluded", req.excluded)):
        bad = [k for k in wanted if k not in known]
        if bad:
            raise PlanOverrideError(f"{where}: no item to plan with key {', '.join(map(repr, bad[:5]))}")
    team_index = {t: n for n, t in enumerate(teams)}
    lanes: dict[str, str] = {}
    team = np.zeros(len(keys), dtype=int)
    single = len(teams) == 1 and not cfg.teams or len(cfg.teams) == 1
    excluded = set(req.excluded)
    for i, k in enumerate(keys):
        t = fields.team.get(k, "")
        if k in excluded:
            lanes[k] = "excluded"
        elif t in team_index:
            team[i] = team_index[t]
        elif single and (t == "" or not cfg.teams):
            team[i] = 0
        else:
            lanes[k] = f"unknown-team:{t}" if t else "no-team: give it a team of [planning]"
    if lanes:
        team[[i for i, k in enumerate(keys) if k in lanes]] = len(teams)
        teams = teams + [NO_TEAM]
        cap = np.vstack([cap, np.zeros((1, len(periods)))])
    label = cfg.mandatory_label
    forced = set(req.mandatory) - excluded
    mandatory = np.array([(fields.mandatory.get(k, False) or label in fields.labels.get(k, ()) or k in forced)
                          and k not in excluded for k in keys], dtype=bool)
    blocked = [tuple(b for b in fields.blocked_by.get(k, ()) if b not in fields.done) for k in keys]
    pins = {k: v for k, v in {**fields.pin, **dict(req.pins)}.items() if k not in excluded}
    bad = [k for k, _ in req.pins if k not in known]
    if bad:
        raise PlanOverrideError(f"pins: no item to plan with key {', '.join(map(repr, bad[:5]))}")
    where = {p: n for n, p in enumerate(periods)}
    ends = [cfg.end_of(p) for p in periods]
    pin = np.array([where.get(pins.get(k) or "", -1) for k in keys])
    why = [f"pinned to {pins[k]}, not a period of the plan ({', '.join(periods)})"
           if pins.get(k) and pins[k] not in where else None for k in keys]
    latest = np.array([latest_period(fields.due.get(k), ends) for k in keys])
    inp = PlanInput(keys=keys, impact=np.nan_to_num(np.asarray(r.impact, float)),
                    effort=np.asarray(r.effort, float), order=np.asarray(r.ranked),
                    team=team, done=np.asarray(r.backlog.done, bool), blocked_by=blocked,
                    mandatory=mandatory, teams=teams, periods=periods, capacity=cap,
                    value_of_time=cfg.value_of_time, solver_seconds=cfg.solver_seconds,
                    explain_top=10 if req.explain and not req.greedy else 0, latest=latest, pin=pin, why=why,
                    greedy_only=req.greedy,
                    in_progress=np.array([k in fields.in_progress and k not in excluded for k in keys]),
                    spanning=cfg.spanning)
    return inp, lanes


def _strip_lane(d: dict, lanes: dict[str, str]) -> dict:
    if NO_TEAM in d["teams"]:
        d["teams"] = [t for t in d["teams"] if t != NO_TEAM]
        d["load"] = [row for row in d["load"] if row["team"] != NO_TEAM]
    for row in d["excluded"]:
        if row["key"] in lanes and row["reason"] == EFFORT_TOO_BIG:
            row["reason"] = lanes[row["key"]]
    return d


class PlanRefused(Conflict):
    """The mandatory items cannot all be planned: `items` and `overflows` name why."""
    status, code = 422, "infeasible"

    def __init__(self, exc: PlanInfeasible, lanes: dict[str, str]):
        why = "; ".join(f"{k}: {lanes[k]}" for k in exc.items if k in lanes)
        super().__init__(str(exc) + (f" ({why})" if why else ""))
        self.items = list(exc.items)
        self.overflows = [(t, p) for t, p in exc.overflows if t != NO_TEAM]

    def as_dict(self) -> dict:
        return {"status": "infeasible", "message": str(self), "items": self.items,
                "overflows": [{"team": t, "period": p} for t, p in self.overflows]}


_lock = threading.RLock()


def _cache(ws: Workspace) -> dict:
    """This workspace's own cache (a fresh workspace, e.g. per CLI run or test, starts empty)."""
    with _lock:
        return ws.__dict__.setdefault("_plan_cache", {})


def plan(ws: Workspace, *, as_of: date | None = None, request: PlanRequest = PlanRequest(),
         whatif: dict | None = None, base: Ranking | None = None) -> dict:
    """`plan --format json` (with `as_of` and titles); raises PlanNotConfigured,
    PlanOverrideError, PlanRefused, or WhatIfError for a bad what-if body."""
    as_of = ws.as_of(as_of)
    key = (ws.store.cache_version(), as_of, request, json.dumps(whatif, sort_keys=True, default=str) if whatif else "")
    with _lock:               # cached per data version, date, request and scenario
        hit = _cache(ws).get(key)
    if hit is not None:
        if isinstance(hit, PlanRefused):
            raise hit
        return hit
    if not whatif:            # solved by a sync or another process: read, not solved again
        stored = _read_stored(ws, key)
        if stored is not None:
            _remember(ws, key, stored)
            return stored
    if whatif:
        from app.services.whatif import what_if
        r, _ = what_if(ws, {**whatif, "as_of": as_of.isoformat()}, baseline=base)
    else:
        r = base if base is not None and base.params.as_of == as_of else rank(ws, as_of=as_of)
    fields = plan_fields(ws)
    inp, lanes = build_input(ws, r, request, fields)
    solved = None
    if request.explain and not request.greedy and not whatif:   # the exact stage, already solved
        from dataclasses import replace
        exact = (key[0], as_of, replace(request, explain=False), "")
        with _lock:
            solved = _cache(ws).get(exact)
        if solved is None:
            solved = _read_stored(ws, exact)
    try:
        if isinstance(solved, dict):
            result = explain_plan(inp, {p["key"]: p["period"] for p in solved["planned"]},
                                  solved["status"], solved["gap"])
        else:
            result = budget.run(ws, solve_plan, inp)
        out = {"as_of": as_of.isoformat(), **_strip_lane(result.as_dict(), lanes)}
    except PlanInfeasible as exc:
        refused = PlanRefused(exc, lanes)
        _remember(ws, key, refused)
        raise refused from None
    rows = out["planned"] + out["excluded"]
    texts = {i: r.backlog.text(i) for i in range(len(r.backlog)) if r.backlog.text(i)} if r.backlog.texts else {}
    by_key = {r.backlog.keys[i]: t for i, t in texts.items()}
    for row in rows:
        if row["key"] in by_key:
            row["title"] = by_key[row["key"]][0]
        else:
            row["title"] = None
    join_texts(ws, [row for row in rows if row["title"] is None])
    pins = {**fields.pin, **dict(request.pins)}
    for row in rows:
        row.pop("status", None), row.pop("url", None)
        if row["key"] in fields.due:
            row["due"] = fields.due[row["key"]].isoformat()
        if pins.get(row["key"]):
            row["pinned"] = pins[row["key"]]
        if row["key"] in fields.in_progress:
            row["in_progress"] = True
    out["planned"] = [{"key": p["key"], "title": p["title"], **{k: v for k, v in p.items()
                                                                 if k not in ("key", "title")}}
                      for p in out["planned"]]
    _remember(ws, key, out)
    if not whatif:
        _store(ws, key, out)
    return out


def _stored_key(ws: Workspace, key) -> str:
    version, as_of, request, _ = key
    # within the budget (web, API, sync) or not (the CLI's own solver limit): another plan
    return ws.analysis_key("plan", list(version), as_of.isoformat(), repr(request), budget.bounded())


def _read_stored(ws: Workspace, key) -> dict | None:
    from app.store import analyses
    blob = analyses.read(ws.store, _stored_key(ws, key))
    try:
        return None if blob is None else json.loads(zlib.decompress(blob))
    except (ValueError, zlib.error):
        return None               # unreadable: solved again, and stored over


def _store(ws: Workspace, key, out: dict) -> None:
    from app.store import analyses
    analyses.write(ws.store, _stored_key(ws, key), "plan", int(key[0][0] or 0),
                   zlib.compress(json.dumps(out).encode(), 6))


def peek(ws: Workspace, *, as_of: date | None = None, request: PlanRequest = PlanRequest()):
    """The cached plan (or PlanRefused) for this request, None when not computed yet."""
    key = (ws.store.cache_version(), ws.as_of(as_of), request, "")
    with _lock:
        return _cache(ws).get(key)


def _remember(ws: Workspace, key, value) -> None:
    with _lock:
        cache = _cache(ws)
        if len(cache) > 64:
            cache.clear()
        cache[key] = value


def plan_marks(ws: Workspace, *, as_of: date | None = None, base: Ranking | None = None) -> dict[str, str]:
    """{key: period} of the configured plan (cached); {} when no capacity is configured,
    the mandatory items cannot all be planned, or the backlog is over the plan's budget
    (checked before anything is built). Cheap to call from a page: it reuses the
    full plan when /plan or the API computed it, else solves without `enters_if`."""
    items = len(base.backlog) if base is not None else budget.eligible_items(ws)
    try:                      # the budget's own check, before building an input it would refuse
        budget.check_plan(items, len(ws.settings.planning.periods))
    except OverBudget:
        return {}
    full = (ws.store.cache_version(), ws.as_of(as_of), PlanRequest())
    with _lock:
        hit = _cache(ws).get(full)
    if isinstance(hit, dict):
        return {p["key"]: p["period"] for p in hit["planned"]}
    try:
        d = plan(ws, as_of=as_of, base=base, request=PlanRequest(explain=False))
        return {p["key"]: p["period"] for p in d["planned"]}
    except (PlanNotConfigured, PlanRefused):
        return {}
