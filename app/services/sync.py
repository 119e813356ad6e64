"""`roadmap sync`: run connectors into the store, one staged run each.

A connector writes into a `Run`; pages go to staging as they come, and only a run that
ends without a source-wide failure is published. A failing source or KPI never stops the
others and never touches what the last good sync published.
"""
from __future__ import annotations

import json
import logging
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable

from app.config import ConfigError, missing_secrets
from app.secrets import redact, secret_values
from app.services import Workspace
from app.store import RemovalRefused, StagedInitiative, SyncBusy
from connectors.base import Connector, InitiativeRecord, KpiSource, SourceConfigError, SourceError
from scoring.errors import OverBudget
from scoring.notation import latest_per_person, parse_impact
from scoring.numbers import finite_number

Progress = Callable[[str, int, int | None], None]

_stop = threading.Event()     # set by SIGTERM: every connector thread stops at its next page
_syncing = threading.Event()  # a sync is running in this process


class Interrupted(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM or Ctrl+C) in the middle of a sync."""


def stop_on_sigterm() -> None:
    """Handle SIGTERM (systemd, Kubernetes, `kill`) as Ctrl+C: the sync in progress fails
    its run, keeps what it staged for the next one to resume, and the process exits."""
    def handler(signum, _frame):
        _stop.set()
        if not _syncing.is_set():       # not syncing: stop at once, as Ctrl+C does
            raise Interrupted(f"stopped by signal {signum}")
        # syncing: every connector stops at its next page and fails its run (never half-way
        # through a database call), then `sync` raises Interrupted
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def staged(rec: InitiativeRecord) -> StagedInitiative:
    """An initiative record as store rows: impact lines and labels parsed into links."""
    parsed = parse_impact(rec.impact, rec.labels)
    estimator = rec.estimator or None
    lines = latest_per_person(parsed.links, estimator)     # `by` resolved: a person's later line wins
    row = dict(title=rec.title, status=rec.status, status_category=rec.status_category, effort=rec.effort,
               confidence=rec.confidence, impact=rec.impact, url=rec.url, parent=rec.parent,
               labels=" ".join(rec.labels), blocked_by=" ".join(rec.blocked_by), team=rec.team,
               mandatory=bool(rec.mandatory), due=rec.due, period=rec.period or "",
               flags=" ".join(dict.fromkeys(rec.flags + tuple(parsed.flags))), raw=_json(rec.raw),
               external_id=rec.external_id or None, estimator=rec.estimator, estimator_id=rec.estimator_id,
               launched_on=rec.launched_on, done_on=rec.done_on)
    row.update(rec.factors)
    return StagedInitiative(rec.key, row, [(l.kpi, l.low, l.high, l.confidence, l.unit,
                                            (l.by or estimator) if l.low is not None else None) for l in lines])


def _json(raw: Any) -> str:
    return json.dumps(raw, default=str, ensure_ascii=False)


@dataclass
class ConnectorReport:
    connector: str
    status: str = "ok"                       # ok | partial | failed
    initiatives: int = 0
    observations: int = 0
    removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)     # e.g. requests made
    seconds: float = 0.0

    def counts(self) -> dict:
        return {"initiatives": self.initiatives, "observations": self.observations, "removed": self.removed,
                "skipped": len(self.skipped), "failed": len(self.failures), **self.figures}


class Run:
    """The `SyncRun` a connector writes into (connectors.base.SyncRun)."""

    def __init__(self, ws: Workspace, name: str, run_id: int, full: bool, bookmark: Any, resume: Any,
                 kpis: list[KpiSource], report: ConnectorReport, progress: Progress | None):
        self.ws, self.name, self.run_id = ws, name, run_id
        self.full, self.bookmark, self.resume, self.kpis = full, bookmark, resume, kpis
        self.report = report
        self.complete_listing = False
        self.failed_kpis: set[str] = set()
        self.new_bookmark: Any = None
        self.listed = 0
        self._progress = progress

    def _check_stop(self) -> None:
        if _stop.is_set():
            raise Interrupted("stopped")

    def initiatives(self, records: Iterable[InitiativeRecord]) -> None:
        self._check_stop()
        items = [staged(r) for r in records]
        self.ws.store.stage_initiatives(self.run_id, items)
        self.report.initiatives += len(items)

    def observations(self, kpi: str, rows: Iterable[tuple[date, float]]) -> None:
        self._check_stop()
        clean: dict[date, float] = {}
        for day, value in rows:
            number = finite_number(value, text=False)
            if number is not None:
                clean[day] = number
            else:
                self.skip(f"{kpi} {day}", f"value {value!r} is not a finite number")
        self.ws.store.stage_observations(self.run_id, kpi, clean)
        self.report.observations += len(clean)

    def seen_all(self, keys: Iterable[str]) -> None:
        self._check_stop()
        keys = list(keys)
        self.ws.store.stage_seen(self.run_id, keys)
        self.complete_listing = True
        self.listed += len(set(keys))

    def skip(self, where: str, reason: str) -> None:
        self.report.skipped.append((where, redact(reason, secret_values(self.ws.settings))))

    def fail(self, subject: str, reason: str) -> None:
        self.failed_kpis.add(subject)
        self.report.failures.append((subject, redact(reason, secret_values(self.ws.settings))))

    def save_bookmark(self, value: Any) -> None:
        self.new_bookmark = value
        self.ws.store.save_pending_bookmark(self.name, self.run_id, value)

    def progress(self, done: int, total: int | None = None) -> None:
        self._check_stop()
        if self._progress:
            self._progress(self.name, done, total)

    def known(self) -> dict[str, str | None]:
        return self.ws.store.known(self.name)

    def count(self, name: str, n: int) -> None:
        self.report.figures[name] = n

    def last_day(self, kpi: str):
        return self.ws.store.last_day(kpi)


def sync(ws: Workspace, *, connector: str | None = None, full: bool = False, allow_removal: bool = False,
         progress: Progress | None = None, precompute: bool = True) -> list[ConnectorReport]:
    """Pull every connector (or one) into the store. Raises ConfigError before anything is
    fetched when a connector is unknown or a secret's variable is unset. `precompute`: then
    compute the page's plan and risk analysis (`precompute_analyses`); a worker leaves that
    to its idle time, so that queued syncs go first.

    A complete listing that would take more than half of a connector's initiatives out of
    the ranking fails that connector (last good data kept) unless `full` or `allow_removal`."""
    s = ws.settings
    names = [connector] if connector else list(s.connectors)
    if connector and connector not in s.connectors:
        raise ConfigError([f"--connector: no connector named '{connector}'; "
                           f"configured: {', '.join(s.connectors) or 'none'}"], s.path)
    problems = missing_secrets(s, names)
    if problems:
        raise ConfigError(problems, s.path)
    ws.graph  # a graph that cannot be scored is refused before anything is fetched
    connectors, reports = {}, {}
    for name in names:          # every config problem a source can reveal, before any pull
        conn = connectors[name] = ws.settings.connector(name)
        try:
            conn.prepare()
        except SourceConfigError as exc:
            problems += exc.problems
        except SourceError as exc:
            reports[name] = ConnectorReport(name, status="failed", failures=[(name, redact(exc, secret_values(s)))])
    if problems:
        raise ConfigError(problems, s.path)
    # sources of KPI values run side by side (each within its own limits); backlogs one by one
    ws.store  # opened (and migrated) once, before any thread uses it
    todo = [n for n in names if n not in reports]
    parallel = [n for n in todo if connectors[n].feeds_observations()]
    _syncing.set()
    try:
        with ThreadPoolExecutor(max_workers=max(1, len(parallel))) as pool:
            futures = {n: pool.submit(_sync_one, ws, connectors[n], full, allow_removal, progress)
                       for n in parallel}
            for n in todo:
                if n not in futures:
                    reports[n] = _sync_one(ws, connectors[n], full, allow_removal, progress)
            for n, fut in futures.items():
                reports[n] = fut.result()
    finally:
        _syncing.clear()
    if _stop.is_set():
        raise Interrupted("stopped by SIGTERM")
    published = [r for r in reports.values() if r.status in ("ok", "partial")]
    if published:   # one snapshot per published sync; a failure is reported, never fails the sync
        from app.services.changes import auto_save
        saved = auto_save(ws)
        if saved and "error" in saved:
            published[-1].skipped.append(("snapshot", saved["error"]))
        _refresh_outcomes(ws, published[-1])
        publish_ranking(ws, published[-1])
        if precompute:
            precompute_analyses(ws, published[-1])
    return [reports[n] for n in names]


def _refresh_outcomes(ws: Workspace, report: ConnectorReport) -> None:
    """Measure what the new data changes (links in their post window, new launches); a
    failure is reported with the sync, never fails it (docs/model.md, "Outcomes")."""
    from app.services.outcomes import refresh
    try:
        refresh(ws)
    except Exception as exc:  # noqa: BLE001 - measuring outcomes must never undo a published sync
        report.skipped.append(("outcomes", redact(f"not measured: {type(exc).__name__}: {exc}", secret_values(ws.settings))[:300]))


def publish_ranking(ws: Workspace, report: ConnectorReport | None = None) -> None:
    """Store the default ranking of the data just published, so no reader scores it
    (docs/model.md, "The published ranking"); a failure is reported with the sync (the
    first reader then scores and stores it), never fails it."""
    from app.services import published
    try:
        published.ranking(ws)
    except Exception as exc:  # noqa: BLE001 - storing the ranking must never undo a published sync
        if report is not None:
            why = redact(f"not stored: {type(exc).__name__}: {exc}", secret_values(ws.settings))
            report.skipped.append(("ranking", why[:300]))


PRECOMPUTE_ITEMS = 1_000   # from here on, the page's plan and P(in plan) take seconds: a sync computes them


def precompute_analyses(ws: Workspace, report: ConnectorReport | None = None, *,
                        at_least: int | None = None, go_on: Callable[[], bool] | None = None) -> bool:
    """The roadmap page's plan and risk analysis of the data just published, computed and
    stored (app/store/analyses.py), so that no web worker spends seconds on them on its
    first page after a sync; only for a backlog of `at_least` (PRECOMPUTE_ITEMS) eligible
    items (on a smaller one the first page computes them in about a second, most of it
    loading the compiled loops, and stores them). Over the budget, nothing is computed; a
    failure is reported with the sync, never fails it. `go_on()` is asked before each
    analysis (a worker stops for a queued sync); False when it said no."""
    from app.services.planning import budget
    try:
        items = budget.eligible_items(ws)
        if items < (PRECOMPUTE_ITEMS if at_least is None else at_least):
            return True
        try:
            budget.check_plan(items, len(ws.settings.planning.periods))
            plan = True
        except OverBudget:
            plan = False
        risk = budget.risk_refusal(items) is None
        if not (plan or risk):        # the page leaves both out: nothing to load
            return True
        from app.services import ranking as default_ranking
        from app.services.planning import plan as plans, risk as risks
        r = default_ranking(ws)       # the one the roadmap page shows by default (calibrated if so configured)
        for wanted, compute in ((plan, plans.plan_marks), (risk, risks.risk_summary)):
            if wanted:
                if go_on is not None and not go_on():
                    return False
                compute(ws, base=r)
    except Exception as exc:  # noqa: BLE001 - like the ranking: the first page computes them instead
        why = redact(f"not stored: {type(exc).__name__}: {exc}", secret_values(ws.settings))[:300]
        if report is not None:
            report.skipped.append(("analyses", why))
        else:
            logging.getLogger("roadmap.jobs").warning("the page's plan and risk analysis were %s", why)
    return True


def _sync_one(ws: Workspace, conn: Connector, full: bool, allow_removal: bool,
              progress: Progress | None) -> ConnectorReport:
    started = time.monotonic()
    try:
        with ws.store.connector_lock(conn.name):
            report = _locked_sync(ws, conn, full, allow_removal, progress)
    except SyncBusy as exc:
        report = ConnectorReport(conn.name, status="failed", failures=[(conn.name, str(exc))])
    report.seconds = time.monotonic() - started
    return report


def _locked_sync(ws: Workspace, conn: Connector, full: bool, allow_removal: bool,
                 progress: Progress | None) -> ConnectorReport:
    name, store, settings = conn.name, ws.store, ws.settings
    store.recover(name)        # a run a dead process left "running" is failed; its stray staging goes
    bookmark, fingerprint = store.bookmark(name)
    allow_removal = allow_removal or full
    full = full or bookmark is None or fingerprint != conn.fingerprint()
    report = ConnectorReport(name)
    run_id = store.start_run(name, full)
    run = None
    try:
        if full:
            store.discard_pending(name)
            resume = None
        else:
            resume = store.resume(name, run_id)
        run = Run(ws, name, run_id, full, None if full else bookmark, resume, ws.settings.kpi_sources(name),
                  report, progress)
        conn.pull(run)
        run._check_stop()          # stopped after the last page: nothing is published
        if run.complete_listing and run.listed == 0 and report.initiatives == 0 and (store.known(name) or
                                                                                     report.skipped):
            raise SourceError(f"{name}: the source listed no readable initiatives"
                              + (f" ({len(report.skipped)} rows skipped)" if report.skipped else ""))
        report.status = "partial" if report.failures else "ok"
        active = len(store.known(name)) if run.complete_listing and not allow_removal else 0
        report.removed = store.publish(
            run_id, name, complete_listing=run.complete_listing, failed_kpis=run.failed_kpis,
            bookmark=run.new_bookmark if run.new_bookmark is not None else {"run": run_id},
            fingerprint=conn.fingerprint(), status=report.status, counts=report.counts(),
            message=redact("; ".join(f"{s}: {r}" for s, r in report.failures), secret_values(settings)),
            max_removed=None if allow_removal else active // 2)
    except (SourceError, RemovalRefused) as exc:
        report.status = "failed"
        message = redact(str(exc).removeprefix(f"{name}: "), secret_values(settings))
        report.failures.append((name, message))
        keep = isinstance(exc, SourceError) and run is not None and run.new_bookmark is not None
        store.fail_run(run_id, redact(exc, secret_values(settings)), report.counts(), keep_staged=keep)
    except BaseException as exc:  # interrupted or a bug: keep the last good data, then re-raise
        # (a run that did publish stays published: fail_run ends only a run still "running")
        store.fail_run(run_id, f"interrupted: {type(exc).__name__}", report.counts(),
                       keep_staged=run is not None and run.new_bookmark is not None)
        raise
    return report
