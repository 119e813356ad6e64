"""The `roadmap` click group, its shared options and its one error handler (docs/cli.md).

Feature modules (plan, risk, changes, worker, ...) import the group from here and register
their commands on it; `app.cli` imports them all. This module imports none of them, so
there is no import circle.

Exit status: 0 done, 1 the data says no (`check` found errors), 2 bad input or usage,
3 a source failed. Anything a user can cause is a `RoadmapError` and ends in a message with
its exit code, never a traceback; the group's one handler (`RoadmapGroup.invoke`) does
that. Anything else is a bug: exit 1 with "internal error", and `--debug` prints the
traceback (docs/cli.md, "Exit status").
"""
from __future__ import annotations

import sys
import time
import traceback
from datetime import date
from pathlib import Path

import click

from app.terminal import safe, safe_lines   # plain `re`: cheap to import
from scoring.errors import BadInput, RoadmapError

# Heavy modules (numpy, scipy, SQLAlchemy, networkx, pydantic) are imported inside the
# commands that use them, so `roadmap --help` and `roadmap init` start fast.
METHODS = ("kpi-impact", "rice", "ice", "wsjf")   # checked against scoring's registry by a test


class UserError(BadInput, click.ClickException):
    """A message for the user and an exit status (2 bad input, 3 a source failed)."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message, exit_code=exit_code)

    def show(self, file=None) -> None:
        click.echo(safe_lines(f"roadmap: {_redact(self.format_message())}"), err=True)


_loaded: list = []     # the settings this command loaded, so every error path can redact their secrets


def _redact(text: str) -> str:
    if not _loaded:
        return text
    from app.secrets import redact, secret_values
    return redact(text, secret_values(_loaded[-1]))


def workspace(config: str | None):
    from app.config_cache import load
    from app.services import Workspace
    settings = load(config)
    _loaded.append(settings)
    return Workspace(settings)


def _as_user_error(exc: Exception) -> UserError | None:
    """A `RoadmapError` (or a database that cannot be reached) as a message with its exit
    status; None for anything else, which is a bug."""
    from sqlalchemy.exc import OperationalError
    if isinstance(exc, RoadmapError):
        return UserError(_redact(str(exc)), exit_code=exc.exit_code)
    if isinstance(exc, OperationalError):      # the configured database is away or refuses us
        return UserError(_redact(f"database error: {getattr(exc, 'orig', None) or exc}"))
    return None


def _internal_error(exc: Exception, ctx: click.Context) -> click.exceptions.Exit:
    """A bug: one line naming it (secrets redacted), the traceback only with --debug; exit 1."""
    if ctx.find_root().params.get("debug"):
        click.echo(_redact("".join(traceback.format_exception(exc))), err=True)
    what = _redact(f"{type(exc).__name__}: {exc}")[:300]
    click.echo(f"roadmap: internal error ({what}); run with --debug for the traceback", err=True)
    return click.exceptions.Exit(1)


class RoadmapGroup(click.Group):
    """The one error handler of the CLI: every command runs inside `invoke`."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            err = _as_user_error(exc)
            if err is None:
                raise _internal_error(exc, ctx) from None
            raise err from None


def user_errors(fn):
    """Kept for the commands that carry it: the group's one handler (`RoadmapGroup`) turns
    what a user can cause into a message and its exit status."""
    return fn


CONFIG_HELP = "Config file (default: $ROADMAP_CONFIG, else ./roadmap.toml)."


def _config_from_group(ctx: click.Context, _param, value):
    """`roadmap --config x.toml score` and `roadmap score --config x.toml` mean the same."""
    return value if value is not None else (ctx.find_root().params.get("config") if ctx.parent else None)


def config_option(fn):
    return click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
                        callback=_config_from_group, help=CONFIG_HELP)(fn)


def as_of_option(fn):
    return click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
                        help="Scoring date (default: [scoring] as_of, else today UTC).")(fn)


def _date(v) -> date | None:
    return v.date() if v else None


@click.group(cls=RoadmapGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kpi-roadmap")
@click.option("--config", "config", type=click.Path(dir_okay=False), default=None, help=CONFIG_HELP)
@click.option("--debug", is_flag=True, help="On an internal error, print its traceback.")
def main(config, debug) -> None:
    """Rank the roadmap by KPI impact: initiatives -> KPIs -> objectives."""


@main.command()
@click.argument("directory", type=click.Path(file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing roadmap.toml.")
def init(directory: str, force: bool) -> None:
    """Write a commented starter roadmap.toml (and sample CSV files) into DIRECTORY."""
    from app.workspaces import write_starter
    try:
        written = write_starter(Path(directory), force=force)
    except FileExistsError as exc:
        raise UserError(f"{exc} already exists; pass --force to overwrite it") from None
    for p in written:
        click.echo(f"wrote {p}")
    click.echo("next: edit roadmap.toml, then `roadmap check` and `roadmap sync`")


class _Bar:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.on = sys.stderr.isatty()

    def __call__(self, name: str, done: int, total: int | None) -> None:
        if not self.on:
            return
        if total:
            filled = int(30 * done / total)
            text = f"\r{name:16} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}"
        else:
            text = f"\r{name:16} {done}"
        click.echo(text.ljust(70), nl=False, err=True)

    def clear(self) -> None:
        if self.on:
            click.echo("\r" + " " * 70 + "\r", nl=False, err=True)


def _report(reports, seconds: float) -> int:
    chain_broken = False
    for r in reports:
        for where, why in r.skipped[:20]:
            if where == "snapshot" and why.startswith("snapshot chain broken"):
                chain_broken = True          # said once, as itself (app/services/chain.py)
                click.echo(safe(_redact(f"roadmap: {why}; no snapshot saved")), err=True)
                continue
            click.echo(safe(_redact(f"{r.connector}: skipped {where}: {why}")), err=True)
        if len(r.skipped) > 20:
            click.echo(f"{r.connector}: ... and {len(r.skipped) - 20} more skipped", err=True)
        for subject, why in r.failures:
            kept = "kept the last good data" if r.status == "failed" else "kept its last good observations"
            what = "" if subject == r.connector else f" {subject}"
            click.echo(safe(_redact(f"{r.connector}: FAILED{what}: {why} ({kept})")), err=True)
    failed = [r for r in reports if r.failures]
    figures: dict[str, int] = {}
    for r in reports:
        for name, n in r.figures.items():
            figures[name] = figures.get(name, 0) + n
    click.echo(f"synced {len(reports)} connector(s): {sum(r.initiatives for r in reports)} initiatives, "
               f"{sum(r.observations for r in reports)} observations, {sum(r.removed for r in reports)} removed, "
               f"{sum(len(r.skipped) for r in reports)} skipped, {len(failed)} failed"
               + "".join(f", {n} {name}" for name, n in figures.items()) + f" in {seconds:.1f} s")
    return 3 if failed else 1 if chain_broken else 0


@main.command()
@config_option
@click.option("--connector", default=None, help="Sync only this connector.")
@click.option("--full", is_flag=True, help="Pull everything again instead of only what changed.")
@click.option("--allow-removal", is_flag=True, help="Let a sync take more than half of a backlog out of the ranking.")
@user_errors
def sync(config, connector, full, allow_removal) -> None:
    """Pull initiatives and KPI observations into the database."""
    from app.services.sync import stop_on_sigterm, sync as run_sync
    stop_on_sigterm()
    ws = workspace(config)
    started, bar = time.monotonic(), _Bar()
    reports = run_sync(ws, connector=connector, full=full, allow_removal=allow_removal, progress=bar)
    bar.clear()
    sys.exit(_report(reports, time.monotonic() - started))


def _print_ranking(ws, *, as_of=None, method=None, fmt="table", limit=None, include_done=False,
                   calibrated=None) -> None:
    from app import render, services
    from app.services import published
    r = services.ranking(ws, as_of=as_of, method=method, include_done=include_done, calibrated=calibrated)
    if fmt == "csv":            # the published ranking's stored CSV, else written from the ranking's columns
        text = published.csv_of(ws, r, limit)
        click.echo(text if text is not None else published.csv_for(ws, r, r.ranked[:limit]), nl=False)
        return
    items = published.top_items(ws, r, 0, limit) if fmt == "json" else None
    if items is None:
        items = (services.items if fmt == "json" else services.rows)(ws, r, 0, limit)
    if fmt == "json":
        extra = {"calibrated": True} if getattr(r, "calibration", None) is not None else {}
        click.echo(render.to_json({"as_of": r.params.as_of.isoformat(), "method": r.params.method,
                                   "total": r.total, **extra, "items": items}))
    else:
        click.echo(render.ranking_table(items))
        click.echo(f"{r.total} ranked by {r.params.method} as of {r.params.as_of}"
                   + (f", top {len(items)} shown" if len(items) < r.total else ""))


@main.command()
@config_option
@as_of_option
@click.option("--method", type=click.Choice(METHODS), default=None, help="Scoring method (default: [scoring] method).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Show only the top N.")
@click.option("--include-done", is_flag=True, help="Rank items whose status category is done too.")
@click.option("--calibrated", is_flag=True, default=None,
              help="Scale each estimate by its estimator's track record first (default: [calibration] apply).")
@user_errors
def score(config, as_of, method, fmt, limit, include_done, calibrated) -> None:
    """The ranked roadmap."""
    _print_ranking(workspace(config), as_of=_date(as_of), method=method, fmt=fmt, limit=limit,
                   include_done=include_done, calibrated=calibrated)


@main.command()
@config_option
@click.argument("key")
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@user_errors
def explain(config, key, as_of, fmt) -> None:
    """Why an initiative ranks where it does."""
    from app import render, services
    item = services.explain(workspace(config), key, as_of=_date(as_of))
    if item is None:
        raise UserError(f"no initiative with key '{key}' in the database; run `roadmap sync` or check the key")
    click.echo(render.to_json(item) if fmt == "json" else render.explain_text(item))


@main.command()
@config_option
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@user_errors
def kpis(config, as_of, fmt) -> None:
    """Each KPI: current value, target, progress against expected, status, urgency."""
    from app import render, services
    data = services.kpis(workspace(config), _date(as_of))
    click.echo(render.to_json(data) if fmt == "json" else render.kpis_table(data))


@main.command()
@config_option
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@user_errors
def check(config, as_of, fmt, strict) -> None:
    """KPI-to-strategy alignment findings; exit 1 on errors (on warnings too with --strict)."""
    from app import render, services
    data = services.check(workspace(config), _date(as_of))
    click.echo(render.to_json(data) if fmt == "json" else render.check_text(data))
    levels = {f["level"] for f in data["findings"]}
    if fmt == "text":
        counts = {lv: sum(f["level"] == lv for f in data["findings"]) for lv in ("error", "warning", "info")}
        click.echo(f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} info")
    if "error" in levels or (strict and "warning" in levels):
        sys.exit(1)


@main.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--estimates", is_flag=True,
              help="Also write the stored estimates into the impact field as lines with `by`.")
@user_errors
def push(config, dry_run, estimates) -> None:
    """Write score and rank back to the tracker's configured fields, only where they changed."""
    from app.services.push.scores import push as run_push
    from connectors.base import SourceConfigError
    ws = workspace(config)
    bar = _Bar()
    try:
        reports = run_push(ws, dry_run=dry_run, progress=bar, estimates=estimates)
    except SourceConfigError as exc:
        raise UserError("\n".join(exc.problems)) from None
    finally:
        bar.clear()
    for r in reports:
        for c in r.changes if dry_run else ():
            click.echo(safe(f"{r.connector}: {c.key} {c.field}: {c.old} -> {c.new}"))
        for m in r.messages:
            click.echo(safe(_redact(f"{r.connector}: FAILED {m}")), err=True)
        for note in r.notes:
            click.echo(safe(f"{r.connector}: {note}"), err=True)
        click.echo(f"{r.connector}: {r.written} written, {r.unchanged} unchanged, {r.cleared} cleared, "
                   f"{r.failed} failed in {r.seconds:.1f} s")
    if any(r.failed for r in reports):
        sys.exit(3)


@main.command()
def connectors() -> None:
    """The connector types installed (built-in and plugins) and any plugin that failed to load."""
    from connectors.base import installed
    found = installed()
    for c in found["connectors"]:
        click.echo(f"{c['type']:12} {c['origin']:9} {c['class']}")
    for b in found["broken"]:
        click.echo(f"{b['plugin']:12} FAILED    {b['reason']}")
    if found["broken"]:
        click.echo(f"{len(found['broken'])} plugin(s) failed to load; fix or uninstall them", err=True)


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@main.command()
@config_option
@click.option("--host", default=None, help="Address to listen on (default: [service] host).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: [service] port).")
@click.option("--insecure", is_flag=True, help="Serve beyond loopback without an API token.")
@user_errors
def serve(config, host, port, insecure) -> None:
    """The web service (production: any WSGI server on app:create_app())."""
    import os
    ws = workspace(config)
    svc = ws.settings.service
    host = host or svc.host
    token_set = bool(svc.api_token_env and os.environ.get(svc.api_token_env))
    signs_in = ws.settings.auth is not None and ws.settings.auth.mode != "none"    # every write needs a role
    if host not in LOOPBACK and not token_set and not signs_in and not insecure:
        raise UserError(f"refusing to serve on {host} without an API token: set [service] api_token_env and "
                        "export that variable, add an [auth] section, or pass --insecure")
    ws.graph  # refuse a graph that cannot be scored before listening
    from app.web.serve import serve as run_server
    run_server(ws, host=host, port=port or svc.port)


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port to serve on.")
@click.option("--no-serve", is_flag=True, help="Build and print the ranking, then stop.")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Where to build the workspace (default: a new temporary directory).")
@user_errors
def demo(port, no_serve, directory) -> None:
    """Build the bundled sample workspace through the real pipeline and show it."""
    from app.services.sync import stop_on_sigterm, sync as run_sync
    from app.workspaces import build_demo
    stop_on_sigterm()
    path = build_demo(Path(directory) if directory else None)
    click.echo(f"demo workspace: {path}")
    ws = workspace(str(path))
    started, bar = time.monotonic(), _Bar()
    reports = run_sync(ws, progress=bar)
    bar.clear()
    status = _report(reports, time.monotonic() - started)
    if status:
        sys.exit(status)
    click.echo()
    _print_ranking(ws)
    from app.services.outcomes import outcomes_summary
    click.echo(outcomes_summary(ws))
    if no_serve:
        return
    # the roadmap page's plan and P(in plan), computed (and their loops compiled, the first
    # time) before the first visit rather than during it
    from app.services.sync import precompute_analyses
    precompute_analyses(ws, at_least=0)
    from app.web.serve import serve
    serve(ws, host="127.0.0.1", port=port or ws.settings.service.port)
