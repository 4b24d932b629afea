"""Headless reruns a lesson's claim compares with, trained off the page's tick.

A comparison trains the user's own setup with one setting changed (clipping on, the gate bias
off, r fixed at 1, ...) on the same batches and seed. That can take seconds, so on a server it
runs in one worker thread per process, outside the lock that live ticks take turns on: a class
waiting for one student's comparison would otherwise stall. Results are cached per setup (the
run is deterministic, so every student asking for the same one shares it); until one is ready,
``get`` answers with its progress. Headless callers (tests, the CLI) pass ``wait=True``.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

Result = TypeVar("Result")

MAX_RESULTS = 32  # kept per process; a result is a few numbers
MAX_QUEUED = 8  # waiting jobs; past this a new one says "busy, try again"
YIELD_EVERY_SECONDS = 0.05  # the worker pauses this often so ticks get the interpreter


@dataclass(frozen=True)
class Pending:
    """Not ready yet: how far the job has come (0..1), or queued behind others."""

    progress: float
    queued: int = 0
    busy: bool = False  # the queue was full: nothing was started


class Comparisons(Generic[Result]):
    """A FIFO of deterministic jobs keyed by what they compute, each run once, results kept.

    A job is ``run(report)``: it calls ``report(fraction)`` as it goes and returns the result.
    """

    def __init__(self, most: int = MAX_RESULTS, queued: int = MAX_QUEUED):
        self.most, self.queued = most, queued
        self._lock = threading.Lock()
        self._done: collections.OrderedDict[Hashable, Result] = collections.OrderedDict()
        self._waiting: collections.OrderedDict[Hashable, Callable] = collections.OrderedDict()
        self._progress: dict[Hashable, float] = {}
        self._worker: threading.Thread | None = None

    def get(
        self, key: Hashable, run: Callable[[Callable[[float], None]], Result], wait: bool = False
    ) -> Result | Pending:
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
        if wait:  # headless: compute here (and keep it for everyone else)
            result = run(lambda fraction: None)
            self._store(key, result)
            return result
        with self._lock:
            if key in self._progress:
                position = list(self._waiting).index(key) + 1 if key in self._waiting else 0
                return Pending(self._progress[key], queued=position)
            if len(self._waiting) >= self.queued:
                return Pending(0.0, busy=True)
            self._waiting[key] = run
            self._progress[key] = 0.0
            position = len(self._waiting)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="gru-viz-comparisons", daemon=True
                )
                self._worker.start()
        return Pending(0.0, queued=position)

    def _store(self, key: Hashable, result: Result) -> None:
        with self._lock:
            self._done[key] = result
            self._done.move_to_end(key)
            while len(self._done) > self.most:
                self._done.popitem(last=False)

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._worker = None
                    return
                key, run = self._waiting.popitem(last=False)
            last_pause = time.monotonic()

            def report(fraction: float, key: Hashable = key) -> None:
                nonlocal last_pause
                self._progress[key] = fraction
                if time.monotonic() - last_pause > YIELD_EVERY_SECONDS:
                    time.sleep(0.002)  # let a waiting tick take the interpreter
                    last_pause = time.monotonic()

            try:
                result = run(report)
            except Exception as err:  # a failed comparison must not kill the worker
                result = err
            self._store(key, result)
            with self._lock:
                self._progress.pop(key, None)
