"""What a new visitor sees first, drawn before torch is imported (streamlit and plotly only)."""

from __future__ import annotations

import streamlit as st

from gru_viz.dashboard import style
from gru_viz.dashboard.plot import plot
from gru_viz.plots import loading_figure

PAGE_TITLE = "Why gates help: GRU vs vanilla RNN, live"


def leave_projector() -> None:
    st.session_state["projector"] = False  # the page's own flag (gru_viz.dashboard.state)


def start() -> st.delta_generator.DeltaGenerator:
    """Page setup, the title, and a slot that holds a placeholder chart until the models exist.

    A new session's first run imports torch (about 2 s) before anything else can be drawn. Shown
    first, the title and placeholder tell the visitor the page is alive, and the browser fetches
    and parses plotly.js (about 2 s here) while the server is still importing.
    """
    # An emoji favicon is drawn in the browser; a Material one would be fetched from
    # fonts.gstatic.com, which an offline classroom cannot reach.
    st.set_page_config(page_title="gru-viz: why gates help", page_icon="🧠", layout="wide")
    projector = st.session_state.get("projector", st.query_params.get("view") == "projector")
    style.apply(projector)
    if projector:  # its way out beside the title: the first screen is kept for the charts
        title, way_out = st.columns([5, 1], vertical_alignment="center")
        title.title(PAGE_TITLE)
        way_out.button(
            "Leave the projector view",
            key="leave_projector",
            on_click=leave_projector,
            icon=":material/close_fullscreen:",
            width="stretch",
        )
    else:
        st.title(PAGE_TITLE)
    slot = st.empty()  # on every run, so later elements keep their place in the page
    if "live" not in st.session_state:
        with slot:  # also starts loading plotly.js, which the real charts then share
            plot(loading_figure(), key="loading")
    return slot
