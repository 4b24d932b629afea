"""Plotly charts that update in place: no blank frame, and a zoom that survives new data.

``st.plotly_chart`` in Streamlit 1.67 remounts a chart whenever its figure changes (its element
id hashes the figure): while training, the loss charts were rebuilt every second, blank for a
moment (4 of 31 screenshots caught one) and with any zoom lost. Here each chart is a keyed
``st.components.v2`` component, so the browser keeps the same element and hands plotly.js the
new figure with ``Plotly.react``, which keeps the reader's zoom (``layout.uirevision``).

plotly.js itself (its cartesian bundle, ``static/``) is served by Streamlit (a v1 component
declared on that folder only to serve the file), loaded into the page once and shared by every
chart: nothing is fetched from outside the server. Charts follow Streamlit's light or dark
theme through its CSS variables.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

# Imported here, not left to plotly: plotly imports pandas lazily on a session's first figure,
# and two sessions drawing their first figure at once could get a half-imported pandas
# ("partially initialized module 'pandas' has no attribute 'Series'", CI's load test). Here it
# is imported under this module's import lock, once, before any figure is serialised.
import pandas  # noqa: F401
import plotly
import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components_v1

from gru_viz.chart_payload import Chart, encode

# plotly.js's cartesian bundle (npm plotly.js-cartesian-dist-min, MIT; the same version as the
# plotly package's own plotly.min.js, tests/test_plots.py checks): every trace the page draws
# is a scatter or a heatmap (chart_payload.BROWSER_TRACES), and a new visitor's browser
# evaluates this 1.5 MB file in 0.45-0.5 s against 1.0-1.1 s for the full 4.8 MB one (idle
# headless Chromium here; under load the gap grows): the largest part of a student's join.
PLOTLY_JS = Path(__file__).parent / "static" / "plotly-cartesian.min.js"  # served from static/
PLOTLY_PACKAGE_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
TESTID = "gvPlotlyChart"  # on every chart's element, for tests and styling


# Serialise a figure once at import, for the same reason as the pandas import above: plotly's
# JSON path imports its other optional modules lazily too. Module imports are locked; lazy ones
# inside a call are not.
go.Figure().to_json()


# The component's code and styles (static/: charts.js draws the grid, load-plotly.js loads
# plotly.js once per page, charts.css styles headings, captions and the status row like
# Streamlit's own, in rem so that the projector view's larger root font enlarges them).
STATIC = Path(__file__).parent / "static"
_LOAD_PLOTLY = (STATIC / "load-plotly.js").read_text()
_JS = (STATIC / "charts.js").read_text()
_CSS = (STATIC / "charts.css").read_text()


@functools.cache
def _component(plotly_url: str):
    # What every chart needs and no payload should carry: where plotly.js is, the test id.
    js = _JS.replace("/* load-plotly.js */", _LOAD_PLOTLY)
    js = js.replace("loadPlotly(spec.plotly_url)", f"loadPlotly({json.dumps(plotly_url)})")
    js = js.replace("spec.testid", json.dumps(TESTID))
    return st.components.v2.component("gru_viz_plot", js=js, css=_CSS, isolate_styles=False)


def _plotly_url() -> str:
    # Declared in every run that draws a chart: Streamlit registers v1 components per run.
    asset = components_v1.declare_component("plotly_js", path=str(PLOTLY_JS.parent))
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return ("/" + base if base else "") + f"/component/{asset.name}/{PLOTLY_JS.name}"


def preload_html() -> str:
    """A script that starts loading plotly.js at once (for the page's first ``st.html``)."""
    return f"<script>{_LOAD_PLOTLY}loadPlotly({json.dumps(_plotly_url())});</script>"


def charts(payload: bytes, key: str, *, on_click: Any = None) -> Any:
    """Draw a ``gru_viz.chart_payload`` payload (rows of charts) under ``key``; the same key
    updates the same charts in place. on_click: a callback for a click on a point of a
    clickable chart (the component's ``click`` value then holds ``{"x": ...}``)."""
    callbacks = {"on_click_change": on_click} if on_click is not None else {}
    return _component(_plotly_url())(data=payload, key=key, **callbacks)


def plot(
    figure: go.Figure,
    key: str,
    *,
    png_name: str | None = None,
    on_click: Any = None,
    scale: float = 1.0,
) -> Any:
    """Draw ``figure`` under ``key``; the same key updates the same chart in place.

    png_name: the file name the toolbar's camera button saves. on_click: a callback for a click
    on a point. scale: text and lines this many times larger, in the browser (the projector
    view).
    """
    chart = Chart(key, figure, png=png_name, clickable=on_click is not None)
    return charts(encode([[chart]], scale), key, on_click=on_click)
