"""The app in a real browser: start it, change a lever, run, and keep a screenshot.

AppTest (tests/test_app.py) covers every path quickly; this test checks what AppTest
cannot: that the page renders in Chromium from a real server bound to 127.0.0.1. It
drives Debian's Chromium (/usr/bin/chromium) through Playwright's Python package; no
browser is downloaded. Run it with ``pytest -m browser tests/test_browser.py``; the
screenshot path is printed (``-s``) and kept in pytest's tmp directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's /usr/bin/chromium"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """The app served on a free port of 127.0.0.1, stopped with its process group."""
    port = free_port()
    streamlit = Path(sys.executable).with_name("streamlit")
    cmd = [
        str(streamlit),
        "run",
        str(ROOT / "app.py"),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    env = {**os.environ, "BILLSIM_STORE": str(tmp_path / "runs.sqlite")}
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start: {(tmp_path / 'streamlit.log').read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Until the script run is over and no skeleton placeholders are left."""
    page.wait_for_selector(
        "[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout_ms
    )
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=stSkeleton]').length === 0",
        timeout=timeout_ms,
    )


def test_change_a_lever_run_and_screenshot(app_url: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        # a fresh profile directory per test (Playwright's way of --user-data-dir)
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1500, "height": 1000},
        )
        try:
            page = browser.new_page()
            page.goto(app_url)
            wait_idle(page)
            sidebar = page.get_by_test_id("stSidebar")
            assert sidebar.get_by_test_id("stSelectbox").count() >= 2  # language, file

            # a lever: fewer accounts (Customers group), committed with Enter
            sidebar.get_by_text("Customers", exact=True).click()
            accounts = sidebar.get_by_label("Accounts", exact=True)
            accounts.fill("4000")
            accounts.press("Enter")
            wait_idle(page)
            assert accounts.input_value() == "4000"

            sidebar.get_by_test_id("stButton").filter(has_text="Run").click()
            page.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
            wait_idle(page)
            assert page.get_by_test_id("stException").count() == 0
            metrics = page.get_by_test_id("stMetric")
            assert metrics.count() == 10
            assert "Service level" in metrics.first.inner_text()
            assert "4.000 Konten" in page.inner_text("body") or "4.000 accounts" in page.inner_text(
                "body"
            )
            page.wait_for_selector("[data-testid=stVegaLiteChart]", timeout=30_000)

            # Streamlit scrolls inside its main block: grow the viewport to the content
            height = page.evaluate(
                "Math.max(...Array.from(document.querySelectorAll("
                "'[data-testid=stMain], [data-testid=stMainBlockContainer]'))"
                ".map(e => e.scrollHeight), 1000)"
            )
            page.set_viewport_size({"width": 1500, "height": min(int(height) + 100, 8000)})
            page.wait_for_timeout(1000)
            shot = tmp_path / "app-after-run.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            print(f"screenshot: {shot}")
        finally:
            browser.close()
