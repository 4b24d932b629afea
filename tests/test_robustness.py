"""Classroom-grade robustness: hostile links and files, faults, concurrent clicks, isolation, leaks.

Fast (about 30 s on a 2-core machine, most of it the AppTest link fuzz). The fuzz prints how many
links it tried; ``bench/soak.py`` and ``bench/load_test.py`` cover the long-running and many-users
sides.
"""

from __future__ import annotations

import gc
import random
import threading
import time
import traceback
import weakref
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as hst
from streamlit.testing.v1 import AppTest

from gru_viz.config import (
    FIELDS,
    MAX_STEP_SECONDS,
    ConfigError,
    RunConfig,
    estimated_step_seconds,
)
from gru_viz.lessons import LESSONS
from gru_viz.models import Intervention
from gru_viz.session import (
    ACTIVE_WINDOW_SECONDS,
    SPEEDS,
    LiveSession,
    SessionBusy,
    TakeTurns,
    TrainingShare,
)
from gru_viz.sharing import HIDE_KEY, LESSON_KEY, SETTING_GROUPS, read_link, write_link
from gru_viz.trainer import Trainer

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TINY = RunConfig(seq_len=10, hidden_size=8, batch_size=8, probe_every=3, probe_samples=4)
FIELD_NAMES = [f.name for f in FIELDS]

# -- hostile links ---------------------------------------------------------------------------
NASTY = [
    "1e309",
    "-1e309",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "-1",
    "0",
    "",
    " ",
    "1e-400",
    "9" * 40,
    "2147483648",
    "4294967296",
    "3.5",
    "0x10",
    "1_000",
    "١٢",  # Arabic-Indic digits: float() accepts them
    ",",
    ",,,",
    "gru,rnn,lstm",
    " LSTM , gru ",
    "gru,gru,bogus",
    "task,models",
    "Task,TRAINING,bogus,models",
    "adding",
    "copy",
    "params",
    "sgd",
    "true",
    "None",
    "<script>alert(1)</script>",
    "x" * 500,
    "9" * 500,
    ",".join(["task"] * 200),
    *LESSONS,
]
KEYS = hst.one_of(
    hst.sampled_from([*FIELD_NAMES, LESSON_KEY, HIDE_KEY]),
    hst.text(max_size=12),
)
VALUES = hst.one_of(
    hst.sampled_from(NASTY),
    hst.integers(-(10**30), 10**30).map(str),
    hst.floats().map(repr),
    hst.text(max_size=40),
    hst.text(min_size=500, max_size=520),
)


def _edges(field) -> list[str]:
    """Values a real link can carry that sit on (or just past) the field's limits."""
    if field.kind is tuple:
        return [",".join(field.choices), field.choices[-1], field.choices[-1].upper()]
    if field.choices:
        return [*field.choices, field.choices[-1].title()]
    lo, hi = field.kind(field.lo), field.kind(field.hi)
    return [str(lo), str(hi), repr(float(hi)), repr(hi * 1.000001 + 1), repr(lo - 1)]


# Valid-but-extreme settings, so the fuzz also builds odd models, not only rejects junk.
EDGES = hst.lists(
    hst.sampled_from(
        [(f.name, v) for f in FIELDS for v in _edges(f)]
        + [(LESSON_KEY, name) for name in LESSONS]
        + [(HIDE_KEY, "task,models,training"), (HIDE_KEY, "Models")]
    ),
    max_size=6,
).map(dict)
PARAMS = hst.builds(
    lambda junk, edges: {**junk, **edges}, hst.dictionaries(KEYS, VALUES, max_size=6), EDGES
)
# The browser can repeat a key (?seq_len=5&seq_len=9); st.query_params keeps the last one.
APP_PARAMS = hst.builds(
    lambda junk, edges: {**junk, **edges},
    hst.dictionaries(
        KEYS, hst.one_of(VALUES, hst.lists(VALUES, min_size=1, max_size=3)), max_size=5
    ),
    EDGES,
)


def last_values(params: dict) -> dict[str, str]:
    return {k: (v[-1] if v else "") if isinstance(v, list) else v for k, v in params.items()}


def assert_valid(cfg: RunConfig) -> None:
    assert isinstance(cfg, RunConfig)
    assert RunConfig(**cfg.as_dict()) == cfg  # passes validation (limits and the cost budget)


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hst.one_of(PARAMS, APP_PARAMS))
@example({LESSON_KEY: ["nope", "forget"], HIDE_KEY: ["training", "task"], "seed": []})
def test_read_link_never_raises_and_round_trips(params):
    link = read_link(params)
    assert link == read_link(last_values(params))  # a repeated key counts by its last value
    assert_valid(link.config)
    assert link.lesson is None or link.lesson in LESSONS
    assert set(link.hidden) <= set(SETTING_GROUPS)
    assert all(len(p) < 300 for p in link.problems)  # untrusted text is echoed only in part
    again = read_link(write_link(link.config, link.lesson, link.hidden))
    assert (again.config, again.lesson, again.hidden, again.problems) == (
        link.config,
        link.lesson,
        link.hidden,
        [],
    )


def test_hostile_links_open_a_working_page(capsys):
    tried: list[dict] = []

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(APP_PARAMS)
    def one_link(params):
        tried.append(params)
        at = AppTest.from_file(APP, default_timeout=60)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        live = at.session_state["live"]
        assert_valid(live.cfg)
        assert live.trainer.cfg == live.cfg
        assert live.cfg == read_link(last_values(params)).config
        assert at.title and at.metric  # the page drew, not just survived

    one_link()
    with capsys.disabled():
        print(f"\n[fuzz] {len(tried)} hostile links opened through AppTest without an exception")


# -- cost budget -----------------------------------------------------------------------------
def test_step_cost_budget_is_enforced_in_config_link_and_sidebar():
    with pytest.raises(ConfigError, match="too much work"):
        RunConfig(batch_size=256, seq_len=200, hidden_size=128)
    big = RunConfig(batch_size=128, seq_len=200, hidden_size=64)  # allowed, about 0.25 s
    assert 0.5 * MAX_STEP_SECONDS < estimated_step_seconds(big) <= MAX_STEP_SECONDS
    with pytest.raises(ConfigError, match="too much work"):
        big.replace(batch_size=256)
    # Few sequences but everything else at its maximum: the probe, replayed on every step
    # through an unrolled loop, is what costs here (measured about 4 s per step).
    hostile = {
        "batch_size": "1",
        "seq_len": "200",
        "hidden_size": "128",
        "num_layers": "3",
        "probe_samples": "32",
        "probe_every": "1",
        "models": "gru,rnn,lstm",
        "size_by": "params",
    }
    link = read_link(hostile)
    assert link.config == RunConfig()
    assert any("too much work" in p for p in link.problems)
    assert read_link({**hostile, "probe_every": "20", "num_layers": "1"}).problems == []

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(batch_size="128", seq_len="200", hidden_size="64", probe_samples="1")
    at.run()
    assert not at.exception
    assert at.session_state["live"].cfg.hidden_size == 64
    at.sidebar.slider(key="cfg_hidden_size").set_value(100).run()
    assert not at.exception
    assert any("Not applied" in e.value and "too much work" in e.value for e in at.sidebar.error)
    assert at.session_state["live"].cfg.hidden_size == 64  # the running setup is kept


# -- faults ----------------------------------------------------------------------------------
def finite(slot) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in slot.model.parameters())


def test_diverging_models_stop_with_a_message_and_finite_weights():
    live = LiveSession(TINY.replace(task="forecast", optimizer="sgd", lr=10.0, clip=0.0))
    live.playing = True
    for _ in range(50):
        live.tick()
        if not live.playing:
            break
    assert not live.playing  # every model stopped: Play turns itself off
    for slot in live.trainer.slots.values():
        assert "stopped" in slot.stopped and "Lower the learning rate" in slot.stopped
        assert finite(slot)
        assert np.isfinite(slot.history.array("loss")).all()
        assert np.isfinite(slot.latest.traces["h"]).all()  # the probe shows the kept weights


def test_one_model_diverging_leaves_the_other_training_and_restores():
    # sgd, no clipping: search the (deterministic) runs for one where a single model blows up
    # and the other survives; the search always lands on the same run.
    for lr, seed in ((lr, seed) for lr in (10.0, 3.0, 1.0) for seed in range(4)):
        cfg = TINY.replace(task="forecast", optimizer="sgd", lr=lr, clip=0.0, seed=seed)
        live = LiveSession(cfg)
        live.step(60)
        if len(live.trainer.active) == 1:
            break
    else:
        pytest.fail("no run had exactly one model diverge")
    slots = live.trainer.slots
    (dead,) = [k for k, s in slots.items() if s.stopped]
    (alive,) = [k for k, s in slots.items() if not s.stopped]
    assert "stopped" in slots[dead].stopped and "Lower the learning rate" in slots[dead].stopped
    assert all(finite(s) for s in slots.values())
    dead_rows, alive_rows = len(slots[dead].history), len(slots[alive].history)
    assert alive_rows == 60 and dead_rows < 60
    assert live.step(20) == 20
    assert len(slots[alive].history) == alive_rows + 20
    assert len(slots[dead].history) == dead_rows  # a stopped model is not trained

    live.apply(cfg.replace(lr=0.01))  # on the fly, then rewind the stopped one
    healthy_step, healthy = slots[dead]._healthy
    live.restore(dead)
    assert slots[dead].stopped is None and finite(slots[dead])
    assert all(torch.equal(p, h) for p, h in zip(slots[dead].parameters, healthy, strict=True))
    assert healthy_step < dead_rows + 1
    live.step(5)
    assert len(slots[dead].history) == dead_rows + 5
    assert all(s.stopped is None and finite(s) for s in slots.values())


def test_an_error_in_training_releases_the_lock_and_pauses():
    live = LiveSession(TINY)
    live.playing = True

    def broken(seconds, max_steps=None):
        raise RuntimeError("simulated fault")

    live.trainer.run_for = broken
    with pytest.raises(RuntimeError, match="simulated"):
        live.tick()
    acquired = []

    def next_run() -> None:  # the next script run comes on another thread
        acquired.append(live.lock.acquire(blocking=False))
        if acquired[-1]:
            live.lock.release()

    thread = threading.Thread(target=next_run)
    thread.start()
    thread.join()
    assert acquired == [True]
    live.trainer.run_for = Trainer.run_for.__get__(live.trainer)
    assert live.tick() > 0  # and training carries on once the fault is gone


# -- many actions at once --------------------------------------------------------------------
def check_consistent(live: LiveSession, trainer: Trainer) -> None:
    """What every view relies on; called with the session's lock held."""
    cfg = live.cfg
    assert trainer is live.trainer and trainer.cfg == cfg, (trainer.cfg, cfg)
    assert trainer.probe_batch.x.shape[:2] == (cfg.probe_samples, cfg.total_len)
    for kind, slot in trainer.slots.items():
        steps = slot.history.array("step")
        assert np.all(np.diff(steps) > 0), (kind, steps)
        assert not len(steps) or steps[-1] <= trainer.step_count
        assert slot.latest.step <= trainer.step_count
        h = slot.latest.traces["h"]
        assert h.shape == (cfg.num_layers, cfg.probe_samples, cfg.total_len, slot.model.hidden_size)
        assert np.all(np.diff(slot.snapshots.steps) >= 0)
        expected = (
            live.intervention
            if kind == "gru"
            else Intervention(ablate_units=live.intervention.ablate_units)
        )
        assert slot.intervention == expected


def test_interleaved_actions_keep_one_session_consistent():
    live = LiveSession(TINY)
    live.speed = "slow"
    stop = threading.Event()
    counts: Counter[str] = Counter()
    errors: list[str] = []
    interventions = [
        Intervention(),
        Intervention(clamp_update=0.5),
        Intervention(clamp_reset=0.0, ablate_units=(0, 7)),
        Intervention(ablate_units=(3,)),
    ]

    def play(rng):
        live.playing = rng.random() < 0.9
        live.tick()

    actions = {
        "play": play,
        "reset": lambda rng: live.reset(),
        "lr": lambda rng: live.apply(live.cfg.replace(lr=rng.choice([0.003, 0.01, 0.03]))),
        "rebuild": lambda rng: live.apply(
            live.cfg.replace(
                seed=rng.randrange(4),
                hidden_size=rng.choice([6, 8]),
                seq_len=rng.choice([8, 10]),
                probe_samples=rng.choice([3, 4]),
            )
        ),
        "step": lambda rng: live.step(3),
        "intervene": lambda rng: live.set_intervention(
            rng.choice(interventions), rng.random() < 0.5
        ),
        "check": lambda rng: live.export(lambda trainer: check_consistent(live, trainer)),
    }

    def worker(name: str) -> None:
        rng = random.Random(name)
        while not stop.is_set():
            try:
                actions[name](rng)
                counts[name] += 1
            except SessionBusy:
                counts["busy"] += 1
            except Exception:
                errors.append(f"{name}: {traceback.format_exc()}")
                stop.set()
            time.sleep(rng.random() * 0.01)

    threads = [threading.Thread(target=worker, args=(name,)) for name in actions]
    for thread in threads:
        thread.start()
    time.sleep(3.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors[0]
    assert all(counts[name] > 0 for name in actions), counts
    live.export(lambda trainer: check_consistent(live, trainer))
    before = live.trainer.step_count
    assert live.step(3) == 3 and live.trainer.step_count == before + 3


# -- isolation between sessions --------------------------------------------------------------
def losses(live: LiveSession) -> dict[str, np.ndarray]:
    return {k: s.history.array("loss") for k, s in live.trainer.slots.items()}


def test_sessions_share_no_models_history_or_randomness():
    a, twin = LiveSession(TINY), LiveSession(TINY)
    b = LiveSession(TINY.replace(seed=5, lr=0.05, task="copy"))
    c = LiveSession(TINY)  # same settings as a: must still own its own tensors
    for _ in range(4):
        a.step(3)
        b.step(7)
        c.step(1)
        torch.rand(100)  # nothing may depend on the global generator either
        twin.step(3)
    for kind in a.trainer.slots:
        assert np.array_equal(losses(a)[kind], losses(twin)[kind])
    pointers = [
        {p.data_ptr() for s in live.trainer.slots.values() for p in s.model.parameters()}
        for live in (a, b, c)
    ]
    assert not (pointers[0] & pointers[1]) and not (pointers[0] & pointers[2])
    assert a.trainer.probe_batch.x.data_ptr() != c.trainer.probe_batch.x.data_ptr()
    assert a.trainer.slots["gru"].history is not c.trainer.slots["gru"].history
    c.reset()
    assert a.trainer.step_count == 12 and b.trainer.step_count == 28


def test_two_app_sessions_are_independent():
    one = AppTest.from_file(APP, default_timeout=60)
    one.query_params.update(seed="3", lr="0.02", seq_len="12", hidden_size="8", batch_size="16")
    one.run()
    two = AppTest.from_file(APP, default_timeout=60)
    two.query_params.update(seq_len="12", hidden_size="8", batch_size="16")
    two.run()
    assert not one.exception and not two.exception
    live_one, live_two = one.session_state["live"], two.session_state["live"]
    assert live_one is not live_two and live_one.trainer is not live_two.trainer
    one.selectbox(key="steps_per_click").set_value(10).run()
    one.button(key="step").click().run()
    assert (live_one.trainer.step_count, live_two.trainer.step_count) == (10, 0)
    two.selectbox(key="steps_per_click").set_value(10).run()
    two.button(key="step").click().run()
    alone = LiveSession(live_two.cfg)
    alone.step(10)
    for kind, loss in losses(alone).items():
        assert np.array_equal(losses(live_two)[kind], loss)
    assert live_one.cfg.seed == 3 and live_two.cfg.seed == 0


# -- memory ----------------------------------------------------------------------------------
def test_training_sessions_share_one_process_fairly():
    now = [0.0]
    share = TrainingShare(total=0.5, clock=lambda: now[0])
    assert share.budget(1, 0.7) == (0.7, 1)  # alone: the speed the user chose, even "fast"
    for session in range(2, 6):
        share.budget(session, 0.35)
    assert share.budget(1, 0.7) == (0.1, 5)  # five training: a fifth of the total each
    assert share.budget(2, 0.05) == (0.05, 5)  # never more than the session's own speed
    share.leave(5)  # paused
    now[0] += ACTIVE_WINDOW_SECONDS / 2
    share.budget(1, 0.7)
    now[0] += ACTIVE_WINDOW_SECONDS / 2 + 0.1  # 2, 3 and 4 have not ticked for too long
    assert share.budget(1, 0.7) == (0.7, 1)


def test_each_tick_trains_for_its_share_and_pausing_gives_it_back():
    share = TrainingShare(total=0.4)
    sessions = [LiveSession(TINY, share) for _ in range(4)]
    asked: list[float] = []
    for live in sessions:
        live.speed, live.playing = "fast", True
        live._ticks_since_play = 1  # past the short first tick
        live.trainer.run_for = lambda seconds: asked.append(seconds) or 1
    for live in sessions:
        live.tick()
    assert asked[-1] == pytest.approx(0.1) and sessions[-1].sessions_training == 4
    for live in sessions[1:]:
        live.playing = False
    asked.clear()
    sessions[0].tick()
    assert asked == [SPEEDS["fast"]] and sessions[0].sessions_training == 1


def test_ticks_take_turns_in_the_order_they_asked():
    turns, order = TakeTurns(), []

    def tick(i: int) -> None:
        with turns:
            order.append(i)

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(6)]
    with turns:  # one tick running: everyone else queues
        for i, thread in enumerate(threads):
            thread.start()
            deadline = time.monotonic() + 5
            while turns.waiting < i + 1 and time.monotonic() < deadline:
                time.sleep(0.001)
    for thread in threads:
        thread.join(timeout=5)
    assert order == list(range(6)) and turns.waiting == 0
    with turns:  # free again, and an error inside hands it on
        pass
    with pytest.raises(RuntimeError), turns:
        raise RuntimeError("a fault in a tick")
    tick(7)
    assert order[-1] == 7


def test_a_closed_session_frees_its_models():
    live = LiveSession(TINY)
    live.step(10)
    live.set_intervention(Intervention(clamp_update=0.5), True)
    live.playing = True
    live.tick()
    refs = [
        weakref.ref(x)
        for x in (live, live.trainer, live.trainer.slots["gru"].model, live.trainer.probe_batch)
    ]
    del live
    gc.collect()
    assert [r() for r in refs] == [None] * len(refs)


# -- a zero baseline ---------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["forecast", "missing", "irregular"])
def test_a_flat_signal_with_a_zero_baseline_never_divides_by_it(task):
    # No trend, no season, no noise: every target is 0, so predicting the mean is already
    # perfect and the baseline is 0. Nothing may divide by it: page, report, lesson checks.
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(task=task, trend="0", season="0", seq_len="10", hidden_size="4")
    at.run()
    at.button(key="step").click().run()
    assert not at.exception, at.exception
    trainer = at.session_state["live"].trainer
    assert trainer.task.baseline(trainer.cfg) == 0 and trainer.step_count == 1
    shares = [m.delta for m in at.metric if m.label.endswith(" loss")]
    assert shares and all(d == "baseline is 0, so no share of it" for d in shares), shares
    assert any("nothing to learn" in i.value for i in at.info)
    from gru_viz.lessons import check_claim
    from gru_viz.report import build_report

    assert "baseline is 0" in build_report(trainer)
    for lesson in LESSONS.values():
        lesson_run = Trainer(lesson.config.replace(trend=0.0, season=0.0))
        for slot in lesson_run.slots.values():
            slot.stopped = "stopped for the test"  # a stopped run is checked at once
        claim = check_claim(lesson, lesson_run)
        assert not claim.holds and claim.summary


# -- one hostile session, another student's ticks ----------------------------------------------
def test_a_hostile_session_leaves_other_ticks_under_two_seconds(capsys):
    """The cost budget's promise: one session doing its worst (the heaviest setup the budget
    admits, Step × 200, an intervention in training, Reset) delays another session's tick by at
    most one turn of its own, each turn bounded by the budget (a tick's share plus one step
    ending in a probe, a build, a probe), so the other's tick latency stays well under 2 s."""
    from gru_viz.config import (
        MAX_BUILD_SECONDS,
        MAX_PROBE_SECONDS,
        estimated_build_seconds,
        estimated_probe_seconds,
        estimated_train_seconds,
        intervention_problem,
    )
    from gru_viz.session import TICK_TURN

    w = dict(seq_len=200, models=("gru", "rnn", "lstm"), hidden_size=128, num_layers=3)
    w.update(size_by="params", batch_size=1, probe_every=1000, probe_samples=32)
    with pytest.raises(ConfigError, match="too much work per probe"):
        RunConfig(**w)  # W itself is refused now
    # W as far as the budget lets it go: each of its turns near the limits.
    heavy = RunConfig(**{**w, "hidden_size": 56, "probe_samples": 12, "batch_size": 4})
    heavy = heavy.replace(probe_every=100)
    assert estimated_train_seconds(heavy) > 0.9 * MAX_STEP_SECONDS
    assert estimated_probe_seconds(heavy) > 0.9 * MAX_PROBE_SECONDS
    assert estimated_build_seconds(heavy) > 0.65 * MAX_BUILD_SECONDS
    assert intervention_problem(heavy)  # in training: refused, the probe shows it
    unrollable = heavy.replace(seq_len=170, batch_size=1)  # in training: just within the limit
    assert intervention_problem(unrollable) is None
    assert estimated_step_seconds(unrollable, unrolled=True) > 0.9 * MAX_STEP_SECONDS

    share = TrainingShare()
    other = LiveSession(TINY.replace(probe_every=5), share)
    other.step(1)  # its optimizers: a process's first imports torch._dynamo (about 1.5 s)
    other.playing = True
    hostile = LiveSession(heavy, share)
    latencies: list[float] = []
    turns: list[float] = []  # how long each of the hostile's actions held the turn
    stop = threading.Event()

    def student() -> None:  # the other page's timer: a tick, drawing, the next tick
        while not stop.is_set():
            start = time.perf_counter()
            with TICK_TURN:
                other.tick()
            latencies.append(time.perf_counter() - start)
            time.sleep(0.1)

    def hold(action):
        start = time.perf_counter()
        result = action()
        turns.append(time.perf_counter() - start)
        return result

    def tick() -> None:  # the hostile page's timer: as the page does, without the drawing
        with TICK_TURN:
            hostile.tick()

    def hostile_ticks(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and (hostile.playing or hostile.stepping):
            hold(tick)

    thread = threading.Thread(target=student)
    thread.start()
    try:
        time.sleep(0.3)  # the other student is training
        hold(lambda: hostile.request_steps(200))  # about 80 s of training: a target
        assert hostile.stepping
        hostile_ticks(3.0)
        notice = hold(lambda: hostile.set_intervention(Intervention(clamp_update=0.5), True))
        assert notice is not None and not hostile.intervene_in_training  # refused in training
        hold(lambda: hostile.apply(unrollable))  # rebuilt: it trains through the loop now
        assert hostile.intervene_in_training
        hold(lambda: hostile.request_steps(200))
        hostile_ticks(2.5)
        hold(hostile.reset)
        hostile.playing = True
        hostile_ticks(2.5)
        hostile.playing = False
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert hostile.trainer.step_count > 0 and len(latencies) > 10
    worst, typical = max(latencies), float(np.median(latencies))
    with capsys.disabled():
        print(
            f"\n[latency] another session's tick beside a hostile one: worst {worst:.2f} s, "
            f"median {typical:.2f} s over {len(latencies)} ticks; the hostile's longest turn "
            f"{max(turns):.2f} s"
        )
    assert worst < 2.0
