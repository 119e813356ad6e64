"""The Connector interface and the registry every connector goes through.

Built-in connectors and third-party plugins are found the same way: through the entry
point group `kpi_roadmap.connectors`. An entry point names either a `Connector`
subclass or a callable `register(registry)` that calls `registry.add(cls)`.

A connector is a stream of records with a cursor (Singer / Airbyte style): `pull` writes
what it reads into a `SyncRun` page by page and saves its bookmark after every page, so
a crash resumes and a failure never reaches what the ranking reads.
"""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Iterable, Protocol

from pydantic import BaseModel, ConfigDict

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
    impact: str = ""                      # impact lines (CONTRACT.md)
    labels: tuple[str, ...] = ()
    url: str = ""
    parent: str = ""
    blocked_by: tuple[str, ...] = ()
    team: str = ""                        # the team that would do it ([planning] teams)
    mandatory: bool = False               # must be planned (a field; the label is read by the sync)
    factors: dict[str, float] = field(default_factory=dict)
    flags: tuple[str, ...] = ()           # e.g. unreadable-effort, found while reading the record
    raw: Any = None                       # the source record as received, kept in the store
    external_id: str = ""                 # the source's own id, when it has one besides the key


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


class SourceError(RuntimeError):
    """The source failed as a whole (unreachable, refused credentials). The message names
    the source and the status and never holds a secret."""

    def __init__(self, message: str, *, auth: bool = False):
        super().__init__(message)
        self.auth = auth


class SourceConfigError(SourceError):
    """The source says the config is wrong (a field name it does not have): bad input,
    reported before anything is fetched."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class Connector(ABC):
    type: ClassVar[str]
    Options: ClassVar[type[ConnectorOptions]] = ConnectorOptions
    holds: ClassVar[str] = "initiatives"         # initiatives | observations

    def __init__(self, name: str, options: ConnectorOptions, *, base_dir: Path = Path(".")):
        self.name = name
        self.options = options
        self.base_dir = base_dir

    def secret_variables(self) -> list[str]:
        """Names of the environment variables this connector reads (its `*_env` keys)."""
        return [v for k, v in self.options.model_dump().items() if k.endswith("_env") and v]

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


class Registry:
    """Connector types by name. `add` is the one way in, for built-ins and plugins alike."""

    def __init__(self) -> None:
        self._types: dict[str, type[Connector]] = {}
        self._loaded = False
        self.broken: dict[str, str] = {}    # plugins that failed to load, with the reason

    def add(self, cls: type[Connector]) -> type[Connector]:
        self._types[cls.type] = cls
        return cls

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
        # run from a source tree that was never installed: the built-ins still register
        for name, target in {**_BUILTINS, **found}.items():
            try:
                obj = _resolve(target)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the rest
                self.broken[name] = f"{type(exc).__name__}: {exc}"
                continue
            if isinstance(obj, type) and issubclass(obj, Connector):
                self.add(obj)
            elif callable(obj):
                obj(self)

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


_BUILTINS = {
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
