"""Guided lessons: each claim holds on the lesson's own seeded run, and the text gets gates right.

The claim tests are the slow part of the suite (each trains its lesson's steps, about 40 s in
all on one thread); everything else is cheap.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from gru_viz.config import RunConfig
from gru_viz.lessons import FIGURES, LESSONS, apply_lesson, check_claim
from gru_viz.trainer import Trainer

REQUIRED = ("forget", "update_gate", "reset_gate", "exploding", "masks")
TEXTS = ("predict", "look_at", "meaning", "try_next")

# Reversed GRU semantics (PyTorch: h' = (1 − z) ⊙ n + z ⊙ h, so z ≈ 1 keeps; r ≈ 0 makes the
# candidate ignore the old state) and the myth that gates cure exploding gradients.
_IS = r"\s*(?:≈|=|~|is|near|close to)\s*"
_ZERO, _ONE = r"0(?![.\d])", r"1(?![.\d])"
FORBIDDEN = (
    rf"\bz(?:_t)?{_IS}{_ZERO}[^.;:]*\b(?:keep|hold|remember|retain|preserv|carr)",
    rf"\bz(?:_t)?{_IS}{_ONE}[^.;:]*\b(?:forget|overwrit|write|replac|eras|discard)",
    rf"\br(?:_t)?{_IS}{_ONE}[^.;:]*\b(?:ignor|forget|discard|eras)",
    rf"\br(?:_t)?{_IS}{_ZERO}[^.;:]*\b(?:keeps the old|uses the old|listens)",
    r"\bgat(?:es?|ing)\s+(?:solves?|fix(?:es)?|prevents?|stops?|cures?)\s+(?:the\s+)?explod",
    r"\(1\s*[−-]\s*z(?:_t)?\)\s*(?:⊙|\*)\s*h",
)


def reversed_semantics(text: str) -> list[str]:
    return [p for p in FORBIDDEN if re.search(p, text, flags=re.IGNORECASE)]


def test_the_semantics_guard_catches_reversed_claims_and_passes_right_ones():
    for bad in (
        "z ≈ 0 keeps the old state",
        "when z = 1 the unit forgets",
        "gates solve exploding gradients",
        "r ≈ 1 makes the candidate ignore h",
        "h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ n_t",
    ):
        assert reversed_semantics(bad), bad
    for good in (
        "z ≈ 1 keeps the old state",
        "r ≈ 0 makes the candidate ignore it",
        "gates do not fix exploding gradients",
        "with z ≈ 0.88 each step keeps 88%",
        "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}",
    ):
        assert not reversed_semantics(good), good


def test_lessons_are_listed_in_order_under_their_own_keys():
    assert tuple(LESSONS)[: len(REQUIRED)] == REQUIRED
    assert all(key == lesson.key for key, lesson in LESSONS.items())
    assert len({lesson.title for lesson in LESSONS.values()}) == len(LESSONS)


@pytest.mark.parametrize("key", list(LESSONS))
def test_guide_text_is_there_names_figures_and_keeps_gate_semantics(key):
    lesson = LESSONS[key]
    assert lesson.title.strip()
    for name in TEXTS:
        text = getattr(lesson, name)
        assert len(text.split()) >= 8, f"{key}.{name} is too short"
        assert not reversed_semantics(text), f"{key}.{name}: {reversed_semantics(text)}"
    assert any(figure in lesson.look_at for figure in FIGURES), key


@pytest.mark.parametrize("key", list(LESSONS))
def test_lesson_fits_the_time_budget_and_ends_on_a_probe(key):
    lesson = LESSONS[key]
    cfg = lesson.config
    # About 30 ms per step for GRU + RNN at batch 64, length 50, 32 units on one thread.
    seconds = (
        0.03
        * lesson.steps
        * (cfg.batch_size * cfg.total_len * cfg.hidden_size**2 * len(cfg.models))
        / (64 * 50 * 32**2 * 2)
    )
    assert seconds <= 60
    # The claim reads the latest probe: it must be the one taken at the last step.
    assert lesson.steps % cfg.probe_every == 0


@pytest.mark.parametrize("key", list(LESSONS))
def test_claim_holds_on_the_lessons_own_run(key):
    lesson = LESSONS[key]
    trainer = apply_lesson(lesson)
    assert all(slot.snapshots.steps == [0] for slot in trainer.slots.values())
    early = check_claim(lesson, trainer)
    assert not early.holds and "Not checked yet" in early.summary
    trainer.step(lesson.steps)
    result = check_claim(lesson, trainer)
    assert result.holds, result.summary
    assert re.search(r"\d", result.summary) and not reversed_semantics(result.summary)
    assert "Settings changed" not in result.summary
    assert result.figures["step"] == trainer.step_count


def test_bias_lesson_starts_from_the_biased_gru_with_one_initial_record():
    lesson = LESSONS["gate_bias"]
    trainer = apply_lesson(lesson)
    gru = trainer.slots["gru"]
    assert gru.snapshots.steps == [0] and trainer.slots["rnn"].snapshots.steps == [0]
    sigmoid = 1 / (1 + np.exp(-lesson.update_gate_bias))
    assert abs(float(np.mean(gru.latest.traces["z"])) - sigmoid) < 0.03
    assert gru.snapshots.results[0] is gru.latest


def test_exploding_claim_does_not_hold_when_the_run_was_clipped():
    lesson = LESSONS["exploding"]
    trainer = Trainer(lesson.config.replace(clip=1.0))
    trainer.step(lesson.steps)
    result = check_claim(lesson, trainer)
    assert not result.holds
    assert "Settings changed from the lesson's: Gradient clipping" in result.summary


def test_check_refuses_a_run_of_another_task():
    trainer = Trainer(RunConfig(task="forecast", seq_len=10, hidden_size=4, batch_size=4))
    result = check_claim(LESSONS["forget"], trainer)
    assert not result.holds and "this run is different" in result.summary
