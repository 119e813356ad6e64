"""Urgency and status of a KPI (docs/model.md step 3, docs/cli.md KPI status)."""
from __future__ import annotations

from datetime import date

import pytest

from scoring.model import Kpi
from scoring.goals.progress import Current, kpi_state

AS_OF = date(2026, 7, 2)
WINDOW = dict(start=date(2026, 1, 1), deadline=date(2026, 12, 31))


def state(kpi, value=None, **kw):
    return kpi_state(kpi, None if value is None else Current(value, date(2026, 7, 1)), AS_OF, **kw)


def test_lagging_kpi_is_urgent_by_its_lag():
    # p = (0.32 - 0.30) / 0.10 = 0.2, π = 182 / 364 = 0.5, lag 0.3, u = 1 + 2 * 0.3
    s = state(Kpi(id="a", baseline=0.30, target=0.40, **WINDOW), 0.32, urgency=2.0)
    assert (s.progress, s.expected_progress, s.status) == (pytest.approx(0.2), 0.5, "off-track")
    assert s.urgency == pytest.approx(1.6)


def test_down_kpi_progress_is_direction_aware():
    s = state(Kpi(id="churn", direction="down", baseline=0.05, target=0.03, **WINDOW), 0.046)
    assert s.progress == pytest.approx(0.2) and s.urgency == pytest.approx(1.3)


def test_met_target_uses_the_met_factor():
    s = state(Kpi(id="nps", baseline=30, target=50), 52, met_target_factor=0.25)
    assert (s.status, s.urgency) == ("met", 0.25)


def test_no_target_means_no_urgency():
    s = state(Kpi(id="x", baseline=1), 5)
    assert (s.status, s.urgency, s.progress) == ("no-target", 1.0, None)


def test_no_data_and_no_baseline_means_no_urgency():
    s = state(Kpi(id="x", target=5, **WINDOW))
    assert (s.status, s.urgency) == ("no-data", 1.0)


def test_no_data_falls_back_to_the_baseline_for_urgency():
    # x = b, p = 0 against π = 0.5: u = 1.5, but the status says there is no data
    s = state(Kpi(id="x", baseline=10, target=20, **WINDOW))
    assert (s.status, s.urgency) == ("no-data", 1.5)


def test_no_baseline_reads_progress_zero():
    s = state(Kpi(id="x", target=20, **WINDOW), 12)
    assert s.progress == 0 and s.urgency == 1.5


def test_target_equal_to_baseline():
    up = Kpi(id="x", baseline=10, target=10, **WINDOW)
    assert state(up, 10).progress == 1 and state(up, 10).urgency == 0.5
    assert state(up, 9).progress == 0 and state(up, 9).urgency == 1.5
    down = Kpi(id="y", direction="down", baseline=3, target=3, **WINDOW)
    assert state(down, 2.5).status == "met" and state(down, 3.5).progress == 0


def test_expected_progress_is_clamped_and_needs_a_window():
    before = kpi_state(Kpi(id="x", baseline=0, target=1, start=date(2026, 8, 1), deadline=date(2026, 9, 1)),
                       Current(0.1, AS_OF), AS_OF)
    assert before.expected_progress == 0 and before.urgency == 1.0 and before.status == "on-track"
    after = kpi_state(Kpi(id="x", baseline=0, target=1, start=date(2026, 1, 1), deadline=date(2026, 3, 1)),
                      Current(0.25, AS_OF), AS_OF)
    assert after.expected_progress == 1 and after.urgency == pytest.approx(1.75)
    no_window = state(Kpi(id="x", baseline=0, target=1), 0.1)
    assert no_window.expected_progress is None and no_window.urgency == 1 and no_window.status == "on-track"
    inverted = state(Kpi(id="x", baseline=0, target=1, start=date(2026, 12, 31), deadline=date(2026, 1, 1)), 0.1)
    assert inverted.expected_progress is None and inverted.urgency == 1


def test_progress_beyond_the_wrong_side_clamps_lag_at_one():
    s = state(Kpi(id="x", baseline=10, target=20, start=date(2025, 1, 1), deadline=date(2026, 1, 1)), 5, urgency=1.0)
    assert s.progress == -0.5 and s.urgency == 2.0


# -- current as a window aggregate (docs/model.md "KPIs") -------------------------------
import numpy as np  # noqa: E402
from datetime import timedelta  # noqa: E402

from scoring.goals.progress import window_current  # noqa: E402

WEEK_START = date(2026, 11, 2)           # a Monday


def seasonal(days: int = 28):
    """Daily signups with weekday seasonality: 1000 on weekdays, 300 on Saturday and
    Sunday, so every 7-day mean is (5 · 1000 + 2 · 300) / 7 = 800."""
    d = np.array([WEEK_START + timedelta(n) for n in range(days)], dtype="datetime64[D]")
    v = np.array([300.0 if (WEEK_START + timedelta(n)).weekday() >= 5 else 1000.0 for n in range(days)])
    return d, v


SIGNUPS = Kpi(id="signups", baseline=700, target=900, start=date(2026, 11, 1), deadline=date(2027, 11, 1))


def test_a_7_day_mean_keeps_the_status_stable_across_the_week_where_last_flips():
    d, v = seasonal()
    mean_status, last_status = [], []
    for n in range(14, 21):                                  # Monday 2026-11-16 .. Sunday 2026-11-22
        as_of = WEEK_START + timedelta(n)
        mean = window_current(d, v, as_of, 7, "mean")
        assert mean.value == pytest.approx(800) and mean.date == as_of
        mean_status.append(kpi_state(SIGNUPS, mean, as_of).status)
        last_status.append(kpi_state(SIGNUPS, window_current(d, v, as_of), as_of).status)
    # mean 800: p = (800 - 700) / 200 = 0.5, ahead of π (15..21 days of 365) every day
    assert mean_status == ["on-track"] * 7
    # last: 1000 on weekdays is p = 1.5 (met); 300 at the weekend is p = -2 (off-track)
    assert last_status == ["met"] * 5 + ["off-track"] * 2


def test_window_aggregates_leave_out_days_without_data():
    d = np.array(["2026-11-18", "2026-11-20", "2026-11-23", "2026-11-24", "2026-11-26"], dtype="datetime64[D]")
    v = np.array([50.0, 1.0, 2.0, 6.0, 99.0])
    as_of = date(2026, 11, 25)                 # the 26th is after as_of; newest is the 24th
    # window of 5 days to the 24th: (19th, 24th] holds the 20th, 23rd and 24th
    assert window_current(d, v, as_of, 5, "mean") == Current(3.0, date(2026, 11, 24),
                                                             "mean of 5 days to 2026-11-24 (3 with data)")
    assert window_current(d, v, as_of, 5, "sum").value == 9.0
    assert window_current(d, v, as_of, 5, "median").value == 2.0
    assert window_current(d, v, as_of, 1, "mean").value == 6.0
    assert window_current(d, v, as_of, 7, "sum").value == 59.0          # (17th, 24th] takes the 18th too
    assert window_current(d, v, as_of, 5, "last") == Current(6.0, date(2026, 11, 24), "value of 2026-11-24")
    assert window_current(d, v, date(2026, 11, 1), 5, "mean") is None


def test_store_currents_aggregate_the_configured_window_and_kpis_shows_it(workspace_dir):
    from app.config import load_settings
    from app.services import Workspace, kpis
    from app.services.sync import sync
    d, v = seasonal()
    with (workspace_dir / "observations.csv").open("a") as fh:
        fh.writelines(f"signups,{day},{val}\n" for day, val in zip(d.astype(str), v))
    toml = (workspace_dir / "roadmap.toml").read_text()
    toml += ('\n[[kpis]]\nid = "signups"\nbaseline = 700\ntarget = 900\nstart = 2026-11-01\ndeadline = 2027-11-01\n'
             'window_days = 7\naggregate = "mean"\nsource = { connector = "obs" }\n'
             '\n[[edges]]\nfrom = "signups"\nto = "mrr"\nweight = 0.1\n')
    (workspace_dir / "roadmap.toml").write_text(toml)
    ws = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    sync(ws)
    for day in (date(2026, 11, 20), date(2026, 11, 22)):        # a Friday and a Sunday
        k = next(x for x in kpis(ws, day)["kpis"] if x["id"] == "signups")
        assert (k["current"], k["status"], k["window"]) == (pytest.approx(800), "on-track",
                                                             f"mean of 7 days to {day.isoformat()}")
    # beyond the data: the window ends on the newest observation (2026-11-29, a Sunday)
    k = next(x for x in kpis(ws, date(2026, 12, 5))["kpis"] if x["id"] == "signups")
    assert (k["current"], k["current_date"]) == (pytest.approx(800), "2026-11-29")
    nps = next(x for x in kpis(ws, date(2026, 7, 2))["kpis"] if x["id"] == "nps")
    assert nps["window"] == "value of 2026-07-01"              # `last` is the default
    from app.render import kpis_table
    line = next(ln for ln in kpis_table(kpis(ws, date(2026, 11, 22))).splitlines() if ln.startswith("signups"))
    assert line.split()[1:7] == ["800", "mean", "of", "7", "days", "to"]


def test_store_window_query_on_sqlite_and_postgresql(db_url):
    from app.store import Store
    d, v = seasonal()
    s = Store(db_url)
    run = s.start_run("obs", True)
    s.stage_observations(run, "signups", {day.astype(object): val for day, val in zip(d, v)})
    s.stage_observations(run, "nps", {date(2026, 11, 20): 40.0, date(2026, 11, 21): 44.0})
    s.publish(run, "obs", complete_listing=False, failed_kpis=set())
    got = s.currents(date(2026, 11, 21), {"signups": (7, "mean"), "nps": (3, "sum")})
    assert got["signups"] == Current(pytest.approx(800), date(2026, 11, 21), "mean of 7 days to 2026-11-21")
    assert got["nps"] == Current(84.0, date(2026, 11, 21), "sum of 3 days to 2026-11-21 (2 with data)")
    assert s.currents(date(2026, 11, 21))["signups"].value == 300.0     # no window: the newest value
    s.close()
