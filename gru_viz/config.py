"""One frozen run configuration and the one table of fields that describes it.

The ``FIELDS`` table (idea from tensorflow/playground's ``state.ts``) drives everything that
touches a setting: validation, defaults, the dashboard's widgets (kind, step, group, which tasks
show it) and help text, the CLI options and the URL query string. ``RunConfig`` is generated
from it, so a new setting is one row. Every value a user can set passes through
``RunConfig.__post_init__`` or ``config_from_strings``, so limits live here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gru_viz.kinds import KINDS, MODEL_KINDS

TASK_NAMES = ("adding", "copy", "forecast", "varlen", "missing", "irregular", "reset", "multitask")
SIGNAL_TASKS = ("forecast", "missing", "irregular")
SETTING_GROUPS = ("Task", "Models", "Training")  # in the sidebar's order

# -- cost budget ---------------------------------------------------------------------------
# Every student of a server shares one interpreter, and each piece of training work runs inside
# the per-process tick turn (gru_viz.session.TICK_TURN): a setting whose step, probe or rebuild
# takes seconds would stall every other student for as long. So a configuration is refused when
# any of these estimates is over its limit:
#   - a training step, with the probe's share (one probe every ``probe_every`` steps);
#   - one probe on its own: it also runs on every rebuild, Reset, link opened, intervention
#     changed, Restore and model stopped, whatever ``probe_every`` says;
#   - creating the Trainer: building the models, then their first probe.
# Training "through an intervention" (``intervention_problem``) is held to the step limit too.
#
# Per time step and layer each model costs a fixed overhead of torch calls plus arithmetic in
# proportion to gate blocks x hidden² x rows (sequences). PyTorch's GRU, RNN and LSTM train
# fused; the GRU variants, and any model trained through an intervention, step through a Python
# loop (gru_viz.models.unroll / LoopRNN), as does the probe. A term in time² remains for the
# loop (SLICE_S): small since the loop unbinds the input projection (reading it as ``gi[:, t]``
# made every step's backward write a zeroed copy of the whole projection: W's probe 1.4-3.9 s,
# 0.86 s after), kept so that long sequences stay on the safe side.
# Seconds on one thread of the reference machine (the 2-core CI box) while it is busy, fitted to
# measurements: bench/bench_step_cost.py prints estimate against measurement (``--fit`` refits
# these). Idle, the box does the work in about 0.3-0.6 of the estimate; at a load of 5 on its 2
# cores, in 0.9-1.7 of it.
STEP_OVERHEAD_S = 2.0e-4  # fused training: per model, layer and time step
ROW_S = 4.0e-10  # fused training: per gate block x hidden² x sequence x time step x layer
LOOP_OVERHEAD_S = 2.5e-4  # the same two, training through the Python loop
LOOP_ROW_S = 4.0e-10
PROBE_OVERHEAD_S = 2.0e-4  # the same two, for one probe replay (recording every gate)
PROBE_ROW_S = 2.0e-10
SLICE_S = 1.5e-10  # per element of a layer's input projection, per time step, per time step
BUILD_S = 2.0e-2  # per model: constructing and initialising it
LOOP_BLOCKS = 3  # gate blocks a GRU variant computes per step (the tied blog GRU expands to 3)
MAX_STEP_SECONDS = 0.4
MAX_PROBE_SECONDS = 0.5
MAX_BUILD_SECONDS = 0.75


class ConfigError(ValueError):
    """A setting is out of range or of the wrong type; the message names the field."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: type  # int, float, str, or tuple (a set of choices)
    default: Any
    label: str
    help: str
    group: str  # one of SETTING_GROUPS: where the sidebar shows it, what a link can hide
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    # Structural fields change the data or the models' shapes: changing one rebuilds the run.
    # The others (learning rate, clipping, ...) apply to the running models on the fly.
    structural: bool = True
    # How the dashboard asks for it: "slider", "number" (typed: wide or fine-grained ranges),
    # "radio", "select" or "multiselect"; ``step`` is the widget's increment.
    widget: str = "slider"
    step: float = 1
    tasks: tuple[str, ...] = ()  # shown only for these tasks; () means every task

    @property
    def short(self) -> str:
        """A few characters for a chart label: lr, batch size, clip."""
        return self.name.replace("_", " ")

    def used_by(self, task: str) -> bool:
        return not self.tasks or task in self.tasks

    @property
    def annotation(self) -> str:
        return {int: "int", float: "float", str: "str", tuple: "tuple[str, ...]"}[self.kind]


FIELDS: tuple[Field, ...] = (
    Field(
        "task",
        str,
        "adding",
        "Task",
        "Which synthetic sequence problem both models learn.",
        "Task",
        choices=TASK_NAMES,
        widget="select",
    ),
    Field(
        "seq_len",
        int,
        50,
        "Sequence length / lag",
        "Time steps per sequence. For the copy task: the lag of blanks between seeing the "
        "symbols and recalling them. Longer makes long-range memory matter more.",
        "Task",
        lo=5,
        hi=200,
    ),
    Field(
        "noise",
        float,
        0.0,
        "Noise",
        "Standard deviation of Gaussian noise added to the inputs (signal tasks: to the signal).",
        "Task",
        lo=0.0,
        hi=1.0,
        step=0.05,
    ),
    Field(
        "n_symbols",
        int,
        4,
        "Alphabet size (copy)",
        "How many different symbols the copy task draws from; chance loss is log(alphabet).",
        "Task",
        lo=2,
        hi=16,
        tasks=("copy",),
    ),
    Field(
        "recall_len",
        int,
        3,
        "Symbols to recall (copy)",
        "How many symbols the copy task shows, and must recall after the lag.",
        "Task",
        lo=1,
        hi=10,
        tasks=("copy",),
    ),
    Field(
        "trend",
        float,
        0.5,
        "Trend (forecast)",
        "Largest slope of the linear trend in the signal tasks (drawn per sequence).",
        "Task",
        lo=0.0,
        hi=2.0,
        step=0.05,
        tasks=SIGNAL_TASKS,
    ),
    Field(
        "season",
        float,
        1.0,
        "Seasonality (forecast)",
        "Amplitude of the periodic part of the signal tasks.",
        "Task",
        lo=0.0,
        hi=2.0,
        step=0.05,
        tasks=SIGNAL_TASKS,
    ),
    Field(
        "missing_rate",
        float,
        0.3,
        "Missing rate",
        "Fraction of inputs dropped in the missing-values task (a mask channel says which).",
        "Task",
        lo=0.0,
        hi=0.9,
        step=0.05,
        tasks=("missing",),
    ),
    Field(
        "readout",
        str,
        "last_real",
        "Read the answer at",
        "Where each padded sequence's answer is read: at its own last real step, or at the last "
        "step of the padded batch (what code that takes the final output of a padded batch "
        "does), after the padding.",
        "Task",
        choices=("last_real", "last_padded"),
        widget="radio",
        tasks=("varlen",),
    ),
    Field(
        "observed_mask",
        str,
        "on",
        "Observed-mask channel",
        "'on': a second input channel says whether each value was observed (1) or is missing "
        "(0). 'off': a missing value arrives as a plain 0, like a real value near 0.",
        "Task",
        choices=("on", "off"),
        widget="radio",
        tasks=("missing",),
    ),
    Field(
        "head_weight",
        float,
        0.5,
        "Weight of the sum head (multi-task)",
        "The multi-task model has two heads on one state: the sum of the marked values and which "
        "of them is larger. Training minimises w × (sum loss ÷ its baseline) + (1 − w) × "
        "(class loss ÷ its baseline), so 1 means nothing learned on either head. 1 trains the "
        "sum head only, 0 the class head only: the other head then only reads a state shaped "
        "for the other task.",
        "Task",
        lo=0.0,
        hi=1.0,
        step=0.05,
        tasks=("multitask",),
    ),
    Field(
        "models",
        tuple,
        ("gru", "rnn"),
        "Models",
        "Which models train side by side on the same batches.",
        "Models",
        choices=MODEL_KINDS,
        widget="multiselect",
    ),
    Field(
        "hidden_size",
        int,
        32,
        "Hidden units",
        "Units in each recurrent layer.",
        "Models",
        lo=1,
        hi=128,
    ),
    Field(
        "size_by",
        str,
        "units",
        "Compare at equal",
        "'units': every model gets the same hidden size. 'params': the other models' hidden "
        "sizes are chosen so their parameter counts match the GRU's (a fairer comparison: a "
        "GRU has about 3× the weights of an RNN with the same units).",
        "Models",
        choices=("units", "params"),
        widget="radio",
    ),
    Field(
        "z_bias",
        float,
        0.0,
        "GRU update-gate bias at init (0 = PyTorch's)",
        "0 keeps PyTorch's random initial biases. Any other value b sets the update gate's "
        "biases to b_iz = 0, b_hz = b, so z starts near σ(b): a positive b makes the GRU keep "
        "its state by default (long memory from the start).",
        "Models",
        lo=-5.0,
        hi=5.0,
        widget="number",
        step=0.5,
    ),
    Field(
        "f_bias",
        float,
        0.0,
        "LSTM forget-gate bias at init (0 = PyTorch's)",
        "0 keeps PyTorch's random initial biases. Any other value b sets the forget gate's "
        "biases to b_if = b, b_hf = 0, so f starts near σ(b): a positive b makes the LSTM keep "
        "its cell by default (Jozefowicz et al. 2015 recommend 1).",
        "Models",
        lo=-5.0,
        hi=5.0,
        widget="number",
        step=0.5,
    ),
    Field(
        "recurrent_scale",
        float,
        1.0,
        "Recurrent weights at init (× PyTorch's)",
        "Multiplies every layer's initial recurrent weights W_hh (all gate blocks) by this "
        "factor. 1 keeps PyTorch's initialisation, whose gradients vanish going back in time; "
        "large values (about 10) make them grow back through time instead: exploding gradients.",
        "Models",
        lo=0.1,
        hi=20.0,
        widget="number",
        step=0.5,
    ),
    Field("num_layers", int, 1, "Layers", "Stacked recurrent layers.", "Models", lo=1, hi=3),
    Field(
        "optimizer",
        str,
        "adam",
        "Optimizer",
        "Adam adapts step sizes per parameter; SGD uses the learning rate as is.",
        "Training",
        choices=("adam", "sgd"),
        structural=False,
        widget="radio",
    ),
    Field(
        "lr",
        float,
        0.01,
        "Learning rate",
        "Step size of the optimizer.",
        "Training",
        lo=1e-5,
        hi=10.0,
        structural=False,
        widget="number",
        step=0.001,
    ),
    Field(
        "batch_size",
        int,
        64,
        "Batch size",
        "Sequences per training step.",
        "Training",
        lo=1,
        hi=256,
        structural=False,
    ),
    Field(
        "clip",
        float,
        1.0,
        "Gradient clipping (max norm, 0 = off)",
        "Rescales the whole gradient to this length when its norm is longer, so one update moves "
        "the weights by at most learning rate × this value. It does not stop a gradient from "
        "exploding (nor do gates): it stops an exploding gradient from taking a huge step.",
        "Training",
        lo=0.0,
        hi=100.0,
        structural=False,
        widget="number",
        step=0.5,
    ),
    Field(
        "seed",
        int,
        0,
        "Seed",
        "Same seed, same data, same initial weights, same numbers.",
        "Training",
        lo=0,
        hi=2**31 - 1,
        widget="number",
    ),
    Field(
        "probe_every",
        int,
        20,
        "Probe every N steps",
        "How often the fixed probe batch is replayed to record gates and gradients.",
        "Training",
        lo=1,
        hi=1000,
        structural=False,
    ),
    Field(
        "probe_samples",
        int,
        8,
        "Probe samples",
        "Sequences in the fixed probe batch.",
        "Training",
        lo=1,
        hi=32,
    ),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}


def _coerce(field: Field, value: Any) -> Any:
    """Return ``value`` converted to the field's type, or raise ConfigError saying why."""
    name = field.label
    if field.kind is tuple:
        if isinstance(value, str):
            items = value.split(",")
        elif isinstance(value, (list, tuple, set, frozenset)):
            items = list(value)
        else:
            raise ConfigError(f"{name}: choose one or more of {', '.join(field.choices)}")
        items = tuple(dict.fromkeys(str(v).strip().lower() for v in items if str(v).strip()))
        bad = [v for v in items if v not in field.choices]
        if bad or not items:
            raise ConfigError(f"{name}: choose one or more of {', '.join(field.choices)}")
        return tuple(c for c in field.choices if c in items)  # canonical order
    if field.kind is str:
        text = str(value).strip().lower()
        if text not in field.choices:
            raise ConfigError(
                f"{name}: '{str(value)[:40]}' is not one of {', '.join(field.choices)}"
            )
        return text
    if isinstance(value, bool):
        raise ConfigError(f"{name}: expected a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name}: '{str(value)[:40]}' is not a number") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name}: must be a finite number")
    if field.kind is int:
        if number != int(number):
            raise ConfigError(f"{name}: must be a whole number")
        number = int(number)
    if not field.lo <= number <= field.hi:
        raise ConfigError(f"{name}: {number:g} is outside {field.lo:g} to {field.hi:g}")
    return number


class _RunConfigMethods:
    """What ``RunConfig`` does; its fields and defaults come from FIELDS (see below)."""

    def __post_init__(self) -> None:
        for field in FIELDS:
            object.__setattr__(self, field.name, _coerce(field, getattr(self, field.name)))
        problem = cost_problem(self)
        if problem:
            raise ConfigError(problem)

    @property
    def total_len(self) -> int:
        """Time steps the models actually see (the copy task adds the symbols and the recall)."""
        return self.seq_len + 2 * self.recall_len if self.task == "copy" else self.seq_len

    @property
    def clip_norm(self) -> float | None:
        return self.clip if self.clip > 0 else None

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def structural_changes(self, other: RunConfig) -> list[str]:
        """Names of fields that differ from ``other`` and need the models rebuilt."""
        return [
            f.name
            for f in FIELDS
            if f.structural and getattr(self, f.name) != getattr(other, f.name)
        ]

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in FIELDS}


# Generated from the table so every default is written once, in FIELDS.
RunConfig = dataclasses.make_dataclass(
    "RunConfig",
    [(f.name, f.annotation, dataclasses.field(default=f.default)) for f in FIELDS],
    bases=(_RunConfigMethods,),
    frozen=True,
    namespace={
        "__module__": __name__,
        "__doc__": "Everything that determines a run. Same config (seed included) -> same "
        "numbers on CPU. Fields: see FIELDS.",
    },
)


def _model_sizes(cfg: Any) -> list[tuple[float, float, bool]]:
    """Per model: (compute blocks x hidden², compute blocks x hidden, trained fused).

    With size_by="params" every model is sized to the GRU's parameter count, so each costs
    about what the GRU does (3 blocks of hidden²), whatever its own number of blocks.
    """
    gru_blocks = KINDS["gru"].gate_blocks
    sizes = []
    for name in cfg.models:
        kind = KINDS[name]
        squared = cfg.hidden_size**2
        if cfg.size_by == "params":
            squared *= gru_blocks / kind.gate_blocks
        compute = kind.gate_blocks if kind.fused else LOOP_BLOCKS
        sizes.append((compute * squared, compute * math.sqrt(squared), kind.fused))
    return sizes


def _total_len(cfg: Any) -> int:
    # total_len's own code, applied to anything with the fields (the standalone script copies
    # that property's source, so it stays self-contained)
    return RunConfig.total_len.fget(cfg)


def estimated_train_seconds(cfg: Any, unrolled: bool = False) -> float:
    """Seconds of one training step of ``cfg`` without its probe; ``unrolled``: with an
    intervention in training, so every model steps through the Python loop."""
    steps, rows = _total_len(cfg), cfg.batch_size
    per_layer = 0.0
    for squared, width, fused in _model_sizes(cfg):
        if fused and not unrolled:
            per_layer += steps * (STEP_OVERHEAD_S + squared * rows * ROW_S)
        else:
            per_layer += steps * (LOOP_OVERHEAD_S + squared * rows * LOOP_ROW_S)
            per_layer += steps * steps * rows * width * SLICE_S
    return cfg.num_layers * per_layer


def estimated_probe_seconds(cfg: Any) -> float:
    """Seconds of one probe: every model replays the probe batch, recording every gate."""
    steps, rows, layers = _total_len(cfg), cfg.probe_samples, cfg.num_layers
    seconds = 0.0
    for squared, width, _ in _model_sizes(cfg):
        seconds += steps * layers * (PROBE_OVERHEAD_S + squared * rows * PROBE_ROW_S)
        seconds += (layers - 1) * steps * steps * rows * width * SLICE_S
    return seconds


def estimated_build_seconds(cfg: Any) -> float:
    """Seconds to create a Trainer (a rebuild, a Reset, a link opened): models, first probe."""
    return len(cfg.models) * BUILD_S + estimated_probe_seconds(cfg)


def estimated_step_seconds(cfg: Any, unrolled: bool = False) -> float:
    """Seconds one training step of ``cfg`` takes, its share of the probe included (see the
    cost budget above); ``unrolled``: with an intervention in training."""
    return estimated_train_seconds(cfg, unrolled) + estimated_probe_seconds(cfg) / cfg.probe_every


_TO_LOWER = {
    "step": "lower the batch size, sequence length, hidden size, layers, models or probe "
    "samples, or probe less often",
    "probe": "lower the probe samples, sequence length, layers, hidden size or models",
    "intervention": "apply the intervention to the probe only, or lower the batch size, "
    "sequence length, hidden size, layers or models",
}


def cost_problem(cfg: Any, intervene_in_training: bool = False) -> str | None:
    """Why the cost budget refuses ``cfg`` (one sentence that names what to lower), or None.

    The one check of the budget: RunConfig runs it on every config; the session runs it with
    ``intervene_in_training`` before training through an intervention (``intervention_problem``).
    When several limits are exceeded, the one exceeded most is named.
    """
    if intervene_in_training:
        seconds = estimated_step_seconds(cfg, unrolled=True)
        if seconds <= MAX_STEP_SECONDS:
            return None
        return (
            "too much work per step with the intervention in training for a shared server: "
            f"training through the unrolled cell takes about {seconds:.2g} s per step here "
            f"(limit {MAX_STEP_SECONDS:g} s); {_TO_LOWER['intervention']}"
        )
    step = estimated_step_seconds(cfg)
    probe = estimated_probe_seconds(cfg)
    build = estimated_build_seconds(cfg)
    over = max(
        (step / MAX_STEP_SECONDS, "step"),
        (probe / MAX_PROBE_SECONDS, "probe"),
        (build / MAX_BUILD_SECONDS, "build"),
    )
    if over[0] <= 1:
        return None
    if over[1] == "step":
        return (
            f"too much work per step for a shared server: about {step:.2g} s per training "
            f"step (limit {MAX_STEP_SECONDS:g} s); {_TO_LOWER['step']}"
        )
    if over[1] == "probe":
        return (
            "too much work per probe for a shared server: one probe (replaying "
            f"{cfg.probe_samples} probe sequences, every gate recorded) takes about {probe:.2g} "
            f"s (limit {MAX_PROBE_SECONDS:g} s), and every rebuild, Reset and intervention "
            f"change waits for one; {_TO_LOWER['probe']}"
        )
    return (
        "too much work per rebuild for a shared server: building the models and their first "
        f"probe takes about {build:.2g} s (limit {MAX_BUILD_SECONDS:g} s), and every Reset "
        f"and link opened waits for it; {_TO_LOWER['probe']}"
    )


def intervention_problem(cfg: Any) -> str | None:
    """Why an intervention may not act in training on ``cfg`` (its unrolled training step is
    over the budget), or None. Ask before turning "Apply while training too" on."""
    return cost_problem(cfg, intervene_in_training=True)


def format_value(field: Field, value: Any) -> str:
    if field.kind is tuple:
        return ",".join(value)
    if field.kind is float:
        return repr(float(value))  # shortest text that reads back to the same float
    return str(value)


def changed_fields(old: RunConfig, new: RunConfig) -> tuple[tuple[str, Any], ...]:
    """(name, new value) of every field that differs, in table order."""
    return tuple(
        (f.name, getattr(new, f.name))
        for f in FIELDS
        if getattr(new, f.name) != getattr(old, f.name)
    )


def describe_changes(old: RunConfig, new: RunConfig) -> str:
    """'learning rate 0.01 → 0.003, batch size 64 → 32' for people."""
    parts = []
    for name, value in changed_fields(old, new):
        field = FIELD_BY_NAME[name]
        before = format_value(field, getattr(old, name))
        parts.append(f"{field.label.lower()} {before} → {format_value(field, value)}")
    return ", ".join(parts)


def config_to_strings(cfg: RunConfig, base: RunConfig | None = None) -> dict[str, str]:
    """The fields that differ from ``base`` (the defaults), as strings for a URL or CLI line."""
    base = base or RunConfig()
    return {
        f.name: format_value(f, getattr(cfg, f.name))
        for f in FIELDS
        if getattr(cfg, f.name) != getattr(base, f.name)
    }


MAX_VALUE_CHARS = 64


def config_from_strings(
    values: Mapping[str, Any], base: RunConfig | None = None
) -> tuple[RunConfig, list[str]]:
    """Build a config from untrusted strings (URL query, form); never raises.

    Unknown keys and invalid values are dropped with one message each and the base (default)
    value kept, so a hostile or stale link still opens a working page.
    """
    base = base or RunConfig()
    problems: list[str] = []
    accepted: dict[str, Any] = {}
    for key, raw in values.items():
        field = FIELD_BY_NAME.get(str(key))
        if field is None:
            continue  # other query parameters (e.g. the lesson) belong to someone else
        if isinstance(raw, (list, tuple)) and field.kind is not tuple:
            raw = raw[-1] if raw else ""
        if isinstance(raw, str) and len(raw) > MAX_VALUE_CHARS:
            problems.append(f"{field.label}: value too long, kept {getattr(base, field.name)}")
            continue
        try:
            accepted[field.name] = _coerce(field, raw)
        except ConfigError as err:
            problems.append(f"{err}; kept {format_value(field, getattr(base, field.name))}")
    try:
        return base.replace(**accepted), problems
    except ConfigError as err:  # each value is fine alone, together too costly
        return base, problems + [f"{err}; kept the previous settings"]
