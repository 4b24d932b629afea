"""Memory span: how long can each model remember? The length sweep of the page's own setup.

A switch opens it (off by default: closed, it costs nothing). Inside, the current task, models
and every other setting are trained at several lengths (the copy task: lags) and seeds, and the
figure draws each model's final loss ÷ the baseline against length (``gru_viz.sweep``).

Where the training happens: in this panel's own fragment, which has a one-second timer only while
a sweep runs and the panel is open. Each tick takes ``TICK_TURN`` (the lock every session's live
tick queues on) for one bounded slice of training, the size of a live tick at normal speed or the
session's fair share of the server (``SHARE``) when others train, halved while the session's
own run plays too; then it lets go and draws outside the lock. Closed, the panel has no timer
and its sweep waits (nothing trains); opened again, it goes on. Not inside the live tick: that
fragment has no timer while paused, so a paused page would never progress the sweep, and its
timer and its six charts belong to the live run. A fragment of its own ticks whether the run
plays or not, redraws only the panel, and stops its timer when the sweep ends.

Runs are deterministic, so finished runs are kept per process (``CACHE``, bounded) and shared by
every session: a run of the same setup, length, seed and steps that is kept is not trained again
(checked as each run comes up, so two sweeps of one setup share what either finishes). Under
them lie the sweeps shipped in ``gru_viz/sweeps`` (each lesson's setup), found by their settings,
so for a lesson's setup the panel opens with its figure at once.
"""

from __future__ import annotations

import collections
import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
from streamlit.logger import get_logger

from gru_viz import sweep, sweep_report
from gru_viz.config import FIELD_BY_NAME, ConfigError, RunConfig
from gru_viz.dashboard.plot import plot
from gru_viz.kinds import title
from gru_viz.session import SHARE, SPEEDS, TICK_SECONDS, TICK_TURN, LiveSession

LOG = get_logger(__name__)

TOGGLE_KEY = "show_memory_span"
LENGTHS_KEY, SEEDS_KEY, STEPS_KEY = "span_lengths", "span_seeds", "span_steps"
STATE_KEY = "memory_span"  # not a widget key: widgets share session_state's namespace
CHART_KEY = "memory_span_chart"

LENGTH_CHOICES = (5, 10, 15, 20, 30, 40, 50, 60, 80, 100, 120, 150, 200)
SEED_COUNTS = (1, 2, 3)
MIN_STEPS, MAX_STEPS, STEP_INCREMENT = 10, 5000, 100
# A slice is what a live tick at normal speed trains (less when others train: SHARE), and
# half that while this session's own run plays as well.
SLICE_SECONDS = SPEEDS["normal"]
WHILE_PLAYING = 0.5
MAX_CACHED_RUNS = 2000  # finished runs kept per process: a run is a few rows of numbers
ETA_SAMPLES = 20  # ticks the time left is extrapolated from

Setup = tuple  # a config's values but its length and seed: what the panel's defaults follow


def setup_of(cfg: RunConfig) -> Setup:
    return tuple((k, v) for k, v in cfg.as_dict().items() if k not in ("seq_len", "seed"))


# -- finished runs, shared by the sessions of this process --------------------------------------
@functools.cache
def shipped() -> tuple[sweep.ShippedSweep, ...]:
    """The sweeps shipped with the app; a file that does not load is skipped (and logged)."""
    found = []
    for path in sorted(sweep.SHIPPED_FOLDER.glob("*.csv")):
        try:
            found.append(sweep.read_shipped_sweep(path))
        except (OSError, ValueError, KeyError) as err:  # ConfigError is a ValueError
            LOG.warning("shipped sweep %s not used: %s", Path(path).name, err)
    return tuple(found)


@functools.cache
def _shipped_runs() -> dict[sweep.RunKey, tuple[sweep.Row, ...]]:
    return {sweep.run_key(run): tuple(rows) for s in shipped() for run, rows in s.runs()}


@functools.cache
def _shipped_setups() -> dict[Setup, sweep.ShippedSweep]:
    return {setup_of(s.plan.base): s for s in shipped()}


class RunCache:
    """Rows of finished runs by ``sweep.run_key``, least recently used dropped past ``most``;
    the shipped sweeps' runs are found too, and never dropped."""

    def __init__(self, most: int = MAX_CACHED_RUNS):
        self.most = most
        self._lock = threading.Lock()
        self._rows: collections.OrderedDict[sweep.RunKey, tuple[sweep.Row, ...]]
        self._rows = collections.OrderedDict()

    def source(self, run: sweep.SweepRun) -> str | None:
        """'shipped', 'cached' or None."""
        key = sweep.run_key(run)
        if key in _shipped_runs():
            return "shipped"
        with self._lock:
            return "cached" if key in self._rows else None

    def get(self, run: sweep.SweepRun) -> list[sweep.Row] | None:
        key = sweep.run_key(run)
        rows = _shipped_runs().get(key)
        if rows is None:
            with self._lock:
                rows = self._rows.get(key)
                if rows is None:
                    return None
                self._rows.move_to_end(key)
        return [dict(row) for row in rows]

    def put(self, run: sweep.SweepRun, rows: Sequence[sweep.Row]) -> None:
        key = sweep.run_key(run)
        with self._lock:
            self._rows[key] = tuple(dict(row) for row in rows)
            self._rows.move_to_end(key)
            while len(self._rows) > self.most:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

    def __len__(self) -> int:
        return len(self._rows)


CACHE = RunCache()


def known_rows(plan: sweep.SweepPlan) -> tuple[list[sweep.Row], collections.Counter]:
    """The rows of the plan's runs that are known (in the plan's order, as a sweep has them),
    and how many runs each source gave."""
    rows, sources = [], collections.Counter()
    for run in plan.runs():
        found = CACHE.get(run)
        if found is not None:
            rows.extend(found)
            sources[CACHE.source(run) or "cached"] += 1
    return rows, sources


# -- what the panel proposes --------------------------------------------------------------------
def length_options(cfg: RunConfig, also: Sequence[int] = ()) -> list[int]:
    """Lengths the seq_len field and the cost budget allow for this setup: a choice of round
    numbers, the task's defaults, the run's own length and ``also``."""
    spec = FIELD_BY_NAME["seq_len"]
    wanted = {*LENGTH_CHOICES, *sweep.default_lengths(cfg.task), cfg.seq_len, *also}
    options = []
    for length in sorted(wanted):
        if not spec.lo <= length <= spec.hi:
            continue
        try:
            cfg.replace(seq_len=length)
        except ConfigError:
            continue  # too much work per step at this length
        options.append(length)
    return options


def defaults(cfg: RunConfig) -> tuple[list[int], int, int]:
    """(lengths, seed count, steps): a shipped sweep's where one matches this setup, else the
    task's default lengths, one seed and the shipped sweeps' steps."""
    match = _shipped_setups().get(setup_of(cfg))
    if match is not None and match.plan.seeds == tuple(range(len(match.plan.seeds))):
        return list(match.plan.lengths), len(match.plan.seeds), match.plan.steps
    options = length_options(cfg)
    lengths = [n for n in sweep.default_lengths(cfg.task) if n in options] or options[:1]
    return lengths, 1, sweep.SHIPPED_STEPS


def length_word(task: str) -> str:
    return "lag" if task == "copy" else "length"


def eta_seconds(samples: Sequence[tuple[float, float]], fraction: float) -> float | None:
    """Wall-clock seconds left at the recent rate of (time, fraction done) samples."""
    if len(samples) < 2:
        return None
    (t0, f0), (t1, f1) = samples[0], samples[-1]
    if t1 <= t0 or f1 <= f0:
        return None
    return max(1 - fraction, 0.0) * (t1 - t0) / (f1 - f0)


def progress_text(progress: sweep.SweepProgress, task: str, eta: float | None) -> str:
    """'2/8 runs done · now length 40, seed 1: step 120/1000 · about 1:05 left'."""
    parts = [f"{progress.runs_done}/{progress.runs_total} runs done"]
    if progress.cancelled:
        parts.append("cancelled: the finished runs are kept")
    elif progress.done:
        parts.append("finished")
    else:
        run = progress.current
        if run is not None:
            parts.append(
                f"now {length_word(task)} {run.length}, seed {run.seed}: "
                f"step {progress.current_step}/{run.steps}"
            )
        parts.append(
            f"about {sweep.format_duration(eta)} left"
            if eta is not None
            else "working out the time left"
        )
    return " · ".join(parts)


def cost_text(plan: sweep.SweepPlan, reused: int) -> str:
    """The plan and what is left to train, in training time."""
    models = " and ".join(title(k) for k in plan.models)
    runs = len(plan)
    text = (
        f"{runs} run{'s' if runs != 1 else ''} ({len(plan.lengths)} "
        f"{length_word(plan.base.task)}s × {len(plan.seeds)} seed"
        f"{'s' if len(plan.seeds) != 1 else ''}) of {models}, {plan.steps:,} steps each"
    )
    left = sum(run.cost for run in plan.runs() if CACHE.get(run) is None)
    if reused == runs:
        return text + ": every run is done already, nothing to train."
    done = f"; {reused} of them done already" if reused else ""
    return (
        f"{text}{done}: about {round(left):,} s of training, shared with the class (it runs "
        "in slices between everyone's ticks, so it takes longer while others train)."
    )


# -- this session's sweep -----------------------------------------------------------------------
@dataclass
class SpanState:
    runner: sweep.ReusingSweepRunner | None = None
    task: str = ""
    setup: Setup | None = None  # the setup the widgets were last set for
    timer: bool = False  # the fragment was mounted with a timer (full runs change it)
    error: str | None = None
    samples: collections.deque = field(
        default_factory=lambda: collections.deque(maxlen=ETA_SAMPLES)
    )

    @property
    def running(self) -> bool:
        return self.runner is not None and not self.runner.done


def _state() -> SpanState:
    if STATE_KEY not in st.session_state:
        st.session_state[STATE_KEY] = SpanState()
    return st.session_state[STATE_KEY]


def _start(plan: sweep.SweepPlan) -> None:
    state = _state()
    state.runner = sweep.ReusingSweepRunner(plan, CACHE.get, CACHE.put)
    state.task, state.error = plan.base.task, None
    state.samples.clear()


def _cancel(live: LiveSession) -> None:
    state = _state()
    if state.runner is not None:
        state.runner.cancel()
    if not live.playing:
        SHARE.leave(live.number)  # this session no longer trains: the others' share grows


def _advance(live: LiveSession, state: SpanState) -> None:
    """One bounded slice of the sweep, in turn with every session's live tick."""
    runner = state.runner
    assert runner is not None
    budget, _ = SHARE.budget(live.number, SLICE_SECONDS)  # counts this session once
    if live.playing:
        budget *= WHILE_PLAYING
    try:
        with TICK_TURN:
            progress = runner.run_slice(budget)
    except Exception as err:  # a fault in a sweep must never take the page down
        LOG.exception("memory span sweep failed")
        runner.cancel()
        state.error = (
            f"The sweep stopped after an error ({type(err).__name__}); the finished runs are "
            "kept. Start tries the rest again."
        )
    else:
        state.samples.append((time.monotonic(), progress.fraction))
    if runner.done and not live.playing:
        SHARE.leave(live.number)


def _set_widgets(cfg: RunConfig, state: SpanState) -> list[int]:
    """Length options for ``cfg``; the widgets set to its defaults when the setup changed."""
    options = length_options(cfg, st.session_state.get(LENGTHS_KEY, ()))
    setup = setup_of(cfg)
    missing = any(k not in st.session_state for k in (LENGTHS_KEY, SEEDS_KEY, STEPS_KEY))
    if state.setup != setup or missing:
        lengths, seeds, steps = defaults(cfg)
        st.session_state[LENGTHS_KEY] = lengths
        st.session_state[SEEDS_KEY] = seeds
        st.session_state[STEPS_KEY] = steps
        state.setup = setup
    else:  # never a value the widget cannot show
        kept = [n for n in st.session_state[LENGTHS_KEY] if n in options]
        if kept != st.session_state[LENGTHS_KEY]:
            st.session_state[LENGTHS_KEY] = kept
    return options


def _plan(cfg: RunConfig, state: SpanState) -> tuple[sweep.SweepPlan | None, str | None]:
    """The plan the widgets describe (widgets drawn here), or None and why not."""
    running = state.running
    options = _set_widgets(cfg, state)
    lengths, seeds, steps = st.columns([3, 1, 1.3], vertical_alignment="bottom")
    label = (
        "Lags (blank steps to remember across)"
        if cfg.task == "copy"
        else "Sequence lengths (steps back the answer depends on)"
    )
    chosen = lengths.multiselect(
        label,
        options,
        key=LENGTHS_KEY,
        disabled=running,
        help="Each length is a separate training run from scratch, the rest of the setup as "
        "it is in the sidebar.",
    )
    count = seeds.selectbox(
        "Seeds",
        SEED_COUNTS,
        key=SEEDS_KEY,
        disabled=running,
        help="Each length trains once per seed (0, 1, ...): the line is their mean, the dots "
        "the single seeds.",
    )
    step_count = steps.number_input(
        "Training steps per run",
        MIN_STEPS,
        MAX_STEPS,
        step=STEP_INCREMENT,
        key=STEPS_KEY,
        disabled=running,
        help="More steps: each model gets further at every length, and the sweep costs more.",
    )
    if not chosen:
        return None, "Choose one or more lengths."
    try:
        return sweep.SweepPlan(cfg, chosen, range(int(count)), int(step_count)), None
    except ConfigError as err:
        return None, f"Not started: {err}"


def _rows(plan: sweep.SweepPlan, state: SpanState) -> tuple[list[sweep.Row], collections.Counter]:
    """What the figure shows: the running sweep's rows, else every known run of ``plan``."""
    if state.running:
        assert state.runner is not None
        return list(state.runner.rows), collections.Counter()
    return known_rows(plan)


def _where_from(sources: collections.Counter, runs: int) -> str:
    parts = []
    if sources["shipped"]:
        parts.append(f"{sources['shipped']} shipped with the app (computed for this setup)")
    if sources["cached"]:
        parts.append(f"{sources['cached']} trained on this server before")
    return f"Of the {runs} runs, {' and '.join(parts)}." if parts else ""


def _panel(live: LiveSession) -> None:
    state = _state()
    opened = st.toggle(
        "Memory span: how long can each model remember?",
        key=TOGGLE_KEY,
        help="Trains your setup at several sequence lengths and plots each model's final loss "
        "against length. Costs nothing while off: a sweep started here waits while the panel "
        "is closed and goes on when it is opened again.",
    )
    if opened:
        with st.container(border=True):
            _contents(live, state)
    if (state.running and opened) != state.timer:
        st.rerun()  # start or stop this panel's timer: it only changes on a full rerun


def _contents(live: LiveSession, state: SpanState) -> None:
    running = state.running
    cfg = state.runner.plan.base if running and state.runner else live.cfg
    st.markdown(
        "**How long can it remember?** Final loss ÷ the trivial baseline against "
        f"{sweep.length_label(cfg.task)}, one line per model, each point a fresh run of your "
        "setup. A line that climbs to 1 shows where that model's memory runs out."
    )
    plan, problem = _plan(cfg, state)
    if running:
        _advance(live, state)
    runner = state.runner
    shown = runner.plan if state.running and runner else plan
    rows, sources = _rows(shown, state) if shown is not None else ([], collections.Counter())
    reused = sum(sources.values())
    if problem:
        (st.info if problem.startswith("Choose") else st.error)(problem)
    elif shown is not None:
        st.caption(cost_text(shown, runner.reused if state.running and runner else reused))
    if live.intervention.active:
        st.caption("The sweep trains fresh models, without the intervention.")
    start, cancel, _ = st.columns([1, 1, 3])
    start.button(
        "Start",
        key="span_start",
        icon=":material/play_arrow:",
        type="primary",
        on_click=_start,
        args=(plan,),
        disabled=running or plan is None or reused == len(plan),
        width="stretch",
        help="Train the runs of this sweep that are not done yet.",
    )
    cancel.button(
        "Cancel",
        key="span_cancel",
        icon=":material/stop:",
        on_click=_cancel,
        args=(live,),
        disabled=not state.running,
        width="stretch",
        help="Stop: the finished runs are kept (and reused if you start again).",
    )
    if state.error:
        st.error(state.error)
    if runner is not None and (state.running or _same(runner, shown)):
        progress = runner.progress()
        eta = eta_seconds(state.samples, progress.fraction)
        st.progress(progress.fraction, text=progress_text(progress, state.task, eta))
    elif shown is not None and rows:
        st.caption(_where_from(sources, len(shown)))
    plot(sweep_report.sweep_figure(rows), key=CHART_KEY, png_name=f"memory-span-{cfg.task}")
    st.caption(sweep_report.reading(rows))
    st.download_button(
        "Download the sweep (CSV)",
        lambda rows=rows: sweep.to_csv(rows),
        f"memory-span-{cfg.task}.csv",
        "text/csv",
        key="span_download",
        on_click="ignore",
        disabled=not rows,
        icon=":material/download:",
    )


def _same(runner: sweep.SweepRunner, plan: sweep.SweepPlan | None) -> bool:
    return plan is not None and runner.plan.settings() == plan.settings()


def memory_span(live: LiveSession) -> None:
    """The panel, in a fragment with a timer while its sweep runs (mount it in the page)."""
    state = _state()
    timer = state.running and bool(st.session_state.get(TOGGLE_KEY, False))
    if timer and not state.timer:
        state.samples.clear()  # the time left from ticks from now on, not across a pause
    state.timer = timer
    st.fragment(_panel, run_every=TICK_SECONDS if state.timer else None)(live)
