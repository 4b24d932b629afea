"""Length sweeps (gru_viz.sweep and ``python -m gru_viz sweep``): the plan refuses bad arguments
with one line, every row's final loss is ``recent_loss`` of an identical Trainer run, the
incremental API gives the one-shot rows, and cancelling keeps only finished runs."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
import pytest

from gru_viz import sweep, sweep_report
from gru_viz.cli import main
from gru_viz.config import ConfigError, RunConfig
from gru_viz.numbers import recent_loss
from gru_viz.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--hidden-size", "4", "--batch-size", "4", "--probe-every", "5", "--probe-samples", "2"]
SWEEP = ["sweep", "--task", "adding", "--lengths", "5,8", "--models", "gru,rnn"]
SWEEP += ["--steps", "3", "--seeds", "0,1", *TINY]
BASE = RunConfig(task="adding", hidden_size=4, batch_size=4, probe_every=5, probe_samples=2)


def run_cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    return main(list(argv), stderr=err), err.getvalue()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny sweep through the CLI, progress bar on: (stderr, folder)."""
    out = tmp_path_factory.mktemp("sweep")
    code, text = run_cli(*SWEEP, "--out", str(out))
    assert code == 0, text
    return text, out


@pytest.fixture(scope="module")
def one_shot():
    return sweep.run_sweep(sweep.SweepPlan(BASE, (5, 8), (0, 1), 3))


# -- arguments ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, says",
    [
        (["--lengths", ""], "--lengths: give one or more whole numbers"),
        (["--lengths", " , "], "--lengths: give one or more whole numbers"),
        (["--lengths", "10,x"], "--lengths: 'x' is not a whole number"),
        (["--lengths", "10,,20"], "--lengths: empty item"),
        (["--lengths", "10,2.5"], "--lengths: '2.5' is not a whole number"),
        (["--lengths", "3,10"], "Sequence length / lag: 3 is outside 5 to 200"),
        (["--lengths", "10,300"], "Sequence length / lag: 300 is outside 5 to 200"),
        (["--lengths", "10", "--models", "gru,transformer"], "Models: choose one or more"),
        (["--lengths", "10", "--task", "juggle"], "Task: 'juggle' is not one of"),
        (["--lengths", "10", "--seeds", "-1"], "Seed: -1 is outside 0 to"),
        (["--lengths", "10", "--seeds", "0,3000000000"], "Seed: 3e+09 is outside"),
        (["--lengths", "10", "--seeds", "0,x"], "--seeds: 'x' is not a whole number"),
        (["--lengths", "10", "--hidden-size", "999"], "Hidden units: 999 is outside 1 to 128"),
        (["--lengths", "10", "--steps", "0"], "steps: must be at least 1"),
        (
            ["--lengths", "10,20,40,80", "--seeds", "0,1", "--steps", "20000"],
            "sweep too large: 4 lengths × 2 seeds × 2 models × 20000 steps = 320,000 "
            "model-steps (limit 200,000",
        ),
        (
            ["--lengths", "10,200", "--hidden-size", "128", "--batch-size", "256"],
            "at length 200: too much work per step",
        ),
        (
            ["--lengths", "150,200", "--hidden-size", "128", "--batch-size", "256"],
            "at length 150: too much work per step",
        ),
        (["--lengths", "10", "--seq-len", "20"], "--seq-len: a sweep takes its sequence lengths"),
        (["--lengths", ",".join(map(str, range(5, 26)))], "lengths: at most 20 (got 21)"),
        ([], "the following arguments are required: --lengths"),
        (["--lengths", "10", "--steps", "ten"], "argument --steps: invalid int value"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(argv, says, tmp_path):
    out = tmp_path / "out"
    code, text = run_cli("sweep", *argv, "--out", str(out))
    assert code == 2
    assert text.startswith("error: ") and says in text and text.count("\n") == 1, text
    assert "Traceback" not in text
    assert not out.exists()


def test_the_plan_validates_each_run_and_orders_seed_by_seed():
    plan = sweep.SweepPlan(BASE, (20, 5, 20, 8), seeds=(1, 0, 1), steps=7)
    assert plan.lengths == (5, 8, 20) and plan.seeds == (1, 0) and plan.models == ("gru", "rnn")
    runs = list(plan.runs())
    assert [(r.seed, r.length) for r in runs] == [(1, 5), (1, 8), (1, 20), (0, 5), (0, 8), (0, 20)]
    assert all(r.cfg == BASE.replace(seq_len=r.length, seed=r.seed) for r in runs)
    assert all(r.steps == 7 and r.cost > 0 for r in runs) and plan.model_steps == 3 * 2 * 2 * 7
    assert sweep.SweepPlan(BASE, (5,), models=("lstm",)).models == ("lstm",)
    # Only the swept lengths are checked against the cost budget, not the base's own seq_len.
    long = RunConfig(seq_len=200, hidden_size=128, models=("gru",))
    assert sweep.SweepPlan(long, (10,), models=("gru", "rnn", "lstm")).models[-1] == "lstm"
    with pytest.raises(ConfigError, match="^at length 200: too much work"):
        sweep.SweepPlan(long, (10, 200), models=("gru", "rnn", "lstm"))
    with pytest.raises(ConfigError, match="seeds: give at least one seed"):
        sweep.SweepPlan(BASE, (5,), seeds=())


# -- the tiny sweep -----------------------------------------------------------------------------
def test_the_tiny_sweep_writes_both_files_with_the_right_rows(tiny):
    text, out = tiny
    assert sorted(p.name for p in out.iterdir()) == ["sweep.csv", "sweep.html"]
    csv_text = (out / "sweep.csv").read_text()
    assert csv_text.splitlines()[0] == ",".join(sweep.COLUMNS)
    rows = sweep.from_csv(csv_text)
    keys = [(r["seed"], r["seq_len"], r["model"]) for r in rows]
    assert keys == [(s, n, m) for s in (0, 1) for n in (5, 8) for m in ("gru", "rnn")]
    for row in rows:
        assert row["task"] == "adding" and row["steps"] == 3 and row["stopped"] is None
        assert row["baseline"] == pytest.approx(1 / 6) and row["memoryless_loss"] is None
    assert text.splitlines()[-1] == f"wrote {out}/: sweep.csv sweep.html"
    assert "GRU" in text and "RNN (tanh)" in text  # the share table


def test_final_loss_is_recent_loss_of_an_identical_trainer_run(tiny):
    rows = sweep.from_csv((tiny[1] / "sweep.csv").read_text())
    for length in (5, 8):
        for seed in (0, 1):
            oracle = Trainer(BASE.replace(seq_len=length, seed=seed))
            oracle.step(3)
            for kind, slot in oracle.slots.items():
                (row,) = [
                    r for r in rows if (r["model"], r["seq_len"], r["seed"]) == (kind, length, seed)
                ]
                assert row["final_loss"] == recent_loss(slot.history.array("loss"))


def test_the_progress_bar_reaches_the_total(tiny):
    text = tiny[0]
    frames = text.split("\r")
    assert len(frames) >= 2 and frames[1].startswith("[")
    last = frames[-1].splitlines()[0]
    assert last.startswith("[" + "#" * 30 + "]") and "4/4 runs, 100 %" in last
    # Only the last frame is followed by a newline: one bar, redrawn in place.
    assert all("\n" not in frame for frame in frames[1:-1])


def test_the_html_is_self_contained_with_a_trace_per_model_and_the_seeds(tiny):
    page = (tiny[1] / "sweep.html").read_text(encoding="utf-8")
    plotly_js = plotly.offline.get_plotlyjs()
    assert page.startswith("<!DOCTYPE html>") and page.count(plotly_js[:300]) == 1
    assert page.count("plotly.js v") == 1 and page.count('id="fig-sweep"') == 1
    assert "has learned nothing beyond the baseline at that length" in page
    for name in ("GRU (mean of 2 seeds)", "GRU (each seed)", "RNN (tanh) (mean of 2 seeds)"):
        assert page.count(f'"name":"{name}"') == 1, name
    assert "RNN (tanh) (each seed)" in page and "always predicting 1.0" in page


def test_the_figure_draws_seed_means_seed_points_and_the_baseline(one_shot):
    figure = sweep_report.sweep_figure(one_shot)
    names = [t.name for t in figure.data]
    assert names == [
        "GRU (mean of 2 seeds)",
        "GRU (each seed)",
        "RNN (tanh) (mean of 2 seeds)",
        "RNN (tanh) (each seed)",
    ]
    for kind, line, dots in (("gru", *figure.data[:2]), ("rnn", *figure.data[2:])):
        mine = [r for r in one_shot if r["model"] == kind]
        shares = {
            n: [r["final_loss"] / r["baseline"] for r in mine if r["seq_len"] == n] for n in (5, 8)
        }
        assert list(line.x) == [5, 8] and line.mode == "lines+markers"
        np.testing.assert_allclose(line.y, [np.mean(shares[5]), np.mean(shares[8])])
        assert dots.mode == "markers" and len(dots.x) == 4 and list(dots.customdata) == [0, 0, 1, 1]
    assert figure.layout.yaxis.type == "log"
    (baseline,) = figure.layout.shapes
    assert baseline.y0 == baseline.y1 == 1 and baseline.line.dash == "dash"
    # The builder skips plotly's validation: plotly itself must accept the same figure.
    validated = go.Figure(figure.to_dict())
    assert json.loads(validated.to_json()) == json.loads(figure.to_json())
    assert sweep_report.sweep_figure([]).data == ()


def test_a_signal_task_draws_its_memoryless_reference_and_copy_sweeps_the_lag():
    rows = [
        dict(task="forecast", model="gru", seq_len=n, seed=0, final_loss=0.1 * n, baseline=2.0)
        | dict(memoryless_loss=0.5, steps=5, stopped=None)
        for n in (10, 40)
    ]
    figure = sweep_report.sweep_figure(rows)
    assert figure.data[-1].name == "best without memory"
    np.testing.assert_allclose(figure.data[-1].y, [0.25, 0.25])
    assert figure.layout.xaxis.type == "log" and list(figure.layout.xaxis.tickvals) == [10, 40]
    assert "below it a model uses memory" in sweep_report.reading(rows)
    copy_rows = [dict(r, task="copy", memoryless_loss=None) for r in rows]
    assert sweep_report.sweep_figure(copy_rows).layout.xaxis.title.text.startswith("lag")


def test_a_stopped_model_counts_with_its_last_recorded_mean():
    cfg = RunConfig(task="adding", hidden_size=8, batch_size=16, optimizer="sgd", lr=10.0, clip=0)
    plan = sweep.SweepPlan(cfg.replace(probe_every=5, probe_samples=4), (10,), steps=300)
    rows = sweep.run_sweep(plan)
    oracle = Trainer(plan.base.replace(seq_len=10))
    oracle.step(300)
    for row in rows:
        slot = oracle.slots[row["model"]]
        assert slot.stopped and f"step {row['stopped']}" in slot.stopped
        assert row["steps"] == row["stopped"] - 1 == len(slot.history)
        assert row["final_loss"] == recent_loss(slot.history.array("loss"))
        assert math.isfinite(row["final_loss"])
    assert "2 runs stopped (diverged)" in sweep_report.reading(rows)
    assert sweep.from_csv(sweep.to_csv(rows))[0]["stopped"] == rows[0]["stopped"]


# -- the incremental API ------------------------------------------------------------------------
def test_one_step_slices_give_the_one_shot_rows(one_shot, tiny):
    runner = sweep.SweepPlan(BASE, (5, 8), (0, 1), 3).runner()
    seen = []
    while not runner.done:
        state = runner.run_slice(0)  # at least one step: one step per call here
        seen.append((state.runs_done, state.current_step))
    assert seen[:4] == [(0, 1), (0, 2), (1, 0), (1, 1)]  # a run's last step finishes it
    assert state.fraction == 1 and state.done and state.eta_seconds == 0
    assert runner.rows == one_shot
    assert sweep.from_csv((tiny[1] / "sweep.csv").read_text()) == one_shot  # and the CLI's
    assert runner.run_slice(1.0).runs_done == 4 and runner.rows == one_shot  # done stays done


def test_cancelling_mid_way_keeps_only_finished_runs(one_shot):
    runner = sweep.SweepPlan(BASE, (5, 8), (0, 1), 3).runner()
    while runner.progress().runs_done < 1 or runner.progress().current_step < 2:
        progress = runner.run_slice(0)
    assert progress.current.describe() == "length 8, seed 0" and 0 < progress.fraction < 0.5
    assert "1/4 runs" in progress.describe() and "step 2/3" in progress.describe()
    runner.cancel()
    assert runner.done and runner.progress().cancelled and runner.progress().current is None
    assert runner.rows == one_shot[:2]
    runner.run_slice(1.0)
    assert runner.rows == one_shot[:2]


def test_an_interrupted_cli_sweep_writes_the_finished_runs(tmp_path, monkeypatch, one_shot):
    real = sweep.SweepRunner._start

    def interrupted(run):  # Ctrl-C as the third run starts
        if run.index == 2:
            raise KeyboardInterrupt
        return real(run)

    monkeypatch.setattr(sweep.SweepRunner, "_start", staticmethod(interrupted))
    code, text = run_cli(*SWEEP, "--out", str(tmp_path), "--quiet")
    assert code == 130 and "interrupted: wrote the 2 finished runs of 4" in text
    assert sweep.from_csv((tmp_path / "sweep.csv").read_text()) == one_shot[:4]


def test_the_figure_and_the_page_need_no_torch():
    script = (
        "import sys; from gru_viz import sweep_report; "
        "rows = [dict(task='adding', model='gru', seq_len=5, seed=0, final_loss=0.1, "
        "baseline=1/6, memoryless_loss=None, steps=3, stopped=None)]; "
        "sweep_report.sweep_figure(rows); sweep_report.build_html(rows); "
        "print(sweep_report.share_text(rows)); "
        "assert 'torch' not in sys.modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["length", "5", "GRU", "0.6"]
