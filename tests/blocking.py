"""Call a file reader in a thread, and fail the test instead of hanging the suite when it blocks
(opening a FIFO waits for a writer forever)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest


def read_within(read: Callable[[Path], object], path: Path, seconds: float = 5.0) -> object:
    outcome = {}

    def target():
        try:
            outcome["value"] = read(path)
        except BaseException as err:
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        # A writer that opens and closes lets the blocked open return, at end of file.
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(seconds)
        pytest.fail(f"reading {path.name} blocked for {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
