"""Plotly charts that update in place: no blank frame, and a zoom that survives new data.

``st.plotly_chart`` in Streamlit 1.67 remounts a chart whenever its figure changes (its element
id hashes the figure): while training, the loss charts were rebuilt every second, blank for a
moment (4 of 31 screenshots caught one) and with any zoom lost. Here each chart is a keyed
``st.components.v2`` component, so the browser keeps the same element and hands plotly.js the
new figure with ``Plotly.react``, which keeps the reader's zoom (``layout.uirevision``).

plotly.js itself is served by Streamlit from the plotly package's own copy (a v1 component
declared on that folder only to serve the file), loaded into the page once and shared by every
chart: nothing is fetched from outside the server. Charts follow Streamlit's light or dark
theme through its CSS variables.
"""

from __future__ import annotations

import functools
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

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
TESTID = "gvPlotlyChart"  # on every chart's element, for tests and styling

# Runs in the page (not a sandbox): trusted code of ours. Called on mount and on every new
# figure; the chart element it creates stays, so plotly.js updates it in place.
_JS = r"""
const THEMED_AXIS = (grid, text) => ({gridcolor: grid, linecolor: grid, zerolinecolor: grid,
  tickfont: {color: text}, title: {font: {color: text}}});

function loadPlotly(url) {
  window.__gruVizPlotly ||= new Promise((resolve, reject) => {
    if (window.Plotly) return resolve(window.Plotly);
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error("could not load plotly.js from " + url));
    document.head.appendChild(script);
  });
  return window.__gruVizPlotly;
}

function theme(element) {
  const style = getComputedStyle(element);
  const text = style.getPropertyValue("--st-text-color").trim() || "#31333F";
  const font = style.getPropertyValue("--st-font").trim() || "sans-serif";
  const grid = "rgba(128, 128, 128, 0.25)";
  return {font: {family: font, color: text}, paper_bgcolor: "rgba(0,0,0,0)",
          plot_bgcolor: "rgba(0,0,0,0)", xaxis: THEMED_AXIS(grid, text),
          yaxis: THEMED_AXIS(grid, text), legend: {font: {color: text}},
          hoverlabel: {font: {family: font}}, colorway: ["#0072B2", "#E69F00", "#009E73"]};
}

// Projector view: larger text, thicker lines, taller charts, readable from the back of a room.
function enlarge(figure, scale) {
  const layout = figure.layout;
  const bigger = (font) => Object.assign({}, font, {size: ((font && font.size) || 14) * scale});
  layout.font = bigger(layout.font);
  layout.height = (layout.height || 340) * Math.sqrt(scale);
  for (const note of layout.annotations || []) note.font = bigger(note.font);
  for (const shape of layout.shapes || []) {
    if (shape.line) shape.line.width = (shape.line.width || 1.5) * scale;
    if (shape.label && shape.label.font) shape.label.font = bigger(shape.label.font);
  }
  for (const trace of figure.data) {
    if (trace.line) trace.line.width = (trace.line.width || 2) * scale;
    if (trace.marker && typeof trace.marker.size === "number") trace.marker.size *= scale;
  }
  return figure;
}

export default function ({ data, parentElement, setTriggerValue }) {
  let chart = parentElement.querySelector(":scope > .gv-plot");
  if (!chart) {
    chart = document.createElement("div");
    chart.className = "gv-plot";
    chart.dataset.testid = data.testid;
    parentElement.appendChild(chart);
  }
  chart.dataset.name = data.name;
  loadPlotly(data.plotly_url).then((Plotly) => {
    const figure = JSON.parse(data.figure);
    if (data.scale && data.scale !== 1) enlarge(figure, data.scale);
    const layout = Object.assign({}, figure.layout, {autosize: true});
    layout.template = {layout: theme(parentElement)};
    return Plotly.react(chart, figure.data, layout, data.config).then(() => {
      if (data.clickable && !chart.__gvClick) {
        chart.__gvClick = true;
        chart.on("plotly_click", (event) => {
          const point = event.points && event.points[0];
          if (point) setTriggerValue("click", {x: point.x});
        });
      }
      if (!chart.__gvResize) {  // the column's width changes with the window and sidebar
        // A chart hidden meanwhile (a closed expander, a rerun that removed it) cannot be
        // resized: plotly.js rejects, which surfaced as an uncaught page error. It is resized
        // when it is shown again (the observer fires on that size change too).
        chart.__gvResize = new ResizeObserver(() => {
          if (chart.isConnected && chart.offsetParent !== null) {
            Plotly.Plots.resize(chart).catch(() => {});
          }
        });
        chart.__gvResize.observe(parentElement);
      }
    });
  }).catch((error) => {
    chart.textContent = "This chart could not be drawn: " + error.message;
  });
}
"""


# Serialise a figure once at import, for the same reason as the pandas import above: plotly's
# JSON path imports its other optional modules lazily too. Module imports are locked; lazy ones
# inside a call are not.
go.Figure().to_json()


@functools.cache
def _component():
    return st.components.v2.component("gru_viz_plot", js=_JS, isolate_styles=False)


def _plotly_url() -> str:
    # Declared in every run that draws a chart: Streamlit registers v1 components per run.
    asset = components_v1.declare_component("plotly_js", path=str(PLOTLY_JS.parent))
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return ("/" + base if base else "") + f"/component/{asset.name}/{PLOTLY_JS.name}"


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
    on a point (the component's ``click`` value then holds ``{"x": ...}``). scale: text and
    lines this many times larger, in the browser (the projector view).
    """
    config: dict[str, Any] = {"displaylogo": False, "responsive": True}
    if png_name:
        config["toImageButtonOptions"] = {"filename": png_name, "format": "png", "scale": 2}
    data = {
        # plotly's own JSON: numpy arrays travel as base64 blocks (a FrozenFigure keeps it)
        "figure": figure.to_json(),
        "config": config,
        "plotly_url": _plotly_url(),
        "clickable": on_click is not None,
        "testid": TESTID,
        "scale": scale,
        "name": key,
    }
    callbacks = {"on_click_change": on_click} if on_click is not None else {}
    return _component()(data=data, key=key, **callbacks)
