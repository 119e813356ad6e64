"""The roadmap page's state in its URL: filters, search, method, grouping, page, and the
what-if scenario (objective weights, KPI values, extra items), so a page can be reloaded,
shared and exported exactly as it is shown.

Scenario parameters: `w.<objective>=<weight>`, `kpi.<kpi>=<value>`, and extra items as
repeated `new_key`, `new_title`, `new_effort`, `new_impact` (rows without a key are skipped).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import urlencode

from scoring.errors import BadInput

FILTERS = ("q", "objective", "status", "flag")
NEW_FIELDS = ("new_key", "new_title", "new_effort", "new_impact")


class ScenarioError(BadInput):
    """A scenario parameter that cannot be read; the message names it."""


def _number(name: str, raw: str) -> float:
    try:
        v = float(raw)
    except ValueError:
        raise ScenarioError(f"{name} must be a number, not '{raw}'") from None
    if not math.isfinite(v):
        raise ScenarioError(f"{name} must be a finite number")
    return v


@dataclass
class Scenario:
    weights: dict[str, float] = field(default_factory=dict)       # only those that differ
    kpi_values: dict[str, float] = field(default_factory=dict)
    extra: list[dict] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.weights or self.kpi_values or self.extra)

    def body(self) -> dict:
        """The what-if body (docs/http.md, POST /api/v1/what-if) this scenario stands for."""
        out: dict = {}
        if self.weights:
            out["objective_weights"] = dict(self.weights)
        if self.kpi_values:
            out["kpi_values"] = dict(self.kpi_values)
        if self.extra:
            out["initiatives"] = [dict(e) for e in self.extra]
        return out


def read_scenario(args, objectives, kpi_ids) -> Scenario:
    """The scenario in request args (a MultiDict); weights equal to the config's are not a change."""
    s = Scenario()
    configured = {o.id: o.weight for o in objectives}
    for k, raw in args.items():
        if k.startswith("w.") and raw != "":
            oid = k[2:]
            if oid not in configured:
                raise ScenarioError(f"{k}: no objective '{oid}'")
            v = _number(k, raw)
            if v < 0:
                raise ScenarioError(f"{k} must be 0 or more")
            if v != configured[oid]:
                s.weights[oid] = v
        elif k.startswith("kpi.") and raw.strip() != "":
            kid = k[4:]
            if kid not in kpi_ids:
                raise ScenarioError(f"{k}: no KPI '{kid}'")
            s.kpi_values[kid] = _number(k, raw)
    if s.weights and sum({**configured, **s.weights}.values()) <= 0:
        raise ScenarioError("at least one objective needs a weight above 0")
    columns = [args.getlist(f) for f in NEW_FIELDS]
    for n, key in enumerate(columns[0]):
        if not key.strip():
            continue
        title, effort, impact = (col[n] if n < len(col) else "" for col in columns[1:])
        item = {"key": key.strip(), "title": title.strip() or key.strip(), "impact": impact.strip()}
        item["effort"] = _number("new_effort", effort) if effort.strip() else None
        if item["effort"] is not None and item["effort"] <= 0:
            raise ScenarioError("new_effort must be above 0")
        s.extra.append(item)
    return s


def in_config_unit(sc: Scenario, kpis) -> Scenario:
    """KPI values as typed on a page are in the KPI's own unit as the KPI page shows it (a
    % KPI shows 40 % and takes 40); the scoring reads the config's unit (0.40)."""
    pct = {k.id for k in kpis if k.unit == "%"}
    sc.kpi_values = {k: (v / 100 if k in pct else v) for k, v in sc.kpi_values.items()}
    return sc


@dataclass
class PageScenario:
    """The scenario of a page's URL, ready to apply: `scenario` None when there is none or
    it cannot be used (`error` says why) or waits for confirmation (`confirm` lists the
    KPI values more than 10x off their current value; `confirm_url` applies them anyway)."""
    scenario: Scenario | None = None
    error: str | None = None
    confirm: list[dict] = field(default_factory=list)
    confirm_url: str = ""

    def body(self) -> dict | None:
        return self.scenario.body() if self.scenario is not None and self.scenario.active else None


def page_scenario(args, objectives, kpis, currents, path: str) -> PageScenario:
    """Read the URL's scenario (KPI values in the KPI's own unit); a value more than 10x off
    the current one is held back until the URL says `confirm=1`."""
    from app.services.whatif import big_changes
    try:
        sc = in_config_unit(read_scenario(args, objectives, {k.id for k in kpis}), kpis)
    except ScenarioError as exc:
        return PageScenario(error=str(exc))
    if not sc.active:
        return PageScenario()
    big = big_changes(sc.kpi_values, currents, kpis)
    if big and args.get("confirm") != "1":
        return PageScenario(confirm=big, confirm_url=f"{path}?{query(args, confirm='1', page=None)}")
    return PageScenario(scenario=sc)


def query(args, **changes) -> str:
    """`args` (a MultiDict) as a query string with `changes` applied (None removes a key)."""
    pairs = [(k, v) for k, v in args.items(multi=True) if k not in changes]
    pairs += [(k, v) for k, v in changes.items() if v is not None and v != ""]
    return urlencode(pairs)


def without_scenario(args) -> str:
    drop = {k for k in args if k.startswith(("w.", "kpi.")) or k in NEW_FIELDS or k == "page"}
    return urlencode([(k, v) for k, v in args.items(multi=True) if k not in drop])
