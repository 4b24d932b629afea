"""Soak: one session trains 10,000 steps the way the dashboard drives it; memory must stay flat.

A ``LiveSession`` on a small config is ticked as the live fragment ticks it (speed "fast"), and
after every tick every dashboard figure is built and serialised, as a redraw does. Every
``--every`` steps it samples the process RSS (``VmRSS`` from /proc/self/status), the length of
the bounded records and, with ``--tracemalloc``, the Python heap tracemalloc sees (numpy arrays
included; torch's own tensors are not traced; it slows training by about a third, so it is off
by default). Target (issue: classroom-grade robustness): over the second half of the run RSS
grows by less than ``--flat-mb`` MB (and the traced heap by less than a tenth of that).
About 3 minutes on a quiet 2-core machine (about 5 with --tracemalloc).
Run: python -m bench.soak [--steps 10000] [--every 1000] [--no-figures] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import plotly.io as pio

from bench.bench_figures import figure_builders
from gru_viz.config import RunConfig
from gru_viz.records import _trace_bytes
from gru_viz.session import LiveSession

SMALL = RunConfig(seq_len=20, hidden_size=16, batch_size=32)


def rss_mb(pid: str = "self") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line (not Linux?)")


def record_sizes(live: LiveSession) -> tuple[int, int, float]:
    """(history rows, probe snapshots, MB of probe traces kept) over every model."""
    rows = snaps = trace = 0
    for slot in live.trainer.slots.values():
        rows += len(slot.history) + len(slot.probe_series)
        snaps += len(slot.snapshots.steps)
        kept = {id(r): r for r in [*slot.snapshots.results, slot.latest]}
        trace += sum(_trace_bytes(r) for r in kept.values())
    return rows, snaps, trace / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1_000)
    parser.add_argument("--flat-mb", type=float, default=5.0)
    parser.add_argument("--no-figures", action="store_true", help="train only, draw nothing")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the heap")
    args = parser.parse_args()
    import streamlit.elements.lib.streamlit_plotly_theme  # noqa: F401  (registers "streamlit")

    pio.templates.default = "streamlit"  # the dashboard's template
    if args.tracemalloc:
        tracemalloc.start()
    live = LiveSession(SMALL)
    live.speed, live.playing = "fast", True
    print(
        f"soak: {args.steps:,} steps of {', '.join(SMALL.models)} on {SMALL.task}, "
        f"T={SMALL.total_len}, H={SMALL.hidden_size}, B={SMALL.batch_size}; "
        f"figures {'off' if args.no_figures else 'on'}"
    )
    header = (
        f"{'step':>7}{'time s':>8}{'steps/s':>9}{'RSS MB':>9}{'traced MB':>11}"
        f"{'rows':>7}{'probes':>8}{'traces MB':>11}"
    )
    print(header)
    samples: list[tuple[int, float, float]] = []
    start = last_time = time.perf_counter()
    last_step, next_sample = 0, 0
    while True:
        step = live.trainer.step_count
        if step >= next_sample:
            gc.collect()
            now = time.perf_counter()
            traced = tracemalloc.get_traced_memory()[0] / 1e6 if tracemalloc.is_tracing() else 0
            rss = rss_mb()
            rows, snaps, trace = record_sizes(live)
            rate = (step - last_step) / (now - last_time) if now > last_time else 0.0
            samples.append((step, rss, traced))
            print(
                f"{step:>7,}{now - start:>8.1f}{rate:>9.0f}{rss:>9.1f}{traced:>11.2f}"
                f"{rows:>7}{snaps:>8}{trace:>11.2f}",
                flush=True,
            )
            last_step, last_time = step, now
            next_sample += args.every
            if step >= args.steps:
                break
        if not live.tick():
            raise SystemExit(f"training stopped at step {step}: {live.trainer.slots}")
        if not args.no_figures:
            for build in figure_builders(live.trainer).values():
                build().to_json()
    half = [s for s in samples if s[0] >= args.steps // 2]
    rss_growth = half[-1][1] - half[0][1]
    traced_growth = half[-1][2] - half[0][2]
    flat = rss_growth < args.flat_mb and traced_growth < args.flat_mb / 10
    print(
        f"second half (steps {half[0][0]:,} to {half[-1][0]:,}): RSS {rss_growth:+.1f} MB, "
        + (
            f"traced heap {traced_growth:+.2f} MB (limits {args.flat_mb:g} and "
            f"{args.flat_mb / 10:g} MB)"
            if args.tracemalloc
            else f"heap not traced (limit {args.flat_mb:g} MB)"
        )
        + f"; whole run RSS {samples[-1][1] - samples[0][1]:+.1f} MB "
        f"in {time.perf_counter() - start:.0f} s"
    )
    print(f"memory flat: {'OK' if flat else 'NOT'}")


if __name__ == "__main__":
    main()
