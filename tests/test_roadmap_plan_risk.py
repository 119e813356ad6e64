"""The plan and the risk on the roadmap and initiative pages, through the
Flask test client on the demo workspace (app/demo, synced through the real pipeline): the
Plan column against services.planning.plan.plan_marks, the plain cut's line against a prefix summed
by hand, P(in plan) against services.planning.risk.risk_summary, refine-first links landing on
estimate rows, the initiative page's impact spread."""
from __future__ import annotations

import re

import pytest

from app import create_app
from app.config import load_settings
from app.services import Workspace, ranking
from app.services.planning import plan as plans
from app.services.planning import risk as risks
from app.services.sync import sync
from app.workspaces import build_demo

# app/demo/roadmap.toml's [planning]: growth 11 x 4 periods, customer 18+21+21+21, platform 13 x 4
DEMO_CAPACITY = 11 * 4 + (18 + 21 + 21 + 21) + 13 * 4


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ws = Workspace(load_settings(build_demo(tmp_path_factory.mktemp("demo"))))
    sync(ws)
    return ws


@pytest.fixture
def client(demo):
    return create_app(workspace=demo).test_client()


def rows(body: str) -> dict[str, str]:
    """Each ranking row's html by key, in page order (a row ends where the next begins)."""
    table = body.split('id="ranking"', 1)[1].split("</tbody>", 1)[0]
    parts = re.split(r'<tr data-key="([^"]+)">', table)
    return {parts[n]: parts[n + 1] for n in range(1, len(parts), 2)}


def header(body: str) -> list[str]:
    head = body.split('id="ranking"', 1)[1].split("</thead>", 1)[0]
    return re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', head)


def test_the_plan_column_shows_each_planned_items_period(client, demo):
    body = client.get("/").get_data(as_text=True)
    marks = plans.plan_marks(demo)
    assert "Plan" in header(body) and len(marks) > 10
    shown = rows(body)
    assert len(shown) == 50
    for key, html in shown.items():
        badge = re.findall(r'<span class="planned"[^>]*>([^<]+)</span>', html)
        assert badge == ([marks[key]] if key in marks else []), key
        if key in marks:
            assert 'href="/plan"' in html and ">why</a>" in html


def test_the_cut_line_follows_the_last_item_of_the_prefix_that_fits_the_capacity(client, demo):
    assert risks.total_capacity(demo) == DEMO_CAPACITY == 177
    r = ranking(demo)
    ranked = [r.backlog.keys[i] for i in r.ranked]
    total, fits = 0.0, 0
    for i in r.ranked:                        # the plain cut, by hand
        total += float(r.effort[i])
        if total > DEMO_CAPACITY:
            break
        fits += 1
    assert 0 < fits < 50                      # the line falls on the first page
    body = client.get("/").get_data(as_text=True)
    table = body.split('id="ranking"', 1)[1]
    assert table.count('class="cutline"') == 1
    before = table.split('class="cutline"', 1)[0]
    assert re.findall(r'<tr data-key="([^"]+)">', before)[-1] == ranked[fits - 1]
    assert "capacity ends here (plain cut of the ranked list)" in table
    # the optimal plan is not that prefix: something after the line is planned, or something before is not
    marks = plans.plan_marks(demo)
    assert set(ranked[:fits]) != set(marks)
    assert 'class="cutline"' not in client.get("/?page=2").get_data(as_text=True)


def test_p_in_plan_cells_are_the_risk_summarys_values(client, demo):
    body = client.get("/").get_data(as_text=True)
    assert "P(in plan)" in header(body)
    p = risks.risk_summary(demo)["p_in_plan"]
    for key, html in rows(body).items():
        cell = re.search(r'<td class="n pin"[^>]*><span title="([^"]+)">([^<]+)</span>', html)
        assert cell.group(2) == f"{100 * p[key]:.0f} %", key
        assert "Monte Carlo" in cell.group(1) and "10,000 draws" in cell.group(1)


def test_refine_first_links_land_on_existing_estimate_rows(client, demo):
    body = client.get("/").get_data(as_text=True)
    expected = [x for x in risks.risk_summary(demo)["refine_first"] if x["voi"] > 0][:5]
    section = body.split('id="refine-h"', 1)[1].split("</section>", 1)[0]
    links = re.findall(r'<a href="(/initiatives/[^"#]+)#estimate-(\d+)">([^<]+)</a> · worth ([\d.]+) impact points',
                       section)
    assert len(expected) == 5
    assert [(u, int(n), float(v)) for u, n, _, v in links] == \
        [(f"/initiatives/{x['key']}", x["line"], round(x["voi"], 2)) for x in expected]
    for url, line, text, _ in links:
        page = client.get(url).get_data(as_text=True)
        assert f'<tr id="estimate-{line}">' in page, url
        assert text.endswith(f"line {line}")


def test_the_initiative_page_shows_the_impact_spread_and_p_in_plan(client, demo):
    s = risks.risk_summary(demo)
    key = s["refine_first"][0]["key"]
    sp, p = s["spread"][key], s["p_in_plan"][key]
    page = client.get(f"/initiatives/{key}").get_data(as_text=True)
    assert (f"Impact spread: 5 % {sp['p5']:.1f} · median {sp['p50']:.1f} · 95 % {sp['p95']:.1f} "
            f"(from 10,000 draws)") in page
    assert re.search(rf'P\(in plan\) <span title="[^"]+">{100 * p:.0f} %</span>', page)


def test_no_plan_or_risk_columns_under_another_method(client):
    body = client.get("/?method=rice").get_data(as_text=True)
    assert "Plan" not in header(body) and "P(in plan)" not in header(body)
    assert 'class="cutline"' not in body and 'id="refine-h"' not in body


def test_plan_and_p_in_plan_columns_stay_under_a_scenario_and_follow_it(client, demo):
    """Under a scenario the Plan column is the scenario's plan (the same as /plan and the
    plan API under the same scenario) and P(in plan) the scenario's analysis."""
    from scoring.uncertainty import analyse_risk
    from app.services.whatif import what_if
    body = client.get("/?w.growth=9").get_data(as_text=True)
    assert "Plan" in header(body) and "P(in plan)" in header(body)
    d = plans.plan(demo, whatif={"objective_weights": {"growth": 9.0}})
    marks = {p["key"]: p["period"] for p in d["planned"]}
    assert marks != plans.plan_marks(demo)                    # the scenario plans differently
    r, _ = what_if(demo, {"objective_weights": {"growth": 9.0}})
    u = demo.settings.uncertainty
    p = {it["key"]: it["p_in_plan"] for it in
         analyse_risk(risks.risk_input(demo, r, draws=u.draws, seed=u.seed, top=u.top)).items()}
    for key, html in rows(body).items():
        badge = re.findall(r'<span class="planned"[^>]*>([^<]+)</span>', html)
        assert badge == ([marks[key]] if key in marks else []), key
        if key in marks:
            assert 'href="/plan?w.growth=9"' in html
        assert re.search(rf'>{100 * p[key]:.0f} %</span>', html), key
    # the plan page takes the same scenario from its URL, and keeps it on re-plan
    page = client.get("/plan?w.growth=9").get_data(as_text=True)
    assert 'id="plan-scenario"' in page and '<input type="hidden" name="w.growth" value="9">' in page
    for key in list(marks)[:5]:
        assert f'href="/initiatives/{key}"' in page
    assert 'data-stage="greedy"' in page             # the greedy plan at once; the exact one follows
    live = client.get("/plan/live?w.growth=9&stage=exact").get_json()
    assert f'Value <strong>{d["value"]:.3f}</strong>' in live["html"] and live["next"]


def test_a_failing_risk_analysis_hides_its_column_and_an_absent_plan_its_marks(client, monkeypatch, caplog):
    def broken(*a, **kw):
        raise RuntimeError("solver exploded")
    monkeypatch.setattr(risks, "risk_summary", broken)
    monkeypatch.setattr(plans, "plan_marks", lambda *a, **kw: {})
    res = client.get("/?page=1")                 # a URL of its own: the page cache keys on it
    body = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "P(in plan)" not in header(body) and "Plan" not in header(body)
    assert 'id="refine-h"' not in body and 'class="cutline"' not in body
    assert "the risk analysis could not be computed" in caplog.text
    page = client.get("/initiatives/FN-101")
    assert page.status_code == 200 and "Impact spread" not in page.get_data(as_text=True)


def test_a_backlog_too_big_to_analyse_while_the_reader_waits_leaves_risk_out(client, monkeypatch):
    from app.services.planning import budget
    monkeypatch.setattr(budget, "RISK_ITEMS", 60)     # the demo has 61 items not done
    body = client.get("/?page=1&q=").get_data(as_text=True)
    assert "P(in plan)" not in header(body) and 'id="refine-h"' not in body
    assert "for a backlog this size (61 items; a request analyses at most 60)" in body
    assert "Impact spread" not in client.get("/initiatives/FN-102").get_data(as_text=True)
