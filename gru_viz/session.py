"""One browser session's live run, independent of any UI toolkit.

The dashboard keeps one ``LiveSession`` per browser session and calls ``tick`` from its timer.
Every change to the trainer happens under the session's lock, so a click that lands while a
training step is running (Reset, a new setting) waits for the step instead of corrupting it.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch

from gru_viz.config import FIELD_BY_NAME, RunConfig, describe_changes
from gru_viz.models import NO_INTERVENTION, Intervention
from gru_viz.records import Event
from gru_viz.trainer import Trainer

T = TypeVar("T")

# Seconds of training per timer tick, by the speed the user picks; the rest of each tick draws.
SPEEDS = {"slow": 0.1, "normal": 0.35, "fast": 0.7}
# The first tick after Play trains only briefly, so the charts answer the click within a second.
FIRST_TICK_SECONDS = 0.1
TICK_SECONDS = 1.0
LOCK_WAIT_SECONDS = 5.0
# Sessions of one server process share one interpreter, which runs one thread at a time: twenty
# students each training for the full speed budget would make every tick twenty times longer.
# So while others train too, a tick trains for the speed's budget or an equal share of this many
# seconds among the sessions that trained recently, whichever is less (always at least one step).
SHARED_TRAINING_SECONDS = 0.5
ACTIVE_WINDOW_SECONDS = 3.0


class TrainingShare:
    """The server's training time per tick, divided among the sessions that are training."""

    def __init__(
        self, total: float = SHARED_TRAINING_SECONDS, clock: Callable[[], float] = time.monotonic
    ):
        self.total, self.clock = total, clock
        self._lock = threading.Lock()
        self._last_tick: dict[int, float] = {}  # session number -> time of its last tick

    def budget(self, session: int, wanted: float) -> tuple[float, int]:
        """This tick's training seconds, and how many sessions are training now (with this)."""
        now = self.clock()
        with self._lock:
            self._last_tick[session] = now
            for other, seen in list(self._last_tick.items()):
                if now - seen > ACTIVE_WINDOW_SECONDS:
                    del self._last_tick[other]  # paused, closed or gone: no longer sharing
            training = len(self._last_tick)
        if training == 1:
            return wanted, 1  # alone: the speed the user picked, "fast" included
        return min(wanted, self.total / training), training

    def leave(self, session: int) -> None:
        with self._lock:
            self._last_tick.pop(session, None)


SHARE = TrainingShare()  # one per server process, like the interpreter it divides


class TakeTurns:
    """A lock granted in the order it was asked for (``threading.Lock`` picks any waiter).

    The holder hands the lock straight to the longest waiter, so under a class's load every
    session waits about as long as the others: the slowest student's tick, not the average, is
    what the p95 latency measures.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._queue: deque[threading.Lock] = deque()
        self._held = False

    def __enter__(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._queue.append(turn)
        turn.acquire()  # released by the holder before us: the lock is ours, still held

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def __exit__(self, *exc: object) -> None:
        with self._mutex:
            if self._queue:
                self._queue.popleft().release()
            else:
                self._held = False


# One live tick at a time per process. Sessions that tick at once do not finish sooner: they
# take turns at the interpreter lock anyway, and far worse than in a queue. Each torch call
# lets the lock go and must wait up to a switch interval (5 ms) to win it back from the other
# runnable threads, so with twenty students a step of a hundred torch calls took seconds and no
# tick finished at all (bench.load_test, 20 websocket sessions). Queued, the running tick keeps
# the interpreter to itself and the others sleep.
TICK_TURN = TakeTurns()
_session_numbers = itertools.count()


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

    def __init__(
        self, cfg: RunConfig, share: TrainingShare = SHARE, trainer: Trainer | None = None
    ):
        self.lock = threading.RLock()
        self.share, self.number = share, next(_session_numbers)
        self.sessions_training = 1  # sessions of this process training now, this one included
        self.cfg = cfg
        self.trainer = trainer if trainer is not None else Trainer(cfg)
        self._playing = False
        self._ticks_since_play = 0
        self.speed = "normal"
        self._recent: deque[tuple[float, int]] = deque(maxlen=20)  # (time, step) for the rate
        self.last_tick_seconds = 0.0
        self.intervention = NO_INTERVENTION
        self.intervene_in_training = False
        # The guide its page had open, and which control (both come back on a reload).
        self.lesson: str | None = None
        self.control: str | None = None

    @classmethod
    def from_trainer(cls, trainer: Trainer, share: TrainingShare = SHARE) -> LiveSession:
        """A session around an existing trainer (a run forked from a class, or a snapshot)."""
        return cls(trainer.cfg, share, trainer=trainer)

    # -- training --------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._playing

    @playing.setter
    def playing(self, value: bool) -> None:
        if value and not self._playing:
            self._ticks_since_play = 0
        if not value:
            self.share.leave(self.number)  # the others' share grows at their next tick
        self._playing = value

    def tick(self) -> int:
        """Train for this speed's time budget; returns steps taken (0 if busy or paused)."""
        if not self.playing or not self.lock.acquire(blocking=False):
            return 0
        try:
            start = time.perf_counter()
            wanted = SPEEDS[self.speed] if self._ticks_since_play else FIRST_TICK_SECONDS
            budget, self.sessions_training = self.share.budget(self.number, wanted)
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
            self._rebuild(self.cfg, "reset: re-initialised from the seed")

    def _rebuild(self, cfg: RunConfig, why: str) -> None:
        self.trainer, self.cfg = Trainer(cfg), cfg
        self.trainer.events.append(Event(0, "rebuild", why))
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
                names = ", ".join(FIELD_BY_NAME[n].label.lower() for n in rebuilt)
                self._rebuild(cfg, f"rebuilt from scratch: {describe_changes(self.cfg, cfg)}")
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
        self.trainer.set_interventions(self.intervention, self.intervene_in_training)

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
