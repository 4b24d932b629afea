"""Start ``streamlit run app.py`` on a loopback port and drive Debian's Chromium with Playwright.

The server and Chromium helpers themselves live in ``bench.harness`` (benchmarks use them too).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from bench.harness import (  # noqa: F401 (re-exported for the browser tests)
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    chromium_available,
    free_port,
    launch_chromium,
    streamlit_command,
    wait_healthy,
)

# Playwright's expect() waits 5 s by default: too short for a loaded 2-core machine, where a
# rerun under a class's load can take seconds. Raised once here, for every browser test.
EXPECT_TIMEOUT_MS = 30_000
try:
    from playwright.sync_api import expect as _expect

    _expect.set_options(timeout=EXPECT_TIMEOUT_MS)
except ImportError:  # the browser tests skip themselves without Playwright
    pass


@contextlib.contextmanager
def streamlit_server(extra_args: tuple[str, ...] = ()) -> Iterator[tuple[str, float]]:
    """Yield (url, seconds the server took to answer its health check)."""
    port = free_port()
    log = open(ROOT / ".pytest-streamlit.log", "w")  # noqa: SIM115 (kept open for the process)
    started = time.perf_counter()
    process = subprocess.Popen(
        streamlit_command(port, *extra_args),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, timeout=60, log_path=ROOT / ".pytest-streamlit.log")
        yield url, time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# Shared by every browser test: its marks, and the selectors they wait on.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not chromium_available() and not os.environ.get("GRU_VIZ_REQUIRE_BROWSER"),
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]
# The "Building the models…" placeholder chart (app.py draws it with key "loading"); a drawn
# dashboard chart is any other.
PLACEHOLDER_CHART = '[data-testid="gvPlotlyChart"][data-name="loading"]'
CHART = '[data-testid="gvPlotlyChart"].js-plotly-plot:not([data-name="loading"])'
RUNNING_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PROJECTOR = {"width": 1920, "height": 1080}  # the lecture room's screen
# The step counter: a metric, or on a class's student page the status row its frame draws.
COUNTER = (
    '[data-testid="stMetric"]:has-text("Training step") [data-testid="stMetricValue"], '
    '[data-testid="gvMetric"][data-label="Training step"] [data-testid="gvMetricValue"]'
)
# Streamlit draws a grey skeleton for an element whose code is still loading (buttons, metrics
# and sliders come in their own chunks, often a second after the charts on a first page).
SKELETON = '[data-testid="stMain"] [data-testid="stSkeleton"]'
# True once every element sits where it sat at the previous poll.
_LAYOUT_UNCHANGED = """() => {
    const boxes = Array.from(document.querySelectorAll('[data-testid="stElementContainer"]'))
        .map(e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; });
    const now = JSON.stringify(boxes), same = window.__lastLayout === now;
    window.__lastLayout = now;
    return same;
}"""


def wait_until_settled(page, timeout_ms: int = 30_000) -> None:
    """Script run finished, no element still loading, and the layout still for a poll interval.

    Before that, a skeleton that becomes a taller widget can push the charts down between
    finding a chart and dragging on it (a flaky zoom test: the drag landed beside the plot).
    """
    page.wait_for_selector(RUNNING_DONE, timeout=timeout_ms)
    page.wait_for_function(f"() => !document.querySelector('{SKELETON}')", timeout=timeout_ms)
    page.wait_for_function(_LAYOUT_UNCHANGED, polling=300, timeout=timeout_ms)


def step_counter(page) -> int:
    """The "Training step" metric, as a number."""
    return int(page.locator(COUNTER).inner_text().replace(",", ""))


def button(page, label: str):
    """A visible button by (part of) its label."""
    return page.locator('[data-testid="stButton"] button:visible', has_text=label)


def open_page(browser, url: str, viewport: dict[str, int] = PROJECTOR):
    """A fresh browser context's page at ``url``, once its first dashboard chart is drawn and
    the page has settled (a new visitor, with no cookie of an earlier page)."""
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(url)
    page.locator(CHART).first.wait_for(state="visible", timeout=90_000)
    wait_until_settled(page)
    return page
