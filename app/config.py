"""One TOML file -> validated settings (docs/configuration.md).

Found at `--config PATH`, else `$ROADMAP_CONFIG`, else `./roadmap.toml`. Relative paths
are relative to the file. Secrets never sit in the file: a key ending in `_env` names the
environment variable that holds one. A bad file is refused with every problem at once,
each with its location (`kpis[2].target: input should be a valid number`).
"""
from __future__ import annotations

import difflib
import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from connectors.base import Connector, KpiSource, registry
from scoring.goals.graph import GraphProblem, find_problems
from scoring.model import Edge, Kpi, Objective
from scoring.numbers import finite_number
from scoring.ranking import METHODS
from scoring.errors import BadInput

CONFIG_NAME = "roadmap.toml"


class ConfigError(BadInput):
    """The config cannot be used. `problems` are located, one per line, each with a fix."""

    def __init__(self, problems: list[str], path: Path | None = None):
        self.problems = problems
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__("\n".join(where + p for p in problems), code="config")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceSettings(_Section):
    database: str = "sqlite:///roadmap.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    api_token_env: str | None = None
    sync_every: str | None = Field(default=None, pattern=r"^[1-9][0-9]*[smh]$")   # "30s", "15m", "1h"
    webhook_secret_env: str | None = None
    log_format: Literal["text", "json"] = "text"
    # Host headers served (DNS rebinding); "*" for any. Default: the loopback names, any port.
    allowed_hosts: list[str] = Field(default_factory=lambda: ["localhost", "127.0.0.1", "[::1]"])
    metrics_token_env: str | None = None       # /metrics needs this bearer token; unset: loopback clients only
    max_concurrent_analyses: int = Field(default=2, ge=1, le=64)   # plan/risk computations at once per process


class ScoringSettings(_Section):
    method: Literal[METHODS] = "kpi-impact"  # type: ignore[valid-type]
    urgency: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    met_target_factor: float = Field(default=0.5, ge=0, allow_inf_nan=False)
    default_confidence: float = Field(default=0.5, ge=0, le=1)
    default_effort: float | str = "median"   # a number > 0, or "median" (docs/model.md)
    as_of: date | None = None

    @field_validator("default_effort", mode="before")
    @classmethod
    def _effort(cls, v: object) -> float | str:
        if v == "median":
            return v
        f = None if isinstance(v, str) else finite_number(v)
        if f is None:
            raise ValueError('input should be a number or "median"')
        if f <= 0:
            raise ValueError("input should be greater than 0")
        return f


class AlignmentSettings(_Section):
    stale_days: int = Field(default=7, ge=0)
    max_kpis_per_objective: int = Field(default=5, ge=1)
    allocation_tolerance: float = Field(default=0.15, ge=0, le=1)


class PlanningTeam(_Section):
    id: str = Field(min_length=1)
    capacity: float | list[float]   # effort per period, or one entry per period

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, v: float | list[float]) -> float | list[float]:
        for x in (v if isinstance(v, list) else [v]):
            if not (x == x and abs(x) != float("inf")) or x < 0:
                raise ValueError("capacity must be a finite number >= 0 (or a list of them, one per period)")
        return v


class PlanningPeriod(_Section):
    id: str = Field(min_length=1)
    ends: date


class PlanningSettings(_Section):
    """[planning] (docs/model.md "The plan"). No teams: `roadmap plan` needs --capacity.
    A period is a name (`2027-Q1`, `2027-H1`, `2027-03` end where they say) or
    `{id, ends}`; `periods` keeps the names, `end_of` tells when each ends."""
    periods: list[str | PlanningPeriod] = Field(default_factory=lambda: ["P1", "P2", "P3", "P4"],
                                               min_length=1, max_length=24)
    value_of_time: Literal["linear", "none"] = "linear"
    mandatory_label: str = "must"
    solver_seconds: float = Field(default=5.0, gt=0, le=600, allow_inf_nan=False)
    spanning: bool = True            # an item too big for any one period spreads its effort
    teams: list[PlanningTeam] = Field(default_factory=list)
    _ends: dict[str, date] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context) -> None:
        ends = {}
        names = []
        for p in self.periods:
            if isinstance(p, PlanningPeriod):
                ends[p.id] = p.ends
                names.append(p.id)
            else:
                names.append(p)
        object.__setattr__(self, "periods", names)
        self._ends = ends

    def end_of(self, period: str) -> date | None:
        """When a period ends: its `ends`, else what its name says, else None."""
        from scoring.plan.periods import named_end
        return self._ends.get(period) or named_end(period)

    def capacity_of(self, team: PlanningTeam) -> list[float]:
        c = team.capacity
        return [float(x) for x in c] if isinstance(c, list) else [float(c)] * len(self.periods)


class UncertaintySettings(_Section):
    """[uncertainty] (docs/model.md "Uncertainty")."""
    draws: int = Field(default=10_000, ge=1, le=1_000_000)
    seed: int = Field(default=1, ge=0)
    top: int = Field(default=10, ge=1)


class OutcomesSettings(_Section):
    """[outcomes] (docs/model.md, "Outcomes")."""
    post_days: int = Field(default=28, ge=7, le=366)
    ramp_days: int = Field(default=0, ge=0, le=366)
    pre_days: int = Field(default=140, ge=56, le=3660)
    placebos: int = Field(default=12, ge=0, le=104)
    level: float = Field(default=0.90, ge=0.5, lt=1)


class CalibrationSettings(_Section):
    """[calibration] (docs/model.md, "Calibration")."""
    prior_sd: float = Field(default=0.5, gt=0, le=100, allow_inf_nan=False)
    apply: bool = False


AUTH_ROLES = ("viewer", "estimator", "planner", "admin")   # app.auth.ROLES (checked by a test)


class AuthSettings(_Section):
    """[auth] (docs/configuration.md, "[auth]"): who may do what. Unset: as before (reads
    open, writes from loopback or with `[service] api_token_env`)."""
    mode: Literal["oidc", "proxy", "none"] = "oidc"
    issuer: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    client_id: str | None = Field(default=None, min_length=1)
    client_secret_env: str | None = None
    groups_claim: str = Field(default="groups", min_length=1)   # a dotted path: realm_access.roles
    roles: dict[str, str] = Field(default_factory=dict)        # group or e-mail -> role
    proxy_user_header: str = "X-Forwarded-Email"
    proxy_groups_header: str | None = "X-Forwarded-Groups"
    proxy_secret_env: str | None = None
    trusted_proxies: list[str] = Field(default_factory=list)
    session_hours: float = Field(default=12, gt=0, le=24 * 30)

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [f"'{k}' = '{r}'" for k, r in v.items() if r not in AUTH_ROLES]
        if bad:
            raise ValueError(f"{', '.join(bad)}: a role must be one of {', '.join(AUTH_ROLES)}")
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: list[str]) -> list[str]:
        import ipaddress
        for n in v:
            try:
                ipaddress.ip_network(n, strict=False)
            except ValueError:
                raise ValueError(f"'{n}' is not an address or network (10.0.0.0/8, 127.0.0.1)") from None
        return v

    def problems(self) -> list[str]:
        """What each mode needs, located (`auth.issuer: ...`)."""
        out = []
        if self.mode == "oidc":
            out += [f"auth.{k}: missing; mode = \"oidc\" needs it ({hint})" for k, hint in
                    (("issuer", "the identity provider's issuer URL"), ("client_id", "this service's client id"))
                    if not getattr(self, k)]
        if self.mode == "proxy":
            if not self.proxy_secret_env:
                out.append("auth.proxy_secret_env: missing; mode = \"proxy\" needs the variable holding the "
                           "secret the proxy sends in X-Roadmap-Proxy-Secret")
            if not self.trusted_proxies:
                out.append("auth.trusted_proxies: missing; mode = \"proxy\" needs the proxy's addresses")
        if self.mode != "none" and not self.roles:
            out.append("auth.roles: empty; map at least one group or e-mail to a role, else nobody gets in")
        return out


class Source(BaseModel):
    """A KPI's `source`: the connector that feeds it plus that connector's own keys."""
    model_config = ConfigDict(extra="allow", frozen=True)
    connector: str


class KpiSettings(Kpi):
    source: Source | None = None


class Settings(_Section):
    service: ServiceSettings = ServiceSettings()
    scoring: ScoringSettings = ScoringSettings()
    alignment: AlignmentSettings = AlignmentSettings()
    planning: PlanningSettings = PlanningSettings()
    uncertainty: UncertaintySettings = UncertaintySettings()
    outcomes: OutcomesSettings = OutcomesSettings()
    calibration: CalibrationSettings = CalibrationSettings()


    auth: AuthSettings | None = None
    objectives: list[Objective] = Field(default_factory=list)
    kpis: list[KpiSettings] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)

    # set by `load_settings`
    path: Path | None = Field(default=None, exclude=True)
    connector_options: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def database_url(self) -> str:
        """`$ROADMAP_DATABASE`, else `[service] database`; a relative SQLite path is
        relative to the config file."""
        url = os.environ.get("ROADMAP_DATABASE") or self.service.database
        prefix = "sqlite:///"
        if url.startswith(prefix) and url != prefix + ":memory:":
            p = Path(url[len(prefix):])
            if not p.is_absolute():
                url = prefix + str(self.base_dir / p)
        return url

    def graph_problems(self) -> list[GraphProblem]:
        return find_problems(self.objectives, list(self.kpis), self.edges)

    def connector(self, name: str) -> Connector:
        cls = registry.get(self.connectors[name]["type"])
        return cls(name, self.connector_options[name], base_dir=self.base_dir)

    def kpi_sources(self, connector: str) -> list[KpiSource]:
        return [KpiSource(k.id, k.source.model_dump(exclude={"connector"}), k.start)
                for k in self.kpis if k.source and k.source.connector == connector]


def find_config_path(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("ROADMAP_CONFIG")
    return Path(env) if env else Path.cwd() / CONFIG_NAME


def location(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: dict, model: type[BaseModel] | None) -> str:
    if err["type"] == "extra_forbidden":
        known = _known_keys(model, err["loc"][:-1])
        close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        return f"unknown key; {hint}"
    if err["type"] == "missing":
        return "missing; this key is required"
    msg = str(err["ctx"]["error"]) if err["type"] == "value_error" and "error" in err.get("ctx", {}) else err["msg"]
    return msg[0].lower() + msg[1:]


def _known_keys(model: type[BaseModel] | None, loc: tuple) -> list[str]:
    """The keys the model accepts at `loc` (for 'did you mean')."""
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        ann = getattr(field, "annotation", None) if field else None
        args = getattr(ann, "__args__", ())
        model = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
    if model is None:
        return []
    return sorted(f.alias or n for n, f in model.model_fields.items() if not f.exclude)


def validation_problems(exc: ValidationError, model: type[BaseModel], prefix: tuple = ()) -> list[str]:
    return [f"{location(prefix + tuple(e['loc']))}: {_message(e, model)}" for e in exc.errors()]


def _duplicates(settings: Settings) -> list[str]:
    problems, seen = [], {}
    for section in ("objectives", "kpis"):
        for n, item in enumerate(getattr(settings, section)):
            here = f"{section}[{n}]"
            if item.id in seen:
                problems.append(f"{here}.id: '{item.id}' is already used by {seen[item.id]}; ids must be unique")
            else:
                seen[item.id] = here
    pairs: dict[tuple[str, str], int] = {}
    for n, e in enumerate(settings.edges):
        if (e.source, e.target) in pairs:
            problems.append(f"edges[{n}]: repeats edges[{pairs[(e.source, e.target)]}] "
                            f"({e.source} -> {e.target}); merge them into one edge")
        pairs.setdefault((e.source, e.target), n)
    teams: dict[str, int] = {}
    periods = settings.planning.periods
    if len(set(periods)) != len(periods):
        problems.append("planning.periods: a period name is repeated; names must be unique")
    for n, t in enumerate(settings.planning.teams):
        if t.id in teams:
            problems.append(f"planning.teams[{n}].id: '{t.id}' is already used by planning.teams[{teams[t.id]}]; "
                            "ids must be unique")
        teams.setdefault(t.id, n)
        if isinstance(t.capacity, list) and len(t.capacity) != len(periods):
            problems.append(f"planning.teams[{n}].capacity: has {len(t.capacity)} entries for "
                            f"{len(periods)} periods; give one per period or a single number")
    if settings.objectives and not any(o.weight > 0 for o in settings.objectives):
        problems.append("objectives: every weight is 0; give at least one objective a weight above 0")
    return problems


def _connectors(settings: Settings) -> list[str]:
    problems = []
    for name, raw in settings.connectors.items():
        where = f"connectors.{name}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a table with a `type` key")
            continue
        kind = raw.get("type")
        cls = registry.get(kind) if isinstance(kind, str) else None
        if cls is None:
            known = ", ".join(registry.names())
            what = "missing" if kind is None else f"unknown connector type '{kind}'"
            problems.append(f"{where}.type: {what}; use one of {known}")
            continue
        try:
            settings.connector_options[name] = cls.Options.model_validate(
                {k: v for k, v in raw.items() if k != "type"})
        except ValidationError as exc:
            problems += validation_problems(exc, cls.Options, ("connectors", name))
    for n, k in enumerate(settings.kpis):
        if k.source is None:
            continue
        where = f"kpis[{n}].source.connector"
        if k.source.connector not in settings.connectors:
            problems.append(f"{where}: no connector named '{k.source.connector}'; "
                            f"add a [connectors.{k.source.connector}] table or fix the name")
        elif k.source.connector in settings.connector_options:
            c = settings.connector(k.source.connector)
            if not c.feeds_observations():
                problems.append(f"{where}: connector '{k.source.connector}' holds initiatives, "
                                "not KPI observations")
    return problems


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read and validate the config; raises ConfigError naming every problem."""
    p = find_config_path(path)
    if not p.is_file():
        raise ConfigError([f"no config file at {p}; pass --config PATH, set $ROADMAP_CONFIG, "
                           f"or run `roadmap init` to write a starter {CONFIG_NAME}"])
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], p) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read the file: {exc}"], p) from None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, Settings), p) from None
    settings.path = p.resolve()
    problems = _duplicates(settings) + _connectors(settings) + (settings.auth.problems() if settings.auth else [])
    if problems:
        raise ConfigError(problems, p)
    return settings


def missing_secrets(settings: Settings, names: list[str]) -> list[str]:
    """Problems for every `*_env` variable the named connectors need that is unset."""
    problems = []
    for name in names:
        options = settings.connector_options[name].model_dump()
        for key, var in options.items():
            if key.endswith("_env") and var and not os.environ.get(var):
                problems.append(f"connectors.{name}.{key}: the environment variable {var} is not set; "
                                "export it with the secret before running this command")
    return problems
