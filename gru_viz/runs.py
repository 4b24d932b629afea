"""Runs kept on the server for a while after their page went away, so a reload finds them again.

A browser reload (F5) starts a new Streamlit session, which would otherwise start a new run and
lose the lecturer's trained one. Each run is filed under its browser's key (a secret the browser
holds in a cookie, never in the address: a shared or classroom link carries no run) and the
session that shows it. A new session of the same browser takes back the most recent run whose
own session has gone; a second tab, whose sibling is still open, starts its own run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Run = TypeVar("Run")

KEEP_SECONDS = 15 * 60  # how long a run outlives its page
RUNS_PER_BROWSER = 4  # tabs of one browser whose runs are kept
MAX_RUNS = 200  # in all: a runaway client cannot fill the server's memory (~7 MB a run)


@dataclass
class _Entry(Generic[Run]):
    session: str
    run: Run
    seen: float


class RunRegistry(Generic[Run]):
    """Thread-safe; ``clock`` is injectable for tests."""

    def __init__(
        self,
        keep_seconds: float = KEEP_SECONDS,
        per_browser: int = RUNS_PER_BROWSER,
        most: int = MAX_RUNS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.keep_seconds, self.per_browser, self.most, self.clock = (
            keep_seconds,
            per_browser,
            most,
            clock,
        )
        self._lock = threading.Lock()
        self._runs: dict[str, list[_Entry[Run]]] = {}

    def remember(self, browser: str, session: str, run: Run) -> None:
        """File ``run`` as shown by ``session`` of ``browser`` (call on every page run)."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            entries = self._runs.setdefault(browser, [])
            for entry in entries:
                if entry.session == session or entry.run is run:
                    entry.session, entry.run, entry.seen = session, run, now
                    break
            else:
                entries.append(_Entry(session, run, now))
            entries.sort(key=lambda e: e.seen, reverse=True)
            del entries[self.per_browser :]
            self._cap()

    def reclaim(self, browser: str, session: str, is_active: Callable[[str], bool]) -> Run | None:
        """The browser's most recent run whose session is gone, now shown by ``session``."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            for entry in self._runs.get(browser, []):  # most recent first
                if entry.session != session and not is_active(entry.session):
                    entry.session, entry.seen = session, now
                    return entry.run
        return None

    def reloaded_from(
        self, browser: str, session: str, is_active: Callable[[str], bool]
    ) -> str | None:
        """The session whose run ``reclaim`` would hand over (a reload's old session), if any."""
        with self._lock:
            for entry in self._runs.get(browser, []):
                if entry.session != session and not is_active(entry.session):
                    return entry.session
        return None

    def waiting_for(self, browser: str, session: str, is_active: Callable[[str], bool]) -> bool:
        """Whether the browser has another run whose session still looks open (a reload's old
        session can take a moment to be marked gone)."""
        with self._lock:
            return any(
                e.session != session and is_active(e.session) for e in self._runs.get(browser, [])
            )

    def __len__(self) -> int:
        with self._lock:
            return sum(map(len, self._runs.values()))

    def _expire(self, now: float) -> None:
        for browser in list(self._runs):
            self._runs[browser] = [
                e for e in self._runs[browser] if now - e.seen <= self.keep_seconds
            ]
            if not self._runs[browser]:
                del self._runs[browser]

    def _cap(self) -> None:
        entries = sorted(
            ((e.seen, b, e) for b, es in self._runs.items() for e in es), key=lambda t: t[0]
        )
        for _, browser, entry in entries[: max(0, len(entries) - self.most)]:
            self._runs[browser].remove(entry)
            if not self._runs[browser]:
                del self._runs[browser]


RUNS: RunRegistry = RunRegistry()  # one per server process, like the sessions it outlives
