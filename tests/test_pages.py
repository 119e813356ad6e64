"""The pages' logic without a browser: the scenario in the URL, the CSV that exports what the
page shows (checked against the JSON API, an independent path), the bars' geometry, the
chart ticks, and the goal graph's layout (no crossing it can avoid, no edge through a box,
no label on a label)."""
from __future__ import annotations

import csv
import io
import re

import pytest
from werkzeug.datastructures import MultiDict

from app.web.svg import charts
from app.web.svg.graph_layout import Box, cap_rows, layout
from app.web.scenario import ScenarioError, query, read_scenario, without_scenario
from scoring.model import Objective
from tests.graph_samples import forty_kpis


def csv_keys(client, url) -> list[str]:
    res = client.get(url)
    assert res.status_code == 200 and res.mimetype == "text/csv"
    return [r["key"] for r in csv.DictReader(io.StringIO(res.get_data(as_text=True)))]


def test_csv_exports_the_rows_the_page_shows(client):
    for qs in ("", "?q=a", "?status=To+Do", "?flag=unestimated-link", "?objective=delight", "?method=rice"):
        api = client.get(f"/api/v1/roadmap{qs}{'&' if qs else '?'}limit=500").get_json()
        assert csv_keys(client, f"/roadmap.csv{qs}") == [it["key"] for it in api["items"]], qs
        page = client.get(f"/{qs}").get_data(as_text=True)
        assert re.findall(r'<tr data-key="([^"]+)"', page) == [it["key"] for it in api["items"]], qs
        assert f'href="/roadmap.csv{qs}"' in page, qs
    # the worked example (docs/model.md): A 1.95, C 1.625, B 0.975; D has no estimate
    assert csv_keys(client, "/roadmap.csv") == ["A", "C", "B", "D"]


def test_scenario_csv_matches_the_what_if_api(client):
    for body, qs in (({"objective_weights": {"delight": 0}}, "w.delight=0"),
                     ({"kpi_values": {"activation": 0.4}}, "kpi.activation=40"),      # % KPIs in points
                     ({"initiatives": [{"key": "N", "title": "New", "effort": 1, "impact": "nps +30%"}]},
                      "new_key=N&new_title=New&new_effort=1&new_impact=nps+%2B30%25")):
        api = client.post("/api/v1/what-if?limit=500", json=body).get_json()
        res = client.get(f"/roadmap.csv?{qs}")
        rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
        assert [r["key"] for r in rows] == [it["key"] for it in api["items"]], qs
        assert [r["moved"] for r in rows] == [("new" if it["moved"] is None else str(it["moved"])) for it in api["items"]]


def test_scenario_page_shows_moves_and_the_comparison(client):
    html = client.get("/?w.delight=0").get_data(as_text=True)
    assert re.findall(r'<tr data-key="([^"]+)"', html) == ["A", "B", "C", "D"]   # C serves delight only
    assert "weight 1 → 0" in html and 'class="compare"' in html
    # delight weight 0: V_nps = 0.5 · 0.1 · 100 = 5, so C scores 0.1 · 5 = 0.5 and falls #2 -> #3
    assert '<span class="down" title="was #2">▼ 1</span>' in html
    plain = client.get("/").get_data(as_text=True)     # no scenario: moves since the last sync's snapshot
    assert "▲" not in plain and "▼" not in plain       # (one sync: nothing moved)


def test_a_bad_scenario_keeps_the_stored_ranking_and_says_why(client):
    res = client.get("/?w.revenue=abc")
    html = res.get_data(as_text=True)
    assert res.status_code == 400 and "w.revenue must be a number, not &#39;abc&#39;" in html
    assert re.findall(r'<tr data-key="([^"]+)"', html) == ["A", "C", "B", "D"]
    assert client.get("/?w.revenue=0&w.delight=0").status_code == 400
    assert client.get("/?kpi.nope=3").status_code == 400


def test_grouping_and_kpi_filter(client):
    html = client.get("/?group=objective").get_data(as_text=True)
    heads = re.findall(r'<tr class="grouphead"><th colspan="\d+" scope="rowgroup">([^<\n]+)', html)
    assert heads == ["revenue", "delight", "Serves no objective"]
    assert re.findall(r'<tr data-key="([^"]+)"', html) == ["A", "B", "C", "D"]
    assert re.findall(r'<tr data-key="([^"]+)"', client.get("/?kpi=churn").get_data(as_text=True)) == ["B", "D"]


def test_read_scenario_and_query():
    objectives = [Objective(id="revenue", weight=3), Objective(id="delight", weight=1)]
    args = MultiDict([("w.revenue", "3"), ("w.delight", "2.5"), ("kpi.nps", "41"), ("kpi.mrr", ""),
                      ("new_key", "N1"), ("new_title", ""), ("new_effort", "2"), ("new_impact", "nps +5%"),
                      ("new_key", ""), ("new_title", "ignored"), ("new_effort", ""), ("new_impact", ""),
                      ("q", "x"), ("page", "2")])
    s = read_scenario(args, objectives, {"nps", "mrr"})
    assert s.body() == {"objective_weights": {"delight": 2.5}, "kpi_values": {"nps": 41.0},
                        "initiatives": [{"key": "N1", "title": "N1", "impact": "nps +5%", "effort": 2.0}]}
    assert without_scenario(args) == "q=x"
    assert query(MultiDict([("q", "x"), ("page", "2")]), page="3") == "q=x&page=3"
    for bad, msg in ((("w.revenue", "-1"), "0 or more"), (("w.nope", "1"), "no objective"),
                     (("kpi.nps", "inf"), "finite"), (("new_effort", "0"), "new_effort must be above 0")):
        extra = [("new_key", "K")] if bad[0] == "new_effort" else []
        with pytest.raises(ScenarioError, match=msg):
            read_scenario(MultiDict([bad] + extra), objectives, {"nps"})


def test_impact_bar_draws_gain_right_and_harm_left_of_zero():
    bar = str(charts.impact_bar([("Revenue", 2.0, "#111"), ("Delight", -1.0, "#222")], 2.0, 1.0, 1.0, width=150))
    assert '<rect x="50.0" y="1" width="100.0"' in bar                      # gain: from zero (50) to 150
    assert '<rect class="harm" x="0.0" y="1" width="50.0" height="12" fill="#c2410c">' in bar
    assert '<line x1="50.0" x2="50.0"' in bar and '<span class="num">1.000</span>' in bar
    assert '<span class="num">−0.500</span>' in str(charts.impact_bar([("R", -0.5, "#111")], 0, 0.5, -0.5))


def test_ticks_and_wrap():
    assert charts.ticks(0, 10) == [0, 2.5, 5, 7.5, 10]
    assert charts.ticks(1100, 1600) == [1000, 1200, 1400, 1600]
    assert charts.wrap("Activation rate (first job scheduled in 7 days)", 23) == ["Activation rate (first",
                                                                                "job scheduled in 7…"]
    assert charts.wrap("Monthly recurring revenue", 23) == ["Monthly recurring", "revenue"]


def test_layout_removes_the_crossing_the_config_order_makes():
    # config order puts a under o1's right neighbour: a->o2, b->o1 would cross as given
    lay = layout({"o1": 0, "o2": 0, "a": 1, "b": 1}, [("a", "o2"), ("b", "o1")], {n: 100 for n in ("o1", "o2", "a", "b")})
    assert lay.crossings == 0
    assert lay.boxes["b"].x < lay.boxes["a"].x


def test_forty_kpis_route_around_boxes_and_labels_keep_apart():
    data = forty_kpis()
    edges = [(e["from"], e["to"]) for e in data["edges"]]
    rows = cap_rows({n["id"]: n["layer"] for n in data["nodes"]}, edges, 7)
    assert max(sum(1 for r in rows.values() if r == k) for k in set(rows.values()) - {0}) <= 7
    assert all(rows[c] > rows[p] for c, p in edges)                           # edges still point up
    lay = layout(rows, edges, {n["id"]: 172 for n in data["nodes"]}, label_size=lambda e: (30, 15))
    for route in lay.routes:
        for x, y in route.points:
            for n, b in lay.boxes.items():
                if n not in (route.source, route.target):
                    assert not (b.x + 0.5 < x < b.x + b.w - 0.5 and b.y + 0.5 < y < b.y + b.h - 0.5), (route.source, n)
    labels = [Box(r.label_at[0] - 15, r.label_at[1] - 7.5, 30, 15) for r in lay.routes]
    assert not any(a.overlaps(b) for i, a in enumerate(labels) for b in labels[i + 1:])
    assert not any(a.overlaps(b) for a in labels for b in lay.boxes.values())


def test_trend_marks_the_window_and_the_current_value():
    from datetime import date, timedelta
    from types import SimpleNamespace
    kpi = SimpleNamespace(id="k", start=date(2026, 1, 1), deadline=date(2026, 1, 11), target=10.0, baseline=0.0,
                          window_days=7)
    history = [(date(2026, 1, 1) + timedelta(days=n), float(n)) for n in range(11)]
    svg = str(charts.trend(history, kpi, date(2026, 1, 11), lambda v: f"{v:g}", current=(date(2026, 1, 11), 8.0)))
    # ticks 0..10 by 2.5: labels up to 3 characters, so the plot starts at 14 + 7.6 * 3 = 36.8;
    # 345.2 px for 10 days; the window starts on 4 January: 36.8 + 3 * 34.52 = 140.4
    assert '<rect class="window" x="140.4" y="12" width="241.6" height="158">' in svg
    assert '<circle cx="382.0" cy="43.6" r="3.5"' in svg                  # 8.0 is 80% up the 158 px plot
    assert '<text class="lbl ylbl" x="30.8" y="174.0" text-anchor="end">0</text>' in svg
