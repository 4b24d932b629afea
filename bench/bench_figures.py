"""Time every dashboard figure, built and serialised, against the 100 ms redraw budget.

A real ``Trainer`` (2 models, 8 probe samples, H=32) trains 40 steps (probes at 0, 20 and 40),
then each builder and ``fig.to_json()`` are timed separately: the median of ``--repeats`` runs
after one warm-up, for T=50 and T=100. The figures draw no model, so the numbers depend only on
the sizes of the records and on the plotly template in force (plotly's default, as in the
report; Streamlit's, as in the dashboard; or none). Target (issue: figures): building all
figures takes well under 100 ms.
Run: python -m bench.bench_figures [--repeats 20] [--template plotly|streamlit|none]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import plotly.io as pio

import gru_viz  # noqa: F401  (sets one torch thread, as the app does)
from gru_viz import plots
from gru_viz.config import RunConfig
from gru_viz.trainer import Trainer

BUDGET_MS = 100.0


def figure_builders(trainer: Trainer) -> dict[str, Callable]:
    """Every figure the dashboard and the report draw, for probe sample 0, cursor mid-sequence."""
    cfg, task, slots, batch = trainer.cfg, trainer.task, trainer.slots, trainer.probe_batch
    probes = {k: s.latest for k, s in slots.items()}
    histories = {k: s.history for k, s in slots.items()}
    snapshots = {k: s.snapshots for k, s in slots.items()}
    series = {k: s.probe_series for k, s in slots.items()}
    x, target = batch.x.numpy(), batch.target.numpy()
    loss_mask, valid = batch.loss_mask.numpy(), batch.valid.numpy()
    predictions = {k: p.prediction for k, p in probes.items()}
    names = task.input_names(cfg)
    cursor = cfg.total_len // 2
    return {
        "loss": lambda: plots.loss_figure(histories, task.references(cfg)),
        "grad_norm": lambda: plots.grad_norm_figure(histories, cfg.clip_norm),
        "grad_h": lambda: plots.grad_h_figure(probes, snapshots, None, cursor),
        "prediction": lambda: plots.prediction_figure(
            predictions, target, loss_mask, valid, task.loss_kind, 0, cursor
        ),
        "hidden_state": lambda: plots.hidden_state_figure(probes, 0, cursor=cursor),
        "gate": lambda: plots.gate_figure(probes, 0, cursor=cursor),
        "input": lambda: plots.input_figure(x, names, 0, valid, cursor),
        "sigma": lambda: plots.sigma_figure(series),
        "saturation": lambda: plots.saturation_figure(probes),
    }


def median_ms(function: Callable, repeats: int) -> tuple[float, object]:
    result = function()  # warm-up: plotly imports its validators lazily on first use
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def verdict(total: float) -> str:
    return f"{total:6.1f} ms (budget {BUDGET_MS:.0f} ms, {total / BUDGET_MS:.2f}×) → " + (
        "OK" if total < BUDGET_MS else "OVER"
    )


def bench(seq_len: int, repeats: int) -> None:
    cfg = RunConfig(seq_len=seq_len)
    trainer = Trainer(cfg)
    trainer.step(40)
    print(
        f"\nT={seq_len}: models {', '.join(cfg.models)}, {cfg.probe_samples} probe samples, "
        f"H={cfg.hidden_size}, step {trainer.step_count}, template {pio.templates.default}"
    )
    print(f"{'figure':<14}{'build ms':>10}{'to_json ms':>12}{'JSON kB':>10}")
    build_total = json_total = 0.0
    for name, build in figure_builders(trainer).items():
        build_ms, figure = median_ms(build, repeats)
        json_ms, text = median_ms(figure.to_json, repeats)
        build_total, json_total = build_total + build_ms, json_total + json_ms
        print(f"{name:<14}{build_ms:>10.2f}{json_ms:>12.2f}{len(text) / 1000:>10.1f}")
    print(f"{'all':<14}{build_total:>10.2f}{json_total:>12.2f}")
    print(f"all figures:           {verdict(build_total)}")
    print(f"all figures + to_json: {verdict(build_total + json_total)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seq-len", type=int, nargs="+", default=[50, 100])
    parser.add_argument(
        "--template",
        choices=("plotly", "streamlit", "none"),
        default="plotly",
        help="the default template figures pick up (each figure copies it when built)",
    )
    args = parser.parse_args()
    if args.template == "streamlit":
        import streamlit.elements.plotly_chart  # noqa: F401  (registers and selects its theme)
    elif args.template == "none":
        pio.templates.default = None
    for seq_len in args.seq_len:
        bench(seq_len, args.repeats)


if __name__ == "__main__":
    main()
