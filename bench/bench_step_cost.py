"""The cost budget's estimates against the time the work really takes here.

``gru_viz.config`` refuses settings whose training step, probe or rebuild would stall a shared
server (``cost_problem``), and training through an intervention where that would
(``intervention_problem``); its constants were fitted on the 2-core reference machine. This
measures each cost on one torch thread, as the dashboard runs, for a range of settings (the
heaviest setup admitted before the probe was bounded, W, and settings past the limits
included), and prints measured / estimated. Times are the best of a few repeats, so a busy
machine inflates them less. The constants are sized for a busy reference machine: idle, it
measures about 0.3-0.6 of the estimates; at a load of 5 on its 2 cores, 0.9-1.7. Ratios far
from that on a server mean its limits are looser or tighter than they say: refit the constants
there with ``--fit``.

    python -m bench.bench_step_cost            # the table (about 2 minutes)
    python -m bench.bench_step_cost --fit      # least-squares constants from a grid of kinds
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch

from bench.setups import W
from gru_viz import config
from gru_viz.config import (
    MAX_BUILD_SECONDS,
    MAX_PROBE_SECONDS,
    MAX_STEP_SECONDS,
    RunConfig,
    cost_problem,
    estimated_build_seconds,
    estimated_probe_seconds,
    estimated_train_seconds,
)
from gru_viz.kinds import KINDS
from gru_viz.models import Intervention
from gru_viz.trainer import Trainer

SETTINGS = (
    {},
    W,
    {**W, "num_layers": 1},
    {**W, "num_layers": 2, "seq_len": 100, "probe_samples": 8},
    {"batch_size": 16, "seq_len": 200, "hidden_size": 128, "probe_every": 200},
    {"batch_size": 4, "seq_len": 200, "hidden_size": 128, "num_layers": 3, "probe_every": 200},
    {"batch_size": 1, "seq_len": 200, "hidden_size": 8, "probe_every": 1},
    {"batch_size": 1, "seq_len": 100, "hidden_size": 128, "probe_samples": 32, "probe_every": 1},
    {"batch_size": 256, "seq_len": 100, "hidden_size": 32, "probe_every": 200},
    {"batch_size": 64, "seq_len": 200, "hidden_size": 64, "models": ("gru", "rnn", "lstm")},
    {"batch_size": 8, "seq_len": 100, "hidden_size": 64, "size_by": "params", "probe_every": 5},
    {"task": "copy", "seq_len": 100, "recall_len": 10, "hidden_size": 64},
    {"models": ("gru", "gru_cho", "blog", "blog_tied", "mgu")},
    {"models": ("gru_cho", "mgu"), "seq_len": 200, "hidden_size": 64, "batch_size": 32},
    {"models": ("blog",), "seq_len": 100, "hidden_size": 128, "num_layers": 2, "batch_size": 8},
)
REPEATS = 2


@contextlib.contextmanager
def no_budget() -> Iterator[None]:
    """Build configs past the limits too (to measure what the budget refuses)."""
    saved = config.MAX_STEP_SECONDS, config.MAX_PROBE_SECONDS, config.MAX_BUILD_SECONDS
    config.MAX_STEP_SECONDS = config.MAX_PROBE_SECONDS = config.MAX_BUILD_SECONDS = math.inf
    try:
        yield
    finally:
        config.MAX_STEP_SECONDS, config.MAX_PROBE_SECONDS, config.MAX_BUILD_SECONDS = saved


def best(work: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(cfg: RunConfig) -> dict[str, float]:
    """Seconds of each cost of ``cfg``: build (Trainer: models and first probe), one probe, one
    training step without a probe, one with an intervention in training (unrolled)."""
    with no_budget():
        cfg = cfg.replace(probe_every=1000)  # no probe inside the timed steps
    build = best(lambda: Trainer(cfg))
    trainer = Trainer(cfg)
    trainer.step(1)  # builds the optimizers
    probe = best(trainer.probe_all)
    train = best(lambda: trainer.step(1), REPEATS + 1)
    # Ablation reaches every model (a gate clamp only the GRUs): all train unrolled.
    trainer.set_interventions(Intervention(ablate_units=(0,)), in_training=True)
    unrolled = best(lambda: trainer.step(1))
    return dict(build=build, probe=probe, train=train, unrolled=unrolled)


def estimates(cfg: RunConfig) -> dict[str, float]:
    return dict(
        build=estimated_build_seconds(cfg),
        probe=estimated_probe_seconds(cfg),
        train=estimated_train_seconds(cfg),
        unrolled=estimated_train_seconds(cfg, unrolled=True),
    )


def describe(changes: dict) -> str:
    if changes is W:
        return "W"
    if all(changes.get(k) == v for k, v in W.items() if k in changes) and len(changes) > 1:
        return "W with " + ", ".join(f"{k}={v}" for k, v in changes.items() if W[k] != v)
    return str(changes)


def table() -> None:
    costs = ("build", "probe", "train", "unrolled")
    print("seconds measured / estimated (ratio); admitted: what today's budget says")
    print(f"{'':>2}" + "".join(f"{c:>22}" for c in costs) + "  admitted  setting")
    ratios: dict[str, list[float]] = {c: [] for c in costs}
    for changes in SETTINGS:
        with no_budget():
            cfg = RunConfig(**changes)
        problem = cost_problem(cfg)
        measured, estimated = measure(cfg), estimates(cfg)
        cells = []
        for cost in costs:
            ratio = measured[cost] / estimated[cost]
            ratios[cost].append(ratio)
            cells.append(f"{measured[cost]:>8.3f} /{estimated[cost]:>7.3f} ({ratio:.2f})")
        verdict = "yes" if problem is None else "no: " + problem.split(":")[1].strip()[:30]
        print("  " + "".join(f"{c:>22}" for c in cells) + f"  {verdict:<8}  {describe(changes)}")
    for cost in costs:
        r = ratios[cost]
        print(
            f"{cost:>9}: measured / estimated median {statistics.median(r):.2f}, "
            f"range {min(r):.2f}-{max(r):.2f}"
        )
    print(
        f"limits: step (probe's share included) {MAX_STEP_SECONDS:g} s, probe "
        f"{MAX_PROBE_SECONDS:g} s, build {MAX_BUILD_SECONDS:g} s; training through an "
        f"intervention is held to the step limit"
    )


# -- refitting ------------------------------------------------------------------------------
GRID = (  # (hidden, rows, time steps, layers), per kind
    (8, 1, 100, 1),
    (32, 16, 50, 1),
    (64, 64, 100, 1),
    (128, 1, 200, 1),
    (128, 32, 100, 1),
    (128, 64, 50, 1),
    (64, 8, 200, 2),
    (128, 32, 100, 2),
    (32, 16, 200, 3),
)


def fit() -> None:
    """Least-squares constants per cost, from single-model settings of every kind."""
    rows: dict[str, list[tuple[list[float], float]]] = {
        "fused train": [],
        "loop train": [],
        "probe": [],
        "build": [],
    }
    for name in KINDS:
        for hidden, batch, steps, layers in GRID:
            changes = dict(models=(name,), hidden_size=hidden, batch_size=batch)
            changes.update(seq_len=steps, num_layers=layers, probe_samples=min(batch, 32))
            with no_budget():
                cfg = RunConfig(**changes)
            got = measure(cfg)
            ((squared, width, fused),) = config._model_sizes(cfg)
            t, n, s = steps * layers, steps * steps * layers, min(batch, 32)
            loop = [t, t * squared * batch, n * batch * width]
            if fused:
                rows["fused train"].append(([t, t * squared * batch], got["train"]))
            else:
                rows["loop train"].append((loop, got["train"]))
            rows["loop train"].append((loop, got["unrolled"]))
            quad = (layers - 1) * steps * steps * s * width
            rows["probe"].append(([t, t * squared * s, quad], got["probe"]))
            rows["build"].append(([1.0], got["build"] - got["probe"]))
            print(f"  {name:>9} {changes}: " + ", ".join(f"{k} {v:.3f}" for k, v in got.items()))
    names = {
        "fused train": ("STEP_OVERHEAD_S", "ROW_S"),
        "loop train": ("LOOP_OVERHEAD_S", "LOOP_ROW_S", "SLICE_S"),
        "probe": ("PROBE_OVERHEAD_S", "PROBE_ROW_S", "SLICE_S"),
        "build": ("BUILD_S",),
    }
    for cost, data in rows.items():
        x = np.array([features for features, _ in data])
        y = np.array([seconds for _, seconds in data])
        # Relative error matters, not absolute: weight each row by 1 / its time.
        coef, *_ = np.linalg.lstsq(x / y[:, None], np.ones_like(y), rcond=None)
        fitted = ", ".join(f"{n} {c:.2e}" for n, c in zip(names[cost], coef, strict=True))
        current = ", ".join(f"{getattr(config, n):.2e}" for n in names[cost])
        ratio = y / (x @ coef)
        print(
            f"{cost:>12}: {fitted}  (now {current}); measured / fit "
            f"{ratio.min():.2f}-{ratio.max():.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit the constants from a grid")
    args = parser.parse_args()
    torch.set_num_threads(1)
    Trainer(RunConfig()).step(2)  # the first optimizer of a process imports torch._dynamo
    fit() if args.fit else table()


if __name__ == "__main__":
    main()
