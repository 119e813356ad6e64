"""`roadmap snapshot save NAME`, `roadmap snapshot list` and `roadmap diff FROM [TO]`:
what moved between two snapshots and why (docs/cli.md).

Exit status: 0 done, 1 a listed snapshot does not verify, 2 bad input (an unknown or
duplicate name, a tampered snapshot to compare).
"""
from __future__ import annotations

import json
import sys

import click

from app.cli.main import UserError, config_option, main, user_errors, workspace
from app.terminal import safe


@main.group()
def snapshot() -> None:
    """Freeze the inputs and ranking under a name, or list the snapshots."""


@snapshot.command("save")
@click.argument("name")
@config_option
@user_errors
def snapshot_save(name, config) -> None:
    """Save the current data as snapshot NAME (exit 2 when the name is taken)."""
    from app.services import changes
    ws = workspace(config)
    try:
        row = changes.save(ws, name)
    except changes.DuplicateName as exc:
        raise UserError(f"{exc}; choose another name") from None
    click.echo(safe(f"saved snapshot {row['name']}: {row['items']} items, hash {row['hash'][:12]}"))


@snapshot.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "text"]), default="table", show_default=True,
              help="table (text is the same) or json.")
@config_option
@user_errors
def snapshot_list(fmt, config) -> None:
    """Each snapshot: name, time, items, hash prefix and whether its chain verifies."""
    from app.services import changes
    out = changes.listing(workspace(config))
    if fmt == "json":
        click.echo(json.dumps(out, indent=2))
    else:
        if not out["snapshots"]:
            click.echo("no snapshots yet: a sync saves one, or `roadmap snapshot save NAME`")
        for r in out["snapshots"]:
            mark = "ok" if r["verified"] else "TAMPERED"
            click.echo(safe(f"{(r['name'] or '-'):<24} {r['created_at']:<25} {r['items']:>7} items  "
                            f"{r['hash'][:12]}  {mark}"))
        for p in out["problems"]:
            click.echo(safe(f"roadmap: {p}"), err=True)
    if out["problems"]:
        sys.exit(1)


def _line(c: dict) -> str:
    return safe(f"  {c['key']}: {c['reason']}")


@main.command()
@click.argument("from_ref", metavar="FROM")
@click.argument("to_ref", metavar="[TO]", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--cut", type=click.IntRange(1), default=None, help="The cut line: the top N (default 10).")
@click.option("--limit", type=click.IntRange(1), default=10, show_default=True, help="Movers shown each way.")
@config_option
@user_errors
def diff(from_ref, to_ref, fmt, cut, limit, config) -> None:
    """What moved between snapshot FROM and TO (default: now) and why.

    FROM and TO are names (`sync-42` is the snapshot of run 42) or hash prefixes."""
    from app.services import changes
    ws = workspace(config)
    try:
        d = changes.diff(ws, from_ref, to_ref)
    except (changes.UnknownSnapshot, changes.TamperedSnapshot) as exc:
        raise UserError(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(changes.diff_json(d), indent=2))
        return
    s = changes.summary(d, cut=cut or changes.CUT, shown=limit)
    click.echo(safe(f"from {s['from']} to {s['to']}: {s['moved']} item(s) moved; "
                    f"inputs changed: {', '.join(s['groups']) or 'none'}"))
    click.echo(f"edits people made ({len(s['edits'])}):" if s["edits"] else "edits people made: none (all drift)")
    for g in s["edits"]:
        texts = "; ".join(e["text"] for e in g["edits"])
        click.echo(safe(f"  {g['key']}" + (f" ({g['move']})" if g["move"] else "") + f": {texts}"))
    if s["people"]:
        click.echo(safe("  by person: " + ", ".join(f"{who} ({n})" for who, n in s["people"])))
    if s["edits"]:
        click.echo(f"drift: {s['drift_only']} item(s) moved without an edit of their own")
    for title, key in (("moved up", "up"), ("moved down", "down"), ("added", "added"), ("removed", "removed"),
                       (f"entered the top {s['cut']}", "entered"), (f"left the top {s['cut']}", "left")):
        if s[key]:
            click.echo(f"{title}:")
            for c in s[key][:limit if key in ("up", "down") else None]:
                click.echo(_line(c))
