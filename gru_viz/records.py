"""Plain numpy records of what training produced: what the views draw, with no torch inside.

The figure builders and the report take these, never a model, so they can be tested (and
reused by the CLI) without building anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    """

    step: int
    kind: str
    traces: dict[str, np.ndarray]
    grad_h_norm: np.ndarray
    prediction: np.ndarray
    loss: np.ndarray
    sigma_max: float


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
        if self._count > self.capacity:
            self.columns = {name: column[::2] for name, column in self.columns.items()}
            self._count = len(self.columns["step"])
            self.stride *= 2

    def __len__(self) -> int:
        return self._count

    def array(self, name: str) -> np.ndarray:
        return np.asarray(self.columns.get(name, []), dtype=float)


@dataclass
class ProbeSnapshots:
    """A bounded history of small per-probe summaries (for "how it changed over training")."""

    capacity: int = 24
    steps: list[int] = field(default_factory=list)
    grad_h_mean: list[np.ndarray] = field(default_factory=list)  # (T,) per snapshot
    results: list[ProbeResult] = field(default_factory=list)

    def add(self, result: ProbeResult) -> None:
        self.steps.append(result.step)
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
