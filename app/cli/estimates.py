"""`roadmap estimate KEY LINE --by NAME`: add or replace a person's estimate on an item,
kept in the store and merged with the tracker's lines as another estimator (docs/cli.md
"estimate", docs/model.md "Several estimators")."""
from __future__ import annotations

import click

from app.cli.main import config_option, main, user_errors, workspace


@main.command()
@config_option
@click.argument("key")
@click.argument("line")
@click.option("--by", "by", default=None, help="Who estimated (a name or e-mail; else `by NAME` in LINE).")
@user_errors
def estimate(config, key, line, by) -> None:
    """Add or replace NAME's estimate on KEY, e.g. `roadmap estimate ROAD-3 "nps +3% @60%" --by alice`."""
    from app.services import estimates
    e = estimates.add(workspace(config), key, line, by=by or "", source="cli")
    click.echo(f"{key}: {e['by']}'s estimate '{e['line']}' stored (pooled with the other estimators')")
