"""One dashboard tick on the default config: how much of it is not training.

A tick trains for the speed's time budget (probing on its cadence), then rebuilds and
serialises every figure. Overhead = probe time + figure building + JSON, as a share of the whole
tick. Target (issue: dashboard): under 30 % on the default config. Streamlit's own template is
used, as in the dashboard. Run: python -m bench.bench_tick [--ticks 10] [--speed normal]
"""

from __future__ import annotations

import argparse
import statistics
import time

import plotly.io as pio

from bench.bench_figures import figure_builders
from gru_viz.config import RunConfig
from gru_viz.session import SPEEDS, LiveSession

TARGET = 0.30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--speed", choices=list(SPEEDS), default="normal")
    args = parser.parse_args()
    import streamlit.elements.lib.streamlit_plotly_theme  # noqa: F401  (registers "streamlit")

    pio.templates.default = "streamlit"
    session = LiveSession(RunConfig())
    session.speed, session.playing = args.speed, True
    session.tick()  # the short first tick after Play, and warm-up
    rows = []
    for _ in range(args.ticks):
        probe_before = session.trainer.probe_seconds
        steps_before = session.trainer.step_count
        start = time.perf_counter()
        session.tick()
        trained = time.perf_counter() - start
        probing = session.trainer.probe_seconds - probe_before
        drawn = time.perf_counter()
        for build in figure_builders(session.trainer).values():
            build().to_json()
        drawing = time.perf_counter() - drawn
        total = trained + drawing
        rows.append((session.trainer.step_count - steps_before, total, probing, drawing))
        print(
            f"steps {rows[-1][0]:3d}  tick {total * 1e3:6.0f} ms  probes {probing * 1e3:5.0f} ms"
            f"  figures+json {drawing * 1e3:5.0f} ms  overhead {(probing + drawing) / total:.0%}"
        )
    share = statistics.median((p + d) / t for _, t, p, d in rows)
    print(
        f"median overhead beyond training: {share:.0%} of a tick (target < {TARGET:.0%}) -> "
        f"{'OK' if share < TARGET else 'OVER'}; "
        f"{statistics.median(s for s, *_ in rows)} steps per tick at speed '{args.speed}'"
    )


if __name__ == "__main__":
    main()
