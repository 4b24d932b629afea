"""Guided lessons: every claim is falsifiable, and every text gets the gates right.

Each lesson's claim must hold on its own setup for seeds 0–7 and must say "not seen" on each of
its controls (setups where the phenomenon is absent) for seeds 0–7. Those runs are the slow part
of the suite: they are trained once per test session, two at a time (one per core), and every
test reads them. ``python -m pytest tests/test_lessons.py -s`` prints the claims' figures.
"""

from __future__ import annotations

import ast
import concurrent.futures
import multiprocessing
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gru_viz.config import RunConfig
from gru_viz.lessons import FIGURES, LESSONS, STAGES, check_claim, start_trainer
from gru_viz.models import Intervention, build_model, unroll
from gru_viz.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = range(8)
REQUIRED = (
    "forget",
    "update_gate",
    "reset_gate",
    "exploding",
    "masks",
    "missing",
    "gate_bias",
    "blog_formula",
    "lstm_bias",
)

# Reversed GRU semantics (PyTorch: h' = (1 − z) ⊙ n + z ⊙ h, so z ≈ 1 keeps; r ≈ 0 makes the
# candidate ignore the old state), "reset = forget", and the myths that gates or clipping cure
# exploding gradients.
_IS = r"\s*(?:≈|=|~|(?:is )?near|is|close to)\s*"
_ZERO, _ONE = r"0(?![.\d])", r"1(?![.\d])"
FORBIDDEN = (
    rf"\bz(?:_t)?{_IS}{_ZERO}[^.;:]*\b(?:keep|hold|remember|retain|preserv|carr)",
    rf"\bz(?:_t)?{_IS}{_ONE}[^.;:]*\b(?:forget|overwrit|write|replac|eras|discard)",
    rf"\br(?:_t)?{_IS}{_ONE}[^.;:]*\b(?:ignor|forget|discard|eras)",
    rf"\br(?:_t)?{_IS}{_ZERO}[^.;:]*\b(?:keeps the old|uses the old|listens)",
    rf"\br(?:_t)?{_IS}{_ZERO}[^.;:]*\b(?:starts? afresh|forgets?\b|no memory)",
    rf"\bz(?:_t)?{_IS}{_ZERO}[^.;:]*\bno memory",
    r"\bgat(?:es?|ing)\s+(?:solves?|fix(?:es)?|prevents?|stops?|cures?)\s+(?:the\s+)?explod",
    r"\bclipping\s+(?:solves?|fix(?:es)?|prevents?|stops?|cures?)\s+(?:the\s+)?explod",
    r"\bclipping\W+not\s+gating\W+(?:is what\s+)?(?:stops|solves|tames|fixes)",
    r"explod[^.]*[—-]\s*(?:gradient\s+)?clipping does\b",
    r"\(1\s*[−-]\s*z(?:_t)?\)\s*(?:⊙|\*)\s*h",
    r"below (?:it|the baseline),? the model has learned something",
)


def misconceptions(text: str) -> list[str]:
    return [p for p in FORBIDDEN if re.search(p, text, flags=re.IGNORECASE)]


def test_the_guard_catches_misconceptions_and_passes_right_statements():
    for bad in (
        "z ≈ 0 keeps the old state",
        "when z = 1 the unit forgets",
        "gates solve exploding gradients",
        "clipping stops exploding gradients",
        "Clipping, not gating, is what stops exploding gradients.",
        "spikes are exploding gradients; clipping (not gating) is what tames them",
        "they do not stop gradients from exploding — clipping does.",
        "r ≈ 1 makes the candidate ignore h",
        "where r is near 0 the unit starts afresh",
        "z = 0 makes h_t = n_t (no memory kept)",
        "h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ n_t",
    ):
        assert misconceptions(bad), bad
    for good in (
        "z ≈ 1 keeps the old state",
        "r ≈ 0 makes the candidate ignore it",
        "gates do not fix exploding gradients",
        "clipping does not stop the gradient from exploding",
        "with z ≈ 0.88 each step keeps 88%",
        "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}",
        "starting afresh takes both: r ≈ 0 and a low z",
    ):
        assert not misconceptions(good), good


def user_facing_texts() -> dict[str, str]:
    """Every text a user reads: string constants of the page and of the library modules it
    shows text from, the lesson guides, and the README. The blog-formula rows and notes describe
    the article's wrong formula on purpose and are left out."""
    texts = {}
    modules = [*(ROOT / "gru_viz" / "dashboard").glob("*.py")]
    modules += [ROOT / "gru_viz" / name for name in ("figures.py", "config.py", "tasks.py")]
    modules += [ROOT / "gru_viz" / name for name in ("kinds.py", "report.py", "plots.py")]
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts[f"{path.name}:{node.lineno}"] = node.value
    from gru_viz import explain

    texts |= {f"explain note {i}": note for i, note in enumerate(explain.EQUATION_NOTES)}
    for kind in ("gru", "rnn", "lstm"):
        texts[f"explain {kind}"] = explain.equations_text(kind)
    for key, lesson in LESSONS.items():
        texts |= {f"{key}.{name}": getattr(lesson, name) for name in STAGES}
    texts["README"] = _readme_without_the_blog_formula()
    return texts


def _readme_without_the_blog_formula() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.sub(r"<!-- blog formula -->.*?<!-- /blog formula -->", "", text, flags=re.S)


def test_no_user_facing_text_repeats_a_misconception():
    found = {where: misconceptions(text) for where, text in user_facing_texts().items()}
    assert not {where: hits for where, hits in found.items() if hits}


def test_lessons_are_listed_in_order_under_their_own_keys():
    assert tuple(LESSONS) == REQUIRED
    assert all(key == lesson.key for key, lesson in LESSONS.items())
    assert len({lesson.title for lesson in LESSONS.values()}) == len(LESSONS)


@pytest.mark.parametrize("key", list(LESSONS))
def test_each_lesson_has_its_guide_its_controls_and_ends_on_a_probe(key):
    lesson = LESSONS[key]
    for name in STAGES:
        assert len(getattr(lesson, name).split()) >= 8, f"{key}.{name} is too short"
    assert any(figure in lesson.look_at for figure in FIGURES), key
    assert lesson.controls and all(c.why and c.title for c in lesson.controls)
    assert len({c.key for c in lesson.controls}) == len(lesson.controls)
    assert "control" in lesson.try_next.lower()  # the guide offers it as the next step
    # The claim reads the latest probe: it must be the one taken at the last step.
    for setup in (lesson, *lesson.controls):
        assert lesson.steps % setup.config.probe_every == 0


# -- the claims on seeds 0-7: trained once, two at a time ------------------------------------------
def _run(key: str, control: str | None, seed: int) -> tuple[bool, str, dict]:
    lesson = LESSONS[key]
    setup = lesson.control(control)
    trainer = (
        start_trainer(lesson, setup)
        if seed == 0
        else Trainer((setup or lesson).config.replace(seed=seed))
    )
    if seed != 0 and setup is not None and setup.intervention.active:
        trainer.set_interventions(setup.intervention, in_training=True)
    early = check_claim(lesson, trainer, wait=True)
    assert not early.holds and "Not checked yet" in early.summary
    trainer.step(lesson.steps)
    result = check_claim(lesson, trainer, wait=True)
    return result.holds, result.summary, result.figures


CASES = [(key, None) for key in LESSONS] + [
    (key, control.key) for key, lesson in LESSONS.items() for control in lesson.controls
]


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str | None, int], tuple[bool, str, dict]]:
    jobs = [(key, control, seed) for key, control in CASES for seed in SEEDS]
    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        results = list(pool.map(_run, *zip(*jobs, strict=True)))
    return dict(zip(jobs, results, strict=True))


def _table(outcomes, key: str, control: str | None) -> str:
    rows = []
    for seed in SEEDS:
        holds, _, figures = outcomes[(key, control, seed)]
        shown = ", ".join(f"{k} {v:.3g}" for k, v in figures.items() if k != "step")
        rows.append(f"  seed {seed}: {'holds' if holds else 'not seen'}; {shown}")
    return f"[lesson {key}, {control or 'its setup'}]\n" + "\n".join(rows)


@pytest.mark.parametrize("key", list(LESSONS))
def test_the_claim_holds_on_the_lessons_setup_for_seeds_0_to_7(key, outcomes, capsys):
    with capsys.disabled():
        print("\n" + _table(outcomes, key, None))
    for seed in SEEDS:
        holds, summary, figures = outcomes[(key, None, seed)]
        assert holds, f"seed {seed}: {summary}"
        assert re.search(r"\d", summary) and not misconceptions(summary)
        assert ("Settings changed" in summary) == (seed != 0)  # only the seed differs


@pytest.mark.parametrize(("key", "control"), [c for c in CASES if c[1] is not None])
def test_the_claim_is_not_seen_on_each_control_for_seeds_0_to_7(key, control, outcomes, capsys):
    with capsys.disabled():
        print("\n" + _table(outcomes, key, control))
    for seed in SEEDS:
        holds, summary, _ = outcomes[(key, control, seed)]
        assert not holds, f"seed {seed}: {summary}"
        assert not misconceptions(summary)


# -- single cases ---------------------------------------------------------------------------------
def test_a_clipped_exploding_run_is_not_the_claim():
    lesson = LESSONS["exploding"]
    trainer = Trainer(lesson.config.replace(clip=1.0))
    trainer.step(lesson.steps)
    result = check_claim(lesson, trainer, wait=True)
    assert not result.holds
    assert "Settings changed from the lesson's: Gradient clipping" in result.summary


def test_the_comparison_trains_your_setup_not_the_lessons():
    # The gate-bias lesson at lag 5 and seed 3: its comparison is lag 5, seed 3, no bias.
    lesson = LESSONS["gate_bias"]
    trainer = Trainer(lesson.config.replace(seq_len=5, seed=3, hidden_size=8))
    trainer.step(20)
    for slot in trainer.slots.values():
        slot.stopped = "stopped for the test"  # checked at once
    result = check_claim(lesson, trainer, wait=True)
    twin = Trainer(trainer.cfg.replace(models=("gru",), z_bias=0.0))
    twin.step(20)
    from gru_viz.lessons.measure import recent_share

    expected = recent_share(twin.slots["gru"].history, twin.task.baseline(twin.cfg))
    assert result.figures["plain_gru_loss"] == pytest.approx(expected)


def test_a_comparison_trains_off_the_caller_and_the_claim_waits_for_it():
    # On the page a comparison run trains in a worker thread, not in the session's tick: the
    # claim says it is comparing until the result is there.
    lesson = LESSONS["exploding"]
    trainer = Trainer(lesson.config.replace(seed=11, hidden_size=8))
    trainer.step(lesson.steps)
    first = check_claim(lesson, trainer)
    assert first.pending and first.summary.startswith(("Comparing", "Queued"))
    deadline = time.monotonic() + 120
    while (result := check_claim(lesson, trainer)).pending and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not result.pending and "clipping at 1" in result.summary
    assert check_claim(lesson, trainer) is result  # nothing changed: the same answer, cached


def test_check_refuses_a_run_of_another_task():
    trainer = Trainer(RunConfig(task="forecast", seq_len=10, hidden_size=4, batch_size=4))
    result = check_claim(LESSONS["forget"], trainer)
    assert not result.holds and "this run is different" in result.summary


def test_a_gru_with_z_clamped_to_0_still_carries_memory():
    # z = 0 removes only the direct copy of h_{t-1}: the candidate still reads the old state
    # through r ⊙ (W_hn h + b_hn), so the output at t depends on inputs two or more steps back.
    model = build_model("gru", 2, 16, 1, 1, seed=5)
    x = torch.randn(1, 12, 2, requires_grad=True)
    out = unroll(model, x, Intervention(clamp_update=0.0)).output
    (grad,) = torch.autograd.grad(out[0, -1, 0], x)
    reach_back = grad[0, :-2].abs().sum(-1)  # inputs at t − 2 and earlier
    assert float(reach_back.max()) > 1e-3
    # r = 0 as well leaves n_t = tanh(W_in x_t + b_in): then only x_t counts (no memory at all).
    out = unroll(model, x, Intervention(clamp_update=0.0, clamp_reset=0.0)).output
    (grad,) = torch.autograd.grad(out[0, -1, 0], x)
    assert float(grad[0, :-1].abs().max()) == 0.0
    assert np.isfinite(float(out.detach().sum()))
