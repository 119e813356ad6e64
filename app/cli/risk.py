"""`roadmap risk`: how sure the plan is, and which estimates to refine first
(docs/model.md "Uncertainty")."""
from __future__ import annotations

import click

from app.cli.main import _date, as_of_option, config_option, main, user_errors, workspace

REFINE_SHOWN = 10


def risk_table(d: dict) -> str:
    lines = [f"risk as of {d['as_of']}: {d['draws']:,} draws, seed {d['seed']}",
             f"{'key':<12} {'P(in plan)':>16}   {'impact p5 / p50 / p95':>28}   {'rank p5 / p50 / p95':>20}"]
    for it in d["items"]:
        i, r = it["impact"], it["rank"]
        lines.append(f"{it['key']:<12} {it['p_in_plan']:>8.3f} ± {it['p_in_plan_se']:.3f}   "
                     f"{i['p5']:>8.3f} / {i['p50']:>7.3f} / {i['p95']:>7.3f}   "
                     f"{r['p5']:>5.0f} / {r['p50']:>5.0f} / {r['p95']:>5.0f}")
    lines += ["", "refine these estimates first:"]
    shown = d["refine_first"][:REFINE_SHOWN]
    if not shown:
        lines.append("  (no estimate to refine)")
    for x in shown:
        lines.append(f"  {x['key']:<12} {x['kpi']:<20} line {x['line']:<3} value of information {x['voi']:.4f}")
    from app.terminal import safe
    return "\n".join(safe(line) for line in lines)


@main.command()
@config_option
@as_of_option
@click.option("--draws", type=click.IntRange(1, 1_000_000), default=None, help="Draws (default: [uncertainty] draws).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed (default: [uncertainty] seed).")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="The decision's size when no capacity is planned (default: [uncertainty] top).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--calibrated", is_flag=True, default=None,
              help="Scale each estimate by its estimator's track record first (default: [calibration] apply).")
@user_errors
def risk(config, as_of, draws, seed, top, fmt, calibrated) -> None:
    """The uncertainty analysis: P(in plan), impact and rank spread, estimates to refine first."""
    from app import render
    from app.services.planning import budget, risk as risks
    ws = workspace(config)
    if calibrated:
        ws.settings.calibration.apply = True
    if draws is None and budget.risk_draws(ws) < ws.settings.uncertainty.draws:
        click.echo(f"roadmap: using {budget.risk_draws(ws):,} draws, what {budget.eligible_items(ws):,} items "
                   f"afford ([uncertainty] draws = {ws.settings.uncertainty.draws:,}); --draws asks for more",
                   err=True)
    with budget.unbounded():        # the command line waits by choice; its default stays within the budget
        d = risks.risk(ws, as_of=_date(as_of), draws=draws, seed=seed, top=top, max_draws=1_000_000)
    if ws.settings.calibration.apply:
        d = {**d, "calibrated": True}
    click.echo(render.to_json(d) if fmt == "json" else risk_table(d))
