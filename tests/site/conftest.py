"""Fixtures of the browser test: the built site, a local web server, headless Chromium.

The test runs only when given the built site, ``pytest tests/site
--site-html=_build/html`` (``make site-test``, part of ``make test`` after the
build); without the option its tests are skipped, so that ``pytest tests`` does
not open a browser on a stale build.
"""

from __future__ import annotations

import functools
import json
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sitecheck import CHROMIUM, CHROMIUM_FLAGS, LOCAL_HOST, SUMMARY


def pytest_addoption(parser):
    parser.addoption(
        "--site-html",
        default=None,
        help="directory of the built site (e.g. _build/html) to test in headless Chromium",
    )


@pytest.fixture(scope="session")
def site_dir(request) -> Path:
    option = request.config.getoption("--site-html", default=None)
    if option is None:
        pytest.skip("browser test: pass --site-html=_build/html (make site-test)")
    site = Path(option).resolve()
    if not (site / "index.html").is_file():
        pytest.fail(f"--site-html={option}: no index.html there; build the book first (make book)")
    return site


@pytest.fixture(scope="session")
def site_url(site_dir):
    """The site served over HTTP on 127.0.0.1 (an ephemeral port), as a browser gets it."""

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # keep the test output clean
            pass

    handler = functools.partial(QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def offsite_requests() -> list[str]:
    """Every request the browser tried to send to another host (each was blocked)."""
    return []


@pytest.fixture(scope="session")
def browser_context(site_url, offsite_requests):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: `make site-test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    def only_localhost(route):
        if urlsplit(route.request.url).hostname == LOCAL_HOST:
            route.continue_()
        else:  # recorded, and never sent
            offsite_requests.append(route.request.url)
            route.abort()

    with tempfile.TemporaryDirectory(prefix="klbook-chromium-") as profile:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,  # a fresh user-data-dir
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 900},
                color_scheme="light",
            )
            context.route("**/*", only_localhost)
            context.on("websocket", lambda ws: offsite_requests.append(ws.url))
            try:
                yield context
            finally:
                context.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not SUMMARY["pages"]:
        return
    lines = [
        f"pages checked: {len(SUMMARY['pages'])}",
        f"requests to other hosts: {len(SUMMARY['offsite_requests'])}",
        "axe-core violations by impact: "
        + (json.dumps(SUMMARY["axe_by_impact"], sort_keys=True) or "{}"),
    ]
    if SUMMARY.get("screenshots"):
        lines.append("screenshots: " + ", ".join(SUMMARY["screenshots"]))
    terminalreporter.write_sep("-", "site test")
    for line in lines:
        terminalreporter.write_line(line)
    report_dir = SUMMARY.get("report_dir")
    if report_dir:
        Path(report_dir, "site-test-report.json").write_text(
            json.dumps(SUMMARY, indent=2, sort_keys=True, default=str), encoding="utf-8"
        )
