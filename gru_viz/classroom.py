"""Class mode: one run that a teacher drives and a whole class watches, trained once.

A ``ClassRun`` wraps the teacher's ``LiveSession``. A worker thread of the class's own trains it
while the teacher has it playing, a tick a second under the same turn-taking and share as every
private run (``session.TICK_TURN``, ``SHARE``), so it costs one training however many watch.
Viewers (the teacher's page and each student's) only read it and draw: figures are built once per
update and shared (``figures``, a ``FigureCache`` keyed by each viewer's choices), and a
student's whole live panel is one ``class_frame.Frame`` built once per update and view
(``frame``), so a class of a hundred costs a hundred sends of the same bytes.

Who may do what:

* The class *code* (``AB7K-Q2MX``) is what students get: it lets them watch. A code is the
  letter of the server process that holds the class (so a proxy can route by it) and seven
  random characters (35 bits): 3,000 guesses against a process's 20 classes (``MAX_CLASSES``)
  find one with odds of about 1 in 570,000.
* The *teacher key* is a separate 256-bit secret, kept by the teacher's page on the server and
  filed under the teacher's browser (the key of ``runs``), never in an address. Only a caller
  who presents it can play, pause, change settings or end the class; a student who edits the
  link or replays a message has only the code.
* A class ends when its teacher ends it, or ``TEACHER_GONE_SECONDS`` after the teacher's page
  was last seen (a reload finds it again before that). Students then keep the last state and
  can still continue on their own.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import plotly.graph_objects as go

from gru_viz import class_frame
from gru_viz.class_frame import Frame, View
from gru_viz.figure_cache import FigureCache
from gru_viz.figures import FIGURES, RunView, Selection
from gru_viz.session import TICK_SECONDS, TICK_TURN, LiveSession

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud from a projector
CODE_LENGTH = 8  # the process letter and 35 random bits
TEACHER_GONE_SECONDS = 10 * 60
# A student's page asks for the class's latest update this often, and the worker's updates
# (one per tick, a tick a TICK_SECONDS while the class plays) are published at least
# MIN_UPDATE_GAP_SECONDS apart: so no update falls between two of a student's asks, even when
# one ask is answered a little late. At equal periods the two clocks drifted and now and then
# an update came and went unseen; a tick that waited for its turn and the next one on time
# put two updates 0.2 s apart (bench.class_load: 66 of 100 students missed one).
STUDENT_TICK_SECONDS = 0.7 * TICK_SECONDS
MIN_UPDATE_GAP_SECONDS = 0.9 * TICK_SECONDS
VIEWER_SEEN_SECONDS = 10.0  # a viewer whose page has not asked for an update since is gone
MAX_CLASSES = 20  # per process: each holds one run (a few MB) and, while playing, a worker
FIGURES_PER_CLASS = 64  # shared figures kept per class (every viewer's choices included)
FRAMES_PER_CLASS = 32  # shared frames kept per class: one per distinct view asked for
# Which process of a cluster holds a class: the code's first letter (GRU_VIZ_PROCESS, default
# "A"), so nginx can send every student of a class to it (bench/nginx/gru-viz.conf).
PROCESS_LETTER = (os.environ.get("GRU_VIZ_PROCESS", "A")[:1] or "A").upper()


class NotTeacher(PermissionError):
    """Only the class's teacher may do that."""


class ClassEnded(RuntimeError):
    """The class has ended: it can be watched and forked, not driven."""


def new_code() -> str:
    letter = PROCESS_LETTER if PROCESS_LETTER in CODE_ALPHABET else "A"
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH - 1))
    code = letter + body
    return f"{code[:4]}-{code[4:]}"


def normalise_code(text: object) -> str | None:
    """A code as typed or linked ("ab7k q2mx", "AB7KQ2MX") in its canonical form, or None."""
    letters = "".join(ch for ch in str(text).upper() if ch.isalnum())[: CODE_LENGTH + 2]
    if len(letters) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in letters):
        return None
    return f"{letters[:4]}-{letters[4:]}"


@dataclass
class ClassRun:
    code: str
    live: LiveSession
    teacher_browser: str | None  # the teacher's browser key (runs.py): finds the class again
    _teacher_key: str = field(repr=False, default_factory=lambda: secrets.token_urlsafe(32))
    version: int = 0  # bumped whenever what viewers draw changes
    ended: str | None = None  # why the class ended, if it did
    teacher_seen: float = field(default_factory=time.monotonic)
    _viewers: dict[str, float] = field(default_factory=dict)
    figures: FigureCache = field(default_factory=lambda: FigureCache(most=FIGURES_PER_CLASS))
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _frames: dict[View, Frame] = field(default_factory=dict)  # newest built last
    _frame_build: threading.Lock = field(default_factory=threading.Lock)
    _asked: dict[View, float] = field(default_factory=dict)  # views asked for, and when
    _drawn: tuple = ()  # the run's state at the latest update (``refresh``)
    _updated_at: float = 0.0  # time.monotonic() of the latest update
    _worker: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    # -- who is who ----------------------------------------------------------------------------
    def is_teacher(self, key: str | None) -> bool:
        return key is not None and hmac.compare_digest(key, self._teacher_key)

    def teacher_key_for(self, browser: str | None) -> str | None:
        """The teacher key, for the teacher's own browser only (its page reloaded)."""
        known = browser is not None and self.teacher_browser is not None
        if known and hmac.compare_digest(browser, self.teacher_browser):
            return self._teacher_key
        return None

    def _require(self, key: str | None) -> None:
        if not self.is_teacher(key):
            raise NotTeacher("only the class's teacher can do that")
        if self.ended:
            raise ClassEnded(self.ended)

    def teacher_here(self) -> None:
        self.teacher_seen = time.monotonic()

    def watch(self, viewer: str) -> None:
        """A student's page asked for an update (counts it as watching)."""
        with self._lock:
            self._viewers[viewer] = time.monotonic()

    def leave(self, viewer: str) -> None:
        with self._lock:
            self._viewers.pop(viewer, None)

    @property
    def watching(self) -> int:
        now = time.monotonic()
        with self._lock:
            for viewer, seen in list(self._viewers.items()):
                if now - seen > VIEWER_SEEN_SECONDS:
                    del self._viewers[viewer]
            return len(self._viewers)

    # -- what the teacher drives -----------------------------------------------------------------
    def act(self, key: str | None, action: Callable[[LiveSession], object]) -> object:
        """Run ``action`` on the class's run for its teacher; viewers see the result next.
        (Not under the class's lock: session methods take the tick turn, and the worker takes
        the class's lock only outside it.)"""
        self._require(key)
        result = action(self.live)
        self.changed()
        self._ensure_worker()
        return result

    def poke(self) -> None:
        """The teacher's page ran: if its run should train (Play, or a Step × N), the worker
        does."""
        self._ensure_worker()

    def set_playing(self, key: str | None, value: bool) -> None:
        self.act(key, lambda live: setattr(live, "playing", value and bool(live.trainer.active)))

    def end(self, key: str | None, why: str = "The teacher ended the class.") -> None:
        self._require(key)
        self._finish(why)

    def _finish(self, why: str) -> None:
        with self._lock:
            self.ended = why
            self.live.playing = False
            self.changed()
        self._stop.set()

    def _state(self) -> tuple:
        """What viewers would see differently: the run's identity, step, events, play state,
        intervention, probes and stopped models."""
        live, trainer = self.live, self.live.trainer
        return (
            id(trainer),
            trainer.step_count,
            len(trainer.events),
            live.playing,
            live.stepping,
            live.intervention,
            live.intervene_in_training,
            tuple((kind, id(slot.latest), slot.stopped) for kind, slot in trainer.slots.items()),
        )

    def teacher_drew(self) -> None:
        """The teacher's page drew the run: what the teacher changed by hand (a Step, a
        setting, an intervention, a Reset) is an update. While the worker trains, it publishes
        everything at its next tick (within a second), spaced as students expect."""
        worker = self._worker
        if worker is None or not worker.is_alive():
            self.refresh()

    def refresh(self) -> None:
        """The run may have changed (the worker trained, or the teacher's page drew after a
        Step, a setting, an intervention, a Reset): if it did, that is an update. Called
        under the tick turn, so never mid-step; one state is one update, whoever sees it."""
        state = self._state()
        with self._lock:
            if state == self._drawn:
                return
            self._drawn = state
            self.changed()
            now = time.monotonic()
            wanted = [v for v, asked in self._asked.items() if now - asked < VIEWER_SEEN_SECONDS]
        # Built now, in the same turn: a frame built later, when a student asks, could show a
        # later step under this update's number (the worker may have trained again by then),
        # and this update would never be seen. Students then only fetch.
        for view in wanted:
            self._build(view)

    def changed(self) -> None:
        """What viewers draw has changed: the training charts are built again, once, for all."""
        with self._lock:
            self.version += 1
            self._updated_at = time.monotonic()

    # -- what viewers draw -------------------------------------------------------------------
    def figure(self, figure_id: str, view: RunView, sel: Selection) -> go.Figure:
        """A figure of the class's run, built once per update for every viewer with the same
        choices (read under the tick turn)."""
        spec = FIGURES[figure_id]
        if spec.per_probe:  # probe results are replaced, never changed: identity says "new"
            name, inputs = (figure_id, sel.sample, sel.cursor), tuple(view.probes.values())
        else:
            trainer = self.live.trainer
            state = (trainer.step_count, len(trainer.events), trainer.cfg.clip, sel.log_y)
            name, inputs = (figure_id, sel.log_y), (trainer, *state)
        return self.figures.get(name, inputs, lambda: spec.build(view, sel))

    def frame(self, view: View) -> Frame:
        """A student's whole live panel for ``view`` at the class's latest update: built when
        the update is published, for every view asked for lately (``refresh``), else by the
        first viewer who asks; then the same object for everyone until the next update."""
        with self._lock:
            _keep_newest(self._asked, view, time.monotonic())
            latest = self._frames.get(view)
            if latest is not None and latest.version == self.version:
                return latest
        # The others wait for this build rather than repeat it; the tick turn: never mid-step,
        # and no update is published meanwhile.
        with self._frame_build, TICK_TURN:
            with self._lock:
                latest = self._frames.get(view)
                if latest is not None and latest.version == self.version:
                    return latest
            return self._build(view)

    def _build(self, view: View) -> Frame:
        """The frame of the run as it is now (the caller holds the tick turn)."""
        built = class_frame.build(self.live, view, self.figure, self.version)
        with self._lock:
            _keep_newest(self._frames, view, built)
        return built

    # -- the worker --------------------------------------------------------------------------
    def _busy(self) -> bool:
        return self.live.playing or self.live.stepping

    def _ensure_worker(self) -> None:
        with self._lock:
            if self.ended or not self._busy():
                return
            if self._worker is not None and self._worker.is_alive():
                return
            self._worker = threading.Thread(
                target=self._train, name=f"gru-viz-class-{self.code}", daemon=True
            )
            self._worker.start()

    def _train(self) -> None:
        """A tick a second while playing, like a private page's timer; ends when paused."""
        while not self._stop.is_set():
            started = time.monotonic()
            with self._lock:
                if not self._busy():
                    self._worker = None
                    return
            with TICK_TURN:
                trained = self.live.tick()
            if trained:  # published no sooner than the gap after the previous update
                self._stop.wait(self._updated_at + MIN_UPDATE_GAP_SECONDS - time.monotonic())
                with TICK_TURN:  # never mid-step: a frame built after it is this update's
                    self.refresh()
            if time.monotonic() - self.teacher_seen > TEACHER_GONE_SECONDS:
                self._finish("The teacher has been away too long; the class ended.")
                return
            self._stop.wait(max(0.0, TICK_SECONDS - (time.monotonic() - started)))


def _keep_newest(entries: dict, key: object, value: object) -> None:
    """Set ``key`` as the newest entry, and drop the oldest past FRAMES_PER_CLASS."""
    entries.pop(key, None)
    entries[key] = value
    while len(entries) > FRAMES_PER_CLASS:
        del entries[next(iter(entries))]


class ClassRegistry:
    """The classes of this server process, by code."""

    def __init__(self, most: int = MAX_CLASSES):
        self.most = most
        self._lock = threading.Lock()
        self._classes: dict[str, ClassRun] = {}

    def start(self, live: LiveSession, teacher_browser: str | None) -> ClassRun:
        with self._lock:
            self._sweep()
            if len(self._classes) >= self.most:
                raise RuntimeError(
                    f"this server already holds {self.most} classes; end one or try later"
                )
            code = new_code()
            while code in self._classes:
                code = new_code()
            run = ClassRun(code, live, teacher_browser)
            self._classes[code] = run
        run._ensure_worker()
        return run

    def find(self, code: object) -> ClassRun | None:
        canonical = normalise_code(code)
        with self._lock:
            return self._classes.get(canonical) if canonical else None

    def of_teacher(self, browser: str | None) -> ClassRun | None:
        """The live class this browser teaches (its page reloaded), if any."""
        if browser is None:
            return None
        with self._lock:
            for run in self._classes.values():
                if not run.ended and run.teacher_key_for(browser):
                    return run
        return None

    def _sweep(self) -> None:
        """Forget classes ended long ago (their students have had time to fork)."""
        now = time.monotonic()
        for code, run in list(self._classes.items()):
            if run.ended and now - run.teacher_seen > 2 * TEACHER_GONE_SECONDS:
                del self._classes[code]
            elif not run.ended and now - run.teacher_seen > TEACHER_GONE_SECONDS:
                run._finish("The teacher has been away too long; the class ended.")

    def __len__(self) -> int:
        with self._lock:
            return len(self._classes)


CLASSES = ClassRegistry()  # one per server process
