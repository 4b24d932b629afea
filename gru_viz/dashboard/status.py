"""The status row: step counter, speed, each model's loss, and what needs the user's attention."""

from __future__ import annotations

import streamlit as st

from gru_viz.dashboard.state import PAGE
from gru_viz.kinds import title
from gru_viz.numbers import describe_share, format_loss, format_number, recent_loss
from gru_viz.session import LiveSession

LEVEL_NOT_CHANGE = {"delta_color": "off", "delta_arrow": "off"}


def status(live: LiveSession) -> None:
    trainer = live.trainer
    baseline = trainer.task.baseline(live.cfg)
    cells = st.columns(2 + len(trainer.slots))
    cells[0].metric("Training step", f"{trainer.step_count:,}")
    cells[1].metric("Steps / second", f"{live.steps_per_second():.1f}" if live.playing else "—")
    for cell, (kind, slot) in zip(cells[2:], trainer.slots.items(), strict=True):
        label = f"{title(kind)} loss"
        if len(slot.history):
            loss = recent_loss(slot.history.array("loss"))
            # No arrow: the share is a level, not a change (an ↑ read as "the loss went up").
            share = describe_share(loss, baseline)
            cell.metric(label, format_loss(loss), share, **LEVEL_NOT_CHANGE)
        else:
            cell.metric(label, "—", "not trained yet", **LEVEL_NOT_CHANGE)
    sizes = st.empty()  # always there, so the charts below keep their places
    if not PAGE.projector:  # its first screen is for the charts (the loss chart has the baseline)
        sizes.caption(
            "Parameters: "
            + " · ".join(
                f"{title(k)} {s.parameter_count():,} ({s.model.hidden_size} units)"
                for k, s in trainer.slots.items()
            )
            + f" · trivial baseline loss {format_number(baseline)}"
            + sharing_note(live)
        )
    alerts = st.container()  # always there, so the charts below keep their places
    if not baseline > 0:
        alerts.info(
            "Every target of this setup is the same, so predicting their mean is already "
            "perfect: the trivial baseline is 0 and there is nothing to learn. Give the signal "
            "a trend, seasonality or noise.",
            icon=":material/info:",
        )
    if live.intervention.active:
        where = "in the probe and in training" if live.intervene_in_training else "in the probe"
        alerts.warning(
            f"Intervention active ({where}): {live.intervention.describe()}. "
            "Clear it under the gate heatmaps.",
            icon=":material/science:",
        )
    for kind, slot in trainer.slots.items():
        if slot.stopped and PAGE.is_student:  # the teacher restores the class's models
            alerts.error(slot.stopped, icon=":material/block:")
        elif slot.stopped:
            left, right = alerts.columns([5, 1], vertical_alignment="center")
            left.error(slot.stopped, icon=":material/block:")
            right.button(
                f"Restore {title(kind)}",
                key=f"restore_{kind}",
                on_click=live.restore,
                args=(kind,),
            )


def sharing_note(live: LiveSession) -> str:
    others = live.sessions_training - 1
    if not live.playing or others < 1:
        return ""
    who = "1 other session is" if others == 1 else f"{others} other sessions are"
    return f" · {who} training on this server: each trains a fair share of every tick"
