"""Seeded synthetic sequence tasks, all with one signature: ``generate(cfg, n, generator)``.

Every task returns a ``Batch`` of shape-documented tensors and knows its trivial-baseline loss:
what predicting the mean (regression) or a uniform guess over the symbols (classification)
scores, so every loss chart can draw the line a model must beat to have learned anything.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gru_viz.config import FIELDS, RunConfig
from gru_viz.records import Reference, TimeMark


@dataclass
class Batch:
    """One batch of sequences.

    x: (B, T, input_size) float32 inputs.
    target: (B, T, output_size) float32 for regression, (B, T) int64 class ids for
        classification; positions outside ``loss_mask`` hold zeros and are never read.
    loss_mask: (B, T) bool, the steps whose prediction is scored.
    valid: (B, T) bool, False on steps that cannot affect the loss (padding after each
        sequence's scored end); traces hide those steps.
    padded: (B, T) bool, True on padding after a sequence ends (None: there is none). Padding
        is valid when the answer is read after it (``readout="last_padded"``).
    """

    x: torch.Tensor
    target: torch.Tensor
    loss_mask: torch.Tensor
    valid: torch.Tensor
    padded: torch.Tensor | None = None


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    description: str
    loss_kind: str  # "mse" or "ce"
    input_names: Callable[[RunConfig], tuple[str, ...]]
    output_size: Callable[[RunConfig], int]
    generate: Callable[[RunConfig, int, torch.Generator], Batch]
    baseline: Callable[[RunConfig], float]
    baseline_note: str
    # The best a model with no memory can do, where that beats the baseline (signal tasks: the
    # next value is mostly the current one), and how it is computed.
    memoryless: Callable[[RunConfig], float] | None = None
    memoryless_note: str = ""
    # The loss input noise leaves that no model can remove (with noise > 0), where known.
    noise_floor: Callable[[RunConfig], float] | None = None
    # The steps worth marking on a sequence's charts: (first step, last step, label).
    # (x of one sequence (T, inputs), its padded steps (T,), cfg) -> marks.
    time_marks: Callable[[np.ndarray, np.ndarray, RunConfig], list[TimeMark]] | None = None

    def references(self, cfg: RunConfig) -> list[Reference]:
        """The loss levels worth drawing for ``cfg``: baseline, memoryless, noise floor."""
        levels = [
            Reference(
                "baseline",
                self.baseline(cfg),
                "baseline",
                f"What a model scores by ignoring its inputs ({self.baseline_note}); a curve "
                "that settles here has found only that trivial answer.",
            )
        ]
        if self.memoryless is not None:
            levels.append(
                Reference(
                    "memoryless",
                    self.memoryless(cfg),
                    "no memory",
                    f"The best a model with no memory does ({self.memoryless_note}): below "
                    "this line the model uses memory.",
                )
            )
        if self.noise_floor is not None and cfg.noise > 0:
            floor = self.noise_floor(cfg)
            levels.append(
                Reference(
                    "noise_floor",
                    floor,
                    "noise floor",
                    f"The inputs carry noise of standard deviation {cfg.noise:g}, and what it "
                    f"hides nothing can predict: no model's loss can go below {floor:.3g}.",
                )
            )
        return levels

    def loss_per_step(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """(B, T) loss of each step's prediction; unscored steps hold 0."""
        if self.loss_kind == "mse":
            per_step = ((pred - batch.target) ** 2).mean(dim=-1)
        else:
            per_step = F.cross_entropy(pred.transpose(1, 2), batch.target, reduction="none")
        return torch.where(batch.loss_mask, per_step, torch.zeros_like(per_step))

    def loss(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean loss over all scored steps of the batch (what training minimises)."""
        return self.loss_per_step(pred, batch).sum() / batch.loss_mask.sum().clamp(min=1)

    def loss_per_sample(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """(B,) each sequence's own mean loss over its scored steps."""
        counts = batch.loss_mask.sum(dim=1).clamp(min=1)
        return self.loss_per_step(pred, batch).sum(dim=1) / counts


def _uniform(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=gen)


def _noise(cfg: RunConfig, gen: torch.Generator, *shape: int) -> torch.Tensor:
    return cfg.noise * torch.randn(*shape, generator=gen)


def _adding_batch(
    n: int, lengths: torch.Tensor, t_max: int, cfg: RunConfig, gen: torch.Generator
) -> Batch:
    """Values in [0, 1) and two markers, one in each half of each sequence's own length."""
    steps = torch.arange(t_max)
    valid = steps[None, :] < lengths[:, None]
    values = _uniform(gen, n, t_max) * valid
    half = lengths // 2
    first = (_uniform(gen, n) * half).long()
    second = half + (_uniform(gen, n) * (lengths - half)).long()
    marker = torch.zeros(n, t_max)
    rows = torch.arange(n)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    noisy = (values + _noise(cfg, gen, n, t_max)) * valid
    x = torch.stack([noisy, marker], dim=-1)
    target = torch.zeros(n, t_max, 1)
    last = lengths - 1
    target[rows, last, 0] = values[rows, first] + values[rows, second]
    loss_mask = torch.zeros(n, t_max, dtype=torch.bool)
    loss_mask[rows, last] = True
    return Batch(x, target, loss_mask, valid)


def adding(cfg: RunConfig, n: int, gen: torch.Generator) -> Batch:
    lengths = torch.full((n,), cfg.seq_len)
    return _adding_batch(n, lengths, cfg.seq_len, cfg, gen)


def varlen(cfg: RunConfig, n: int, gen: torch.Generator) -> Batch:
    """The adding problem with lengths drawn from [T/2, T], padded with zeros to T. The answer
    is read at each sequence's own last real step, or (``readout="last_padded"``, the common
    bug) at the last step of the padded batch, after the padding."""
    low = max(2, cfg.seq_len // 2)
    lengths = low + (_uniform(gen, n) * (cfg.seq_len - low + 1)).long()
    batch = _adding_batch(n, lengths, cfg.seq_len, cfg, gen)
    padded = ~batch.valid
    if cfg.readout == "last_real":
        return Batch(batch.x, batch.target, batch.loss_mask, batch.valid, padded)
    target = torch.zeros_like(batch.target)
    target[:, -1] = batch.target[torch.arange(n), lengths - 1]
    loss_mask = torch.zeros_like(batch.loss_mask)
    loss_mask[:, -1] = True
    return Batch(batch.x, target, loss_mask, torch.ones_like(batch.valid), padded)


def copy(cfg: RunConfig, n: int, gen: torch.Generator) -> Batch:
    """k symbols, a lag of blanks, then k 'go' steps on which the symbols must be recalled."""
    k, lag, a = cfg.recall_len, cfg.seq_len, cfg.n_symbols
    t = cfg.total_len
    symbols = (_uniform(gen, n, k) * a).long()
    x = torch.zeros(n, t, a + 2)
    x[:, :k] = F.one_hot(symbols, a + 2).float()
    x[:, k : k + lag, a] = 1.0  # blank
    x[:, k + lag :, a + 1] = 1.0  # go: recall now
    x = x + _noise(cfg, gen, n, t, a + 2)
    target = torch.zeros(n, t, dtype=torch.long)
    target[:, k + lag :] = symbols
    loss_mask = torch.zeros(n, t, dtype=torch.bool)
    loss_mask[:, k + lag :] = True
    return Batch(x, target, loss_mask, torch.ones(n, t, dtype=torch.bool))


def _signal(cfg: RunConfig, gen: torch.Generator, times: torch.Tensor) -> torch.Tensor:
    """Trend plus seasonality, each sequence with its own slope, period and phase. times: (n, T)."""
    n = times.shape[0]
    slope = cfg.trend * (2 * _uniform(gen, n, 1) - 1)
    period = 8 + 16 * _uniform(gen, n, 1)
    phase = 2 * math.pi * _uniform(gen, n, 1)
    span = max(cfg.seq_len, 1)
    return slope * (2 * times / span - 1) + cfg.season * torch.sin(
        2 * math.pi * times / period + phase
    )


def _next_step_batch(values: torch.Tensor, inputs: torch.Tensor) -> Batch:
    """Predict values[:, t + 1] from inputs up to t; the last step has nothing to predict."""
    n, t = values.shape
    target = torch.zeros(n, t, 1)
    target[:, :-1, 0] = values[:, 1:]
    loss_mask = torch.ones(n, t, dtype=torch.bool)
    loss_mask[:, -1] = False
    return Batch(inputs, target, loss_mask, torch.ones(n, t, dtype=torch.bool))


def forecast(cfg: RunConfig, n: int, gen: torch.Generator) -> Batch:
    times = torch.arange(cfg.seq_len, dtype=torch.float32).expand(n, -1)
    observed = _signal(cfg, gen, times) + _noise(cfg, gen, n, cfg.seq_len)
    return _next_step_batch(observed, observed.unsqueeze(-1))


def missing(cfg: RunConfig, n: int, gen: torch.Generator) -> Batch:
    """Forecasting with inputs dropped at ``missing_rate`` (a missing value arrives as 0); with
    ``observed_mask="on"`` a second channel says which were seen (1) and which not (0)."""
    times = torch.arange(cfg.seq_len, dtype=torch.float32).expand(n, -1)
    observed = _signal(cfg, gen, times) + _noise(cfg, gen, n, cfg.seq_len)
    seen = (_uniform(gen, n, cfg.seq_len) >= cfg.missing_rate).float()
    channels = [observed * seen] + ([seen] if cfg.observed_mask == "on" else [])
    return _next_step_batch(observed, torch.stack(channels, dim=-1))


def irregular(cfg: RunConfig, n: int, gen: torch.Generator) -> Batch:
    """Samples at uneven times; each step also sees the gap until the next sample."""
    gaps = -torch.log1p(-_uniform(gen, n, cfg.seq_len))  # exponential, mean 1
    times = torch.cumsum(gaps, dim=1) - gaps[:, :1]
    observed = _signal(cfg, gen, times) + _noise(cfg, gen, n, cfg.seq_len)
    gap_to_next = torch.cat([gaps[:, 1:], torch.zeros(n, 1)], dim=1)
    return _next_step_batch(observed, torch.stack([observed, gap_to_next], dim=-1))


def reset(cfg: RunConfig, n: int, gen: torch.Generator) -> Batch:
    """Latch: output the value shown at the latest marker; a new marker overwrites the memory."""
    t = cfg.seq_len
    values = 2 * _uniform(gen, n, t) - 1
    marker = (_uniform(gen, n, t) < 0.1).float()
    marker[:, 0] = 1.0  # something to hold from the start
    latched = torch.zeros(n, t)
    held = torch.zeros(n)
    for step in range(t):  # T is small; a loop says what the target is more plainly than a scan
        held = torch.where(marker[:, step] > 0, values[:, step], held)
        latched[:, step] = held
    x = torch.stack([values + _noise(cfg, gen, n, t), marker], dim=-1)
    return Batch(
        x,
        latched.unsqueeze(-1),
        torch.ones(n, t, dtype=torch.bool),
        torch.ones(n, t, dtype=torch.bool),
    )


@functools.lru_cache(maxsize=64)
def _sampled_variance(name: str, cfg: RunConfig) -> float:
    """Loss of always predicting the overall mean target, from 2,048 sequences of a fixed seed."""
    batch = TASKS[name].generate(cfg, 2048, torch.Generator().manual_seed(12345))
    scored = batch.target[batch.loss_mask]
    return float(((scored - scored.mean()) ** 2).mean())


def _task_only(cfg: RunConfig) -> RunConfig:
    """Only the task's own settings: the cached references depend on nothing else, and the
    cache stays small."""
    return RunConfig(**{f.name: getattr(cfg, f.name) for f in FIELDS if f.group == "Task"})


def _sampled_baseline(name: str) -> Callable[[RunConfig], float]:
    def baseline(cfg: RunConfig) -> float:
        return _sampled_variance(name, _task_only(cfg))

    return baseline


@functools.lru_cache(maxsize=64)
def _memoryless_loss(name: str, cfg: RunConfig) -> float:
    """The best a model that sees only the current input x_t can do: a least-squares fit of the
    target on every monomial of degree ≤ 3 of x_t's channels, scored on the baseline's 2,048
    fixed-seed sequences. (Within a point of a binned conditional mean of the target given x_t;
    repeating the current value scores worse on every signal task.)"""
    batch = TASKS[name].generate(cfg, 2048, torch.Generator().manual_seed(12345))
    x = batch.x[batch.loss_mask].double()  # (N, channels)
    y = batch.target[batch.loss_mask].double()  # (N, 1)
    columns = [torch.ones(len(x), 1, dtype=x.dtype)]
    for degree in (1, 2, 3):
        for combo in itertools.combinations_with_replacement(range(x.shape[1]), degree):
            columns.append(x[:, list(combo)].prod(dim=1, keepdim=True))
    design = torch.cat(columns, dim=1)
    fit = torch.linalg.lstsq(design, y, driver="gelsd").solution
    return float(((design @ fit - y) ** 2).mean())


def _sampled_memoryless(name: str) -> Callable[[RunConfig], float]:
    def memoryless(cfg: RunConfig) -> float:
        return _memoryless_loss(name, _task_only(cfg))

    return memoryless


_MEMORYLESS_NOTE = (
    "the best fit of the target on the current input alone, a cubic least-squares fit on "
    "sequences of a fixed seed"
)


def _next_value_noise(cfg: RunConfig) -> float:
    """The next observation's own noise, independent of all before it: σ²."""
    return cfg.noise**2


def _latched_value_noise(cfg: RunConfig) -> float:
    """The latch scores the clean value v ~ U(−1, 1), seen once as v + noise: what is left is
    E[Var(v | v + noise)], below σ² (a model can beat σ² here)."""
    s = cfg.noise
    v = torch.linspace(-1, 1, 4001, dtype=torch.float64)
    seen = torch.linspace(-1 - 6 * s, 1 + 6 * s, 4001, dtype=torch.float64)
    weight = torch.exp(-0.5 * ((seen[:, None] - v[None, :]) / s) ** 2)  # p(seen | v)
    mean = (weight * v).sum(1) / weight.sum(1)
    variance = (weight * v**2).sum(1) / weight.sum(1) - mean**2
    return float(((weight.sum(1) / weight.sum()) * variance).sum())


def _marked_steps(label: str) -> Callable[[np.ndarray, np.ndarray, RunConfig], list[TimeMark]]:
    """Steps whose marker channel (input 1) is on, and where padding starts, if it does."""

    def marks(x: np.ndarray, padded: np.ndarray, cfg: RunConfig) -> list[TimeMark]:
        found = [(int(t), int(t), label) for t in np.flatnonzero((x[:, 1] > 0.5) & ~padded)]
        steps = np.flatnonzero(padded)
        if steps.size:
            found.append((int(steps[0]), len(padded) - 1, "padding"))
        return found

    return marks


def _copy_marks(x: np.ndarray, padded: np.ndarray, cfg: RunConfig) -> list[TimeMark]:
    k, lag = cfg.recall_len, cfg.seq_len
    return [(0, k - 1, "symbols"), (k + lag, k + lag + k - 1, "recall")]


def _const(value: float) -> Callable[[RunConfig], float]:
    return lambda cfg: value


_SIGNAL_NOTE = "predicting the mean of all targets (variance, sampled with a fixed seed)"
_ADDING_NOTE = "always predicting 1.0, the mean of the sum: MSE = 2 × 1/12 = 1/6"

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "adding",
            "Adding problem",
            "Each step shows a random value and a marker bit. At the end, output the sum of "
            "the two marked values. One marker falls in each half, so the first value must be "
            "held across up to the whole sequence.",
            "mse",
            lambda c: ("value", "marker"),
            _const(1),
            adding,
            _const(1 / 6),
            _ADDING_NOTE,
            time_marks=_marked_steps("marked"),
        ),
        Task(
            "copy",
            "Copy / delayed recall",
            "See a few symbols, wait through a lag of blanks, then on 'go' recall the symbols "
            "in order. Memory must be written once, kept through the lag, then read.",
            "ce",
            lambda c: tuple(f"sym {i}" for i in range(c.n_symbols)) + ("blank", "go"),
            lambda c: c.n_symbols,
            copy,
            lambda c: math.log(c.n_symbols),
            "a uniform guess over the symbols: cross-entropy = log(alphabet size), averaged over "
            "the recall steps only (papers that score every step of the sequence quote "
            "10·ln 8/(T + 20) for their 10 symbols from 8: the same guess, averaged with the "
            "blank steps, which any model gets right)",
            time_marks=_copy_marks,
        ),
        Task(
            "forecast",
            "Forecasting",
            "Predict the next value of a noisy signal with a trend and a seasonal wave; each "
            "sequence has its own slope, period and phase, inferred from what came before.",
            "mse",
            lambda c: ("value",),
            _const(1),
            forecast,
            _sampled_baseline("forecast"),
            _SIGNAL_NOTE,
            _sampled_memoryless("forecast"),
            _MEMORYLESS_NOTE,
            noise_floor=_next_value_noise,
        ),
        Task(
            "varlen",
            "Variable length (masked)",
            "The adding problem with sequences of different lengths, padded with zeros. The "
            "mask keeps padding out of the loss, the gradients and every trace.",
            "mse",
            lambda c: ("value", "marker"),
            _const(1),
            varlen,
            _const(1 / 6),
            _ADDING_NOTE,
            time_marks=_marked_steps("marked"),
        ),
        Task(
            "missing",
            "Missing values",
            "Forecasting where inputs are dropped at random; a second channel says whether "
            "the value was observed (1) or is missing (0).",
            "mse",
            lambda c: ("value", "observed") if c.observed_mask == "on" else ("value",),
            _const(1),
            missing,
            _sampled_baseline("missing"),
            _SIGNAL_NOTE,
            _sampled_memoryless("missing"),
            _MEMORYLESS_NOTE,
            noise_floor=_next_value_noise,
        ),
        Task(
            "irregular",
            "Irregular sampling",
            "Forecasting a signal sampled at uneven times; a second channel gives the time "
            "until the next sample, which the prediction must account for.",
            "mse",
            lambda c: ("value", "gap to next"),
            _const(1),
            irregular,
            _sampled_baseline("irregular"),
            _SIGNAL_NOTE,
            _sampled_memoryless("irregular"),
            _MEMORYLESS_NOTE,
            noise_floor=_next_value_noise,
        ),
        Task(
            "reset",
            "Latch (forget at markers)",
            "Output the value shown at the most recent marker. Each marker makes the old "
            "memory worthless: the state must be overwritten, not blended.",
            "mse",
            lambda c: ("value", "marker"),
            _const(1),
            reset,
            _sampled_baseline("reset"),
            _SIGNAL_NOTE,
            _sampled_memoryless("reset"),
            _MEMORYLESS_NOTE,
            noise_floor=_latched_value_noise,
            time_marks=_marked_steps("marker"),
        ),
    )
}


def get_task(name: str) -> Task:
    return TASKS[name]
