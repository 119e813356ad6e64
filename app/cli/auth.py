"""`roadmap users`, `roadmap token create NAME --role ROLE`, `roadmap token revoke ID` and
`roadmap audit [--since] [--format] [--verify]` (docs/cli.md, "Who may do what"), and the
one table of the role each writing command needs.

The CLI acts as `local` (an admin: whoever holds the config and the database) unless
`$ROADMAP_TOKEN` holds an API token; then it acts as that token's tool and its role is
checked against `COMMANDS` before the command runs, and a refusal is audited.
"""
from __future__ import annotations

import functools
import json
import os
import sys

import click

from app.cli.main import UserError, config_option, main, user_errors, workspace

TOKEN_VAR = "ROADMAP_TOKEN"

# command path -> (role, audit action, whether the command's service audits its own write)
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "sync": ("planner", "sync.run", False),
    "push": ("planner", "push", False),
    "worker": ("planner", "sync.run", False),
    "snapshot save": ("planner", "snapshot.save", True),
    "estimate": ("estimator", "estimate.add", False),
    "token create": ("admin", "token.create", True),
    "token revoke": ("admin", "token.revoke", True),
    "users": ("admin", "users.read", True),
    "audit": ("admin", "audit.read", True),
}


# commands that only read the store (any token may run them), or that write no shared
# state (a starter config, the demo's own directory, the web service itself)
READS = {"score", "explain", "kpis", "check", "connectors", "snapshot list", "diff", "plan", "risk", "outcomes",
         "calibration", "init", "demo", "serve"}


def _guarded(path: str, callback):
    role, action, self_recorded = COMMANDS[path]

    @functools.wraps(callback)
    def run(*args, **kwargs):
        token = os.environ.get(TOKEN_VAR)
        if not token and (self_recorded or kwargs.get("dry_run")):
            return callback(*args, **kwargs)     # local, and the service audits itself
        from app.auth import LOCAL, act_as, audit, tokens
        ws = _ws(kwargs.get("config"))
        person = tokens.lookup(ws.store, token) if token else LOCAL
        if person is None:
            raise UserError(f"${TOKEN_VAR} holds a token that is unknown or revoked")
        act_as(person)
        if not person.can(role):
            audit.record_alone(ws.store, action, f"roadmap {path}", "refused-403", person=person)
            raise UserError(f"`roadmap {path}` needs the {role} role; {person.name} is {person.role}")
        try:
            out = callback(*args, **kwargs)
        except SystemExit as exc:
            if not self_recorded:
                audit.record_alone(ws.store, action, f"roadmap {path}", "ok" if not exc.code else f"exit-{exc.code}")
            raise
        if not self_recorded:
            audit.record_alone(ws.store, action, f"roadmap {path}", "ok")
        return out
    return run


def _ws(config):
    try:
        return workspace(config)
    except Exception as exc:  # noqa: BLE001 - the command would refuse the same config
        from app.cli.main import _as_user_error
        err = _as_user_error(exc)
        if err is None:
            raise
        raise err from None


def guard_commands(group: click.Group, prefix: str = "") -> None:
    """Wrap every command listed in COMMANDS with its role check (called once, when
    app.cli has registered every feature's commands)."""
    for name, cmd in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            guard_commands(cmd, path + " ")
        if path in COMMANDS and cmd.callback is not None and not getattr(cmd.callback, "_roadmap_guarded", False):
            cmd.callback = _guarded(path, cmd.callback)
            cmd.callback._roadmap_guarded = True


def _as_user(exc):
    from scoring.errors import RoadmapError
    if isinstance(exc, RoadmapError):
        return UserError(exc.message, exit_code=exc.exit_code)
    return None


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@config_option
@user_errors
def users(fmt, config) -> None:
    """The people seen at sign-in (with the role of their last sign-in) and the API tokens."""
    from app.auth import tokens
    ws = workspace(config)
    people, toks = tokens.people(ws.store), tokens.listing(ws.store)
    if fmt == "json":
        click.echo(json.dumps({"people": people, "tokens": toks}, indent=2))
        return
    click.echo(f"People ({len(people)})")
    for p in people:
        click.echo(f"  {p['name']:32} {p['role']:9} {p['via']:6} last seen {p['last_seen'][:16]}")
    click.echo(f"Tokens ({len(toks)})")
    for t in toks:
        used = (t["last_used"] or "never")[:16]
        click.echo(f"  {t['id']:>4} {t['name']:27} {t['role']:9} {t['status']:7} made {t['created_at'][:16]} "
                   f"by {t['created_by']}, last used {used}")


@main.group()
def token() -> None:
    """API tokens for tools: each has a role; shown once, stored hashed."""


@token.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "estimator", "planner", "admin"]), required=True)
@config_option
@user_errors
def token_create(name, role, config) -> None:
    """Make a token for the tool NAME with ROLE; prints it once (it is stored only as a hash)."""
    from app.auth import current_person, tokens
    ws = workspace(config)
    try:
        row, secret = tokens.create(ws.store, name, role, by=current_person())
    except Exception as exc:  # noqa: BLE001
        err = _as_user(exc)
        if err is None:
            raise
        raise err from None
    click.echo(secret)
    click.echo(f"token {row['id']} '{row['name']}' ({row['role']}): shown once; send it as "
               "'Authorization: Bearer <token>'", err=True)


@token.command("revoke")
@click.argument("token_id", metavar="ID")
@config_option
@user_errors
def token_revoke(token_id, config) -> None:
    """Revoke token ID at once, on every replica."""
    from app.auth import current_person, tokens
    ws = workspace(config)
    try:
        row = tokens.revoke(ws.store, token_id, by=current_person())
    except Exception as exc:  # noqa: BLE001
        err = _as_user(exc)
        if err is None:
            raise
        raise err from None
    click.echo(f"token {row['id']} '{row['name']}' revoked")


@main.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]), default=None,
              help="Only entries from this date (UTC).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--verify", is_flag=True, help="Check the hash chain; exit 1 naming the first broken row.")
@config_option
@user_errors
def audit(since, fmt, verify, config) -> None:
    """Who did what: every write, sign-in and refusal, hash-chained."""
    from app.auth import audit as log
    ws = workspace(config)
    rep = log.report(ws.store, since)
    if fmt == "json":
        click.echo(json.dumps(rep, indent=2))
    else:
        for e in rep["entries"]:
            click.echo(f"{e['seq']:>6} {e['at'][:19]} {e['who'][:30]:30} {e['role']:9} {e['action']:16} "
                       f"{e['outcome']:12} {e['object'][:60]}")
        click.echo(f"{rep['total']} entries; chain " + ("verified" if rep["verified"] else
                                                          f"BROKEN at row {rep['broken_at']}: {rep['problem']}"),
                   err=True)
    if verify and not rep["verified"]:
        if fmt == "json":
            click.echo(f"roadmap: audit log broken at row {rep['broken_at']}: {rep['problem']}", err=True)
        sys.exit(1)
