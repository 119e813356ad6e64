"""`roadmap plan`: the capacity plan (docs/model.md "The plan") as a table or as JSON."""
from __future__ import annotations

import contextlib
import os
import sys

import click

from app.cli.main import UserError, _date, as_of_option, config_option, main, user_errors, workspace


@contextlib.contextmanager
def quiet_fd1():
    """While solving, the C solver's own stdout (fd 1) goes to /dev/null, so that nothing
    it prints corrupts `--format json` (HiGHS does print, e.g. "HighsMipSolverData::
    transformNewIntegerFeasibleSolution tmpSolver.run();", seen under bench/plan.py). C's
    stdio buffer is flushed before fd 1 is restored, so its text cannot land late."""
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ else 1
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        sys.__stdout__.flush()
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved, fd)
        os.close(saved)


def _flush_c_stdio() -> None:
    try:
        import ctypes
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def plan_table(d: dict) -> str:
    lines = [f"plan as of {d['as_of']}: {d['status']}"
             + (f" (proven gap {d['gap'] * 100:.2f} %)" if d.get("gap") is not None else ""),
             f"value {d['value']:.3f}   greedy {d['greedy_value']:.3f}   cut of the ranked list {d['cut_value']:.3f}"
             + (f"   first-fit {d['first_fit_value']:.3f}   the roadmap's cut line {d['prefix_cut_value']:.3f}"
                if "first_fit_value" in d else "")]
    best = d.get("best_simple")
    if best and best.get("gain") is not None:
        lines.append(f"{best['gain'] * 100:+.1f} % over the best of the simple plans ({best['name']})")
    lines += [f"note: {n}" for n in d.get("notes", [])]
    load = {(r["team"], r["period"]): r for r in d["load"]}
    for p in d["periods"]:
        for t in d["teams"]:
            row = load.get((t, p), {"effort": 0.0, "capacity": 0.0})
            items = [x for x in d["planned"] if x["period"] == p and x["team"] == t]
            lines.append("")
            lines.append(f"{p} / {t}: load {_fmt(row['effort'])} of {_fmt(row['capacity'])}")
            for x in items:
                extra = "".join(f"  {label} {x[k]}" for k, label in (("due", "due"), ("pinned", "pinned to"))
                                if x.get(k))
                lines.append(f"  {x['key']:<12} {(x['title'] or '')[:40]:<40}  effort {_fmt(x['effort']):>6}  "
                             f"value {x['value']:.3f}{extra}")
    if d["excluded"]:
        lines += ["", "not planned:"]
        for x in d["excluded"]:
            why = x["reason"]
            e = x.get("enters_if")
            if e:
                bits = []
                if e.get("value_at_least") is not None:
                    bits.append(f"impact >= {e['value_at_least']:.3f}")
                if e.get("effort_at_most") is not None:
                    bits.append(f"effort <= {_fmt(e['effort_at_most'])}")
                if bits:
                    why += "; enters if " + " or ".join(bits)
            lines.append(f"  {x['key']:<12} impact {x['impact']:.3f} effort {_fmt(x['effort'])}: {why}")
    from app.terminal import safe
    return "\n".join(safe(line) for line in lines)


@main.command()
@config_option
@as_of_option
@click.option("--capacity", type=click.FloatRange(min=0, max=1e9), default=None,
              help="Effort per period for every team (overrides [planning] teams' capacity).")
@click.option("--periods", type=click.IntRange(min=1), default=None, help="Plan only the first P periods.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--calibrated", is_flag=True, default=None,
              help="Scale each estimate by its estimator's track record first (default: [calibration] apply).")
@user_errors
def plan(config, as_of, capacity, periods, fmt, calibrated) -> None:
    """The plan: what to do in which period, per team, against capacity."""
    from app import render
    from app.services.planning import plan as plans
    ws = workspace(config)
    if calibrated:
        ws.settings.calibration.apply = True
    req = plans.PlanRequest(every_team=capacity, first_periods=periods)
    try:
        from app.services.planning import budget
        with quiet_fd1(), budget.unbounded():     # the command line waits by choice ([planning] solver_seconds)
            d = plans.plan(ws, as_of=_date(as_of), request=req)
    except plans.PlanRefused as exc:
        if fmt == "json":
            click.echo(render.to_json({"as_of": ws.as_of(_date(as_of)).isoformat(), **exc.as_dict()}))
        where = ", ".join(f"{t} {p}" for t, p in exc.overflows)
        raise UserError(f"the mandatory items cannot all be planned: {', '.join(exc.items)}"
                        + (f"; over capacity: {where}" if where else "") + f"\n{exc}") from None
    if ws.settings.calibration.apply:
        d = {**d, "calibrated": True}
    click.echo(render.to_json(d) if fmt == "json" else plan_table(d))
