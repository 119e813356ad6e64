"""The Connector interface and the registry every connector goes through.

The built-in connectors are listed once, in `BUILTINS` below; third-party plugins install
through the entry point group `kpi_roadmap.connectors` and are found the same way. An
entry point names either a `Connector` subclass or a callable `register(registry)` that
calls `registry.add(cls)`. `installed()` lists both, and the plugins that failed to load.

Secrets stay out of messages here, once for every connector: any `SourceError` leaving
`prepare`, `pull` or `write_back`, and every reason given to `run.skip` / `run.fail`, has
the connector's configured secret values (and its Authorization header values) redacted.

A connector is a stream of records with a cursor (Singer / Airbyte style): `pull` writes
what it reads into a `SyncRun` page by page and saves its bookmark after every page, so
a crash resumes and a failure never reaches what the ranking reads.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Protocol

from pydantic import BaseModel, ConfigDict

from connectors.secrets import forms, redact  # noqa: F401 - redact re-exported
from scoring.errors import BadInput, SourceFailed

ENTRY_POINT_GROUP = "kpi_roadmap.connectors"


class ConnectorOptions(BaseModel):
    """A connector's keys in `[connectors.<name>]` besides `type`. Subclass per connector."""
    model_config = ConfigDict(extra="forbid")


@dataclass
class InitiativeRecord:
    """An initiative as a source states it; the sync turns impact text and labels into links."""
    key: str
    title: str
    status: str = ""
    status_category: str = "new"          # new | indeterminate | done
    effort: float | None = None
    confidence: float | None = None
    impact: str = ""                      # impact lines (docs/configuration.md)
    labels: tuple[str, ...] = ()
    url: str = ""
    parent: str = ""
    blocked_by: tuple[str, ...] = ()
    team: str = ""                        # the team that would do it ([planning] teams)
    mandatory: bool = False               # must be planned (a field; the label is read by the sync)
    due: date | None = None               # to be delivered by (the plan's periods that end by then)
    period: str = ""                      # pinned to this plan period
    factors: dict[str, float] = field(default_factory=dict)
    flags: tuple[str, ...] = ()           # e.g. unreadable-effort, found while reading the record
    raw: Any = None                       # the source record as received, kept in the store
    external_id: str = ""                 # the source's own id, when it has one besides the key
    launched_on: date | None = None       # when it reached users (a date column or field)
    done_on: date | None = None           # the day it became done (Jira: resolution, status change)
    estimator: str = ""                   # who estimated (display name), for lines without `by`
    estimator_id: str = ""                # a stable id for that person (Jira's accountId), else ""


@dataclass(frozen=True)
class KpiSource:
    """A KPI whose `source` names this connector, with the source's own keys."""
    kpi: str
    source: dict
    start: date | None = None


def as_day(value: Any) -> date:
    """`2026-07-01`, `20260701`, `2026-07-01T00:00:00Z` or a date as a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if len(text) == 8 and text.isdigit():
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if "T" in text or " " in text:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    return date.fromisoformat(text[:10])


class SyncRun(Protocol):
    """What a connector writes into during `pull` (implemented by the app's sync service)."""
    full: bool
    bookmark: Any                 # what the last good sync saved, None on a first or --full sync
    resume: Any                   # what an interrupted sync saved after its last page (its pages are adopted)
    kpis: list[KpiSource]         # the KPIs this connector feeds

    def known(self) -> dict[str, str | None]: ...          # active initiatives: key -> external id
    def last_day(self, kpi: str) -> date | None: ...        # the newest stored observation's day
    def count(self, name: str, n: int) -> None: ...        # a figure for the summary (requests made)
    def initiatives(self, records: Iterable[InitiativeRecord]) -> None: ...
    def observations(self, kpi: str, rows: Iterable[tuple[date, float]]) -> None: ...
    def seen_all(self, keys: Iterable[str]) -> None: ...   # a complete listing: the rest left the source
    def skip(self, where: str, reason: str) -> None: ...    # a malformed record: skipped, counted, reported
    def fail(self, subject: str, reason: str) -> None: ...  # one KPI or part failed; the rest goes on
    def save_bookmark(self, value: Any) -> None: ...
    def progress(self, done: int, total: int | None = None) -> None: ...


class SourceError(SourceFailed):
    """The source failed as a whole (unreachable, refused credentials). The message names
    the source and the status and never holds a secret."""

    def __init__(self, message: str, *, auth: bool = False):
        super().__init__(message)
        self.auth = auth


class QuotaExhausted(SourceError):
    """The source's quota is spent for a long while (an hour or a day): retrying now is
    pointless, every other request would fail the same way, so the whole source stops
    and its last good data stays."""


class SourceConfigError(BadInput, SourceError):
    """The source says the config is wrong (a field name it does not have): bad input,
    reported before anything is fetched (400, exit 2)."""
    status, exit_code, code = 400, 2, "source-config"

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Change:
    """One field to write back: `roadmap push --dry-run` lists these."""
    key: str
    field: str            # the role: score | rank
    old: Any
    new: Any              # None clears the field


@dataclass
class WriteBackResult:
    written: int = 0
    cleared: int = 0
    failed: int = 0
    failed_keys: set[str] = field(default_factory=set)
    messages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _RedactingRun:
    """The run a connector writes into, with secrets taken out of every reason it gives."""

    def __init__(self, run: SyncRun, secrets: Callable[[], list[str]]):
        self._run, self._secrets = run, secrets

    def __getattr__(self, name: str):
        return getattr(self._run, name)

    def skip(self, where: str, reason: str) -> None:
        values = forms(self._secrets())
        self._run.skip(redact(where, values), redact(reason, values))

    def fail(self, subject: str, reason: str) -> None:
        self._run.fail(subject, redact(reason, forms(self._secrets())))


def _redacting(method):
    """Wrap a connector method so a SourceError leaving it carries no secret."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if method.__name__ == "pull" and args and not isinstance(args[0], _RedactingRun):
            args = (_RedactingRun(args[0], self.secret_values), *args[1:])
        try:
            return method(self, *args, **kwargs)
        except SourceError as exc:
            secrets = forms(self.secret_values())
            exc.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in exc.args)
            if isinstance(exc, SourceConfigError):
                exc.problems = [redact(p, secrets) for p in exc.problems]
            raise
    wrapper._redacting = True
    return wrapper


class Connector(ABC):
    type: ClassVar[str]
    Options: ClassVar[type[ConnectorOptions]] = ConnectorOptions
    holds: ClassVar[str] = "initiatives"         # initiatives | observations
    supports_write_back: ClassVar[bool] = False  # True: `write_back` writes score / rank to the source

    def __init__(self, name: str, options: ConnectorOptions, *, base_dir: Path = Path(".")):
        self.name = name
        self.options = options
        self.base_dir = base_dir
        self.http_clients: list = []             # every HttpClient made, for their secrets

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("prepare", "pull", "write_back"):
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "_redacting", False):
                setattr(cls, name, _redacting(method))

    def secret_variables(self) -> list[str]:
        """Names of the environment variables this connector reads (its `*_env` keys)."""
        return [v for k, v in self.options.model_dump().items() if k.endswith("_env") and v]

    def secret_values(self) -> list[str]:
        """Every secret this connector holds: its variables' values and what its HTTP
        clients send as credentials. Taken out of every message (see `redact`)."""
        values = [os.environ.get(v, "") for v in self.secret_variables()]
        for client in getattr(self, "http_clients", []):
            values += client.secret_values()
        return [v for v in dict.fromkeys(values) if v]

    def fingerprint(self) -> str:
        """Changes whenever a setting that shapes what is pulled changes (forces a full pull)."""
        data = json.dumps(self.options.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def feeds_observations(self) -> bool:
        return self.holds == "observations"

    def prepare(self) -> None:
        """Check the config against the source before anything is pulled (for example,
        resolve field names). Raise `SourceConfigError` for what the user must fix."""

    @abstractmethod
    def pull(self, run: SyncRun) -> None:
        """Read the source into `run`. Raise `SourceError` when the whole source fails."""

    # -- write-back (a tracker that takes score and rank back says so) ----------------------
    def write_back_fields(self) -> dict[str, str]:
        """The roles written back (`score`, `rank`) and the source's field for each;
        empty when nothing is configured to be written."""
        return {}

    def written_values(self, raw: Any) -> dict[str, Any]:
        """What a stored source record (`InitiativeRecord.raw`) holds in each write-back field."""
        return {}

    def write_back(self, changes: list[Change], *, progress: Callable | None = None) -> WriteBackResult:
        """Write the changes; None clears a field. Only for `supports_write_back` connectors."""
        raise NotImplementedError(f"connector type {self.type} cannot write back")


class Registry:
    """Connector types by name. `add` is the one way in, for built-ins and plugins alike."""

    def __init__(self) -> None:
        self._types: dict[str, type[Connector]] = {}
        self._loaded = False
        self.broken: dict[str, str] = {}    # plugins that failed to load, with the reason
        self.origins: dict[str, str] = {}   # type -> "built-in" or the plugin's entry point
        self._origin = "built-in"

    def add(self, cls: type[Connector]) -> type[Connector]:
        self._types[cls.type] = cls
        self.origins[cls.type] = self._origin
        return cls

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        plugins = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)
                   if BUILTINS.get(ep.name) != ep.value}     # an old install may still list built-ins
        for name, target in [*BUILTINS.items(), *plugins.items()]:
            self._origin = "built-in" if BUILTINS.get(name) == target else f"plugin {name} ({target})"
            try:
                obj = _resolve(target)
                if isinstance(obj, type) and issubclass(obj, Connector):
                    self.add(obj)
                elif callable(obj):
                    obj(self)
                else:
                    raise TypeError(f"{target} is neither a Connector subclass nor a register(registry) callable")
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the rest
                self.broken[name] = f"{type(exc).__name__}: {exc}"
        self._origin = "built-in"

    def get(self, type_name: str) -> type[Connector] | None:
        self._load()
        return self._types.get(type_name)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._types)


def _resolve(target: str):
    module, _, attr = target.partition(":")
    obj = import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


# The one list of built-in connectors (pyproject's entry points are for plugins only).
BUILTINS = {
    "csv": "connectors.files:CsvConnector",
    "json": "connectors.files:JsonConnector",
    "jira": "connectors.jira:JiraConnector",
    "ga4": "connectors.ga4:Ga4Connector",
    "posthog": "connectors.posthog:PosthogConnector",
    "amplitude": "connectors.amplitude:AmplitudeConnector",
    "mixpanel": "connectors.mixpanel:MixpanelConnector",
    "sql": "connectors.sql:SqlConnector",
}

registry = Registry()


def installed() -> dict:
    """The connector types installed and the plugins that failed to load, as plain data:
    `{"connectors": [{"type", "origin", "class"}], "broken": [{"plugin", "reason"}]}`
    (`origin` is "built-in" or "plugin <entry point> (<target>)").

    >>> [c["type"] for c in installed()["connectors"] if c["origin"] == "built-in"][:3]
    ['amplitude', 'csv', 'ga4']
    """
    reg = registry
    names = reg.names()
    return {"connectors": [{"type": t, "origin": reg.origins.get(t, "built-in"),
                            "class": f"{reg._types[t].__module__}:{reg._types[t].__qualname__}"} for t in names],
            "broken": [{"plugin": k, "reason": v} for k, v in sorted(reg.broken.items())]}
