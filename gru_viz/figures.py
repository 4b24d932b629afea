"""The catalogue of figures: for each, its id, heading, how to read it, and its builder.

The page, the HTML report and the lessons all draw from ``CATALOGUE``: a heading or a reading
corrected here changes everywhere. Builders take a ``RunView`` (numpy records read off a
trainer, no torch) and a ``Selection`` (probe sample, time cursor, log scale) and return a
plotly Figure; ``numbers`` says what the run's own figures are, in a sentence, for the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from gru_viz import jacobian, plots, plots_jacobian
from gru_viz.config import FIELD_BY_NAME
from gru_viz.explain import NO_GATES_NOTE
from gru_viz.kinds import KINDS, title
from gru_viz.numbers import describe_share, format_number, recent_loss
from gru_viz.records import (
    BoundedSeries,
    Event,
    ProbeResult,
    ProbeSnapshots,
    Reference,
    TimeMark,
)

if TYPE_CHECKING:  # the records only: this module never loads torch
    from gru_viz.tasks import Head


@dataclass(frozen=True)
class RunView:
    """What the figures draw, read off a trainer: records and arrays only."""

    step: int
    baseline: float
    baseline_note: str
    references: tuple[Reference, ...]  # loss levels to draw: baseline, memoryless, noise floor
    loss_kind: str  # "mse", "ce" or "heads"
    input_names: tuple[str, ...]
    clip: float | None
    histories: dict[str, BoundedSeries]  # per model: loss and gradient norms per step
    probe_series: dict[str, BoundedSeries]  # per model: values recorded at each probe
    probes: dict[str, ProbeResult]  # per model: the latest probe
    snapshots: dict[str, ProbeSnapshots]  # per model: probes kept over training
    x: np.ndarray  # the probe batch: (samples, T, inputs)
    target: np.ndarray
    loss_mask: np.ndarray  # (samples, T) the scored steps
    valid: np.ndarray  # (samples, T) False on padding
    events: tuple[Event, ...] = ()  # what changed while it trained
    # Per probe sequence, the task's steps worth marking (markers, recall window, padding).
    time_marks: tuple[tuple[TimeMark, ...], ...] = ()
    # A task with several heads on one state: the heads (their losses are history columns),
    # and the weight of the first head's loss in training (the second's is 1 - it).
    heads: tuple[Head, ...] = ()
    head_weight: float | None = None

    def jacobian_series(self, sample: int) -> dict[str, dict[str, np.ndarray]]:
        """``jacobian.jacobian_series`` of the latest probes, computed once per view and sample:
        the figure and its numbers both read it, and on a long sequence it takes seconds."""
        memo = self.__dict__.setdefault("_jacobian_memo", {})  # a frozen view's own cache
        if sample not in memo:
            memo[sample] = jacobian.jacobian_series(self.probes, sample)
        return memo[sample]

    def marks_of(self, sample: int) -> list[TimeMark]:
        return list(self.time_marks[sample]) if self.time_marks else []

    @property
    def common_marks(self) -> list[TimeMark]:
        """The marks every probe sequence shares: what a chart of their mean may show."""
        if not self.time_marks:
            return []
        shared = set(self.time_marks[0]).intersection(*self.time_marks[1:])
        return [m for m in self.time_marks[0] if m in shared]

    @property
    def marks(self) -> list[plots.Mark]:
        """The events as chart marks: (step, short label, full text)."""
        return [(e.step, event_label(e), e.text) for e in self.events]

    @property
    def scored_at_end(self) -> bool:
        """Only a few final steps are scored (adding, copy), not every step (forecast)."""
        return float(self.loss_mask.mean()) < 0.5


def run_view(trainer: Any) -> RunView:
    """The view of a ``gru_viz.trainer.Trainer`` (duck-typed: this module never loads torch)."""
    cfg, task, slots, batch = trainer.cfg, trainer.task, trainer.slots, trainer.probe_batch
    return RunView(
        step=trainer.step_count,
        baseline=task.baseline(cfg),
        baseline_note=task.baseline_note,
        references=tuple(task.references(cfg)),
        loss_kind=task.loss_kind,
        input_names=task.input_names(cfg),
        clip=cfg.clip_norm,
        histories={k: s.history for k, s in slots.items()},
        probe_series={k: s.probe_series for k, s in slots.items()},
        probes={k: s.latest for k, s in slots.items() if s.latest is not None},
        snapshots={k: s.snapshots for k, s in slots.items()},
        x=batch.x.numpy(),
        target=batch.target.numpy(),
        loss_mask=batch.loss_mask.numpy(),
        valid=batch.valid.numpy(),
        events=tuple(trainer.events),
        time_marks=_time_marks(task, cfg, batch),
        heads=tuple(task.heads),
        head_weight=batch.head_weight,
    )


def _time_marks(task: Any, cfg: Any, batch: Any) -> tuple[tuple[TimeMark, ...], ...]:
    if task.time_marks is None:
        return ()
    x = batch.x.numpy()
    padded = (batch.padded if batch.padded is not None else ~batch.valid).numpy()
    return tuple(tuple(task.time_marks(x[s], padded[s], cfg)) for s in range(len(x)))


def event_label(event: Event) -> str:
    """A few characters on the chart; the whole text is in the hover and the exports."""
    if event.kind == "settings":
        return ", ".join(FIELD_BY_NAME[name].short for name, _ in event.changes)
    return {"intervention": "intervention", "restore": "restored", "rebuild": "rebuilt"}.get(
        event.kind, event.kind
    )


@dataclass(frozen=True)
class Selection:
    """What the reader picked: which probe sequence, which time step, which loss scale."""

    sample: int = 0
    cursor: int | None = None
    log_y: bool = True


def _always(view: RunView) -> bool:
    return True


def _has_heads(view: RunView) -> bool:
    return bool(view.heads)


@dataclass(frozen=True)
class FigureSpec:
    id: str
    heading: str
    reading: Callable[[RunView], str]  # how to read it, in plain language
    symbols: str  # the equations' symbols it draws
    build: Callable[[RunView, Selection], go.Figure]
    numbers: Callable[[RunView], str]  # the run's own figures, in a sentence
    per_probe: bool = True  # changes only at a probe (the page reuses it until then)
    # Whether the figure has anything to say about this run (e.g. "Loss per head" only for a
    # task with heads): the page and the report show only the figures that apply. Built
    # anyway, a figure that does not apply says why it is empty.
    applies: Callable[[RunView], bool] = _always

    def caption(self, view: RunView) -> str:
        return self.reading(view)


def _list(parts: list[str]) -> str:
    return "; ".join(parts) if parts else "no data yet"


# -- readings and numbers ---------------------------------------------------------------------
def _loss_reading(view: RunView) -> str:
    lines = {
        "baseline": "Dashed: the baseline, what a model scores by ignoring its inputs "
        f"({view.baseline_note}); a curve that settles on it has found only that trivial answer.",
        "memoryless": "Dash-dot: the best a model with no memory does; below it, the model "
        "uses memory (below the baseline alone it need not).",
        "noise_floor": "Dotted: the noise floor; the targets' own noise, which no model can "
        "predict, keeps every loss above it.",
    }
    return "Training loss of each model on the same batches (faint: each step; thick: moving " + (
        "average). " + " ".join(lines[r.id] for r in view.references if r.id in lines)
    )


def _loss_numbers(view: RunView) -> str:
    parts = []
    for kind, history in view.histories.items():
        loss = recent_loss(history.array("loss"))
        if len(history):
            share = describe_share(loss, view.baseline)
            parts.append(f"{title(kind)} {format_number(loss)} ({share})")
    return f"Mean of the last 20 steps: {_list(parts)}."


def _grad_norm_reading(view: RunView) -> str:
    if view.clip is None:
        return (
            "The length of the whole gradient at each step. Clipping is off, so a spike here is "
            "applied in full: an exploding gradient can throw the weights far away in one step."
        )
    return (
        "The length of the whole gradient at each step, before clipping. Spikes are exploding "
        "gradients. Any step above the dashed line is rescaled to its length before the update: "
        "clipping does not stop the gradient from exploding (the spikes stay), it stops an "
        "exploding gradient from taking a huge step. Gates do not stop it either."
    )


def _grad_norm_numbers(view: RunView) -> str:
    if view.clip is None:
        return ""
    parts = []
    for kind, history in view.histories.items():
        norms = history.array("grad_norm")
        if norms.size:
            parts.append(f"{title(kind)} {int(np.sum(norms > view.clip))} of {norms.size}")
    return f"Recorded steps above the clipping threshold: {_list(parts)}."


def _grad_h_reading(view: RunView) -> str:
    where = (
        "The loss is read only at the end, so whatever a model learns about early inputs must "
        "come from a gradient that travelled back through every step between: a line that "
        "falls towards early steps means they barely get any learning signal (the vanishing "
        "gradient)."
        if view.scored_at_end
        else "The loss is read at every step here, so each h_t also gets a direct gradient from "
        "its own prediction, which flattens the curve; what reaches it from later losses still "
        "shrinks with the distance travelled."
    )
    return (
        "How much the loss depends on the hidden state at each time step, ‖∂L/∂h_t‖, through "
        f"the recurrence (log scale, mean over the probe sequences). {where} In a tanh RNN it "
        "shrinks roughly geometrically going back; the GRU's update gate gives it a path, "
        "h_t = … + z_t ⊙ h_{t−1}, that multiplies by z instead of passing through W_hn and tanh′. "
        "Dotted: the same model at initialisation."
    )


def _grad_h_numbers(view: RunView) -> str:
    parts = []
    for kind, snapshots in view.snapshots.items():
        if snapshots.grad_h_mean:
            curve = snapshots.grad_h_mean[-1]
            curve = curve[np.isfinite(curve) & (curve > 0)]
            if curve.size > 1:
                parts.append(f"{title(kind)} {format_number(curve[0] / curve[-1], 2)}")
    return f"Gradient at the first step relative to the last, now: {_list(parts)}."


def _hidden_numbers(view: RunView) -> str:
    parts = []
    for kind, probe in view.probes.items():
        h = probe.traces["h"][-1, 0]
        h = h[~np.isnan(h)]  # padding is not a state
        parts.append(f"{title(kind)} {np.mean(np.abs(h) > 0.9):.0%}")
    return f"Share of entries saturated (|h| > 0.9) in probe sequence 0: {_list(parts)}."


def _gate_reading(view: RunView) -> str:
    return (
        "Gates for the chosen probe sequence, on one 0 … 1 scale (yellow 1, dark violet 0). "
        "GRU update gate z: bright keeps the old state (long bright stretches are memory being "
        "held); dark writes the candidate. Reset gate r: dark lets the candidate ignore the old "
        "state; the unit starts afresh only where r and z are both dark. LSTM: i writes the "
        f"candidate, f keeps the cell, o shows it. {NO_GATES_NOTE}."
    )


def _gate_numbers(view: RunView) -> str:
    gru = view.probes.get("gru")
    if gru is None:
        return ""
    z, r = gru.traces["z"][-1, 0], gru.traces["r"][-1, 0]
    keepers = int(np.sum(np.nanmean(z, axis=0) > 0.9))
    return (
        f"Probe sequence 0: mean z {np.nanmean(z):.2f}, mean r {np.nanmean(r):.2f}; {keepers} of "
        f"{z.shape[1]} GRU units have z above 0.9 on average."
    )


def _prediction_reading(view: RunView) -> str:
    if view.heads:
        sums, larger = view.heads[0].title, view.heads[-1].title
        return (
            f"Both heads on the chosen probe sequence, at every step. Top: each model's {sums} "
            "output and the target (cross) at the last step, where it is scored. Bottom, "
            f"dashed: the probability the {larger} gives the right answer (which marked value "
            "is larger); the grey line is a coin toss. Only the last step is scored: earlier, "
            "each line is what the model would answer if asked then, and neither head can "
            "know its answer before the second marker."
        )
    if view.loss_kind == "ce":
        return (
            "The probability each model gives the correct symbol at the scored steps of the "
            "chosen probe sequence; the dashed line is a uniform guess."
        )
    return (
        "Each model's output at every step of the chosen probe sequence, and the target "
        "(crosses) at the steps that are scored; the output elsewhere is what the model would "
        "answer if asked then."
    )


def _prediction_numbers(view: RunView) -> str:
    if view.heads:
        return _heads_prediction_numbers(view)
    parts = [f"{title(k)} {format_number(float(p.loss[0]))}" for k, p in view.probes.items()]
    return f"Probe sequence 0's loss: {_list(parts)} (baseline {format_number(view.baseline)})."


def _heads_prediction_numbers(view: RunView) -> str:
    scored = np.flatnonzero(view.loss_mask[0])
    if not scored.size:
        return ""
    last = int(scored[-1])
    target = view.target[0, last]
    right = int(np.argmax(target[1:3]))
    parts = []
    for kind, probe in view.probes.items():
        output = probe.prediction[0, last]
        p_right = float(plots.right_class_probability(output[1:3], right))
        parts.append(
            f"{title(kind)} sum {format_number(float(output[0]))}, P(right class) {p_right:.2f}"
        )
    which = "first" if right == 0 else "second"
    return (
        f"Probe sequence 0 at its last step (target sum {format_number(float(target[0]))}, the "
        f"{which} value is larger): {_list(parts)}."
    )


def _heads_reading(view: RunView) -> str:
    heads = " and ".join(
        f"{'solid' if h.kind == 'mse' else 'dashed'}: the {h.title} "
        f"(baseline {format_number(h.baseline)}, {h.baseline_note})"
        for h in view.heads
    )
    first, second = (h.title for h in view.heads) if len(view.heads) == 2 else ("", "")
    w = view.head_weight
    weight = ""
    if w is not None and len(view.heads) == 2:
        weight = (
            f" Head weight w = {w:g}: training minimises {w:g} × the {first}'s line + "
            f"{1 - w:g} × the {second}'s (the loss chart's curve)."
        )
        if w in (0, 1):
            idle = view.heads[1] if w == 1 else view.heads[0]
            weight += (
                f" The {idle.title} is not trained at all: its readout stays as initialised, and "
                "its line shows only what that readout makes of a state shaped for the other head"
            )
            weight += (
                " (well above 1 for a regression head: nothing moves its output to the mean)."
                if idle.kind == "mse"
                else "."
            )
    return (
        "Each head's training loss divided by its own baseline, per model (moving average): "
        f"1 means nothing learned on that head, 0 a perfect head. {heads}.{weight}"
    )


def _heads_numbers(view: RunView) -> str:
    parts = []
    for kind, history in view.histories.items():
        shares = []
        for head in view.heads:
            loss = recent_loss(history.array(head.loss_column))
            if not np.isnan(loss):
                shares.append(f"{head.title} {describe_share(loss, head.baseline)}")
        if shares:
            parts.append(f"{title(kind)}: {', '.join(shares)}")
    return f"Mean of the last 20 steps: {_list(parts)}."


def _sigma_numbers(view: RunView) -> str:
    parts = [
        f"{title(k)} σ_max({KINDS[k].recurrent_weight}) = {p.sigma_max:.2f}"
        for k, p in view.probes.items()
    ]
    return f"Now: {_list(parts)}."


def _none(view: RunView) -> str:
    return ""


def _text(text: str) -> Callable[[RunView], str]:
    return lambda view: text


# -- builders -------------------------------------------------------------------------------
def _grad_h(view: RunView, sel: Selection) -> go.Figure:
    note = (
        plots.GRAD_H_NOTE
        if view.scored_at_end
        else "loss is read at every step → each h_t also gets a direct gradient"
    )
    marks = view.common_marks
    return plots.grad_h_figure(
        view.probes, view.snapshots, None, sel.cursor, note=note, marks=marks
    )


def _jacobian(view: RunView, sel: Selection) -> go.Figure:
    series = view.jacobian_series(sel.sample)
    layers = max((p.traces["h"].shape[0] for p in view.probes.values() if p.traces), default=1)
    return plots_jacobian.jacobian_figure(
        series, sel.sample, sel.cursor, marks=view.marks_of(sel.sample), layers=layers
    )


def _jacobian_numbers(view: RunView) -> str:
    return plots_jacobian.summary(view.jacobian_series(0), 0)


def _prediction(view: RunView, sel: Selection) -> go.Figure:
    predictions = {k: p.prediction for k, p in view.probes.items()}
    if view.heads:
        return plots.heads_prediction_figure(
            predictions,
            view.target,
            view.loss_mask,
            view.valid,
            sel.sample,
            sel.cursor,
            titles=tuple(head.title for head in view.heads),
            marks=view.marks_of(sel.sample),
        )
    return plots.prediction_figure(
        predictions, view.target, view.loss_mask, view.valid, view.loss_kind, sel.sample, sel.cursor
    )


CATALOGUE: tuple[FigureSpec, ...] = (
    FigureSpec(
        "loss",
        "Loss",
        _loss_reading,
        "L",
        lambda v, s: plots.loss_figure(v.histories, v.references, log_y=s.log_y, marks=v.marks),
        _loss_numbers,
        per_probe=False,
    ),
    FigureSpec(
        "heads",
        "Loss per head",
        _heads_reading,
        "L_head ÷ baseline_head",
        lambda v, s: plots.heads_loss_figure(v.histories, v.heads, log_y=s.log_y, marks=v.marks),
        _heads_numbers,
        per_probe=False,
        applies=_has_heads,
    ),
    FigureSpec(
        "grad_norm",
        "Gradient norm per step",
        _grad_norm_reading,
        "‖∇θ L‖",
        lambda v, s: plots.grad_norm_figure(v.histories, v.clip, marks=v.marks),
        _grad_norm_numbers,
        per_probe=False,
    ),
    FigureSpec(
        "grad_h", "‖∂L/∂h_t‖ over time", _grad_h_reading, "‖∂L/∂h_t‖", _grad_h, _grad_h_numbers
    ),
    FigureSpec(
        "jacobian",
        "Why the gradient vanishes: one step's Jacobian",
        lambda view: plots_jacobian.reading(view.scored_at_end),
        "‖∂h_t/∂h_{t−1}‖₂, ‖J_b ⋯ J_{a+1}‖",
        _jacobian,
        _jacobian_numbers,
    ),
    FigureSpec(
        "prediction",
        "Prediction vs target",
        _prediction_reading,
        "ŷ_t vs target",
        _prediction,
        _prediction_numbers,
    ),
    FigureSpec(
        "hidden",
        "Hidden states",
        _text(
            "Each row is one hidden unit, each column a time step, for the chosen probe "
            "sequence; colour is the value of h_t (−1 blue … +1 red; blank: padding). A unit "
            "that keeps its colour across many steps is holding something in memory."
        ),
        "h_t",
        lambda v, s: plots.hidden_state_figure(
            v.probes, s.sample, cursor=s.cursor, marks=v.marks_of(s.sample)
        ),
        _hidden_numbers,
    ),
    FigureSpec(
        "gates",
        "Gates",
        _gate_reading,
        "z_t, r_t (LSTM: i_t, f_t, o_t)",
        lambda v, s: plots.gate_figure(
            v.probes, s.sample, cursor=s.cursor, marks=v.marks_of(s.sample)
        ),
        _gate_numbers,
    ),
    FigureSpec(
        "input",
        "Input of this probe sequence",
        lambda v: f"What the models read, channel by channel: {', '.join(v.input_names)}.",
        "x_t",
        lambda v, s: plots.input_figure(v.x, v.input_names, s.sample, v.valid, s.cursor),
        _none,
    ),
    FigureSpec(
        "saturation",
        "Gate saturation",
        _text(
            "Per unit: how often each gate is nearly closed (below 0.1, x) against nearly open "
            "(above 0.9, y) over every probe sequence and step (after Karpathy, Johnson and "
            "Fei-Fei, 2015). Points near the diagonal act as switches; points near the origin "
            "stay in between and blend old and new."
        ),
        "z_t, r_t",
        lambda v, s: plots.saturation_figure(v.probes),
        _none,
    ),
    FigureSpec(
        "sigma",
        "Recurrent weights: largest singular value",
        _text(
            "The largest singular value of the recurrent block that feeds each cell's tanh (RNN: "
            "W_hh; GRU: W_hn; LSTM: W_hg). For the tanh RNN, σ_max(W_hh) < 1 guarantees that "
            "gradients shrink geometrically going back in time (tanh′ ≤ 1); above 1 they can "
            "grow, though they need not. The GRU's direct path through z does not pass through "
            "W_hn, so its memory does not hinge on this number."
        ),
        "σ_max(W_hh)",
        lambda v, s: plots.sigma_figure(v.probe_series),
        _sigma_numbers,
    ),
)
FIGURES: dict[str, FigureSpec] = {spec.id: spec for spec in CATALOGUE}
