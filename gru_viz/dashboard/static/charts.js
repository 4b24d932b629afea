// The chart component (gru_viz/dashboard/plot.py): a grid of Plotly charts drawn from one
// payload (gru_viz/chart_payload.py), updated in place. Runs in the page (not a sandbox):
// trusted code of ours. plot.py puts load-plotly.js in place of the marked line, and writes
// the page's plotly.js address and the charts' test id where the code reads them from spec.
const THEMED_AXIS = (grid, text) => ({gridcolor: grid, linecolor: grid, zerolinecolor: grid,
  tickfont: {color: text}, title: {font: {color: text}}});

/* load-plotly.js */

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
