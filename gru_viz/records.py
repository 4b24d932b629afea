"""Plain numpy records of what training produced: what the views draw, with no torch inside.

The figure builders and the report take these, never a model, so they can be tested (and
reused by the CLI) without building anything.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ProbeResult:
    """One model's replay of the fixed probe batch at one training step.

    traces[name]: (layers, samples, T, H) for each recorded quantity (GRU r, z, n, h; RNN pre, h;
        LSTM i, f, g, o, c, h); NaN on padded steps.
    grad_h_norm: (layers, samples, T), ‖∂L_s/∂h_t‖ where L_s is sample s's own loss; it is the
        total gradient reaching h_t through the readout *and* the recurrence. NaN on padding.
    prediction: (samples, T, outputs): regression outputs, or class probabilities.
    loss: (samples,) each sample's loss.
    weights: the recurrent layer's parameters at probe time (PyTorch names), so a view can
        recompute any intermediate value with exactly the weights the traces came from.
    """

    step: int
    kind: str
    traces: dict[str, np.ndarray]
    grad_h_norm: np.ndarray
    prediction: np.ndarray
    loss: np.ndarray
    sigma_max: float
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    # The intervention the probe ran with (a gru_viz.models.Intervention, or None): a clamped
    # gate has no derivative, so it changes one step's Jacobian (gru_viz.jacobian).
    intervention: Any = None


# Steps worth marking on a sequence's charts: (first step, last step, label), e.g. the adding
# problem's marked values, the copy task's recall window, where padding starts.
TimeMark = tuple[int, int, str]


@dataclass(frozen=True)
class Reference:
    """A loss level drawn on the loss chart, and what being below it means."""

    id: str  # "baseline", "memoryless" or "noise_floor"
    value: float
    label: str  # a few words on the line
    meaning: str  # a sentence for the hover and the caption


@dataclass(frozen=True)
class Event:
    """Something that changed a run while it trained: marked on the charts, kept in every export.

    step: training steps done when it happened (it acts from step + 1 on).
    kind: "settings" (applied on the fly), "intervention", "restore" or "rebuild".
    affects_training: False for what only changes the probe (an intervention in the probe
        only), so a replay of training can ignore it.
    changes: for "settings", (field name, new value) pairs a replay can apply at that step.
    """

    step: int
    kind: str
    text: str
    affects_training: bool = True
    changes: tuple[tuple[str, Any], ...] = ()


class BoundedSeries:
    """Append-only columns that never exceed ``capacity`` rows.

    When full, every other row is dropped and only every ``stride``-th later step is kept, so
    memory stays flat however long training runs while the whole run stays visible.
    """

    def __init__(self, capacity: int = 2000):
        self.capacity = capacity
        self.stride = 1
        self.columns: dict[str, list[float]] = {}
        self._count = 0

    def append(self, step: int, **values: float) -> None:
        if step % self.stride:
            return
        row = {"step": float(step), **values}
        if not self.columns:
            self.columns = {name: [] for name in row}
        for name, column in self.columns.items():
            column.append(float(row.get(name, np.nan)))
        self._count += 1
        while self._count > self.capacity:
            # Keep the rows on the new, doubled grid so spacing stays even after thinning.
            self.stride *= 2
            keep = [i for i, s in enumerate(self.columns["step"]) if int(s) % self.stride == 0]
            self.columns = {
                name: [column[i] for i in keep] for name, column in self.columns.items()
            }
            self._count = len(keep)

    def __len__(self) -> int:
        return self._count

    def array(self, name: str) -> np.ndarray:
        return np.asarray(self.columns.get(name, []), dtype=float)


def _trace_bytes(result: ProbeResult) -> int:
    return sum(v.nbytes for v in result.traces.values())


@dataclass
class ProbeSnapshots:
    """A bounded history of probes (for "how it changed over training").

    Gradient curves are kept for every snapshot; full traces only while they fit in
    ``trace_budget_bytes`` (newest first, plus the initialisation), so a large configuration
    cannot grow a session's memory without bound.
    """

    capacity: int = 24
    trace_budget_bytes: int = 8 * 1024 * 1024
    steps: list[int] = field(default_factory=list)
    grad_h_mean: list[np.ndarray] = field(default_factory=list)  # (T,) per snapshot
    results: list[ProbeResult] = field(default_factory=list)

    def add(self, result: ProbeResult) -> None:
        self.steps.append(result.step)
        with warnings.catch_warnings():  # steps that are padding in every sample stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            self.grad_h_mean.append(np.nanmean(result.grad_h_norm[-1], axis=0))
        self.results.append(result)
        if len(self.steps) > self.capacity:
            # Keep the first (initialisation) and thin the rest evenly.
            keep = [0] + list(range(2, len(self.steps), 2))
            if keep[-1] != len(self.steps) - 1:
                keep.append(len(self.steps) - 1)
            self.steps = [self.steps[i] for i in keep]
            self.grad_h_mean = [self.grad_h_mean[i] for i in keep]
            self.results = [self.results[i] for i in keep]
        self._shed_old_traces()

    def _shed_old_traces(self) -> None:
        total = sum(_trace_bytes(r) for r in self.results)
        for old in self.results[1:-1]:  # never the initialisation or the newest
            if total <= self.trace_budget_bytes:
                break
            total -= _trace_bytes(old)
            old.traces = {}
