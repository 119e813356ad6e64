"""Shared fixtures for the browser tests: the demo served on loopback, Debian's chromium
through Playwright (never a downloaded browser), pages at 1440 and 390 px, screenshots
into test-artifacts/ (gitignored), and axe-core (tests/vendor/axe.min.js, MPL-2.0, from
the npm registry's axe-core 4.14.1) for the accessibility check."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ROADMAP_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--font-render-hinting=none"]


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def shot(page, name: str, full: bool = False) -> None:
    """A screenshot named after the page and the viewport width, kept as a test artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.viewport_size['width']}.png"), full_page=full)


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as loaded (id, count, first targets)."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""() => axe.run(document, {resultTypes: ['violations']}).then(r =>
        r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
         .map(v => v.id + ' x' + v.nodes.length + ': ' + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' | ')))""")


def serve(ws):
    """`ws` served on a loopback port in a thread: yields its base URL, then stops it."""
    from werkzeug.serving import make_server

    from app import create_app
    srv = make_server("127.0.0.1", 0, create_app(workspace=ws), threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from app.config import load_settings
    from app.services import Workspace
    from app.services.sync import sync
    from app.workspaces import build_demo
    cfg = build_demo(tmp_path_factory.mktemp("demo"))
    ws = Workspace(load_settings(cfg))
    sync(ws)
    yield from serve(ws)


@pytest.fixture(scope="module")
def browser():
    from tests.conftest import missing
    if not chromium_path():
        missing(f"no chromium at {CHROMIUM}: install Debian's chromium (.ci/run does) or set ROADMAP_CHROMIUM")
    try:
        from playwright import sync_api
    except ImportError:
        missing("playwright is not installed: pip install -e '.[test]'")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        yield b
        b.close()


def _page(browser, width: int, height: int, **options):
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB",
                              timezone_id="UTC", **options)
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    return ctx, pg


@pytest.fixture
def page(browser):
    """A desktop page (1440 px) under the pages' own CSP."""
    ctx, pg = _page(browser, 1440, 900)
    yield pg
    ctx.close()


@pytest.fixture(scope="module")
def wide_and_phone(browser):
    """A desktop and a phone page; scripts may be injected (axe), so the CSP is bypassed."""
    wide, wp = _page(browser, 1440, 900, bypass_csp=True)
    phone, pp = _page(browser, 390, 844, bypass_csp=True, device_scale_factor=1, is_mobile=True, has_touch=True)
    yield {"wide": wp, "phone": pp}
    wide.close()
    phone.close()
