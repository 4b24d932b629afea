"""The status row: step counter, speed, each model's loss, and what needs the user's attention
(its words: ``gru_viz.status_row``)."""

from __future__ import annotations

import streamlit as st

from gru_viz.dashboard.state import PAGE
from gru_viz.kinds import title
from gru_viz.session import LiveSession
from gru_viz.status_row import status_row

# No arrow: the share is a level, not a change (an ↑ read as "the loss went up").
LEVEL_NOT_CHANGE = {"delta_color": "off", "delta_arrow": "off"}
ICONS = {"info": ":material/info:", "warning": ":material/science:"}


def status(live: LiveSession) -> None:
    """The row of a private page or the teacher's (a student's is drawn in its class frame)."""
    row = status_row(live)
    for cell, spot in zip(row.cells, st.columns(len(row.cells)), strict=True):
        spot.metric(cell.label, cell.value, cell.note, **LEVEL_NOT_CHANGE)
    sizes = st.empty()  # always there, so the charts below keep their places
    if not PAGE.projector:  # its first screen is for the charts (the loss chart has the baseline)
        sizes.caption(row.sizes)
    alerts = st.container()  # always there, so the charts below keep their places
    for kind, text in row.alerts:
        getattr(alerts, kind)(text, icon=ICONS[kind])
    for kind, why in row.stopped:
        left, right = alerts.columns([5, 1], vertical_alignment="center")
        left.error(why, icon=":material/block:")
        right.button(
            f"Restore {title(kind)}", key=f"restore_{kind}", on_click=live.restore, args=(kind,)
        )
