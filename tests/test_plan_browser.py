"""The /plan board in Debian's chromium against the demo (three teams, four quarters): the
greedy plan first, the exact plan swapped in; a changed capacity or a pin re-plans and
stays in the URL; on a phone the board reflows (no sideways scroll). Screenshots at 1440
and 390 px land in test-artifacts/ (gitignored)."""
from __future__ import annotations

import re

from tests.browser_kit import shot
from tests.browser_kit import browser, page, server  # noqa: F401  (fixtures)


def wait_exact(pg):
    pg.wait_for_selector("#plan-body[data-stage='explain']")


def test_changing_a_capacity_resolves_the_plan_and_updates_the_url(page, server):
    page.set_default_timeout(60000)           # each solve may use the demo's 5 s solver budget
    page.goto(server + "/plan?cap.platform=12")
    wait_exact(page)
    board = page.locator(".board table.plan")
    heads = board.locator("thead th").all_inner_texts()
    assert heads[0] == "Team" and [h.split()[0] for h in heads[1:]] == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    assert "ends 2027-03-31" in heads[1]
    assert board.locator("tbody th").all_inner_texts() == ["growth", "customer", "platform"]
    growth = board.locator("tbody tr").first
    assert growth.locator(".load span").first.inner_text() == "11 / 11"
    before = growth.locator(".card").count()
    assert before > 0 and page.locator(".card.must[data-key='FN-156']").count() == 1   # a must-have
    assert page.locator("#plan-status").inner_text() in ("optimal",) or "optimal" in page.locator("#plan-status").inner_text()
    assert "best of the simple plans" in page.locator("#plan-summary").inner_text()
    shot(page, "plan")
    field = page.locator("input[name='cap.growth']")
    field.fill("20")
    field.dispatch_event("change")
    page.wait_for_url(re.compile(r"cap\.growth=20"))
    wait_exact(page)
    growth = page.locator(".board table.plan tbody tr").first
    assert growth.locator(".load span").first.inner_text().endswith("/ 20")
    assert growth.locator(".card").count() > before          # more room: more growth items planned
    assert page.locator("input[name='cap.growth']").input_value() == "20"
    page.reload()                                               # the scenario survives a reload
    assert page.locator("input[name='cap.growth']").input_value() == "20"
    assert page.errors == []                                    # no CSP violation, no script error


def test_a_pin_chosen_on_a_card_moves_it_and_stays_in_the_url(page, server):
    page.set_default_timeout(60000)
    page.goto(server + "/plan")
    wait_exact(page)
    q1 = page.locator(".board table.plan tbody tr").first.locator("td").first
    card = q1.locator(".card").first
    key = card.get_attribute("data-key")
    card.locator("select.pin").select_option("2027-Q4")
    page.wait_for_url(re.compile(rf"pin\.{key}=2027-Q4"))
    moved = page.locator(f".card[data-key='{key}']")
    assert moved.get_attribute("class").split().count("pinned") == 1
    assert moved.locator("xpath=ancestor::td[1]").get_attribute("data-period") == "2027-Q4"
    wait_exact(page)                                            # and the exact plan keeps it there
    moved = page.locator(f".card[data-key='{key}']")
    assert moved.locator("xpath=ancestor::td[1]").get_attribute("data-period") == "2027-Q4"
    assert moved.locator("select.pin").input_value() == "2027-Q4"
    shot(page, "plan-pinned")
    assert page.errors == []


def test_the_board_reflows_on_a_phone(browser, server):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    pg = ctx.new_page()
    pg.set_default_timeout(60000)
    pg.goto(server + "/plan?cap.growth=20")
    wait_exact(pg)
    width = pg.evaluate("document.documentElement.scrollWidth")
    inner = pg.evaluate("(() => { const b = document.querySelector('.board'); return [b.scrollWidth, b.clientWidth]; })()")
    assert width <= 390 and inner[0] <= inner[1]                # no sideways scroll, page or board
    assert pg.locator("table.plan thead").is_hidden()
    shot(pg, "plan")
    shot(pg, "plan-full", full=True)
    ctx.close()
