"""Headless runs: ``python -m gru_viz train --task adding --steps 500 --out runs/adding``, and
length sweeps: ``python -m gru_viz sweep --task adding --lengths 10,20,40 --out runs/sweep``.

Every ``RunConfig`` field is an option (``--seq-len``, ``--hidden-size``, ...), generated from the
one field table, so the CLI and the dashboard accept exactly the same settings and limits.
Bad arguments print one line and exit with status 2; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from gru_viz.config import FIELD_BY_NAME, FIELDS, ConfigError, RunConfig, format_value
from gru_viz.numbers import describe_share, format_loss, recent_loss
from gru_viz.records import BoundedSeries

MAX_STEPS = 100_000


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + message
        raise UsageError(message)


def _option_help(field) -> str:
    if field.kind is tuple:
        allowed = f"comma-separated, from {','.join(field.choices)}"
    elif field.choices:
        allowed = "|".join(field.choices)
    else:
        allowed = f"{field.lo:g} to {field.hi:g}"
    return f"{field.help} [{allowed}; default {format_value(field, field.default)}]"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m gru_viz",
        description="Train GRU / RNN / LSTM side by side without the browser.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser(
        "train",
        help="train and write metrics.csv, probe.npz, report.html and <model>.pt",
        description="Train the chosen models on the same batches and write the results to --out.",
    )
    _add_field_options(train)
    train.add_argument("--steps", type=int, default=500, help=f"training steps (1 to {MAX_STEPS})")
    train.add_argument("--out", required=True, help="output folder (created if missing)")
    train.add_argument("--no-report", action="store_true", help="skip report.html")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    sweep = commands.add_parser(
        "sweep",
        help="train at several sequence lengths and seeds; write sweep.csv and sweep.html",
        description="Train the chosen models at each length (copy: lag) and seed, on the same "
        "batches per run, and plot each model's final loss ÷ baseline against length. Every "
        "other setting applies to every run.",
    )
    seq_len, seed = FIELD_BY_NAME["seq_len"], FIELD_BY_NAME["seed"]
    sweep.add_argument(
        "--lengths",
        required=True,
        help="comma-separated sequence lengths (copy task: lags), e.g. 10,20,40,80 "
        f"[{seq_len.lo:g} to {seq_len.hi:g}]",
    )
    sweep.add_argument(
        "--seeds", default="0", help=f"comma-separated seeds [{seed.lo:g} and up; default 0]"
    )
    _add_field_options(sweep, skip=("seq_len", "seed"))
    sweep.add_argument("--seq-len", dest="seq_len", default=None, help=argparse.SUPPRESS)
    sweep.add_argument(
        "--steps",
        type=int,
        default=500,
        help="training steps per run [default 500; lengths × seeds × models × steps is capped]",
    )
    sweep.add_argument("--out", required=True, help="output folder (created if missing)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _add_field_options(parser: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    """One option per RunConfig field (``--seq-len``, ...), from the field table."""
    for field in FIELDS:
        if field.name in skip:
            continue
        parser.add_argument(
            f"--{field.name.replace('_', '-')}",
            dest=field.name,
            default=None,
            metavar=field.name.upper(),
            help=_option_help(field),
        )


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: TextIO, enabled: bool = True):
        self.total, self.stream, self.enabled = total, stream, enabled
        self.start = self.last = time.perf_counter()
        self._shown = 0  # characters of the last text, to blank out when a shorter one follows

    def update(self, done: int, losses: dict[str, float], force: bool = False) -> None:
        now = time.perf_counter()
        rate = done / max(now - self.start, 1e-9)
        loss_text = "  ".join(f"{k} {v:.4g}" for k, v in losses.items())
        text = f"{done}/{self.total} {rate:5.1f} steps/s  {loss_text}"
        self.show(done / self.total, text, force)

    def show(self, fraction: float, text: str, force: bool = False) -> None:
        """Draw the bar ``fraction`` full (0 to 1) followed by ``text``."""
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < 0.1):
            return
        self.last = now
        width = 30
        filled = int(width * min(max(fraction, 0.0), 1.0))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {text}   "
        self.stream.write("\r" + line.ljust(self._shown))
        self._shown = len(line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _config_from_args(args: argparse.Namespace, **fixed) -> RunConfig:
    """A RunConfig from the field options given (``fixed`` values replace them)."""
    values = {
        f.name: getattr(args, f.name)
        for f in FIELDS
        if getattr(args, f.name, None) is not None and f.name not in fixed
    }
    return RunConfig(**values, **fixed)


def train_command(args: argparse.Namespace, stderr: TextIO) -> int:
    from gru_viz import export  # imported late so `--help` answers quickly
    from gru_viz.trainer import Trainer

    if not 1 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps must be between 1 and {MAX_STEPS}")
    cfg = _config_from_args(args)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create --out {out}: {err.strerror}") from None
    trainer = Trainer(cfg)
    for slot in trainer.slots.values():  # the CLI keeps every step, not a thinned history
        slot.history = BoundedSeries(capacity=args.steps + 1)
    progress = Progress(args.steps, stderr, enabled=not args.quiet)
    while trainer.step_count < args.steps:
        if not trainer.step(min(10, args.steps - trainer.step_count)):
            break  # every model stopped
        losses = {
            k: s.history.array("loss")[-1] for k, s in trainer.slots.items() if len(s.history)
        }
        progress.update(trainer.step_count, losses)
    if trainer.step_count % cfg.probe_every:
        trainer.probe_all()  # the saved probe is always of the final weights
    progress.update(trainer.step_count, {}, force=True)
    progress.close()

    written = export.write_files(trainer, out, skip={"report"} if args.no_report else ())
    baseline = trainer.task.baseline(cfg)
    for kind, slot in trainer.slots.items():
        final = recent_loss(slot.history.array("loss"))
        status = f"  ({slot.stopped})" if slot.stopped else ""
        share = describe_share(final, baseline)
        stderr.write(f"{kind}: loss {format_loss(final)} ({share}){status}\n")
    stderr.write(f"wrote {out}/: {' '.join(written)}\n")
    return 0


def sweep_command(args: argparse.Namespace, stderr: TextIO) -> int:
    from gru_viz import sweep, sweep_report  # imported late so `--help` answers quickly

    if args.seq_len is not None:
        raise UsageError("--seq-len: a sweep takes its sequence lengths from --lengths")
    lengths = sweep.parse_ints(args.lengths, "--lengths")
    seeds = sweep.parse_ints(args.seeds, "--seeds")
    try:  # checked at the shortest length here; the plan checks every length
        base = _config_from_args(args, seq_len=min(lengths), seed=seeds[0])
    except ConfigError as err:
        raise sweep.at_length(err, min(lengths)) from None
    plan = sweep.SweepPlan(base, lengths, seeds, args.steps)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create --out {out}: {err.strerror}") from None
    stderr.write(f"sweep: {plan.describe()}\n")
    runner = plan.runner()
    bar = Progress(len(plan), stderr, enabled=not args.quiet)
    try:
        while not runner.done:
            state = runner.run_slice(0.1)
            bar.show(state.fraction, state.describe())
    except KeyboardInterrupt:
        runner.cancel()
        bar.close()
        if runner.rows:
            written = sweep_report.write_files(runner.rows, out, plan)
            done = runner.progress().runs_done
            stderr.write(f"interrupted: wrote the {done} finished runs of {len(plan)} to {out}/: ")
            stderr.write(" ".join(written) + "\n")
        else:
            stderr.write("interrupted before any run finished; nothing written\n")
        return 130
    state = runner.progress()
    took = sweep.format_duration(state.busy_seconds)
    bar.show(state.fraction, f"{state.describe()} in {took}", force=True)
    bar.close()
    written = sweep_report.write_files(runner.rows, out, plan)
    stderr.write(f"final loss ÷ baseline, mean of {len(plan.seeds)} seed(s) (1 = baseline):\n")
    stderr.write(sweep_report.share_text(runner.rows) + "\n")
    stopped = [r for r in runner.rows if r["stopped"] is not None]
    for row in stopped:
        stderr.write(
            f"{row['model']} at length {row['seq_len']}, seed {row['seed']}: stopped at step "
            f"{row['stopped']} (diverged); counted with its last recorded losses\n"
        )
    stderr.write(f"wrote {out}/: {' '.join(written)}\n")
    return 0


def main(argv: list[str] | None = None, stderr: TextIO | None = None) -> int:
    stderr = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        if args.command == "sweep":
            return sweep_command(args, stderr)
        return train_command(args, stderr)
    except (UsageError, ConfigError) as err:
        stderr.write(f"error: {err}\n")
        return 2
    except KeyboardInterrupt:
        stderr.write("\ninterrupted\n")
        return 130
