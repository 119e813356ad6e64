"""The /plan board in Debian's chromium against the demo (three teams, four quarters):
changing a team's capacity re-solves the plan and keeps the scenario in the URL.
Screenshots at 1440 and 390 px land in test-artifacts/ (gitignored)."""
from __future__ import annotations

import re

from tests.browser_kit import shot
from tests.browser_kit import browser, page, server  # noqa: F401  (fixtures)


def test_changing_a_capacity_resolves_the_plan_and_updates_the_url(page, server):
    page.set_default_timeout(60000)           # each solve may use the demo's 5 s solver budget
    page.goto(server + "/plan")
    board = page.locator(".board table.plan")
    assert board.locator("thead th").all_inner_texts() == ["Team", "2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    assert board.locator("tbody th").all_inner_texts() == ["growth", "customer", "platform"]
    growth = board.locator("tbody tr").first
    assert growth.locator(".load span").first.inner_text() == "11 / 11"
    before = growth.locator("a.card").count()
    assert before > 0 and page.locator("a.card.must[href='/initiatives/FN-156']").count() == 1   # a must-have
    assert "against greedy" in page.locator("#plan-summary").inner_text()
    shot(page, "plan")
    field = page.locator("input[name='cap.growth']")
    field.fill("20")
    field.dispatch_event("change")
    page.wait_for_url(re.compile(r"cap\.growth=20"))
    growth = page.locator(".board table.plan tbody tr").first
    assert growth.locator(".load span").first.inner_text().endswith("/ 20")
    assert growth.locator("a.card").count() > before          # more room: more growth items planned
    assert page.locator("input[name='cap.growth']").input_value() == "20"
    page.reload()                                               # the scenario survives a reload
    assert page.locator("input[name='cap.growth']").input_value() == "20"
    assert page.errors == []                                    # no CSP violation, no script error


def test_the_board_scrolls_inside_itself_on_a_phone(browser, server):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    pg = ctx.new_page()
    pg.set_default_timeout(60000)
    pg.goto(server + "/plan?cap.growth=20")
    width = pg.evaluate("document.documentElement.scrollWidth")
    inner = pg.evaluate("(() => { const b = document.querySelector('.board'); return [b.scrollWidth, b.clientWidth]; })()")
    assert width <= 390 and inner[0] > inner[1]
    shot(pg, "plan")
    shot(pg, "plan-full", full=True)
    ctx.close()
