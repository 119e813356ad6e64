"""The planning session's pages in Debian's chromium (Playwright, tests/browser_kit.py) at
1440 and 390 px: the goal graph fits a desktop page (every objective in view without
scrolling, for the demo and a 40-KPI graph) and pans on a phone; a scenario is saved under
a name, listed on the roadmap and plan pages, and opened again compared with the stored
ranking. Screenshots land in test-artifacts/ (gitignored)."""
from __future__ import annotations

import pytest
from markupsafe import escape

from tests.browser_kit import _page, server, shot  # noqa: F401  (fixture)
from tests.browser_kit import browser  # noqa: F401  (fixture)
from tests.graph_samples import forty_kpis

OBJECTIVES = """() => {
  const svg = document.querySelector('svg.graph'), wrap = svg.closest('.graphwrap');
  return {objectives: [...svg.querySelectorAll('g.obj rect')].map(r => { const b = r.getBoundingClientRect();
            return {left: b.left, right: b.right, top: b.top, bottom: b.bottom}; }),
          page: document.documentElement.scrollWidth, wrap: wrap.scrollWidth, wrapView: wrap.clientWidth,
          width: svg.getBoundingClientRect().width};
}"""


@pytest.fixture(scope="module")
def pages(browser):  # noqa: F811
    wide, wp = _page(browser, 1440, 900)
    phone, pp = _page(browser, 390, 844, device_scale_factor=1, is_mobile=True, has_touch=True)
    yield {"wide": wp, "phone": pp}
    wide.close()
    phone.close()


def _forty(page, server):  # noqa: F811
    from app.web.svg import charts
    svg = charts.goal_graph(forty_kpis(), link=lambda n: f"/kpis#kpi-{n['id']}")
    page.goto(server + "/graph")
    page.set_content(f'<!doctype html><html lang="en"><head><title>40 KPIs</title><link rel="stylesheet" '
                     f'href="{escape(server)}/static/style.css"></head><body><main><div class="graphwrap">{svg}</div>'
                     '</main></body></html>')


@pytest.mark.parametrize("which", ["demo", "forty"])
def test_every_objective_is_in_view_at_1440_without_scrolling(pages, server, which):  # noqa: F811
    page = pages["wide"]
    if which == "demo":
        page.goto(server + "/graph")
    else:
        _forty(page, server)
    got = page.evaluate(OBJECTIVES)
    assert len(got["objectives"]) == (4 if which == "demo" else 5)
    assert got["page"] <= 1440 and got["wrap"] <= got["wrapView"] + 1          # nothing scrolls sideways
    for b in got["objectives"]:
        assert 0 <= b["left"] and b["right"] <= 1440 and 0 <= b["top"] and b["bottom"] <= 900, b
    shot(page, f"session-graph-{which}")


@pytest.mark.parametrize("which", ["demo", "forty"])
def test_on_a_phone_the_graph_pans_inside_its_frame(pages, server, which):  # noqa: F811
    page = pages["phone"]
    if which == "demo":
        page.goto(server + "/graph")
    else:
        _forty(page, server)
    got = page.evaluate(OBJECTIVES)
    assert got["page"] <= 390                                 # the page itself never scrolls sideways
    assert got["wrap"] > got["wrapView"]                      # the drawing keeps its size and pans
    size = page.locator("svg.graph g.node text").first.evaluate("t => t.getBoundingClientRect().height")
    assert size >= 10                                         # text at a readable size on the phone
    shot(page, f"session-graph-{which}")


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_save_a_scenario_list_it_and_open_it_against_the_stored_ranking(pages, server, size):  # noqa: F811
    page = pages[size]
    name = f"Growth first {size}"
    page.goto(server + "/?w.growth=9")
    assert "Scenario against the stored ranking" in page.content()
    form = page.locator("form.save-scenario")
    form.locator("input[name=name]").fill(name)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "w.growth=9" in page.url
    saved = page.locator("#saved-scenarios a.saved-name", has_text=name)
    assert saved.count() == 1
    assert "saved by local" in page.locator("#saved-scenarios li", has_text=name).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    shot(page, "session-saved-scenarios", full=True)
    # from the stored ranking, open it again: the comparison with the stored ranking shows
    page.goto(server + "/")
    assert name in page.locator("#saved-h").inner_text()          # closed, naming what is saved
    page.locator("#saved-h").click()
    page.locator("#saved-scenarios a.saved-name", has_text=name).click()
    page.wait_for_url("**/?w.growth=9")
    assert page.locator("#cmp-h").inner_text() == "Scenario against the stored ranking"
    # the plan page lists plan scenarios; one saved there opens the plan under it
    page.goto(server + "/plan?w.growth=9")
    assert page.locator("#plan-scenario").count() == 1
    page.locator("form.save-scenario input[name=name]").fill(f"plan {size}")
    page.locator("form.save-scenario button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#saved-scenarios a.saved-name", has_text=f"plan {size}").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    shot(page, "session-plan-scenarios", full=True)
    # delete it from the list
    page.locator("#saved-scenarios li", has_text=f"plan {size}").locator("button").click()
    page.wait_for_load_state()
    assert page.locator("#saved-scenarios a.saved-name", has_text=f"plan {size}").count() == 0
    assert not page.errors


def test_a_scenario_set_live_is_the_one_saved(pages, server):  # noqa: F811
    """The roadmap re-ranks as a slider moves (script); the save form then holds the new URL state."""
    page = pages["wide"]
    page.goto(server + "/")
    page.locator("#whatif summary").click()
    page.locator('input[name="w.growth"]').evaluate(
        "el => { el.value = '7'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_url("**w.growth=7**")
    page.wait_for_selector("#cmp-h")
    assert page.locator('form.save-scenario input[name=query]').get_attribute("value") == "w.growth=7"
    page.locator("form.save-scenario input[name=name]").fill("live seven")
    page.locator("form.save-scenario button[type=submit]").click()
    page.wait_for_load_state()
    link = page.locator("#saved-scenarios a.saved-name", has_text="live seven")
    assert link.get_attribute("href") == "/?w.growth=7"
    assert not page.errors


def test_a_tenfold_kpi_value_typed_live_waits_for_confirmation(pages, server):  # noqa: F811
    """Activation is a % KPI at 32.5 %: 0.4 typed (meaning the fraction) is 0.4 %, 81x below."""
    page = pages["wide"]
    page.goto(server + "/")
    page.locator("#whatif summary").click()
    page.locator('input[name="kpi.activation"]').fill("0.4")
    page.wait_for_selector("#whatif-confirm")
    assert "confirm it below" in page.locator("#whatif-status").inner_text()
    assert page.locator("#cmp-h").count() == 0                         # not applied yet
    page.locator("#whatif-confirm-apply").click()
    page.wait_for_selector("#cmp-h")
    assert "Activation rate" in page.locator("section.compare").inner_text()
    assert "0.4%" in page.locator("section.compare").inner_text()
    assert not page.errors
