"""The /outcomes page in Debian's chromium (Playwright, tests/browser_kit.py) on the
outcomes workspace (tests/outcomes_workspace.py): verdicts in a PM's words, a dot with its
interval per estimate, each KPI's chart around launch, the track-record cards; keyboard
reachable, axe-core clean, fits a 390 px phone. Screenshots land in test-artifacts/."""
from __future__ import annotations

import pytest

from tests.browser_kit import _page, serious_violations, serve, shot
from tests.browser_kit import browser, server  # noqa: F401  (fixtures)
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


def test_outcomes_page_at_1440(browser, served):  # noqa: F811
    ctx, page = _page(browser, 1440, 900)
    page.goto(served + "/outcomes")
    a = page.locator("article#A")
    assert a.locator(".verdict").inner_text() == "moved, by more than estimated"      # +16 % on +10 %
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
    assert serious_violations(page) == []
    ctx.close()
    ctx, page = _page(browser, 1440, 900, bypass_csp=True)
    page.goto(served + "/outcomes")
    page.locator("article#A details.around summary").click()
    assert serious_violations(page) == []
    ctx.close()


def test_the_demo_shows_the_loop(browser, server):  # noqa: F811
    """`roadmap demo`'s workspace: launched items with outcomes, two estimators with
    visibly different track records, one launch still measuring."""
    ctx, page = _page(browser, 1440, 900)
    page.goto(server + "/outcomes")
    cards = dict(zip(page.locator(".card h3").all_inner_texts(), page.locator(".card .factor").all_inner_texts()))
    assert cards == {"Team": "×0.96", "alice": "×0.37", "bob": "×1.55"}
    assert "over-estimates" in page.locator(".card", has_text="alice").inner_text()
    assert "under-estimates" in page.locator(".card", has_text="bob").inner_text()
    assert page.locator("article#FN-168 .verdict").inner_text().startswith("no detectable move yet")
    assert page.locator("article#FN-108 .verdict").inner_text() == "moved as estimated"
    assert page.locator("article#FN-167 .verdict").inner_text() == "no detectable move"
    assert page.locator("article#FN-166 .verdict").inner_text() == "moved, by less than estimated"
    page.locator("article#FN-108 details.around summary").click()
    shot(page, "outcomes-demo", full=True)
    assert page.errors == []
    ctx.close()
