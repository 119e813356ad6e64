"""Browser test of the plan and the risk on the roadmap: the demo served
on loopback (tests/browser_kit.py), at 1440 and 390 px, under the pages' own CSP; the Plan
and P(in plan) columns are there, a refine-first link lands on its estimate row. Screenshots
go to test-artifacts/."""
from __future__ import annotations

import re

from tests.browser_kit import shot
from tests.browser_kit import browser, page, server  # noqa: F401  (fixtures)


def test_plan_and_risk_columns_and_a_refine_link_at_desktop_and_phone_width(page, server):
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(server + "/")
        first = page.locator("#ranking > tbody > tr[data-key]").first
        plan = first.locator("td.plan")
        pin = first.locator("td.pin")
        assert plan.is_visible() and pin.is_visible()
        assert re.fullmatch(r"(2027-Q[1-4] why|–)", plan.inner_text().strip())
        assert re.fullmatch(r"\d{1,3} %", pin.inner_text().strip())
        if width == 1440:
            heads = page.locator("#ranking thead th").all_inner_texts()
            assert "Plan" in heads and "P(in plan)" in heads
        cut = page.locator("#ranking tr.cutline")
        assert cut.count() == 1 and "capacity ends here" in cut.inner_text()
        box = page.locator("#results").bounding_box()
        assert box["width"] <= width                       # nothing pushes the page sideways
        shot(page, "roadmap-plan-risk", full=False)
        cut.scroll_into_view_if_needed()
        shot(page, "roadmap-cutline")
        link = page.locator(".refine li a").first
        href = link.get_attribute("href")
        line = href.rsplit("#", 1)[1]
        link.focus()
        page.keyboard.press("Enter")                        # keyboard-reachable
        page.wait_for_url(re.compile(re.escape(href)))
        row = page.locator(f"tr#{line}")
        assert row.is_visible() and row.evaluate("e => e.matches(':target')")
        assert "Impact spread" in page.locator("#spread").inner_text()
        shot(page, "initiative-estimate")
    assert page.errors == []                                 # no CSP violation, no script error
