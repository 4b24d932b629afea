"""The cost budget bounds every piece of work a session can make the server do at once: a
training step, a probe, a rebuild, training through an intervention, and a Step × N click.

The latency that all of this buys another student is measured in tests/test_robustness.py
(test_a_hostile_session_leaves_other_ticks_under_two_seconds).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bench.setups import W
from gru_viz import session as session_module
from gru_viz.config import (
    MAX_BUILD_SECONDS,
    MAX_PROBE_SECONDS,
    MAX_STEP_SECONDS,
    ConfigError,
    RunConfig,
    config_from_strings,
    cost_problem,
    estimated_build_seconds,
    estimated_probe_seconds,
    estimated_step_seconds,
    estimated_train_seconds,
    intervention_problem,
)
from gru_viz.kinds import KINDS, VARIANTS
from gru_viz.lessons import LESSONS, check_claim
from gru_viz.models import Intervention
from gru_viz.session import (
    STEP_AT_ONCE_SECONDS,
    TICK_TURN,
    LiveSession,
    TakeTurns,
    TrainingShare,
)
from gru_viz.trainer import Trainer

APP = str(Path(__file__).resolve().parent.parent / "app.py")
# About 0.02 s per step estimated: Step × 10 fits in one click, Step × 200 does not.
STEPPY = RunConfig(seq_len=50, hidden_size=8, batch_size=8, probe_samples=4)


def test_w_is_refused_with_one_error_naming_what_to_lower():
    assert estimated_step_seconds(_unchecked(W)) <= MAX_STEP_SECONDS  # what let it in before
    with pytest.raises(ConfigError) as refused:
        RunConfig(**W)
    text = str(refused.value)
    assert text.startswith("too much work per probe") and "probe samples" in text
    assert f"limit {MAX_PROBE_SECONDS:g} s" in text
    # A link asking for it opens the defaults with that one sentence as its problem.
    cfg, problems = config_from_strings({k: _text(v) for k, v in W.items()})
    assert cfg == RunConfig() and len(problems) == 1 and "too much work" in problems[0]
    # Lowering what the message names admits it.
    assert cost_problem(_unchecked({**W, "num_layers": 1, "probe_samples": 8})) is None


@pytest.mark.parametrize(
    "changes",
    [
        {**W, "num_layers": 1},
        {**W, "num_layers": 2, "seq_len": 100},
        {**W, "probe_samples": 8},
        {"models": ("gru", "rnn", "lstm"), "seq_len": 200, "hidden_size": 128},
        {"models": tuple(KINDS), "seq_len": 100, "hidden_size": 64, "batch_size": 16},
        {"models": VARIANTS, "seq_len": 200, "hidden_size": 128, "batch_size": 32},
    ],
)
def test_what_is_admitted_probes_and_builds_within_the_limits(changes):
    cfg = _unchecked(changes)
    within = (
        estimated_step_seconds(cfg) <= MAX_STEP_SECONDS
        and estimated_probe_seconds(cfg) <= MAX_PROBE_SECONDS
        and estimated_build_seconds(cfg) <= MAX_BUILD_SECONDS
    )
    assert (cost_problem(cfg) is None) == within
    if within:
        RunConfig(**changes)  # admitted
    else:
        with pytest.raises(ConfigError, match="too much work"):
            RunConfig(**changes)


def test_the_estimates_count_the_unfused_paths_and_the_probe_above_the_first_layer():
    base = RunConfig(seq_len=200, hidden_size=64, batch_size=32)
    # The GRU variants step through a Python loop: dearer than the fused GRU (measured 1.2-1.6x
    # with bench.bench_step_cost).
    for variant in VARIANTS:
        alone = base.replace(models=(variant,))
        assert estimated_train_seconds(alone) > 1.5 * estimated_train_seconds(
            base.replace(models=("gru",))
        )
    # An intervention in training takes the same loop: the fused kinds cost more with it.
    assert estimated_step_seconds(base, unrolled=True) > 1.2 * estimated_step_seconds(base)
    # A probe costs the same whatever probe_every says; a deeper stack costs more than in
    # proportion (the gradient has to reach every lower layer's states).
    assert estimated_probe_seconds(base) == estimated_probe_seconds(base.replace(probe_every=1))
    one, three = (estimated_probe_seconds(base.replace(num_layers=n)) for n in (1, 3))
    assert three > 3 * one
    assert estimated_build_seconds(base) > estimated_probe_seconds(base)


# -- training through an intervention -------------------------------------------------------
# Admitted (fused: about 0.25 s a step), but through the unrolled cell about 0.47 s: too much.
COSTLY_TO_UNROLL = RunConfig(seq_len=200, hidden_size=64, batch_size=128, probe_samples=2)


def test_an_intervention_trains_only_where_the_unrolled_step_fits_the_budget():
    assert cost_problem(COSTLY_TO_UNROLL) is None
    why = intervention_problem(COSTLY_TO_UNROLL)
    assert why and why.startswith("too much work per step with the intervention in training")
    assert "probe only" in why
    assert intervention_problem(RunConfig()) is None

    live = LiveSession(COSTLY_TO_UNROLL, TrainingShare())
    assert live.training_intervention_problem() == why  # what the page asks first
    clamp = Intervention(clamp_update=0.5)
    notice = live.set_intervention(clamp, True)
    assert notice.kind == "warning" and why in notice.text
    assert live.intervention == clamp and not live.intervene_in_training
    gru = live.trainer.slots["gru"]
    assert gru.intervention == clamp and not gru.intervene_in_training  # the probe shows it
    assert live.intervention_refusal == why
    probed = len(gru.snapshots.steps)
    assert live.set_intervention(clamp, True) is None  # asked again (every page run): no work
    assert len(gru.snapshots.steps) == probed

    # A smaller batch fits: it acts in training from then on; a larger one stops that again.
    small = COSTLY_TO_UNROLL.replace(batch_size=8)
    assert intervention_problem(small) is None
    assert live.apply(small).kind == "info"
    assert live.intervene_in_training and gru.intervene_in_training
    notice = live.apply(COSTLY_TO_UNROLL)
    assert notice.kind == "warning" and "probe only" in notice.text
    assert not live.intervene_in_training and not gru.intervene_in_training


# -- Step × N --------------------------------------------------------------------------------
def test_step_times_ten_trains_at_once_and_step_times_200_tick_by_tick():
    live = LiveSession(STEPPY, TrainingShare())
    per_step = estimated_step_seconds(STEPPY)
    assert 10 * per_step <= STEP_AT_ONCE_SECONDS < 200 * per_step
    assert live.request_steps(10) == 10 and not live.stepping

    assert live.request_steps(200) == 0  # a target, not 200 steps inside the click
    assert live.stepping and live.step_progress == (0, 200)
    start = live.trainer.step_count
    ticks = 0
    while live.stepping:
        with TICK_TURN:
            assert live.tick() > 0
        ticks += 1
        done, asked = live.step_progress
        assert asked == 200 and live.trainer.step_count == start + done
    assert ticks > 1 and live.trainer.step_count == start + 200
    assert live.tick() == 0  # done: paused, not training on


def test_pause_and_play_cancel_the_rest_of_a_step():
    live = LiveSession(STEPPY, TrainingShare())
    live.request_steps(200)
    live.tick()
    done = live.trainer.step_count
    assert 0 < done < 200
    live.playing = False  # Pause
    assert not live.stepping and live.tick() == 0 and live.trainer.step_count == done
    live.request_steps(200)
    live.playing = True  # Play takes over from a Step too
    assert not live.stepping


def test_step_times_200_on_a_heavy_setup_does_not_finish_inside_the_click():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(seq_len="100", hidden_size="64", batch_size="64")
    at.run()
    at.selectbox(key="steps_per_click").set_value(200).run()
    at.button(key="step").click().run()
    assert not at.exception, at.exception
    live = at.session_state["live"]
    done = live.trainer.step_count
    assert 0 < done < 200 and live.stepping
    assert [p.proto.text for p in at.get("progress")] == [f"Stepping: {done} / 200"]
    assert at.button(key="play").label == "Pause"  # which stops it
    at.button(key="play").click().run()
    assert not live.stepping and live.trainer.step_count == done
    assert at.button(key="play").label == "Play" and not at.get("progress")


# -- the turn ---------------------------------------------------------------------------------
def test_a_session_builds_resets_and_probes_inside_the_tick_turn(monkeypatch):
    held: list[bool] = []

    class Watched(Trainer):
        def probe_all(self) -> None:
            held.append(TICK_TURN._owner == threading.get_ident())
            super().probe_all()

        def _probe_one(self, slot) -> None:
            held.append(TICK_TURN._owner == threading.get_ident())
            super()._probe_one(slot)

    monkeypatch.setattr(session_module, "Trainer", Watched)
    live = LiveSession(STEPPY, TrainingShare())
    live.reset()
    live.apply(STEPPY.replace(seed=3))
    live.set_intervention(Intervention(ablate_units=(1,)), True)
    live.step(2)
    live.trainer.slots["gru"].stopped = "stopped for the test"
    live.restore("gru")
    assert held and all(held), held


def test_take_turns_is_reentrant_for_its_holder_only():
    turns, order = TakeTurns(), []
    with turns:
        with turns:  # the holder again (a tick applying its own intervention): no wait
            order.append("inner")

        def other() -> None:
            with turns:
                order.append("other")

        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.05)
        assert order == ["inner"] and turns.waiting == 1  # still ours after the inner exit
    thread.join(timeout=5)
    assert order == ["inner", "other"] and turns.waiting == 0


# -- the other paths the issue lists --------------------------------------------------------
def test_a_stopped_runs_claim_is_checked_once_not_on_every_tick():
    calls = []
    forget = LESSONS["forget"]

    def counted(trainer, steps, wait):
        calls.append(trainer.step_count)
        return forget.check(trainer, steps, wait)

    lesson = dataclasses.replace(forget, check=counted)
    trainer = Trainer(lesson.config.replace(seq_len=10, hidden_size=8, batch_size=8))
    trainer.step(3)
    for slot in trainer.slots.values():
        slot.stopped = "stopped for the test"
    first = check_claim(lesson, trainer)
    for _ in range(5):  # the ticks after the models stopped
        assert check_claim(lesson, trainer) == first
    assert calls == [3]


def test_comparison_reruns_train_outside_the_tick_turn():
    from gru_viz.lessons.measure import compare

    cfg = RunConfig(seq_len=9, hidden_size=5, batch_size=4, probe_samples=2, seed=4242)
    deadline = time.monotonic() + 30
    with TICK_TURN:  # every tick of the process is blocked: the comparison still finishes
        result = compare(cfg, 3)
        while not isinstance(result, dict) and time.monotonic() < deadline:
            time.sleep(0.05)
            result = compare(cfg, 3)
    assert isinstance(result, dict) and result["gru"].trained == 3


def _unchecked(changes: dict) -> RunConfig:
    """``changes`` as a config even where the budget would refuse it (to ask about its cost)."""
    cfg = RunConfig()
    for name, value in changes.items():
        object.__setattr__(cfg, name, value)
    return cfg


def _text(value) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)
