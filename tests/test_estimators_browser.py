"""Several estimators in Debian's chromium (Playwright, tests/browser_kit.py): the worked
example's C disputed by alice and bob (stored estimates, as `roadmap estimate` adds
them), at the plan's line after the top 2. The roadmap row and the initiative page show
each person's estimate side by side (a strip of dots), the pooled value and "discuss this
estimate"; both fit a 390 px phone. Screenshots land in test-artifacts/ (gitignored)."""
from __future__ import annotations

import pytest

from tests.browser_kit import _page, serious_violations, serve, shot
from tests.browser_kit import browser, wide_and_phone  # noqa: F401  (fixtures)
from tests.conftest import EXAMPLE_OBSERVATIONS, EXAMPLE_TOML
from tests.test_estimates_app import AT_THE_LINE


@pytest.fixture(scope="module")
def disputed(tmp_path_factory):
    from app.config import load_settings
    from app.services import Workspace, estimates
    from app.services.sync import sync
    d = tmp_path_factory.mktemp("estimators")
    (d / "roadmap.toml").write_text(EXAMPLE_TOML.replace('path = "', f'path = "{d}/')
                                    + "\n[uncertainty]\ntop = 2\ndraws = 2000\n")
    (d / "initiatives.csv").write_text(AT_THE_LINE)
    (d / "observations.csv").write_text(EXAMPLE_OBSERVATIONS)
    settings = load_settings(d / "roadmap.toml")
    settings.service.database = f"sqlite:///{d / 'roadmap.db'}"
    ws = Workspace(settings)
    sync(ws)
    estimates.add(ws, "C", "nps +60% @50%", by="Alice Lindqvist", source="cli")
    estimates.add(ws, "C", "nps +4%..+12% @70%", by="bob", source="cli")
    yield from serve(ws)


def test_the_roadmap_row_shows_the_strip_and_discuss(browser, disputed):  # noqa: F811
    ctx, page = _page(browser, 1440, 900)
    page.goto(disputed + "/")
    row = page.locator("tr:has(td.item .key a:text-is('C'))")
    pools = row.locator(".pools")
    assert pools.count() == 1
    text = pools.inner_text()
    # tracker 0.2·0.5 = 0.10, alice 0.6·0.5 = 0.30, bob 0.08·0.7 = 0.056: pooled 0.152
    assert "3 estimates" in text and "pooled +15.2%" in text and "discuss this estimate" in text
    assert pools.locator("svg.strip circle").count() == 3
    shot(page, "estimators-roadmap")
    pools.locator("a.discuss").click()
    page.wait_for_url("**/initiatives/C#raters-nps")
    assert page.errors == []
    ctx.close()


def test_the_initiative_page_shows_each_person_side_by_side(browser, disputed):  # noqa: F811
    for width, height in ((1440, 900), (390, 844)):
        ctx, page = _page(browser, width, height, **({"is_mobile": True, "has_touch": True} if width < 500 else {}))
        page.goto(disputed + "/initiatives/C")
        section = page.locator("section.raters")
        assert section.locator("h3").inner_text() == "nps: 3 estimators, side by side"
        assert "Discuss this estimate" in section.locator(".discuss").inner_text()
        svg = section.locator("svg.strip")
        assert svg.locator("circle").count() == 3 and svg.locator("polygon").count() == 1
        labels = svg.locator("text.who").all_text_contents()
        assert labels == ["unknown", "Alice Lindqvist", "bob", "pooled"]
        box = svg.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        cells = section.locator("table tr").nth(2).locator("td").all_inner_texts()
        assert cells == ["Alice Lindqvist", "+60.0%", "50%", "+30.00%"]
        # "refine these first" names each estimator's line: every one lands in the strip's section
        assert all(section.locator(f"#estimate-{n}").count() == 1 for n in (1, 2, 3))
        section.scroll_into_view_if_needed()
        shot(page, "estimators-initiative", full=True)
        assert page.errors == []
        ctx.close()


def test_the_roadmap_fits_a_phone_with_strips(browser, disputed):  # noqa: F811
    ctx, page = _page(browser, 390, 844, device_scale_factor=1, is_mobile=True, has_touch=True)
    page.goto(disputed + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    strip = page.locator(".pools svg.strip").first
    box = strip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(page, "estimators-roadmap", full=True)
    ctx.close()


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_no_serious_accessibility_violation_with_strips(wide_and_phone, disputed, size):  # noqa: F811
    page = wide_and_phone[size]
    found = {}
    for path in ("/", "/initiatives/C"):
        page.goto(disputed + path)
        violations = serious_violations(page)
        if violations:
            found[path] = violations
    assert found == {}
