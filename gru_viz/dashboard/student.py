"""A student's page in a class: their own view choices, and the class's shared frame.

The choices (probe sequence, time step, log scale, the extra charts and panels) are widgets
drawn on full reruns only. The live panel that ticks every second draws the class's frame for
those choices (``gru_viz.class_frame``: the status row and every chart in one component) and,
only if the student switched them on, the step inspector and more views. So a student's tick
runs no figure code and sends one shared byte string: a few milliseconds of the server however
many watch (bench.class_load).
"""

from __future__ import annotations

import streamlit as st

from gru_viz.class_frame import View, selection
from gru_viz.classroom import ClassRun
from gru_viz.dashboard.charts import (
    INPUT_SWITCH,
    JACOBIAN_HELP,
    JACOBIAN_SWITCH,
    selection_widgets,
    time_picked,
)
from gru_viz.dashboard.plot import charts
from gru_viz.dashboard.probe_panels import INSPECTOR_SWITCH, MORE_SWITCH, inspector, more_views
from gru_viz.dashboard.probe_panels import switches as panel_switches
from gru_viz.dashboard.state import PAGE
from gru_viz.session import TICK_TURN, LiveSession

CHARTS_KEY = "class_charts"


def choices(live: LiveSession) -> None:
    """The student's own view choices (outside the live panel: a change reruns the page)."""
    samples, steps = live.trainer.probe_batch.x.shape[:2]
    selection_widgets(samples, steps)
    if PAGE.projector:  # the projector view keeps to the story's four charts
        return
    left, right = st.columns(2)
    left.toggle(JACOBIAN_SWITCH, key="show_jacobian", help=JACOBIAN_HELP)
    right.toggle(INPUT_SWITCH, key="show_input")
    panel_switches()


def current_view() -> View:
    state = st.session_state
    cursor = state.get("cursor")
    return View(
        sample=int(state.get("sample", 0)),
        cursor=None if cursor is None else int(cursor),
        log_y=bool(state.get("log_loss", True)),
        projector=PAGE.projector,
        jacobian=bool(state.get("show_jacobian")) and not PAGE.projector,
        show_input=bool(state.get("show_input")) and not PAGE.projector,
    )


def _picked() -> None:
    time_picked(CHARTS_KEY)
    PAGE.want_full_rerun()  # the cursor's slider is outside the live panel


def live_panel(run: ClassRun, live: LiveSession) -> None:
    """One tick of a student's page: the class's frame for this student's view."""
    run.watch(PAGE.viewer_id)
    view = current_view()
    frame = run.frame(view)
    charts(frame.payload, CHARTS_KEY, on_click=_picked)  # the status row, then every chart
    panels = [st.session_state.get(switch[1]) for switch in (INSPECTOR_SWITCH, MORE_SWITCH)]
    if PAGE.projector or not any(panels):
        return
    sel = selection(view, frame.samples, frame.steps)
    with TICK_TURN:  # these read the run itself: never mid-step
        inspector(live, sel, draw_switch=False)
        more_views(live, sel, draw_switch=False)
