"""The cost budget's estimate of a training step against the time it really takes here.

``gru_viz.config.estimated_step_seconds`` refuses settings whose step would starve a shared
server; its constants were fitted on the 2-core reference machine. This measures a range of
settings (probe included, averaged over a probe period) on one torch thread, as the dashboard
runs, and prints measured / estimated. Ratios far from 1 on a server mean its limit is looser
or tighter than MAX_STEP_SECONDS says: refit the constants there.
Run: python -m bench.bench_step_cost
"""

from __future__ import annotations

import statistics
import time

import torch

from gru_viz.config import MAX_STEP_SECONDS, RunConfig, estimated_step_seconds
from gru_viz.trainer import Trainer

SETTINGS = (
    {},
    {"batch_size": 16, "seq_len": 200, "hidden_size": 128, "probe_every": 200},
    {"batch_size": 4, "seq_len": 200, "hidden_size": 128, "num_layers": 3, "probe_every": 200},
    {"batch_size": 1, "seq_len": 200, "hidden_size": 8, "probe_every": 1},
    {"batch_size": 1, "seq_len": 200, "hidden_size": 8, "probe_every": 200},
    {"batch_size": 1, "seq_len": 100, "hidden_size": 128, "probe_samples": 32, "probe_every": 1},
    {"batch_size": 256, "seq_len": 100, "hidden_size": 32, "probe_every": 200},
    {"batch_size": 64, "seq_len": 200, "hidden_size": 64, "models": ("gru", "rnn", "lstm")},
    {"batch_size": 8, "seq_len": 100, "hidden_size": 64, "size_by": "params", "probe_every": 5},
    {"task": "copy", "seq_len": 100, "recall_len": 10, "hidden_size": 64},
)


def measured_seconds(cfg: RunConfig) -> float:
    trainer = Trainer(cfg)
    trainer.step(1)  # warm-up: the first step builds the optimizer and probes
    steps = max(cfg.probe_every, 3) if cfg.probe_every <= 20 else 3
    start = time.perf_counter()
    trainer.step(steps)
    return (time.perf_counter() - start) / steps


def main() -> None:
    torch.set_num_threads(1)
    print(f"{'measured ms':>12}{'estimated ms':>14}{'ratio':>7}  setting")
    ratios = []
    for changes in SETTINGS:
        cfg = RunConfig(**changes)
        measured, estimated = measured_seconds(cfg), estimated_step_seconds(cfg)
        ratios.append(measured / estimated)
        print(f"{measured * 1e3:>12.1f}{estimated * 1e3:>14.1f}{ratios[-1]:>7.2f}  {changes}")
    print(
        f"measured / estimated: median {statistics.median(ratios):.2f}, "
        f"range {min(ratios):.2f}-{max(ratios):.2f}; settings over {MAX_STEP_SECONDS:g} s "
        "estimated are refused"
    )


if __name__ == "__main__":
    main()
