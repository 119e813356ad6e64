"""What-if: the ranking under changed objective weights, edge weights, KPI values or
extra initiatives. Nothing is stored.

The body is validated by `WhatIfBody` (every problem located: `initiatives[0].key:
required`); extra initiatives are capped at MAX_EXTRA and their text lengths bounded. The
stored backlog and KPI values come from the caller's cache (`baseline`, `currents`), so a
request never reloads the store.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

from app import services
from scoring.goals.graph import GoalGraph, GraphError
from scoring.model import MAX_EDGE_WEIGHT, MAX_OBJECTIVE_WEIGHT, Backlog, Edge, Initiative, join_backlogs
from scoring.notation import parse_impact
from scoring.goals.progress import Current
from scoring.ranking import Ranking, rank_backlog
from scoring.scenario import rescore
from scoring.numbers import finite_number
from scoring.errors import BadInput

MAX_EXTRA = 1000          # extra initiatives in one request
MAX_TEXT = 1000           # characters in a title or impact text
MAX_WEIGHT = MAX_OBJECTIVE_WEIGHT   # magnitude of an objective weight, effort or KPI value (1e308 zeroes every score)


class WhatIfError(BadInput):
    """The what-if body is not usable; the message names the key."""


def _finite(v: Any) -> float:
    number = finite_number(v, text=False)
    if number is None:
        raise ValueError("must be a finite number")
    return number


def _weight(v: Any) -> float:
    v = _finite(v)
    if abs(v) > MAX_WEIGHT:
        raise ValueError(f"must be between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}")
    return v


def _edge_weight(v: Any) -> float:
    v = _finite(v)
    if abs(v) > MAX_EDGE_WEIGHT:
        raise ValueError(f"must be between -{MAX_EDGE_WEIGHT:g} and {MAX_EDGE_WEIGHT:g}")
    return v


def _effort(v: Any) -> float | None:
    return None if v is None else _weight(v)


# The validators check the bounds; WithJsonSchema says them in the OpenAPI document, which is
# generated from these models (app/web/openapi.py, `request_schema`).
Finite = Annotated[float, BeforeValidator(_finite), WithJsonSchema({"type": "number"})]
Weight = Annotated[float, BeforeValidator(_weight),
                   WithJsonSchema({"type": "number", "minimum": -MAX_WEIGHT, "maximum": MAX_WEIGHT})]
Text = Annotated[str, Field(max_length=MAX_TEXT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class EdgeChange(_Strict):
    source: str = Field(alias="from")
    to: str
    weight: Annotated[float, BeforeValidator(_edge_weight),
                      WithJsonSchema({"type": "number", "minimum": -MAX_EDGE_WEIGHT, "maximum": MAX_EDGE_WEIGHT})]


class ExtraInitiative(_Strict):
    key: Annotated[str, Field(min_length=1, max_length=255)]
    title: Text = ""
    effort: Annotated[float | None, BeforeValidator(_effort),
                      WithJsonSchema({"type": ["number", "null"], "minimum": -MAX_WEIGHT, "maximum": MAX_WEIGHT})] = None
    impact: Text = ""


class WhatIfBody(_Strict):
    objective_weights: dict[str, Weight] = Field(default_factory=dict)
    edge_weights: list[EdgeChange] = Field(default_factory=list, max_length=MAX_EXTRA)
    kpi_values: dict[str, Finite] = Field(default_factory=dict)
    initiatives: list[ExtraInitiative] = Field(default_factory=list, max_length=MAX_EXTRA)
    as_of: date | None = None

    @classmethod
    def read(cls, body: Any) -> "WhatIfBody":
        """The validated body; raises WhatIfError naming the first problems by location."""
        if not isinstance(body, dict):
            raise WhatIfError("the body must be a JSON object")
        unknown = set(body) - set(cls.model_fields)
        if unknown:
            raise WhatIfError(f"unknown keys: {', '.join(sorted(map(str, unknown)))[:300]}")
        if isinstance(body.get("as_of"), str):
            try:
                body = {**body, "as_of": date.fromisoformat(body["as_of"])}
            except ValueError:
                raise WhatIfError("as_of: must be a date, YYYY-MM-DD") from None
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            raise WhatIfError("; ".join(_problem(e) for e in exc.errors()[:5])) from None


def _problem(err: dict) -> str:
    where = ""
    for part in err["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    if err["type"] == "missing":
        return f"{where}: required"
    if err["type"] == "too_long" and err["loc"] in (("initiatives",), ("edge_weights",)):
        return f"{where}: at most {MAX_EXTRA} items in one request (the limit)"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{where}: {msg[0].lower() + msg[1:]}"


BIG_CHANGE = 10.0        # a KPI value this many times above or below the current one asks for confirmation


def big_changes(kpi_values: dict[str, float], currents: dict[str, Current], kpis) -> list[dict]:
    """The what-if KPI values more than BIG_CHANGE times above or below the KPI's current
    value (or a change to or from 0), each {"kpi", "value", "current", "factor", "message"}
    with both values in the KPI's own unit as the KPI page shows them (a % KPI as 40 %)."""
    from app.render import value as shown
    units = {k.id: k.unit for k in kpis}
    out = []
    for k, v in kpi_values.items():
        cur = currents.get(k)
        c = None if cur is None else cur.value
        if c is None or v == c:
            continue
        if c == 0 or v == 0 or not (1 / BIG_CHANGE <= abs(v / c) <= BIG_CHANGE) or (v > 0) != (c > 0):
            factor = abs(v / c) if c and v else None
            how = (f"{factor:.3g}x above" if factor and factor > 1 else
                   f"{1 / factor:.3g}x below" if factor else "a change to or from 0 against")
            unit = units.get(k, "")
            hint = " (a % KPI is a fraction in the API and the config: 0.40 for 40 %)" if unit == "%" else ""
            out.append({"kpi": k, "value": v, "current": c, "factor": factor, "how": how,
                        "value_text": shown(v, unit), "current_text": shown(c, unit),
                        "message": f"kpi_values.{k}: {shown(v, unit)} is {how} the current {shown(c, unit)}"
                                   f"{hint}; check the unit"})
    return out


def what_if(ws: services.Workspace, body: Any, *, as_of: date | None = None, method: str | None = None,
            baseline: Ranking | None = None,
            currents: dict[str, Current] | None = None) -> tuple[Ranking, "PreviousRanks"]:
    """The changed ranking, and each key's rank in the unchanged one (to show who moved).
    `as_of` and `method` are the request's (the body's `as_of` wins); `baseline` is the
    unchanged ranking for that date and method and `currents` the KPI values, when the
    caller holds them already."""
    req = body if isinstance(body, WhatIfBody) else WhatIfBody.read(body)
    graph = ws.graph
    objective_ids = {o.id for o in graph.objectives}
    for k, v in req.objective_weights.items():
        if k not in objective_ids:
            raise WhatIfError(f"objective_weights.{k[:100]}: no such objective")
        if v < 0:
            raise WhatIfError(f"objective_weights.{k}: must be 0 or more")
    weights = dict(req.objective_weights)
    if weights and sum({**{o.id: o.weight for o in graph.objectives}, **weights}.values()) <= 0:
        raise WhatIfError("objective_weights: at least one objective needs a weight above 0")
    if req.edge_weights:
        changed = {}
        existing = {(x.source, x.target) for x in graph.edges}
        for n, e in enumerate(req.edge_weights):
            if (e.source, e.to) not in existing:
                raise WhatIfError(f"edge_weights[{n}]: no edge from {e.source[:100]!r} to {e.to[:100]!r}")
            changed[(e.source, e.to)] = e.weight
        edges = [Edge(**{"from": x.source, "to": x.target, "weight": changed.get((x.source, x.target), x.weight)})
                 for x in graph.edges]
        try:
            graph = GoalGraph.build(graph.objectives, graph.kpis, edges)
        except GraphError as exc:
            raise WhatIfError("edge_weights: " + "; ".join(p.message for p in exc.problems)) from None
    params = ws.params(req.as_of or as_of, method)
    base = baseline if baseline is not None else services.ranking(ws, as_of=params.as_of, method=params.method)
    kpi_ids = {x.id for x in graph.kpis}
    for k in req.kpi_values:
        if k not in kpi_ids:
            raise WhatIfError(f"kpi_values.{k[:100]}: no such KPI")
    fast = base.params == params and params.method == "kpi-impact" and not req.initiatives
    changed = None
    if req.kpi_values or not fast:
        changed = dict(currents if currents is not None else services.currents(ws, params.as_of))
        for k, v in req.kpi_values.items():
            changed[k] = Current(v, params.as_of)
    if fast:
        # only what the change touches is scored again (scoring/scenario.py)
        ranking = rescore(base, objective_weights=weights or None,
                          graph=graph if graph is not ws.graph else None, currents=changed)
        return ranking, PreviousRanks(base)
    backlog = base.backlog
    extra = []
    for it in req.initiatives:
        parsed = parse_impact(it.impact)
        extra.append(Initiative(key=it.key, title=it.title or it.key, effort=it.effort,
                                links=tuple(parsed.links), flags=tuple(parsed.flags), status="what-if"))
    if extra:
        backlog = join_backlogs(backlog, Backlog.from_initiatives(extra))
    ranking = rank_backlog(backlog, graph, params, changed, objective_weights=weights or None)
    return ranking, PreviousRanks(base)


class PreviousRanks:
    """Each key's rank in the unchanged ranking, looked up only for the items shown
    (a dict of every key would cost more than the what-if itself)."""

    def __init__(self, base: Ranking):
        self.base = base

    def get(self, key: str, default=None):
        i = self.base.index_of(key)
        rank = int(self.base.rank_of[i]) if i is not None else 0
        return rank if rank else default

    def __getitem__(self, key: str) -> int:
        got = self.get(key)
        if got is None:
            raise KeyError(key)
        return got

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None
