"""Seeded synthetic sequence tasks, all with one signature: ``generate(cfg, n, generator)``.

Every task returns a ``Batch`` of shape-documented tensors and knows its trivial-baseline loss:
what predicting the mean (regression) or a uniform guess over the symbols (classification)
scores, so every loss chart can draw the line a model must beat to have learned anything.

A task may read several ``heads`` off the one readout (the multi-task problem: a regression and
a classification head on the same state); its loss is then each head's loss over that head's
own baseline, weighted, so the total's baseline is 1.
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
        classification, (B, T, output_size) float32 for several heads (each head's target in
        its own outputs, a class one-hot); positions outside ``loss_mask`` hold zeros and are
        never read.
    loss_mask: (B, T) bool, the steps whose prediction is scored.
    valid: (B, T) bool, False on steps that cannot affect the loss (padding after each
        sequence's scored end); traces hide those steps.
    padded: (B, T) bool, True on padding after a sequence ends (None: there is none). Padding
        is valid when the answer is read after it (``readout="last_padded"``).
    head_weight: for a task with two heads, the weight w of the first head's loss (the second
        gets 1 − w); the batch carries it so that it is scored as it was drawn (None: one head).
    """

    x: torch.Tensor
    target: torch.Tensor
    loss_mask: torch.Tensor
    valid: torch.Tensor
    padded: torch.Tensor | None = None
    head_weight: float | None = None


@dataclass(frozen=True)
class Head:
    """One of several outputs read off the same state (torch-free: the figures read it too).

    Its loss is recorded every training step in the history columns ``loss_column`` (raw) and
    ``share_column`` (over its own baseline, so 1 means nothing learned on this head).
    """

    id: str  # short and stable: names the history and CSV columns
    title: str  # "sum head": for legends
    kind: str  # "mse" or "ce"
    channels: tuple[int, int]  # [start, stop) of the readout's outputs this head reads
    baseline: float
    baseline_note: str

    @property
    def loss_column(self) -> str:
        return f"loss_head_{self.id}"

    @property
    def share_column(self) -> str:
        return f"share_head_{self.id}"


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    description: str
    loss_kind: str  # "mse", "ce", or "heads" (several heads, scored by ``score``)
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
    # loss_kind "heads": the heads, in the readout's channel order, and
    # ``score(pred, batch) -> (B, T)`` their weighted loss at every step; ``head_terms(pred,
    # target)`` gives each head's own (B, T) loss, in the order of ``heads``.
    heads: tuple[Head, ...] = ()
    score: Callable[[torch.Tensor, Batch], torch.Tensor] | None = None
    head_terms: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]] | None = None

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
        elif self.loss_kind == "ce":
            per_step = F.cross_entropy(pred.transpose(1, 2), batch.target, reduction="none")
        else:
            per_step = self.score(pred, batch)
        return torch.where(batch.loss_mask, per_step, torch.zeros_like(per_step))

    def loss(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean loss over all scored steps of the batch (what training minimises)."""
        return self.loss_per_step(pred, batch).sum() / batch.loss_mask.sum().clamp(min=1)

    def loss_per_sample(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """(B,) each sequence's own mean loss over its scored steps."""
        counts = batch.loss_mask.sum(dim=1).clamp(min=1)
        return self.loss_per_step(pred, batch).sum(dim=1) / counts

    def head_losses(self, pred: torch.Tensor, batch: Batch) -> dict[str, float]:
        """Each head's mean loss over the scored steps, raw (``Head.loss_column``) and over its
        own baseline (``Head.share_column``); {} for a task with one head."""
        if not self.heads:
            return {}
        columns = {}
        count = batch.loss_mask.sum().clamp(min=1)
        with torch.no_grad():
            terms = self.head_terms(pred, batch.target)
            for head, term in zip(self.heads, terms, strict=True):
                scored = torch.where(batch.loss_mask, term, torch.zeros_like(term))
                value = float(scored.sum() / count)
                columns[head.loss_column] = value
                columns[head.share_column] = value / head.baseline
        return columns


def _uniform(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=gen)


def _noise(cfg: RunConfig, gen: torch.Generator, *shape: int) -> torch.Tensor:
    return cfg.noise * torch.randn(*shape, generator=gen)


def _marked_pair(
    n: int, lengths: torch.Tensor, t_max: int, cfg: RunConfig, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Values in [0, 1) and two markers, one in each half of each sequence's own length.

    Returns the inputs x (n, t_max, 2): value (plus noise) and marker; the two marked values,
    without the noise, (n,) each, first and second; and valid (n, t_max).
    """
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
    return x, values[rows, first], values[rows, second], valid


def _adding_batch(
    n: int, lengths: torch.Tensor, t_max: int, cfg: RunConfig, gen: torch.Generator
) -> Batch:
    """The sum of the two marked values, scored at each sequence's own last step."""
    x, first, second, valid = _marked_pair(n, lengths, t_max, cfg, gen)
    rows = torch.arange(n)
    target = torch.zeros(n, t_max, 1)
    last = lengths - 1
    target[rows, last, 0] = first + second
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


def multitask(cfg: RunConfig, n: int, gen: torch.Generator) -> Batch:
    """The adding problem's inputs, read by two heads at the last step. Target channel 0: the
    sum of the two marked values (regression); channels 1-2: which of them is larger, one-hot
    (class 0: the first, class 1: the second). The readout's outputs are laid out the same way:
    the sum, then the two class logits."""
    t = cfg.seq_len
    x, first, second, valid = _marked_pair(n, torch.full((n,), t), t, cfg, gen)
    larger = (second > first).long()
    target = torch.zeros(n, t, 3)
    target[:, -1, 0] = first + second
    target[:, -1, 1:] = F.one_hot(larger, 2).float()
    loss_mask = torch.zeros(n, t, dtype=torch.bool)
    loss_mask[:, -1] = True
    return Batch(x, target, loss_mask, valid, head_weight=cfg.head_weight)


def head_terms(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each head's own loss at every step, (B, T) each: the sum head's squared error (output
    0) and the class head's cross-entropy (logits in outputs 1-2; the target one-hot there)."""
    squared = (pred[..., 0] - target[..., 0]) ** 2
    cross_entropy = -(target[..., 1:] * torch.log_softmax(pred[..., 1:], dim=-1)).sum(dim=-1)
    return squared, cross_entropy


def two_head_loss(pred: torch.Tensor, batch: Batch) -> torch.Tensor:
    """(B, T) w * (squared error / 1/6) + (1 - w) * (cross-entropy / ln 2), w the batch's
    head_weight: each head's loss over its own baseline (always answering 1.0 for the sum; a
    coin toss for the class), so 1 means nothing learned on either head, whatever w."""
    squared, cross_entropy = head_terms(pred, batch.target)
    w = batch.head_weight
    return w * squared / (1 / 6) + (1 - w) * cross_entropy / math.log(2)


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
# The two heads of the multi-task problem, in the readout's output order (see ``multitask``).
MULTITASK_HEADS = (
    Head("sum", "sum head", "mse", (0, 1), 1 / 6, _ADDING_NOTE),
    Head(
        "larger",
        "larger head",
        "ce",
        (1, 3),
        math.log(2),
        "a coin toss, P = 1/2 for each of the two classes: cross-entropy = ln 2 (the two "
        "values are drawn alike, so neither class is more common)",
    ),
)

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
        Task(
            "multitask",
            "Multi-task (two heads)",
            "The adding problem's inputs, with two heads on the same state at the last step: a "
            "regression head outputs the sum of the two marked values, a classification head "
            "says which of them is larger. The head weight sets how much each head's loss "
            "counts; both need the first value held until the second arrives.",
            "heads",
            lambda c: ("value", "marker"),
            _const(3),
            multitask,
            _const(1),
            "each head's loss over its own baseline, weighted by the head weight: the sum head's "
            "1/6 (always answering 1.0) and the class head's ln 2 (a coin toss), so 1 means "
            "nothing learned on either head",
            time_marks=_marked_steps("marked"),
            heads=MULTITASK_HEADS,
            score=two_head_loss,
            head_terms=head_terms,
        ),
    )
}


def get_task(name: str) -> Task:
    return TASKS[name]
