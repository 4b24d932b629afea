"""Start ``streamlit run app.py`` on a loopback port and drive Debian's Chromium with Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("GRU_VIZ_CHROMIUM", "/usr/bin/chromium")
# Without these, Chromium keeps trying to reach Google's hosts, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streamlit_command(port: int, *extra: str, app: Path = ROOT / "app.py") -> list[str]:
    """``streamlit run app.py`` headless on 127.0.0.1:port (tests and benchmarks alike)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        *extra,
    ]


def wait_healthy(
    url: str, process: subprocess.Popen | None, timeout: float = 90, log_path: Path | None = None
) -> None:
    """Wait for the server's health check; fail with its log if it exits or never answers."""
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            if (process and process.poll() is not None) or time.time() > deadline:
                log = log_path.read_text(errors="replace") if log_path else ""
                raise RuntimeError(f"server at {url} did not come up\n{log}") from None
            time.sleep(0.2)


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


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


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
PLACEHOLDER_CHART = ".st-key-loading .js-plotly-plot"
CHART = '.stElementContainer:not(.st-key-loading) [data-testid="stPlotlyChart"] .js-plotly-plot'
RUNNING_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
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
