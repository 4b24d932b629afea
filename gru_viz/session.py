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

from gru_viz.config import (
    FIELD_BY_NAME,
    RunConfig,
    describe_changes,
    estimated_step_seconds,
    intervention_problem,
)
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
# Step × N trains at once, in the click, when N steps are estimated to fit in this many seconds
# (Step × 1 and × 10 on the usual setups); more becomes a target the live ticks train toward,
# each within the session's share like Play, with a progress bar, and Pause cancels the rest.
STEP_AT_ONCE_SECONDS = 0.5


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
    what the p95 latency measures. Reentrant: a tick that changes its own session's run (an
    intervention applied while the panel draws) takes its turn again without waiting for itself.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._queue: deque[threading.Lock] = deque()
        self._held = False
        self._owner: int | None = None  # the thread holding it
        self._depth = 0

    def __enter__(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if not self._held:
                self._held, self._owner, self._depth = True, me, 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._queue.append(turn)
        turn.acquire()  # released by the holder before us: the lock is ours, still held
        with self._mutex:
            self._owner, self._depth = me, 1

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def __exit__(self, *exc: object) -> None:
        with self._mutex:
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
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
# Everything else that trains or probes takes the same turn (a Step, a rebuild, a Reset, an
# intervention changed, a Restore), each bounded by the cost budget (gru_viz.config): so no
# student waits longer than one turn's work of each session ahead of them.
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
        if trainer is None:
            with TICK_TURN:  # building probes the models: a turn's work like any other
                trainer = Trainer(cfg)
        self.trainer = trainer
        self._playing = False
        self._ticks_since_play = 0
        self.speed = "normal"
        # Step × N past STEP_AT_ONCE_SECONDS: the steps the ticks still have to train of it.
        self.steps_left = 0
        self.steps_asked = 0
        self._recent: deque[tuple[float, int]] = deque(maxlen=20)  # (time, step) for the rate
        self.last_tick_seconds = 0.0
        self.intervention = NO_INTERVENTION
        # What the user asked for, and whether the intervention acts in training now: not when
        # training through it is over the cost budget (``intervention_refusal`` says why).
        self.wants_in_training = False
        self.intervene_in_training = False
        self.intervention_refusal: str | None = None
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
        self.steps_left = 0  # Play or Pause ends what was left of a Step × N
        self._playing = value

    @property
    def stepping(self) -> bool:
        """A Step × N is training tick by tick (``step_progress`` says how far)."""
        return self.steps_left > 0

    @property
    def step_progress(self) -> tuple[int, int]:
        """(steps done, steps asked) of the Step × N in progress."""
        return self.steps_asked - self.steps_left, self.steps_asked

    def tick(self) -> int:
        """Train for this speed's time budget, or toward a Step × N; returns steps taken (0 if
        busy, or neither playing nor stepping)."""
        if not (self.playing or self.steps_left) or not self.lock.acquire(blocking=False):
            return 0
        try:
            start = time.perf_counter()
            speed = "fast" if self.steps_left else self.speed  # a Step asks for all of it
            wanted = SPEEDS[speed] if self._ticks_since_play else FIRST_TICK_SECONDS
            budget, self.sessions_training = self.share.budget(self.number, wanted)
            self._ticks_since_play += 1
            if self.steps_left:
                steps = self.trainer.run_for(budget, max_steps=self.steps_left)
                self.steps_left = max(0, self.steps_left - steps)
                if not self.steps_left or not self.trainer.active:
                    self.steps_left = 0
                    self.share.leave(self.number)  # done: the others' share grows
            else:
                steps = self.trainer.run_for(budget)
            if not self.trainer.active:
                self.playing = False  # every model stopped: nothing left to play
            self.last_tick_seconds = time.perf_counter() - start
            self._mark()
            return steps
        finally:
            self.lock.release()

    def request_steps(self, n: int) -> int:
        """The Step button: pause, then train ``n`` steps. At once (returns the steps taken)
        when they are estimated to fit in STEP_AT_ONCE_SECONDS; else they become a target
        that ``tick`` trains toward within the session's share (returns 0). Pause cancels it."""
        self.playing = False
        with self._turn():
            if n * self.estimated_step_seconds() <= STEP_AT_ONCE_SECONDS:
                steps = self.trainer.step(n)
                self._mark()
                return steps
            self.steps_left = self.steps_asked = n
            self._ticks_since_play = 0  # the first tick answers the click quickly
            return 0

    def estimated_step_seconds(self) -> float:
        """One training step of this run, as the cost budget estimates it."""
        return estimated_step_seconds(self.cfg, unrolled=self.intervene_in_training)

    def step(self, n: int) -> int:
        """Train exactly ``n`` steps now (headless use; the page's Step is ``request_steps``)."""
        with self._turn():
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
        with self._turn():
            self._rebuild(self.cfg, "reset: re-initialised from the seed")

    def _rebuild(self, cfg: RunConfig, why: str) -> None:
        self.trainer, self.cfg = Trainer(cfg), cfg
        self.steps_left = 0  # a Step × N was for the old run
        self.trainer.events.append(Event(0, "rebuild", why))
        self._recent.clear()
        if self.intervention.active:  # an intervention stays on until the user clears it
            self._apply_intervention()

    def adopt(self, trainer: Trainer) -> None:
        """Run ``trainer`` from here on, as it is (a lesson's shipped trained run): its setup,
        weights, optimizer state and history replace this session's, and no intervention acts
        (the run was trained without one). The session object stays, so a class's worker and
        viewers go on with it."""
        with self._turn():
            self.playing = False
            self.trainer, self.cfg = trainer, trainer.cfg
            self.steps_left = 0
            self._recent.clear()
            self.intervention, self.wants_in_training = NO_INTERVENTION, False
            self.intervene_in_training, self.intervention_refusal = False, None

    def apply(self, cfg: RunConfig) -> Notice | None:
        """Rebuild for structural changes, apply the rest on the fly; say which happened."""
        # Compare values, not objects: a reloaded module makes equal configs of different classes.
        if cfg.as_dict() == self.cfg.as_dict():
            return None
        with self._turn():
            rebuilt = cfg.structural_changes(self.cfg)
            if rebuilt:
                names = ", ".join(FIELD_BY_NAME[n].label.lower() for n in rebuilt)
                self._rebuild(cfg, f"rebuilt from scratch: {describe_changes(self.cfg, cfg)}")
                notice = Notice("warning", f"Models rebuilt from scratch because {names} changed.")
                return self._with_refusal(notice)
            live = [
                FIELD_BY_NAME[f].label.lower()
                for f in cfg.as_dict()
                if getattr(cfg, f) != getattr(self.cfg, f)
            ]
            self.trainer.apply_live(cfg)
            self.cfg = cfg
            if self.intervention.active and self._in_training_now() != self.intervene_in_training:
                self._apply_intervention()  # a larger batch can put it over the budget
            text = f"Applied on the fly, training continues: {', '.join(live)}."
            return self._with_refusal(Notice("info", text))

    # -- interventions -----------------------------------------------------------------------
    def training_intervention_problem(self) -> str | None:
        """Why an intervention could not act in training on this run now, or None: what the
        page asks before offering "Apply while training too" (see config.intervention_problem)."""
        return intervention_problem(self.cfg)

    def set_intervention(self, intervention: Intervention, in_training: bool) -> Notice | None:
        """Clamps act on the GRU's gates; ablation on every model's units. Re-probes at once.

        In training only when that fits the cost budget: otherwise it acts on the probe only and
        the returned warning says why (so does ``intervention_refusal``, until it fits)."""
        in_training = in_training and intervention.active
        if (intervention, in_training) == (self.intervention, self.wants_in_training):
            return None  # nothing new: no probe (the page asks on every run)
        with self._turn():
            self.intervention, self.wants_in_training = intervention, in_training
            self._apply_intervention()
            return self._with_refusal(None)

    def _in_training_now(self) -> bool:
        self.intervention_refusal = None
        if not (self.wants_in_training and self.intervention.active):
            return False
        self.intervention_refusal = intervention_problem(self.cfg)
        return self.intervention_refusal is None

    def _apply_intervention(self) -> None:
        self.intervene_in_training = self._in_training_now()
        self.trainer.set_interventions(self.intervention, self.intervene_in_training)

    def _with_refusal(self, notice: Notice | None) -> Notice | None:
        """``notice``, or a warning that the intervention acts on the probe only, and why."""
        if self.intervention_refusal is None:
            return notice
        text = (
            "The intervention acts on the probe only, not in training: "
            f"{self.intervention_refusal}."
        )
        return Notice("warning", f"{notice.text} {text}" if notice else text)

    def export(self, build: Callable[[Trainer], T]) -> T:
        """Run ``build`` on the trainer while no step can change it (downloads)."""
        with self._locked():
            return build(self.trainer)

    def restore(self, kind: str) -> None:
        with self._turn():
            self.trainer.restore(kind)

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """The process's tick turn, then this session's lock: for work that trains or probes.
        (Always in this order: a tick holds the turn when it takes the lock.)"""
        with TICK_TURN, self._locked():
            yield

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if not self.lock.acquire(timeout=LOCK_WAIT_SECONDS):
            raise SessionBusy("this session is busy finishing a training step; try again")
        try:
            yield
        finally:
            self.lock.release()
