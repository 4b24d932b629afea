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
PLOTLY_JS = Path(__file__).parent / "static" / "plotly-cartesian.min.js"
PLOTLY_PACKAGE_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
TESTID = "gvPlotlyChart"  # on every chart's element, for tests and styling

# One plotly.js per page, whoever asks first: the page's first element (``preload_html``, so
# the browser fetches and evaluates it while the rest of the page arrives) or a chart.
_LOAD_PLOTLY = r"""
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
"""

# Runs in the page (not a sandbox): trusted code of ours. Called on mount and on every new
# figure; the chart element it creates stays, so plotly.js updates it in place.
_JS = r"""
const THEMED_AXIS = (grid, text) => ({gridcolor: grid, linecolor: grid, zerolinecolor: grid,
  tickfont: {color: text}, title: {font: {color: text}}});

LOAD_PLOTLY

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

// The payload is UTF-8 JSON sent as bytes (gru_viz.chart_payload): no second JSON encoding
// of each figure inside a string, on the server or here.
function decode(data) {
  if (data instanceof ArrayBuffer) data = new Uint8Array(data);
  if (ArrayBuffer.isView(data)) data = new TextDecoder().decode(data);
  return typeof data === "string" ? JSON.parse(data) : data;
}

function element(tag, className) {
  const made = document.createElement(tag);
  made.className = className;
  return made;
}

// One grid of rows of charts, each with an optional heading and caption (set as text, never
// as HTML). A new layout rebuilds the grid; the same layout keeps every chart's element, so
// plotly.js updates it in place and the reader's zoom stays.
function layOut(grid, spec) {
  const shape = spec.rows.map((row) => row.map((cell) => cell.id).join(",")).join("|");
  if (grid.dataset.shape === shape) return;
  for (const old of grid.querySelectorAll(".gv-plot")) {
    if (old.__gvResize) old.__gvResize.disconnect();
    if (window.Plotly) window.Plotly.purge(old);
  }
  grid.replaceChildren();
  for (const row of spec.rows) {
    const line = element("div", "gv-row");
    line.style.gridTemplateColumns = `repeat(${row.length}, minmax(0, 1fr))`;
    for (const cell of row) {
      const box = element("div", "gv-cell");
      if (cell.heading !== undefined) box.appendChild(element("div", "gv-heading"));
      const chart = element("div", "gv-plot");
      chart.dataset.testid = spec.testid;
      chart.dataset.name = cell.id;
      box.appendChild(chart);
      if (cell.caption !== undefined) box.appendChild(element("div", "gv-caption"));
      line.appendChild(box);
    }
    grid.appendChild(line);
  }
  grid.dataset.shape = shape;
}

function draw(Plotly, chart, cell, spec, setTriggerValue, parentElement) {
  // The same revision at the same scale: the chart already shows this figure (and the
  // reader's zoom); a class's frame resends unchanged probe charts on every update.
  const colour = getComputedStyle(parentElement).getPropertyValue("--st-text-color");
  const drawn = `${cell.rev}@${spec.scale}@${cell.png}@${colour}`;  // the theme's too
  if (chart.__gvDrawn === drawn) return Promise.resolve();
  chart.__gvDrawn = drawn;
  const figure = cell.figure;
  if (spec.scale && spec.scale !== 1) enlarge(figure, spec.scale);
  const layout = Object.assign({}, figure.layout, {autosize: true});
  layout.template = {layout: theme(parentElement)};
  const config = Object.assign({displaylogo: false, responsive: true}, spec.config);
  if (cell.png) {
    config.toImageButtonOptions = {filename: cell.png, format: "png", scale: 2};
  }
  return Plotly.react(chart, figure.data, layout, config).then(() => {
    if (cell.clickable && !chart.__gvClick) {
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
      chart.__gvResize.observe(chart.parentElement);
    }
  }).catch((error) => {
    chart.textContent = "This chart could not be drawn: " + error.message;
  });
}

// The status row of a class's frame (gru_viz.status_row), drawn like st.metric, st.caption
// and st.info / st.warning / st.error; every text set as text.
function drawStatus(box, status) {
  const cells = element("div", "gv-metrics");
  cells.style.gridTemplateColumns = `repeat(${status.cells.length}, minmax(0, 1fr))`;
  for (const cell of status.cells) {
    const metric = element("div", "gv-metric");
    metric.dataset.testid = "gvMetric";
    metric.dataset.label = cell.label;
    const parts = [["gv-metric-label", cell.label], ["gv-metric-value", cell.value]];
    if (cell.note) parts.push(["gv-metric-note", cell.note]);
    for (const [name, text] of parts) {
      const part = element("div", name);
      part.textContent = text;
      metric.appendChild(part);
    }
    metric.querySelector(".gv-metric-value").dataset.testid = "gvMetricValue";
    cells.appendChild(metric);
  }
  const shown = [cells];
  if (status.sizes) {
    const sizes = element("div", "gv-caption");
    sizes.textContent = status.sizes;
    shown.push(sizes);
  }
  const alerts = status.alerts.concat(status.stopped.map(([, why]) => ["error", why]));
  for (const [kind, text] of alerts) {
    const alert = element("div", `gv-alert gv-alert-${kind}`);
    alert.textContent = text;
    shown.push(alert);
  }
  box.replaceChildren(...shown);
}

export default function ({ data, parentElement, setTriggerValue }) {
  const spec = decode(data);
  let grid = parentElement.querySelector(":scope > .gv-grid");
  if (!grid) {
    grid = element("div", "gv-grid");
    parentElement.appendChild(grid);
  }
  if (spec.status) {
    let box = parentElement.querySelector(":scope > .gv-status");
    if (!box) {
      box = element("div", "gv-status");
      parentElement.insertBefore(box, grid);
    }
    drawStatus(box, spec.status);
  }
  layOut(grid, spec);
  const cells = spec.rows.flat();
  const boxes = grid.querySelectorAll(".gv-cell");
  cells.forEach((cell, i) => {
    const heading = boxes[i].querySelector(".gv-heading");
    if (heading) heading.textContent = cell.heading;
    const caption = boxes[i].querySelector(".gv-caption");
    if (caption) caption.textContent = cell.caption;
  });
  loadPlotly(spec.plotly_url).then((Plotly) => Promise.all(cells.map((cell, i) =>
    draw(Plotly, boxes[i].querySelector(".gv-plot"), cell, spec, setTriggerValue, parentElement)
  ))).catch((error) => {
    for (const chart of grid.querySelectorAll(".gv-plot")) {
      chart.textContent = "This chart could not be drawn: " + error.message;
    }
  });
}
"""


# Serialise a figure once at import, for the same reason as the pandas import above: plotly's
# JSON path imports its other optional modules lazily too. Module imports are locked; lazy ones
# inside a call are not.
go.Figure().to_json()


# The grid's own styles (the component shares the page's: isolate_styles=False, so its charts
# follow Streamlit's theme and fonts). Headings and captions as st.markdown("**…**") and
# st.caption draw them, in rem: 14 px on a laptop, larger in the projector view (which scales
# the page's root font).
_CSS = """
.gv-row { display: grid; gap: 1rem; margin-bottom: 1rem; }
.gv-row:last-child { margin-bottom: 0; }
.gv-heading { font-weight: 600; margin-bottom: 0.25rem; }
.gv-caption { font-size: 0.875rem; line-height: 1.45; opacity: 0.7; margin-top: 0.25rem; }
.gv-status { margin-bottom: 1rem; }
.gv-metrics { display: grid; gap: 1rem; }
.gv-metric-label { font-size: 0.875rem; }
.gv-metric-value { font-size: 2.25rem; line-height: 1.3; }
.gv-metric-note { font-size: 0.875rem; opacity: 0.7; }
.gv-alert { border-radius: 0.5rem; padding: 0.75rem 1rem; margin-top: 0.5rem; }
.gv-alert-info { background: rgba(28, 131, 225, 0.1); }
.gv-alert-warning { background: rgba(255, 189, 69, 0.2); }
.gv-alert-error { background: rgba(255, 43, 43, 0.09); }
@media (max-width: 640px) {
  .gv-row, .gv-metrics { grid-template-columns: minmax(0, 1fr) !important; }
}
"""


@functools.cache
def _component(plotly_url: str):
    # What every chart needs and no payload should carry: where plotly.js is, the test id.
    js = _JS.replace("LOAD_PLOTLY", _LOAD_PLOTLY)
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
