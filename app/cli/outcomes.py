"""`roadmap outcomes` and `roadmap calibration`: what launched initiatives did to their
KPIs, and whose estimates to trust (docs/cli.md, "outcomes", "calibration")."""
from __future__ import annotations

import click

from app.cli.main import UserError, _date, as_of_option, config_option, main, user_errors, workspace

VERDICT_WORDS = {"moved": "moved as estimated", "moved-wrong-way": "moved the wrong way",
                 "no-detectable-move": "no detectable move", "measuring": "still measuring",
                 "not-measurable": "cannot be measured", "confounded": "measured with others"}


def _pct(x: float | None, signed: bool = True) -> str:
    if x is None:
        return "-"
    return f"{x * 100:+.1f}%" if signed else f"{x * 100:.1f}%"


def outcomes_table(d: dict) -> str:
    lines = [f"outcomes as of {d['as_of']} ({d['level'] * 100:.0f} % intervals)"]
    if not d["links"]:
        return lines[0] + "\nno launched initiative with an estimate yet (an initiative launches on its " \
                          "launched_on date, or the day it became done)"
    lines.append(f"{'key':<12} {'kpi':<18} {'by':<10} {'launched':<10}  {'expected':>8}  {'realised':>8}  "
                 f"{'interval':<17}  verdict")
    for x in d["links"]:
        interval = f"{_pct(x['low'])}..{_pct(x['high'])}" if x["low"] is not None else ""
        why = x["reason"] or (f"with {', '.join(k for k in x['group'] if k != x['key'])}" if x["group"] else "")
        lines.append(f"{x['key']:<12} {x['kpi'][:18]:<18} {x['estimator'][:10]:<10} {x['launched_on']:<10}  "
                     f"{_pct(x['expected']):>8}  {_pct(x['realised']):>8}  {interval:<17}  "
                     f"{VERDICT_WORDS.get(x['verdict'], x['verdict'])}" + (f" ({why})" if why else ""))
    return "\n".join(lines)


def calibration_table(d: dict) -> str:
    t = d["team"]
    lines = [f"track records (prior_sd {d['prior_sd']:g}): the factor is how much of what is expected tends "
             "to happen",
             f"{'estimator':<16} {'factor':>6} {'raw':>6} {'resolved':>8} {'brier':>6} {'in range':>8}",
             f"{'team':<16} {t['factor']:>6.2f} {t['raw']:>6.2f} {t['resolved']:>8} "
             f"{'-' if t['brier'] is None else format(t['brier'], '.2f'):>6} {'':>8}"]
    for e in d["estimators"]:
        lines.append(f"{e['estimator'][:16]:<16} {e['factor']:>6.2f} {e['raw']:>6.2f} {e['resolved']:>8} "
                     f"{'-' if e['brier'] is None else format(e['brier'], '.2f'):>6} "
                     f"{_pct(e['inside_range'], signed=False) if e['inside_range'] is not None else '-':>8}")
    return "\n".join(lines)


def _run(fn):
    from scoring.errors import RoadmapError
    try:
        return fn()
    except RoadmapError as exc:
        raise UserError(str(exc), exc.exit_code) from None


@main.command()
@config_option
@as_of_option
@click.option("--key", default=None, help="Only this initiative.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@user_errors
def outcomes(config, as_of, key, fmt) -> None:
    """Each launched initiative's estimated links: realised lift, interval, verdict."""
    from app import render
    from app.services import outcomes as svc
    ws = workspace(config)
    d = _run(lambda: svc.outcomes(ws, as_of=_date(as_of), key=key))
    click.echo(render.to_json(d) if fmt == "json" else outcomes_table(d))


@main.command()
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@user_errors
def calibration(config, fmt) -> None:
    """Per estimator and for the team: resolved links, track-record factor, Brier score."""
    from app import render
    from app.services import outcomes as svc
    ws = workspace(config)
    d = _run(lambda: svc.calibration(ws))
    click.echo(render.to_json(d) if fmt == "json" else calibration_table(d))
