"""The live charts, drawn from the figure catalogue, with the probe sample and time cursor.

The probe charts change only with a new probe, sample or cursor, so they are reused from the
session's ``FigureCache`` until then: an unchanged chart costs almost nothing per tick, and the
browser keeps it mounted (its zoom too).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from gru_viz.chart_rows import (
    INPUT,
    JACOBIAN,
    PICKER,
    PROJECTOR_ROWS,
    PROJECTOR_SCALE,
    ROWS,
    applying,
    chart_key,
    png_name,
    png_step,
)
from gru_viz.dashboard.interventions import interventions
from gru_viz.dashboard.plot import plot
from gru_viz.dashboard.state import PAGE
from gru_viz.figures import FIGURES, RunView, Selection, run_view
from gru_viz.session import LiveSession

JACOBIAN_SWITCH = "Why the gradient vanishes: one step's Jacobian"
JACOBIAN_HELP = (
    "Each step's ‖∂h_t/∂h_{t−1}‖₂ and the bounds their products put on the gradient's decay above."
)
INPUT_SWITCH = "Show the input of this probe sequence"


def chart(fig: go.Figure, figure_id: str, view: RunView, **kwargs) -> None:
    spec = FIGURES[figure_id]
    st.markdown(f"**{spec.heading}**")
    # The toolbar's camera button saves a PNG named after the figure and the step it shows.
    scale = PROJECTOR_SCALE if PAGE.projector else 1.0
    png = png_name(figure_id, png_step(figure_id, view))
    plot(fig, chart_key(figure_id), png_name=png, scale=scale, **kwargs)
    st.caption(spec.caption(view))


def time_picked(key: str = chart_key(PICKER)) -> None:
    """A click on a point of the gradient chart moves the time cursor there."""
    click = (st.session_state.get(key) or {}).get("click") or {}
    if "x" in click:
        st.session_state.picked_step = round(float(click["x"]))


def apply_picked_time(steps: int) -> None:
    picked = st.session_state.pop("picked_step", None)
    if picked is not None:
        st.session_state.cursor = int(np.clip(picked, 0, steps - 1))


def selection_widgets(samples: int, steps: int) -> Selection:
    # A shorter task or fewer probe samples can leave a stored choice out of range: clamp it.
    for key, size, default in (("sample", samples, 0), ("cursor", steps, steps - 1)):
        st.session_state[key] = min(int(st.session_state.get(key, default)), size - 1)
    apply_picked_time(steps)
    st.session_state.setdefault("log_loss", True)  # early losses would squash the lesson
    pick, cursor_col, scale = st.columns([1, 3, 1], vertical_alignment="bottom")
    sample = pick.selectbox(
        "Probe sequence",
        range(samples),
        key="sample",
        help="Which of the fixed probe sequences the heatmaps show.",
    )
    cursor = cursor_col.slider(
        "Time step (cursor)",
        0,
        steps - 1,
        key="cursor",
        help="Marks one time step on every figure; clicking a point of "
        "the gradient chart moves it there.",
    )
    log_y = scale.toggle("Log-scale loss", key="log_loss")
    return Selection(sample=sample, cursor=cursor, log_y=log_y)


def figure_for(figure_id: str, view: RunView, sel: Selection) -> go.Figure:
    spec = FIGURES[figure_id]
    run = PAGE.class_run
    if run is not None:  # a class's viewers share its figures (gru_viz.classroom)
        return run.figure(figure_id, view, sel)
    if not spec.per_probe:
        return spec.build(view, sel)
    # Probe results are replaced, never changed, so their identity says "a new probe".
    inputs = (*view.probes.values(), sel.sample, sel.cursor)
    return PAGE.figure_cache.get(figure_id, inputs, lambda: spec.build(view, sel))


def live_charts(live: LiveSession) -> Selection:
    view = run_view(live.trainer)
    samples, steps = view.x.shape[:2]
    sel = selection_widgets(samples, steps)
    rows = PROJECTOR_ROWS if PAGE.projector else ROWS
    for row in rows:
        row = applying(row, view)
        if not row:
            continue
        columns = st.columns(len(row)) if len(row) > 1 else [st.container()]
        for column, figure_id in zip(columns, row, strict=True):
            with column:
                extra = dict(on_click=time_picked) if figure_id == PICKER else {}
                chart(figure_for(figure_id, view, sel), figure_id, view, **extra)
        if row == ("gates",) and not (PAGE.projector or PAGE.is_student):  # beside the gates
            interventions(live)
        if (
            row[0] == PICKER
            and not PAGE.projector
            and st.toggle(JACOBIAN_SWITCH, key="show_jacobian", help=JACOBIAN_HELP)
        ):
            chart(figure_for(JACOBIAN, view, sel), JACOBIAN, view)
    if not PAGE.projector and st.toggle(INPUT_SWITCH, key="show_input"):
        chart(FIGURES[INPUT].build(view, sel), INPUT, view)
    return sel
