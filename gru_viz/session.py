"""One browser session's live run, independent of any UI toolkit.

The dashboard keeps one ``LiveSession`` per browser session and calls ``tick`` from its timer.
Every change to the trainer happens under the session's lock, so a click that lands while a
training step is running (Reset, a new setting) waits for the step instead of corrupting it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch

from gru_viz.config import FIELD_BY_NAME, RunConfig
from gru_viz.models import NO_INTERVENTION, Intervention
from gru_viz.trainer import Trainer

T = TypeVar("T")

# Seconds of training per timer tick, by the speed the user picks; the rest of each tick draws.
SPEEDS = {"slow": 0.1, "normal": 0.35, "fast": 0.7}
# The first tick after Play trains only briefly, so the charts answer the click within a second.
FIRST_TICK_SECONDS = 0.1
TICK_SECONDS = 1.0
LOCK_WAIT_SECONDS = 5.0


_warm_up_lock = threading.Lock()
_warmed_up = False


def warm_up_in_background() -> None:
    """Import what the first training step needs while the first charts are being drawn.

    The first torch optimizer of a process imports torch._dynamo (about 1.5 s). Doing that in a
    one-shot thread once the first page has been sent keeps it off both the first chart and,
    usually, the first press of Play (the thread shares the GIL, so not before).
    """
    global _warmed_up
    with _warm_up_lock:
        if _warmed_up:
            return
        _warmed_up = True
    threading.Thread(
        target=lambda: torch.optim.Adam([torch.zeros(1, requires_grad=True)]),
        name="gru-viz-warm-up",
        daemon=True,
    ).start()


class SessionBusy(RuntimeError):
    """Another action of this session holds the lock for longer than a user should wait."""


@dataclass
class Notice:
    kind: str  # "info", "warning" or "error"
    text: str


class LiveSession:
    """A trainer plus play state, a lock, and a steps-per-second meter."""

    def __init__(self, cfg: RunConfig):
        self.lock = threading.RLock()
        self.cfg = cfg
        self.trainer = Trainer(cfg)
        self._playing = False
        self._ticks_since_play = 0
        self.speed = "normal"
        self._recent: deque[tuple[float, int]] = deque(maxlen=20)  # (time, step) for the rate
        self.last_tick_seconds = 0.0
        self.intervention = NO_INTERVENTION
        self.intervene_in_training = False

    # -- training --------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._playing

    @playing.setter
    def playing(self, value: bool) -> None:
        if value and not self._playing:
            self._ticks_since_play = 0
        self._playing = value

    def tick(self) -> int:
        """Train for this speed's time budget; returns steps taken (0 if busy or paused)."""
        if not self.playing or not self.lock.acquire(blocking=False):
            return 0
        try:
            start = time.perf_counter()
            budget = SPEEDS[self.speed] if self._ticks_since_play else FIRST_TICK_SECONDS
            self._ticks_since_play += 1
            steps = self.trainer.run_for(budget)
            if not self.trainer.active:
                self.playing = False  # every model stopped: nothing left to play
            self.last_tick_seconds = time.perf_counter() - start
            self._mark()
            return steps
        finally:
            self.lock.release()

    def step(self, n: int) -> int:
        with self._locked():
            steps = self.trainer.step(n)
            self._mark()
            return steps

    def steps_per_second(self) -> float:
        if len(self._recent) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._recent[0], self._recent[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

    def _mark(self) -> None:
        self._recent.append((time.perf_counter(), self.trainer.step_count))

    # -- settings --------------------------------------------------------------------------
    def reset(self) -> None:
        """Re-initialise from the seed: same config, same first numbers."""
        with self._locked():
            self._rebuild(self.cfg)

    def _rebuild(self, cfg: RunConfig) -> None:
        self.trainer, self.cfg = Trainer(cfg), cfg
        self._recent.clear()
        if self.intervention.active:  # an intervention stays on until the user clears it
            self._apply_intervention()

    def apply(self, cfg: RunConfig) -> Notice | None:
        """Rebuild for structural changes, apply the rest on the fly; say which happened."""
        # Compare values, not objects: a reloaded module makes equal configs of different classes.
        if cfg.as_dict() == self.cfg.as_dict():
            return None
        with self._locked():
            rebuilt = cfg.structural_changes(self.cfg)
            if rebuilt:
                self._rebuild(cfg)
                names = ", ".join(FIELD_BY_NAME[n].label.lower() for n in rebuilt)
                return Notice("warning", f"Models rebuilt from scratch because {names} changed.")
            live = [
                FIELD_BY_NAME[f].label.lower()
                for f in cfg.as_dict()
                if getattr(cfg, f) != getattr(self.cfg, f)
            ]
            self.trainer.apply_live(cfg)
            self.cfg = cfg
            return Notice("info", f"Applied on the fly, training continues: {', '.join(live)}.")

    def set_intervention(self, intervention: Intervention, in_training: bool) -> None:
        """Clamps act on the GRU's gates; ablation on every model's units. Re-probes at once."""
        with self._locked():
            self.intervention, self.intervene_in_training = intervention, in_training
            self._apply_intervention()

    def _apply_intervention(self) -> None:
        for kind in self.trainer.slots:
            mine = (
                self.intervention
                if kind == "gru"
                else Intervention(ablate_units=self.intervention.ablate_units)
            )
            self.trainer.set_intervention(kind, mine, self.intervene_in_training)

    def export(self, build: Callable[[Trainer], T]) -> T:
        """Run ``build`` on the trainer while no step can change it (downloads)."""
        with self._locked():
            return build(self.trainer)

    def restore(self, kind: str) -> None:
        with self._locked():
            self.trainer.restore(kind)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if not self.lock.acquire(timeout=LOCK_WAIT_SECONDS):
            raise SessionBusy("this session is busy finishing a training step; try again")
        try:
            yield
        finally:
            self.lock.release()
