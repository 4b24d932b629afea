"""Start the app on a loopback port and find Debian's Chromium: shared by tests and benchmarks.

The benchmarks never import from tests/; the browser tests' conftest imports from here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
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


def launch_chromium(playwright, args: list[str] = CHROMIUM_ARGS):
    """Debian's headless Chromium (Playwright cannot download its own here)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None
