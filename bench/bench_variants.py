"""Training-step time of every model kind relative to the fused torch.nn.GRU (kinds.step_cost).

One forward + backward pass (the readout and an MSE loss included, as the trainer runs it) at
batch 64, 50 time steps, 32 units, one layer, one torch thread. All kinds run interleaved in one
process: each round times every kind, in a rotating order, a few times and keeps the fastest, so
a noisy shared machine slows them alike; a kind's ratio is the median over the rounds of its
time over the GRU's time in the same round. ``gru_viz.kinds.KINDS[kind].step_cost`` holds the
ratios of a run on the reference machine (the last column, for comparison).

The probe column is the same for the probe's path (``models.unroll`` with recording, 8 samples,
and the per-step gradients ∂L/∂h_t), relative to the GRU's probe: every kind, fused or not, is
unrolled there, so the GRU variants cost about what the GRU does.
Run: python -m bench.bench_variants [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import gru_viz  # noqa: F401  (sets one torch thread, as the app does)
from gru_viz.kinds import KINDS, MODEL_KINDS
from gru_viz.models import build_model, unroll

BATCH, STEPS, HIDDEN, INPUTS, OUTPUTS, PROBE_SAMPLES = 64, 50, 32, 2, 1, 8


def train_seconds(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    for p in model.parameters():
        p.grad = None
    start = time.perf_counter()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    return time.perf_counter() - start


def probe_seconds(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    start = time.perf_counter()
    out = unroll(model, x[:PROBE_SAMPLES], record=True)
    loss = ((out.output - y[:PROBE_SAMPLES]) ** 2).sum()
    torch.autograd.grad(loss, [h for states in out.states for h in states])
    return time.perf_counter() - start


def ratios(measure, models: dict, x, y, rounds: int, repeats: int):
    """Per kind: each round's fastest of ``repeats`` over the GRU's in the same round, and the
    fastest times themselves."""
    kinds = list(models)
    out: dict[str, list[float]] = {k: [] for k in kinds}
    seconds: dict[str, list[float]] = {k: [] for k in kinds}
    for round_ in range(rounds):
        order = kinds[round_ % len(kinds) :] + kinds[: round_ % len(kinds)]
        best = {k: min(measure(models[k], x, y) for _ in range(repeats)) for k in order}
        for kind in kinds:
            out[kind].append(best[kind] / best["gru"])
            seconds[kind].append(best[kind])
    return out, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3, help="per kind and round; fastest kept")
    args = parser.parse_args()
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, STEPS, INPUTS, generator=generator)
    y = torch.rand(BATCH, STEPS, OUTPUTS, generator=generator)
    models = {k: build_model(k, INPUTS, HIDDEN, 1, OUTPUTS, seed=0) for k in MODEL_KINDS}
    for model in models.values():  # warm-up: first calls allocate and dispatch slowly
        for _ in range(3):
            train_seconds(model, x, y)
            probe_seconds(model, x, y)
    train, train_s = ratios(train_seconds, models, x, y, args.rounds, args.repeats)
    probe, _ = ratios(probe_seconds, models, x, y, args.rounds, args.repeats)
    print(
        f"forward + backward, B={BATCH} T={STEPS} H={HIDDEN}, 1 thread, {args.rounds} rounds; "
        f"x GRU = median of per-round ratios to the fused torch.nn.GRU"
    )
    header = f"{'kind':<10}{'title':<27}{'ms':>7}{'x GRU':>7}{'p25-p75':>11}"
    print(f"{header}{'probe x GRU':>13}{'step_cost':>11}")
    for kind in MODEL_KINDS:
        q1, _, q3 = statistics.quantiles(train[kind], n=4)
        print(
            f"{kind:<10}{KINDS[kind].title:<27}{statistics.median(train_s[kind]) * 1e3:>7.2f}"
            f"{statistics.median(train[kind]):>7.2f}{f'{q1:.2f}-{q3:.2f}':>11}"
            f"{statistics.median(probe[kind]):>13.2f}{KINDS[kind].step_cost:>11.2f}"
        )


if __name__ == "__main__":
    main()
