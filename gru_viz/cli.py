"""Headless runs: ``python -m gru_viz train --task adding --steps 500 --out runs/adding``.

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

from gru_viz.config import FIELDS, ConfigError, RunConfig, format_value
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
    for field in FIELDS:
        train.add_argument(
            f"--{field.name.replace('_', '-')}",
            dest=field.name,
            default=None,
            metavar=field.name.upper(),
            help=_option_help(field),
        )
    train.add_argument("--steps", type=int, default=500, help=f"training steps (1 to {MAX_STEPS})")
    train.add_argument("--out", required=True, help="output folder (created if missing)")
    train.add_argument("--no-report", action="store_true", help="skip report.html")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: TextIO, enabled: bool = True):
        self.total, self.stream, self.enabled = total, stream, enabled
        self.start = self.last = time.perf_counter()

    def update(self, done: int, losses: dict[str, float], force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < 0.1):
            return
        self.last = now
        width = 30
        filled = int(width * done / self.total)
        rate = done / max(now - self.start, 1e-9)
        loss_text = "  ".join(f"{k} {v:.4g}" for k, v in losses.items())
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
            f"{rate:5.1f} steps/s  {loss_text}   "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _config_from_args(args: argparse.Namespace) -> RunConfig:
    values = {f.name: getattr(args, f.name) for f in FIELDS if getattr(args, f.name) is not None}
    return RunConfig(**values)


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


def main(argv: list[str] | None = None, stderr: TextIO | None = None) -> int:
    stderr = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        return train_command(args, stderr)
    except (UsageError, ConfigError) as err:
        stderr.write(f"error: {err}\n")
        return 2
    except KeyboardInterrupt:
        stderr.write("\ninterrupted\n")
        return 130
