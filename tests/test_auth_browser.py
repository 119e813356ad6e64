"""Sign-in in Debian's chromium (tests/browser_kit.py): a page sends the browser to /login,
the OIDC stand-in (tests/oidc_standin.py) approves, the callback lands back on the page,
and the header names who is signed in with their role; "Sign out" (a real form POST, so
the browser's own Origin header passes the CSRF check) ends the session. At 1440 and
390 px; screenshots in test-artifacts/."""
from __future__ import annotations

import pytest

from tests.browser_kit import _page, serve, shot
from tests.browser_kit import browser  # noqa: F401  (fixture)
from tests.conftest import synced_example
from tests.oidc_standin import OidcStandIn


@pytest.fixture(scope="module")
def signed_in_site(tmp_path_factory):
    idp = OidcStandIn(client_secret=None).start()       # a public client: PKCE alone
    idp.user = {"sub": "u-9", "email": "ann.longname-of-the-product-team@acme.com", "groups": ["pm-leads"]}
    d = tmp_path_factory.mktemp("auth")
    ws = synced_example(d, f'''
[auth]
issuer = "{idp.issuer}"
client_id = "kpi-roadmap"
[auth.roles]
"pm-leads" = "planner"
''')
    yield from serve(ws)
    idp.stop()


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_sign_in_shows_who_and_sign_out_ends_it(browser, signed_in_site, width, height):  # noqa: F811
    ctx, page = _page(browser, width, height)
    page.goto(signed_in_site + "/kpis")
    page.wait_for_url(signed_in_site + "/kpis")           # /login -> the provider -> /auth/callback -> here
    who = page.locator("#who")
    assert who.inner_text() == "ann.longname-of-the-product-team@acme.com · planner"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = who.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    shot(page, "signed-in")
    page.locator("button", has_text="Sign out").click()
    page.wait_for_selector("text=You are signed out.")
    assert page.locator("#who").count() == 0
    shot(page, "signed-out")
    answer = page.request.get(signed_in_site + "/api/v1/kpis")
    assert answer.status == 401
    assert page.errors == [] or all("401" in e for e in page.errors)
    ctx.close()
