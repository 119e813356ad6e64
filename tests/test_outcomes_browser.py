"""The /outcomes page in Debian's chromium (Playwright, tests/browser_kit.py) on the
outcomes workspace (tests/outcomes_workspace.py): verdicts in a PM's words, a dot with its
interval per estimate, each KPI's chart around launch, the track-record cards; keyboard
reachable, axe-core clean, fits a 390 px phone. Screenshots land in test-artifacts/."""
from __future__ import annotations

import pytest

from tests.browser_kit import AXE, _page, serve, shot
from tests.browser_kit import browser  # noqa: F401  (fixture)
from tests import outcomes_workspace as ow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from app.config import load_settings
    from app.services import Workspace
    from app.services.sync import sync
    d = ow.make(tmp_path_factory.mktemp("outcomes"))
    ws = Workspace(load_settings(d / "roadmap.toml"))
    sync(ws)
    yield from serve(ws)


def _axe(page) -> list:
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""() => axe.run(document, {resultTypes: ['violations']}).then(r =>
        r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
         .map(v => v.id + ' x' + v.nodes.length + ': ' + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' | ')))""")


def test_outcomes_page_at_1440(browser, served):  # noqa: F811
    ctx, page = _page(browser, 1440, 900)
    page.goto(served + "/outcomes")
    a = page.locator("article#A")
    assert "moved as estimated" in a.locator(".verdict").inner_text()
    assert "estimated +10% @80 %" in a.locator(".nums").inner_text()
    assert page.locator("article#B .verdict").inner_text() == "no detectable move"
    assert page.locator("article#C .verdict").inner_text().startswith("no detectable move yet: measuring until")
    assert page.locator("article#Y .verdict").inner_text() == "too little history"
    assert page.locator("article#E .verdict").inner_text() == "moved together with F"
    assert a.locator("svg.evr circle").count() == 1                 # the realised dot
    a.locator("details.around summary").click()
    assert a.locator("details.around svg.trend").is_visible()
    assert page.locator(".card h3").all_inner_texts()[:2] == ["Team", "alice"]
    assert page.locator("nav a[aria-current=page]").inner_text() == "Outcomes"
    shot(page, "outcomes", full=True)
    # the keyboard reaches the first chart's toggle and opens it
    page.goto(served + "/outcomes")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert page.locator("details.around[open]").count() == 1
    page.goto(served + "/initiatives/A")
    page.locator("a", has_text="did it move its KPIs?").click()
    page.wait_for_url("**/outcomes#A")
    assert page.errors == []
    ctx.close()


def test_outcomes_page_fits_a_phone_and_is_axe_clean(browser, served):  # noqa: F811
    ctx, page = _page(browser, 390, 844, bypass_csp=True, device_scale_factor=1, is_mobile=True, has_touch=True)
    page.goto(served + "/outcomes")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("article#A details.around summary").click()
    box = page.locator("article#A svg.trend").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(page, "outcomes", full=True)
    assert _axe(page) == []
    ctx.close()
    ctx, page = _page(browser, 1440, 900, bypass_csp=True)
    page.goto(served + "/outcomes")
    page.locator("article#A details.around summary").click()
    assert _axe(page) == []
    ctx.close()
