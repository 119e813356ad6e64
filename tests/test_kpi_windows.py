"""A KPI seen through its window: the outlier guard (`check`'s `kpi-outlier`, marked on the
KPI page) and charts drawn as the rolling aggregate, in the target's unit."""
from __future__ import annotations

import re
from datetime import date, timedelta

from app import create_app
from app.config import load_settings
from app.services import Workspace, check
from app.services.sync import sync
from app.web.svg import charts
from scoring.goals.alignment import outlier_findings
from scoring.model import Kpi
from scoring.goals.windows import rolling, window_outliers

START = date(2026, 6, 1)


def test_one_outlier_day_in_a_7_day_mean_is_flagged_with_the_median_fix():
    # the window to 2 July: 26 Jun .. 2 Jul = 20, 21, 19, 20, 22, 21, 250
    hist = [(START + timedelta(days=n), 20.0 + (n % 3) - 1) for n in range(25)]
    hist += [(date(2026, 6, 26), 20.0), (date(2026, 6, 27), 21.0), (date(2026, 6, 28), 19.0),
             (date(2026, 6, 29), 20.0), (date(2026, 6, 30), 22.0), (date(2026, 7, 1), 21.0),
             (date(2026, 7, 2), 250.0)]
    kpi = Kpi(id="trials", window_days=7, aggregate="mean")
    # the window's median is 21; over the 28 days to 2 July (19, 20, 21 repeating, then the window)
    # the median absolute deviation from 21 is 1 (1.48 scaled), so 250 is 155 MADs out; nothing else is beyond 5
    assert window_outliers([d for d, _ in hist], [v for _, v in hist], 7) == [(date(2026, 7, 2), 250.0, 229.0)]
    [f] = outlier_findings([kpi], {"trials": hist}, date(2026, 7, 2))
    assert (f.code, f.level, f.subject) == ("kpi-outlier", "warning", "trials")
    assert "250 on 2026-07-02" in f.message and 'aggregate = "median"' in f.message
    # as of 1 July the window holds no outlier; a median KPI or a 1-day window is not checked
    assert outlier_findings([kpi], {"trials": hist}, date(2026, 7, 1)) == []
    assert outlier_findings([Kpi(id="trials", window_days=7, aggregate="median")], {"trials": hist},
                            date(2026, 7, 2)) == []


def test_ordinary_noise_is_no_outlier_and_a_planted_spike_is():
    """60 days of a KPI with 3 % gaussian noise (seeded, like the demo's): a 7-value MAD is
    often small by chance, so the spread is read over 28 days; no day is flagged until one
    is planted at 1.5x."""
    import numpy as np
    rng = np.random.default_rng(7)
    days = [START + timedelta(days=n) for n in range(60)]
    values = [40 * (1 + rng.normal(0, 0.03)) for _ in days]
    for end in range(20, 61):
        assert window_outliers(days[:end], values[:end], 7) == [], end
    values[-3] = 60.0
    assert [d for d, _, _ in window_outliers(days, values, 7)] == [days[-3]]


def _outlier_workspace(workspace_dir, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    toml = (workspace_dir / "roadmap.toml").read_text()
    toml = toml.replace('id = "nps"\n', 'id = "nps"\nwindow_days = 7\naggregate = "mean"\n')
    (workspace_dir / "roadmap.toml").write_text(toml)
    rows = [f"nps,{date(2026, 6, 26) + timedelta(days=n)},{v}" for n, v in enumerate([50, 51, 49, 50, 52, 51, 95])]
    with open(workspace_dir / "observations.csv", "a") as f:
        f.write("\n".join(rows) + "\n")
    ws = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    sync(ws)
    return ws


def test_check_reports_the_outlier_and_the_kpi_page_marks_it(workspace_dir, monkeypatch):
    ws = _outlier_workspace(workspace_dir, monkeypatch)
    found = [f for f in check(ws)["findings"] if f["code"] == "kpi-outlier"]
    assert [(f["level"], f["subject"]) for f in found] == [("warning", "nps")]
    assert "95 on 2026-07-02" in found[0]["message"]
    html = create_app(workspace=ws).test_client().get("/kpis").get_data(as_text=True)
    section = html[html.index('id="kpi-nps"'):]
    section = section[:section.index("</section>")]
    assert '<circle class="outlier"' in section and "outlier: 95 on 2026-07-02" in section
    assert "Outlier: 95 on 2026-07-02 alone pulls the mean" in section
    assert 'aggregate = &#34;median&#34;' in section or 'aggregate = "median"' in section


def test_a_weekly_sum_kpi_is_charted_as_weekly_sums():
    # visitors: 100 a day, 150 on Sundays; target 800 a week
    days = [START + timedelta(days=n) for n in range(21)]
    values = [150.0 if d.weekday() == 6 else 100.0 for d in days]
    kpi = Kpi(id="visitors", window_days=7, aggregate="sum", baseline=600, target=800,
              start=START, deadline=date(2026, 6, 30))
    daily, line = charts.trend_series(list(zip(days, values)), kpi)
    assert daily == list(zip(days, values))
    # every 7-day window holds exactly one Sunday: 6 x 100 + 150 = 750, from the 7th day on
    assert line == [(d, 750.0) for d in days[6:]]
    assert rolling(days[:3], values[:3], 7, "sum") == [(days[0], 100.0), (days[1], 200.0), (days[2], 300.0)]
    svg = str(charts.trend(list(zip(days, values)), kpi, date(2026, 6, 21), lambda v: f"{v:g}",
                           current=(days[-1], 750.0)))
    # the y axis covers 100..800 (ticks 0, 200, ..., 800): the line and the target share a unit
    ticks = re.findall(r'class="lbl ylbl"[^>]*>([^<]+)<', svg)
    assert ticks == ["0", "200", "400", "600", "800"]
    line_path = re.search(r'<path class="line" d="([^"]+)"', svg).group(1)
    ys = {float(p.split(",")[1]) for p in line_path.replace("M", " ").replace("L", " ").split()}
    # 750 of 0..800 on a 158-px plot from y = 12: 12 + 158 * (1 - 750/800) = 21.875
    assert ys == {21.9}
    assert '<path class="daily"' in svg
    # a KPI without a window keeps its daily line and no faint one
    plain = str(charts.trend(list(zip(days, values)), Kpi(id="v", target=800), date(2026, 6, 21), str))
    assert '<path class="daily"' not in plain
