"""/docs (Swagger UI) and /redoc (ReDoc) work without internet: assets come from the installed package.

The served HTML names no outside URL, and headless Chromium, with every request to anything but
127.0.0.1 aborted, renders the operations of the OpenAPI document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lynkflow.testing.server import LynkflowServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
skip_without_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)")
# An operation every version of the document has, shown by both pages.
KNOWN_PATH = "/api2/asset/list"


@pytest.mark.parametrize("page_path", ["/docs", "/redoc"])
def test_docs_pages_name_no_outside_url(client, page_path: str) -> None:
    html = client.get(page_path).text
    outside = re.findall(r"(?:https?:)?//[^\s\"'<>]+", html)
    assert outside == [], outside
    assets = re.findall(r"(?:src|href)=\"(/[^\"]+)\"", html)
    assert any(a.endswith(".js") for a in assets), html
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200 and len(r.content) > 1000, asset


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LynkflowServer]:
    with LynkflowServer(tmp_path_factory.mktemp("docs-offline") / "data") as srv:
        yield srv


@pytest.fixture
def offline_page(server) -> Iterator[tuple[object, list[str], list[str]]]:
    """A page whose requests to anything but the server's 127.0.0.1 are aborted (and recorded),
    with the console errors it logs."""
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    console_errors: list[str] = []

    def only_loopback(route, request) -> None:
        if urlsplit(request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        context.route("**/*", only_loopback)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
        yield page, blocked, console_errors
        browser.close()


@pytest.mark.browser
@pytest.mark.slow
@skip_without_chromium
@pytest.mark.parametrize(
    ("page_path", "operation_selector"),
    [("/docs", ".opblock .opblock-summary-path"),
     # ReDoc renders each operation as a section whose id starts with "operation/".
     ("/redoc", "[data-section-id^='operation/'] h2")],
)
def test_docs_render_operations_offline(server, offline_page, page_path: str, operation_selector: str) -> None:
    page, blocked, console_errors = offline_page
    page.goto(f"{server.base_url}{page_path}")
    page.wait_for_selector(operation_selector)
    count = page.locator(operation_selector).count()
    assert count > 50, f"only {count} operations rendered"
    body = page.locator("body").inner_text()
    assert KNOWN_PATH in body or KNOWN_PATH in page.content()
    assert blocked == [], f"the page needed outside resources: {blocked}"
    # The page's Content-Security-Policy may refuse a decorative image, never code or data.
    refused = [e for e in console_errors if "Content Security Policy" in e and "img-src" not in e]
    assert refused == [], refused
