"""One-click guided lessons: a setup to start, what to predict, where to look, what it means, and
a live check of the lesson's claim on the user's own run.

Every claim is falsifiable: it holds on the lesson's setup for seeds 0–7 and says "not seen" on
each of the lesson's controls, named setups where the phenomenon is absent (the page offers them
as "Try the control"). tests/test_lessons.py proves both.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

from gru_viz.config import FIELDS, RunConfig
from gru_viz.figures import CATALOGUE
from gru_viz.lessons import claims
from gru_viz.lessons.claims import ClaimResult
from gru_viz.lessons.guides import GUIDES, STAGES
from gru_viz.models import NO_INTERVENTION, Intervention
from gru_viz.trainer import Trainer

__all__ = ["CONTROL_KEY", "FIGURES", "LESSONS", "STAGES", "ClaimResult", "Control", "Lesson"]
__all__ += ["check_claim", "start_trainer"]

# The figures' headings, so every "look at" can be checked against what is on the page.
FIGURES = tuple(spec.heading for spec in CATALOGUE)
CONTROL_KEY = "control"  # a link's parameter naming the control a lesson runs


@dataclass(frozen=True)
class Control:
    """A setup where the lesson's phenomenon is absent, so its claim must say "not seen"."""

    key: str
    title: str  # "A short sequence (10 steps)"
    config: RunConfig
    why: str  # what is absent there, in a sentence
    intervention: Intervention = NO_INTERVENTION  # applied in training too


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    config: RunConfig
    steps: int  # training steps the claim needs; a multiple of probe_every, so a probe ends it
    predict: str  # what to predict before pressing Play
    look_at: str  # which figures, and what to see in them
    meaning: str
    try_next: str
    controls: tuple[Control, ...]
    check: Callable[[Trainer, int, bool], ClaimResult]
    try_fields: tuple[str, ...] = ()  # settings "Then try" asks for: a link never hides them

    def control(self, key: str | None) -> Control | None:
        return next((c for c in self.controls if c.key == key), None)


def _lesson(key, config, steps, check, controls, try_fields=()) -> Lesson:
    return Lesson(
        key,
        config=config,
        steps=steps,
        controls=controls,
        check=check,
        try_fields=try_fields,
        **GUIDES[key],
    )


_ADDING = RunConfig(task="adding", seq_len=50)
_COPY = RunConfig(task="copy", seq_len=20)
_LATCH = RunConfig(task="reset", seq_len=30)
_EXPLODE = RunConfig(
    task="adding",
    seq_len=20,
    batch_size=32,
    recurrent_scale=12.0,
    optimizer="sgd",
    lr=0.2,
    clip=0.0,
)
_PADDED = RunConfig(task="varlen", seq_len=30, readout="last_padded")
_MISSING = RunConfig(task="missing", seq_len=30)
_BIAS = RunConfig(task="copy", seq_len=40, z_bias=2.0)
_BLOG = RunConfig(task="reset", seq_len=30, models=("gru", "blog"))
# Probed every 100 steps: the claim reads the first probe and the losses, and two models' five
# kept snapshots of every 20 steps would put the shipped run over its size limit.
_LSTM_BIAS = RunConfig(
    task="copy", seq_len=15, models=("gru", "lstm"), size_by="params", f_bias=1.0, probe_every=100
)

LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in (
        _lesson(
            "forget",
            _ADDING,
            260,
            claims.forgetting,
            (
                Control(
                    "short",
                    "A short sequence (10 steps)",
                    _ADDING.replace(seq_len=10),
                    "over 10 steps the gradient still reaches the start at initialisation",
                ),
            ),
            ("seq_len",),
        ),
        _lesson(
            "update_gate",
            _COPY,
            300,
            claims.update_gate,
            (
                Control(
                    "short_lag",
                    "A short lag (5 steps)",
                    _COPY.replace(seq_len=5),
                    "over 5 steps z need not come near 1 to keep a symbol",
                ),
            ),
            ("seq_len",),
        ),
        _lesson(
            "reset_gate",
            _LATCH,
            200,
            claims.reset_gate,
            (
                Control(
                    "no_update_gate",
                    "The update gate clamped to 0 while training",
                    _LATCH,
                    "without z, only r can overwrite, so a GRU without r fails",
                    Intervention(clamp_update=0.0),
                ),
            ),
        ),
        _lesson(
            "exploding",
            _EXPLODE,
            60,
            claims.exploding,
            (
                Control(
                    "large_step",
                    "The learning rate is too large",
                    _EXPLODE.replace(recurrent_scale=1.0, lr=1.0),
                    "the run blows up, but no gradient grows back through time",
                ),
                Control(
                    "default_init",
                    "PyTorch's initialisation",
                    _EXPLODE.replace(recurrent_scale=1.0),
                    "the gradient vanishes going back, and nothing blows up",
                ),
            ),
            ("clip", "recurrent_scale"),
        ),
        _lesson(
            "masks",
            _PADDED,
            220,
            claims.padding,
            (
                Control(
                    "read_at_end",
                    "Read at each sequence's own last step",
                    _PADDED.replace(readout="last_real"),
                    "a forward RNN never sees the steps after the one it is read at",
                ),
            ),
            ("readout",),
        ),
        _lesson(
            "missing",
            _MISSING,
            200,
            claims.missing_mask,
            (
                Control(
                    "nothing_missing",
                    "Nothing missing",
                    _MISSING.replace(missing_rate=0.0),
                    "with nothing missing there is nothing for the mask to mark",
                ),
            ),
            ("missing_rate", "observed_mask"),
        ),
        _lesson(
            "gate_bias",
            _BIAS,
            160,
            claims.gate_bias,
            (
                Control(
                    "no_bias",
                    "No update-gate bias",
                    _BIAS.replace(z_bias=0.0),
                    "without the bias there is no biased GRU to compare",
                ),
                Control(
                    "short_lag",
                    "A short lag (5 steps)",
                    _BIAS.replace(seq_len=5),
                    "over 5 steps a GRU learns without the bias's head start",
                ),
            ),
            ("seq_len", "z_bias"),
        ),
        _lesson(
            "blog_formula",
            _BLOG,
            140,
            claims.blog_formula,
            (
                Control(
                    "z_fixed_0",
                    "The update gate fixed at 0 in both while training",
                    _BLOG,
                    "z cannot move, and at 0 the blog cell never writes (the GRU writes always)",
                    Intervention(clamp_update=0.0),
                ),
                Control(
                    "z_fixed_1",
                    "The update gate fixed at 1 in both while training",
                    _BLOG,
                    "z cannot move, and at 1 the GRU never writes (the blog cell writes always)",
                    Intervention(clamp_update=1.0),
                ),
            ),
            ("seq_len",),
        ),
        _lesson(
            "lstm_bias",
            _LSTM_BIAS,
            300,
            claims.forget_bias,
            (
                Control(
                    "short_lag",
                    "A short lag (5 steps)",
                    _LSTM_BIAS.replace(seq_len=5),
                    "over 5 steps the LSTM learns without the bias's head start too",
                ),
                Control(
                    "no_bias",
                    "No forget-gate bias",
                    _LSTM_BIAS.replace(f_bias=0.0),
                    "without the bias there is no biased LSTM to compare",
                ),
            ),
            ("seq_len", "f_bias"),
        ),
    )
}


def start_trainer(lesson: Lesson, control: Control | None = None) -> Trainer:
    """A fresh Trainer for the lesson's setup, or for one of its controls."""
    setup = control or lesson
    trainer = Trainer(setup.config)
    intervention = control.intervention if control else NO_INTERVENTION
    if intervention.active:
        trainer.set_interventions(intervention, in_training=True)
    return trainer


# A claim read every tick would redo the same work until something changes: keep the last one
# per trainer, keyed by what it depends on.
_LAST: weakref.WeakKeyDictionary[Trainer, tuple[tuple, ClaimResult]] = weakref.WeakKeyDictionary()


def _state(lesson: Lesson, trainer: Trainer) -> tuple:
    """What a claim's answer depends on, checked at most once per probe: the claims read the
    latest probe, and their loss figures move little in the few steps between probes (the
    padding check alone runs 256 held-out sequences: 1.5 s on a heavy setup, every tick)."""
    stopped = tuple(slot.stopped is not None for slot in trainer.slots.values())
    probes = tuple(
        (id(slot.latest), getattr(slot.latest, "step", None)) for slot in trainer.slots.values()
    )
    return (lesson.key, probes, stopped, trainer.cfg, len(trainer.events))


def check_claim(lesson: Lesson, trainer: Trainer, wait: bool = False) -> ClaimResult:
    """The lesson's claim on the trainer's own numbers. A comparison it needs trains off the
    caller's thread unless ``wait`` (headless use); until then the result is ``pending``."""
    kinds = " and ".join(kind.upper() for kind in lesson.config.models)
    if trainer.cfg.task != lesson.config.task or set(lesson.config.models) - set(trainer.slots):
        text = f"This lesson's claim is about {kinds} on the {lesson.config.task} task; "
        return ClaimResult(False, text + "this run is different.", {})
    step = trainer.step_count
    if step < lesson.steps and trainer.active:
        text = f"Not checked yet: the claim needs {lesson.steps} training steps (now at {step})."
        return ClaimResult(False, text, {"step": float(step), "steps_needed": float(lesson.steps)})
    state = _state(lesson, trainer)
    last = _LAST.get(trainer)
    if last is not None and last[0] == state:
        return last[1]
    result = lesson.check(trainer, lesson.steps, wait)
    theirs = trainer.cfg.as_dict()  # how often it probes never changes training: ignore it
    diff = {k for k, v in lesson.config.as_dict().items() if v != theirs[k]} - {"probe_every"}
    changed = [f.label for f in FIELDS if f.name in diff]
    note = f" (Settings changed from the lesson's: {', '.join(changed)}.)" if changed else ""
    result = ClaimResult(
        result.holds,
        result.summary + note,
        {"step": float(step), **result.figures},
        result.pending,
    )
    if not result.pending:
        _LAST[trainer] = (state, result)
    return result
