"""What the status row says: step counter, speed, each model's loss, the models' sizes, and
what needs attention. Read once here; the page draws it, and a class's frames carry it to
every student (``gru_viz.class_frame``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gru_viz.kinds import title
from gru_viz.numbers import describe_share, format_loss, format_number, recent_loss

STEP_LABEL = "Training step"


@dataclass(frozen=True)
class Cell:
    label: str
    value: str
    note: str | None = None  # a level under the value (the loss as a share of the baseline)


@dataclass(frozen=True)
class StatusRow:
    cells: tuple[Cell, ...]
    sizes: str  # the models' parameter counts and the trivial baseline, in one line
    alerts: tuple[tuple[str, str], ...]  # (info | warning, text)
    # (model kind, why) for each model the divergence guard stopped: the teacher's or a
    # private page offers Restore beside it
    stopped: tuple[tuple[str, str], ...]


def status_row(live: Any) -> StatusRow:
    """The row for a ``gru_viz.session.LiveSession`` (read under its tick turn)."""
    trainer = live.trainer
    baseline = trainer.task.baseline(live.cfg)
    speed = f"{live.steps_per_second():.1f}" if live.playing else "—"
    cells = [Cell(STEP_LABEL, f"{trainer.step_count:,}"), Cell("Steps / second", speed)]
    for kind, slot in trainer.slots.items():
        label = f"{title(kind)} loss"
        if len(slot.history):
            loss = recent_loss(slot.history.array("loss"))
            cells.append(Cell(label, format_loss(loss), describe_share(loss, baseline)))
        else:
            cells.append(Cell(label, "—", "not trained yet"))
    sizes = (
        "Parameters: "
        + " · ".join(
            f"{title(k)} {s.parameter_count():,} ({s.model.hidden_size} units)"
            for k, s in trainer.slots.items()
        )
        + f" · trivial baseline loss {format_number(baseline)}"
        + sharing_note(live)
    )
    alerts: list[tuple[str, str]] = []
    if not baseline > 0:
        alerts.append(
            (
                "info",
                "Every target of this setup is the same, so predicting their mean is already "
                "perfect: the trivial baseline is 0 and there is nothing to learn. Give the "
                "signal a trend, seasonality or noise.",
            )
        )
    if live.intervention.active:
        where = "in the probe and in training" if live.intervene_in_training else "in the probe"
        alerts.append(
            (
                "warning",
                f"Intervention active ({where}): {live.intervention.describe()}. "
                "Clear it under the gate heatmaps.",
            )
        )
    stopped = tuple((kind, slot.stopped) for kind, slot in trainer.slots.items() if slot.stopped)
    return StatusRow(tuple(cells), sizes, tuple(alerts), stopped)


def sharing_note(live: Any) -> str:
    others = live.sessions_training - 1
    if not live.playing or others < 1:
        return ""
    who = "1 other session is" if others == 1 else f"{others} other sessions are"
    return f" · {who} training on this server: each trains a fair share of every tick"
