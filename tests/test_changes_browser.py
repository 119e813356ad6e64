"""The /changes page in Debian's chromium (Playwright, tests/browser_kit.py): two syncs of
the worked example (tests/conftest.py) with A's effort raised 2 -> 8 in the CSV between
them; the page shows A's fall with its reason, links it, and fits a 390 px phone.
Screenshots at 1440 and 390 px land in test-artifacts/ (gitignored)."""
from __future__ import annotations

import pytest

from tests.browser_kit import _page, serve, shot
from tests.browser_kit import browser  # noqa: F401  (fixture)
from tests.conftest import EXAMPLE_INITIATIVES, synced_example


@pytest.fixture(scope="module")
def two_syncs(tmp_path_factory):
    from app.services.sync import sync
    d = tmp_path_factory.mktemp("changes")
    ws = synced_example(d)
    (d / "initiatives.csv").write_text(EXAMPLE_INITIATIVES.replace("A,Guided onboarding,To Do,new,2,",
                                                                   "A,Guided onboarding,To Do,new,8,"))
    sync(ws)
    yield from serve(ws)


def test_changes_page_shows_the_mover_and_its_reason(browser, two_syncs):  # noqa: F811
    ctx, page = _page(browser, 1440, 900)
    page.goto(two_syncs + "/changes")
    down = page.locator("section.chg", has_text="Moved down")
    assert down.locator("li").count() == 1
    assert down.locator("li").inner_text().replace("\n", " ") == \
        "A #1 -> #3: effort -1.46 (effort 2 -> 8), overtaken by B, C"
    # the chooser defaults to the snapshot before the last sync, against now
    assert page.locator("select[name=from]").input_value() == "sync-2"
    assert page.locator("select[name=to]").input_value() == "now"
    shot(page, "changes", full=True)
    page.select_option("select[name=to]", "sync-4")
    page.locator("button", has_text="Compare").click()
    page.wait_for_url("**/changes?from=sync-2&to=sync-4&cut=10")
    assert "to sync-4" in page.locator(".summary").inner_text()
    down.locator("a", has_text="A").click()
    page.wait_for_url("**/initiatives/A")
    assert page.errors == []                     # no CSP violation, no script error
    ctx.close()


def test_changes_page_fits_a_phone(browser, two_syncs):  # noqa: F811
    ctx, page = _page(browser, 390, 844, device_scale_factor=1, is_mobile=True, has_touch=True)
    page.goto(two_syncs + "/changes")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    reason = page.locator("section.chg", has_text="Moved down").locator(".reason")
    box = reason.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(page, "changes", full=True)
    assert page.errors == []
    ctx.close()
