"""The headless CLI: ``python -m gru_viz train ...`` writes the export catalogue's files; bad
arguments exit with status 2 and one line, never a traceback."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gru_viz import export
from gru_viz.checkpoint import load_checkpoint
from gru_viz.cli import main

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--seq-len", "8", "--hidden-size", "4", "--batch-size", "4", "--probe-every", "5"]


def run_cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    return main(list(argv), stderr=err), err.getvalue()


def test_train_writes_every_cli_file_of_the_catalogue(tmp_path):
    code, text = run_cli("train", *TINY, "--steps", "12", "--out", str(tmp_path), "--quiet")
    assert code == 0, text
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(["metrics.csv", "probe.npz", "report.html", "gru.pt", "rnn.pt"])
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert rows[0] == ",".join((*export.METRIC_COLUMNS, *export.HEAD_COLUMNS, export.EVENT_COLUMN))
    assert len(rows) == 1 + 12 * 2
    probe = np.load(tmp_path / "probe.npz")
    assert int(probe["gru_probe_step"]) == 12  # the saved probe is of the final weights
    assert load_checkpoint(tmp_path / "rnn.pt")["step"] == 12
    # One line per model with the loss now and its share of the baseline, then the files.
    lines = text.strip().splitlines()
    assert lines[0].startswith("gru: loss ") and "of baseline" in lines[0]
    assert lines[-1] == f"wrote {tmp_path}/: " + " ".join(
        ["metrics.csv", "probe.npz", "report.html", "gru.pt", "rnn.pt"]
    )


def test_no_report_skips_only_the_report(tmp_path):
    code, _ = run_cli("train", *TINY, "--steps", "2", "--out", str(tmp_path), "--no-report")
    assert code == 0
    assert not (tmp_path / "report.html").exists() and (tmp_path / "metrics.csv").exists()


@pytest.mark.parametrize(
    "argv, says",
    [
        (["train", "--seq-len", "9999", "--out", "x"], "Sequence length / lag: 9999 is outside"),
        (["train", "--models", "gru,transformer", "--out", "x"], "Models: choose one or more"),
        (["train", "--steps", "0", "--out", "x"], "--steps must be between"),
        (["train"], "the following arguments are required: --out"),
        (["fly"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, text = run_cli(*argv)
    assert code == 2
    assert text.startswith("error: ") and says in text and text.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_the_module_runs_as_a_program(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gru_viz", "train", *TINY, "--steps", "1", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr and (tmp_path / "gru.pt").exists()
