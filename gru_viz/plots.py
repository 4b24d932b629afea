"""Pure figure builders: numpy records in, plotly Figure out (no torch, no model, no Streamlit).

The dashboard, the HTML report and the tests all draw these. Subplots are laid out by hand with
axis domains: ``make_subplots`` costs ~12 ms a call, an eighth of a live tick's redraw budget.
No template or background colour is set (Streamlit's light/dark theme and the report apply their
own); a constant ``uirevision`` per figure keeps a user's zoom where a chart is updated in place
(plain Plotly). Streamlit 1.67 instead remounts a chart whose figure changed (streamlit#5107;
a fix is proposed in streamlit PR #16052), so the dashboard keeps a zoom only while the chart's
content is unchanged: when paused, and for a probe chart until the next probe.

Figures are assembled from plain dicts without plotly's per-property validation: validating was
four fifths of building them, and building them most of a live tick's drawing on a server shared
by a class. The tests rebuild every figure with validation on and compare.
"""

from __future__ import annotations

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from gru_viz.explain import NO_GATES_NOTE as NO_GATES_NOTE_TEXT
from gru_viz.explain import equations_text
from gru_viz.kinds import KINDS, gate_label
from gru_viz.kinds import title as _title
from gru_viz.numbers import format_number
from gru_viz.records import BoundedSeries, ProbeResult, ProbeSnapshots, Reference, TimeMark

# Colour scales as explicit stops: plotly.js has no "RdBu_r", and unvalidated figures are sent
# as written (validation is what expands a Python-side name).
DIVERGING = plotly.colors.get_colorscale("RdBu_r")
SEQUENTIAL = plotly.colors.get_colorscale("Viridis")
INPUT_SCALE = plotly.colors.get_colorscale("Cividis")
# The Okabe-Ito colours no model uses, for input channels, so they never look like a model.
CHANNEL_COLORS = ("#CC79A7", "#56B4E9", "#D55E00")
# A mid grey reads on both Streamlit's light and dark backgrounds.
NEUTRAL = "#8c8c8c"
GATE_SYMBOLS = {"z": "circle", "r": "x", "i": "triangle-up", "f": "square", "o": "diamond"}
NO_GATES_NOTE = f"{NO_GATES_NOTE_TEXT},<br>{equations_text('rnn', indent='').split('   ')[0]}."
GRAD_H_NOTE = "loss is read at the end → gradient must travel back to early steps"
HEIGHT = 340
# Points drawn per line of a training-step chart: about one per pixel of a half-width chart.
# A record holds up to 2,000 rows; sending them all cost each live tick ~300 kB and ~5 ms.
MAX_LINE_POINTS = 500
ROW_HEIGHT = 290  # per row of a multi-row heatmap grid
MARGIN = dict(l=60, r=20, t=40, b=45)
LEGEND = dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom")
DASHED = dict(color=NEUTRAL, dash="dash", width=1.5)
# Readable from the back of a room: ticks, axis titles and legends at 14 px, labels on lines 13.
FONT = dict(size=14)
SMALL = dict(size=13)
# Each reference level has its own dash, so the lines tell apart without colour.
REFERENCE_DASH = {"baseline": "dash", "memoryless": "dashdot", "noise_floor": "dot"}
NOTE = dict(xref="paper", yref="paper", showarrow=False)  # text placed relative to the plot


def unvalidated_figure(data: list[dict], layout: dict) -> go.Figure:
    """A Figure from trusted dicts, skipping validation (see the module docstring)."""
    return go.Figure(data=data, layout=layout, _validate=False)


def _axis(title: str, **extra) -> dict:
    return dict(title=dict(text=title), automargin=True, **extra)


def _layout(revision: str, x_title: str, y_title: str, log_y: bool = False, **extra) -> dict:
    """Layout of the single-panel charts; ``extra`` overrides (height, hovermode, shapes, ...).

    A log/linear switch gets its own ``uirevision``: a zoom kept across it would be meaningless.
    """
    y_axis = _axis(y_title + (" (log)" if log_y else ""), type="log" if log_y else "linear")
    if log_y:  # ticks between powers of ten read as values (0.2, 0.5), never a bare "5"
        y_axis.update(minorloglabels="none", exponentformat="power")
    layout = dict(uirevision=revision + ("-log" if log_y else ""), height=HEIGHT, margin=MARGIN)
    layout["font"] = FONT
    layout.update(legend=LEGEND, hovermode="x unified", xaxis=_axis(x_title), yaxis=y_axis)
    return dict(layout, **extra)


def _set_log_range(axis: dict, span: list[float] | None) -> None:
    """Fix a log axis to ``span``. Below three decades, tick 1, 2 and 5 of each decade and label
    them (with only powers of ten a narrow axis would have one label or none), as plain numbers
    (0.2, not 2×10⁻¹) unless they are tiny."""
    if span is not None:
        axis["range"] = span
        if span[1] - span[0] < 3:
            # Explicit ticks: plotly draws its own in-between log labels at a smaller size.
            decades = range(int(np.floor(span[0])), int(np.ceil(span[1])) + 1)
            ticks = [m * 10.0**k for k in decades for m in (1, 2, 5)]
            ticks = [v for v in ticks if span[0] <= np.log10(v) <= span[1]]
            axis.update(tickmode="array", tickvals=ticks, ticktext=list(map(_tick, ticks)))


def _tick(value: float) -> str:
    """0.05, 0.2, 1, 50, 2,000; beyond 10⁴ or below 10⁻³ as a power of ten."""
    if 1e-3 <= value < 1e4:
        return f"{value:,.10g}"
    return format_number(value, 1).replace(".0 ×", " ×")


def _log_range(*arrays, decades: float = 1.0) -> list[float] | None:
    """A log axis range over the positive values, at least ``decades`` wide: a narrower one
    gets a single tick, labelled with every digit (0.16666666666666674068)."""
    values = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in arrays] + [[]])
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return None
    low, high = np.log10(values.min()), np.log10(values.max())
    if high - low < decades:
        middle = (low + high) / 2
        low, high = middle - decades / 2, middle + decades / 2
    pad = 0.05 * (high - low)
    return [float(low - pad), float(high + pad)]


def _hline(y: float, label: str, name: str, dash: str = "dash") -> dict:
    """A dashed full-width line, labelled on itself and in the legend.

    A shape (not a trace) spans the width at any zoom, and its label follows it onto log axes,
    where an annotation would need log10(y).
    """
    line = dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y, y1=y)
    line["line"] = dict(DASHED, dash=dash)
    label = dict(text=label, textposition="end", yanchor="bottom", font=SMALL)
    return dict(line, name=name, showlegend=True, label=label)


def _cursor(x: int, xref: str = "x", yref: str = "y") -> dict:
    line = dict(color=NEUTRAL, width=2, dash="dot")
    return dict(type="line", xref=xref, x0=x, x1=x, yref=f"{yref} domain", y0=0, y1=1, line=line)


# An event on a training-step chart: (step, short label on the chart, full text on hover).
Mark = tuple[int, str, str]
EVENT_LINE = dict(color="#CC79A7", width=1.5, dash="dot")


def _event_marks(marks: list[Mark]) -> tuple[list[dict], list[dict]]:
    """A dotted vertical line per event, labelled at the top; hover the label for the text."""
    shapes, notes = [], []
    for step, label, text in marks:
        shapes.append(
            dict(type="line", xref="x", x0=step, x1=step, yref="paper", y0=0, y1=1, line=EVENT_LINE)
        )
        notes.append(
            dict(
                x=step,
                xref="x",
                y=1,
                yref="paper",
                yanchor="bottom",
                text=label,
                showarrow=False,
                font=dict(SMALL, color=EVENT_LINE["color"]),
                hovertext=f"step {step}: {text}",
                textangle=0,
            )
        )
    return shapes, notes


MARK_COLOR = "#D55E00"  # vermillion: stands out on both colour scales and on white


def _time_marks(marks: list[TimeMark], refs: list[tuple[str, str]]) -> tuple[list, list]:
    """The task's marked steps on every panel: a line through a single step, two lines around
    a span; each label once, at the foot of the first panel."""
    shapes, notes, labelled = [], [], set()
    line = dict(color=MARK_COLOR, width=1.5)
    for first, last, label in marks:
        edges = [first] if first == last else [first - 0.5, last + 0.5]
        for x_ref, y_ref in refs:
            for x in edges:
                shapes.append(
                    dict(
                        type="line",
                        xref=x_ref,
                        x0=x,
                        x1=x,
                        yref=f"{y_ref} domain",
                        y0=0,
                        y1=1,
                        line=line,
                        opacity=0.9,
                    )
                )
        if label not in labelled:
            labelled.add(label)
            x_ref, y_ref = refs[0]
            notes.append(
                dict(
                    x=(first + last) / 2,
                    xref=x_ref,
                    y=0,
                    yref=f"{y_ref} domain",
                    yanchor="bottom",
                    text=label,
                    showarrow=False,
                    font=dict(SMALL, color=MARK_COLOR),
                    bgcolor="rgba(255,255,255,0.75)",
                )
            )
    return shapes, notes


def _positive(values: np.ndarray) -> np.ndarray:
    """Zero, negative or non-finite values would break a log axis: show them as gaps."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """np.nanmean without its warning for all-padding columns (those stay NaN)."""
    counts = np.sum(~np.isnan(values), axis=axis)
    totals = np.nansum(values, axis=axis)
    return np.divide(totals, counts, out=np.full(totals.shape, np.nan), where=counts > 0)


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` points (fewer at the start), so it never looks ahead."""
    sums = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _evenly(count: int, limit: int = MAX_LINE_POINTS) -> np.ndarray:
    """Indices of at most ``limit`` evenly spaced rows of ``count``, first and last included."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(int))


def _trace(kind: str, x, y, name: str, hover: str, mode: str = "lines", **line) -> dict:
    """A scatter trace in the model's colour (unless ``line`` says otherwise), legend-grouped."""
    trace = dict(type="scatter", mode=mode, x=x, y=y, name=name, legendgroup=kind)
    line = {"color": KINDS[kind].color if kind in KINDS else NEUTRAL, **line}
    return dict(trace, line=line, hovertemplate=hover)


def _note_figure(text: str, uirevision: str) -> go.Figure:
    """A figure that only says why there is nothing to draw."""
    layout = _layout(uirevision, "", "", height=200)
    layout["xaxis"]["visible"] = layout["yaxis"]["visible"] = False
    layout["annotations"] = [dict(NOTE, text=text, x=0.5, y=0.5, font=dict(size=13))]
    return unvalidated_figure([], layout)


def loading_figure() -> go.Figure:
    """What a new session sees while the server builds its models (plotly only, no torch).

    Sent before torch is imported, it also makes the browser start loading plotly.js (a 4.7 MB
    script) while the server is still busy, instead of after the first real chart arrives.
    """
    return _note_figure("Building a GRU and a vanilla RNN and running the first probe…", "loading")


def _grid(
    titles: list[list[str]], x_title: str, y_title: str, gap_px: float = 65
) -> tuple[list[tuple], dict]:
    """Hand-built subplots, ``titles[row][col]`` per panel (rows may be ragged), sharing x.

    The plot area must be ROW_HEIGHT px per row (the figure's height less its margins): rows
    are then ``gap_px`` apart, room for the tick labels above and a one-line title (two-line
    titles need more). Returns each panel's (xaxis, yaxis) trace references in reading order,
    and layout entries.
    """
    n_rows, n_cols = len(titles), max(len(row) for row in titles)
    # Fractions of the plot area between panels: a fixed fraction went negative at six rows.
    hgap, vgap = 0.06, gap_px / (ROW_HEIGHT * n_rows)
    width = (1 - hgap * (n_cols - 1)) / n_cols
    height = (1 - vgap * (n_rows - 1)) / n_rows
    refs, layout = [], {"annotations": []}
    for r, row in enumerate(titles):
        top = 1 - r * (height + vgap)
        for c, title in enumerate(row):
            n = str(len(refs) + 1) if refs else ""  # plotly names axes x, x2, x3, ...
            left = c * (width + hgap)
            x_axis = _axis(x_title if r == n_rows - 1 else "", domain=[left, left + width])
            layout[f"xaxis{n}"] = dict(x_axis, anchor=f"y{n}", **({"matches": "x"} if n else {}))
            # Rounded, so the bottom row's edge is 0.0, not -1e-16 (which plotly refuses).
            bottom = max(0.0, round(top - height, 9))
            y_axis = _axis(y_title if c == 0 else "", domain=[bottom, round(top, 9)])
            layout[f"yaxis{n}"] = dict(y_axis, anchor=f"x{n}")
            title_at = dict(x=left + width / 2, y=top, xanchor="center", yanchor="bottom")
            layout["annotations"].append(dict(NOTE, text=title, font=dict(size=15), **title_at))
            refs.append((f"x{n}", f"y{n}"))
    return refs, layout


def _heatmaps(
    panels: list,
    scale: dict,
    colorbar: str,
    revision: str,
    cursor,
    y_title: str,
    marks: list[TimeMark] = (),
):
    """Row×time heatmaps on one shared colour axis; panels[row] = [(title, symbol, z), ...]."""
    refs, layout = _grid([[cell[0] for cell in row] for row in panels], "time step t", y_title)
    data = []
    cells = [cell for row in panels for cell in row]
    for (x, y), (title, symbol, z) in zip(refs, cells, strict=True):
        hover = f"{title}<br>t=%{{x}}, {y_title} %{{y}}<br>{symbol} = %{{z:.3f}}<extra></extra>"
        # Contiguous, so the (transposed) array serialises as one binary block.
        heatmap = dict(type="heatmap", z=np.ascontiguousarray(z), xaxis=x, yaxis=y)
        data.append(dict(heatmap, coloraxis="coloraxis", hoverongaps=False, hovertemplate=hover))
    coloraxis = dict(scale, colorbar=dict(title=dict(text=colorbar), thickness=12))
    height = HEIGHT if len(panels) == 1 else 40 + ROW_HEIGHT * len(panels)
    layout.update(uirevision=revision, coloraxis=coloraxis, hovermode="closest", height=height)
    layout["font"] = FONT
    layout["margin"] = dict(MARGIN, t=30 + 15 * max(cell[0].count("<br>") for cell in cells))
    shapes, notes = _time_marks(list(marks), refs)
    if cursor is not None:
        shapes += [_cursor(cursor, x, y) for x, y in refs]
    if shapes:
        layout["shapes"] = shapes
    layout["annotations"] += notes
    return unvalidated_figure(data, layout)


def loss_figure(
    histories: dict[str, BoundedSeries],
    references: list[Reference],
    log_y: bool = False,
    marks: list[Mark] = (),
) -> go.Figure:
    """Training loss per step for each model, its moving average, and the task's reference
    levels (baseline; memoryless and noise floor where they apply) as labelled lines."""
    data, shown_values = [], []
    for kind, history in histories.items():
        steps, loss = history.array("step"), history.array("loss")
        shown = _positive(loss) if log_y else loss
        window = int(np.clip(len(loss) // 20, 1, 50))
        average = _moving_average(shown, window) if len(loss) else shown  # over every row
        rows = _evenly(len(steps))
        steps, shown, average = steps[rows], shown[rows], average[rows]
        shown_values.append(shown)
        raw = _trace(kind, steps, shown, f"{_title(kind)} (each step)", "loss %{y:.4g}", width=1)
        data.append(dict(raw, opacity=0.3, showlegend=False))
        name = f"{_title(kind)} (smoothed; faint: each step)"
        data.append(_trace(kind, steps, average, name, "mean %{y:.4g}", width=2.5))
    layout = _layout("loss", "training step", "loss", log_y)
    steps = np.concatenate([h.array("step") for h in histories.values()] + [np.zeros(0)])
    ends = [steps.min(), steps.max()] if steps.size else [0.0, 1.0]
    shapes = []
    for ref in references:
        # Short on the line (the curves sit on it); the meaning is in the hover and the caption.
        dash = REFERENCE_DASH.get(ref.id, "dash")
        text = f"{ref.label} {format_number(ref.value)}"
        shapes.append(_hline(ref.value, text, text, dash))
        # An invisible twin of the line carries its meaning into the unified hover.
        hover = f"{text}: {ref.meaning}<extra></extra>"
        twin = dict(type="scatter", x=ends, y=[ref.value] * 2, mode="lines", name=ref.label)
        data.append(dict(twin, line=dict(width=0), showlegend=False, hovertemplate=hover))
    marked, notes = _event_marks(list(marks))
    layout["shapes"] = shapes + marked
    if notes:  # plotly drops an empty list: leave it out, so both send the same figure
        layout["annotations"] = notes
    if log_y:
        _set_log_range(layout["yaxis"], _log_range(*shown_values, [r.value for r in references]))
    return unvalidated_figure(data, layout)


def hidden_state_figure(
    probes: dict[str, ProbeResult],
    sample: int,
    layer: int = -1,
    cursor: int | None = None,
    marks: list[TimeMark] = (),
) -> go.Figure:
    """Hidden state h as unit×time heatmaps, one panel per model, colours fixed to [-1, 1]."""
    if not probes:
        return _note_figure("No model to show.", "hidden_state")
    # traces are (layers, samples, T, H); a heatmap row is a unit, so transpose to (H, T).
    row = [
        (f"{_title(k)} hidden state h", "h", p.traces["h"][layer, sample].T)
        for k, p in probes.items()
    ]
    scale = dict(cmin=-1, cmax=1, cmid=0, colorscale=DIVERGING)
    return _heatmaps([row], scale, "h value", "hidden_state", cursor, "hidden unit", marks)


def gate_figure(
    probes: dict[str, ProbeResult],
    sample: int,
    layer: int = -1,
    cursor: int | None = None,
    marks: list[TimeMark] = (),
) -> go.Figure:
    """GRU z and r (and LSTM i, f, o) as unit×time heatmaps on one [0, 1] colour axis."""
    # Three panels a row leave too little width for a one-line title: break before the meaning.
    wrap = "<br>(" if "lstm" in probes else " ("
    panels = []
    for kind in (k for k in probes if KINDS[k].gates):
        row = []
        for gate in KINDS[kind].gates:
            title = f"{_title(kind)} {gate_label(kind, gate).replace(' (', wrap)}"
            row.append((title, gate, probes[kind].traces[gate][layer, sample].T))
        panels.append(row)
    if not panels:
        return _note_figure(NO_GATES_NOTE, "gates")
    scale = dict(cmin=0, cmax=1, colorscale=SEQUENTIAL)
    return _heatmaps(panels, scale, "gate: 0 → 1", "gates", cursor, "hidden unit", marks)


def grad_h_figure(
    probes: dict[str, ProbeResult],
    snapshots: dict[str, ProbeSnapshots],
    sample: int | None = None,
    cursor: int | None = None,
    *,
    note: str = GRAD_H_NOTE,
    marks: list[TimeMark] = (),
) -> go.Figure:
    """‖∂L/∂h_t‖ against t on a log axis: now (solid), at initialisation (dotted), in between.

    sample None averages over the probe samples; ``note`` says where the task reads the loss.
    """

    def norms(result: ProbeResult) -> np.ndarray:
        last_layer = result.grad_h_norm[-1]
        return _positive(_nanmean(last_layer, 0) if sample is None else last_layer[sample])

    data = []
    hover = "%{fullData.name}: %{y:.3g}<extra></extra>"
    for kind, probe in probes.items():
        history = snapshots.get(kind) or ProbeSnapshots()
        pairs = zip(history.steps, history.results, strict=True)
        earlier = [(step, result) for step, result in pairs if step < probe.step]
        if earlier:
            step, first = earlier[0]
            name = f"{_title(kind)} at step {step}"
            data.append(_trace(kind, None, norms(first), name, hover, width=2, dash="dot"))
            # A few faint in-between probes show the trend without burying the two that matter.
            between = earlier[1:]
            for index in np.linspace(0, len(between) - 1, min(3, len(between))).astype(int):
                step, result = between[index]
                name = f"{_title(kind)} at step {step}"
                faint = _trace(kind, None, norms(result), name, hover, width=1)
                data.append(dict(faint, showlegend=False, opacity=0.3))
        name = f"{_title(kind)} now (step {probe.step})"
        data.append(_trace(kind, None, norms(probe), name, hover, width=3.5))
    which = "mean over probe samples" if sample is None else f"probe sample {sample}"
    legend = f"solid: now · dotted: initialisation · faint: in between · {which}"
    # Under the axis title, not on the plot: inside it, it collides with the ticks on a laptop.
    place = dict(x=0, y=-0.42, xanchor="left", yanchor="top", align="left", font=SMALL)
    layout = _layout("grad_h", "time step t", "‖∂L/∂h_t‖", log_y=True)
    layout["margin"] = dict(MARGIN, b=135)
    layout["yaxis"]["exponentformat"] = "power"
    shapes, notes = _time_marks(list(marks), [("x", "y")])
    layout["annotations"] = [dict(NOTE, text=f"{note}<br>{legend}", **place), *notes]
    if cursor is not None:
        shapes.append(_cursor(cursor))
    if shapes:
        layout["shapes"] = shapes
    return unvalidated_figure(data, layout)


def grad_norm_figure(
    histories: dict[str, BoundedSeries],
    clip: float | None,
    log_y: bool = True,
    marks: list[Mark] = (),
) -> go.Figure:
    """Total gradient norm before clipping, per training step, with the clipping threshold."""
    data = []
    for kind, history in histories.items():
        steps = history.array("step")
        rows = _evenly(len(steps))
        norm = history.array("grad_norm")[rows]
        shown = _positive(norm) if log_y else norm
        steps, hover = steps[rows], "‖g‖ = %{y:.3g}"
        data.append(_trace(kind, steps, shown, _title(kind), hover, width=1.5))
    layout = _layout("grad_norm", "training step", "‖∇L‖ before clipping", log_y)
    norms = [h.array("grad_norm") for h in histories.values()]
    if log_y:
        _set_log_range(layout["yaxis"], _log_range(*norms, [clip] if clip else []))
    shapes, notes = _event_marks(list(marks))
    clip_line = [_hline(clip, f"clip at {clip:g}", f"clip at {clip:g}")] if clip is not None else []
    if clip_line + shapes:
        layout["shapes"] = clip_line + shapes
    if notes:
        layout["annotations"] = notes
    return unvalidated_figure(data, layout)


def prediction_figure(
    predictions: dict[str, np.ndarray],
    target: np.ndarray,
    loss_mask: np.ndarray,
    valid: np.ndarray,
    loss_kind: str,
    sample: int,
    cursor: int | None = None,
) -> go.Figure:
    """One probe sequence. mse: the target at scored steps and each model's output at every
    valid step. ce: the probability each model gives the correct symbol, against chance.
    """
    valid_row = np.asarray(valid[sample], dtype=bool)
    scored = np.flatnonzero(np.asarray(loss_mask[sample], dtype=bool) & valid_row)
    steps = np.arange(valid_row.size)
    data, shapes = [], []
    if loss_kind == "ce":
        symbols = np.asarray(target[sample])[scored].astype(int)
        for kind, prediction in predictions.items():
            probability = prediction[sample, scored, symbols]
            name, hover = f"{_title(kind)}: P(correct symbol)", "P(symbol %{customdata}) = %{y:.2f}"
            trace = _trace(kind, scored, probability, name, hover, "lines+markers")
            data.append(dict(trace, customdata=symbols))
        classes = next(iter(predictions.values())).shape[-1] if predictions else 2
        shapes.append(_hline(1 / classes, f"chance 1/{classes}", f"chance 1/{classes}"))
        y_title, y_range = "probability of the correct symbol", [0, 1.05]
    else:
        wanted = np.asarray(target[sample])[scored, 0]
        crosses = dict(color=NEUTRAL, symbol="x", size=11)
        data.append(dict(type="scatter", mode="markers", x=scored, y=wanted, marker=crosses))
        data[-1].update(name="target (scored steps)", hovertemplate="target %{y:.3f}")
        # One trace per model: markers only where the output is scored, a line everywhere.
        marker = dict(size=np.where(np.isin(steps, scored), 8, 0))
        for kind, prediction in predictions.items():
            output = np.where(valid_row, prediction[sample, :, 0], np.nan)
            trace = _trace(kind, steps, output, f"{_title(kind)} output", "%{y:.3f}", width=2)
            data.append(dict(trace, mode="lines+markers", marker=marker))
        y_title, y_range = "value (first output)", None
    if cursor is not None:
        shapes.append(_cursor(cursor))
    layout = _layout("prediction", "time step t", y_title, **({"shapes": shapes} if shapes else {}))
    # The whole sequence stays in view (ce scores only the last steps), aligned with the cursor.
    layout["xaxis"]["range"] = [-1, valid_row.size]
    if y_range:
        layout["yaxis"]["range"] = y_range
    return unvalidated_figure(data, layout)


def sigma_figure(probe_series: dict[str, BoundedSeries]) -> go.Figure:
    """Largest singular value of each model's tracked recurrent block over training."""
    data = []
    for kind, series in probe_series.items():
        block = KINDS[kind].recurrent_weight
        x, y = series.array("step"), series.array("sigma_max")
        name, hover = f"{_title(kind)} σ_max({block})", f"σ_max({block}) = %{{y:.3f}}"
        data.append(_trace(kind, x, y, name, hover, "lines+markers", width=2))
    shapes = [_hline(1.0, "σ = 1", "σ = 1")]
    layout = _layout("sigma", "training step", "largest singular value σ_max", shapes=shapes)
    return unvalidated_figure(data, layout)


def saturation_figure(probes: dict[str, ProbeResult], threshold: float = 0.1) -> go.Figure:
    """Per unit: fraction of time a gate is nearly closed (x) against nearly open (y).

    After Karpathy, Johnson & Fei-Fei (2015): units near the diagonal x + y = 1 act as switches;
    near the origin they stay in between. Last layer, every probe sample and step.
    """
    low_text, high_text = f"below {threshold:g}", f"above {1 - threshold:g}"
    data = []
    for kind, probe in probes.items():
        for gate in KINDS[kind].gates:
            values = probe.traces[gate][-1]  # (samples, T, H); NaN on padding
            seen = np.sum(~np.isnan(values), axis=(0, 1)).clip(min=1)
            with np.errstate(invalid="ignore"):  # NaN compares False: padding counts as neither
                low = np.sum(values < threshold, axis=(0, 1)) / seen
                high = np.sum(values > 1 - threshold, axis=(0, 1)) / seen
            name = f"{_title(kind)} {gate_label(kind, gate).split(' (')[0]}"
            hover = f"{name}, unit %{{customdata}}<br>{low_text}: %{{x:.0%}}<br>{high_text}: "
            points = _trace(kind, low, high, name, hover + "%{y:.0%}<extra></extra>", "markers")
            marker = dict(color=points["line"]["color"], symbol=GATE_SYMBOLS[gate], size=9)
            data.append(dict(points, marker=marker, opacity=0.8, customdata=np.arange(low.size)))
    if not data:
        return _note_figure(NO_GATES_NOTE, "saturation")
    x_title = f"fraction of steps with gate < {threshold:g} (closed)"
    y_title = f"fraction of steps with gate > {1 - threshold:g} (open)"
    layout = _layout("saturation", x_title, y_title, height=380, hovermode="closest")
    layout["xaxis"]["range"] = layout["yaxis"]["range"] = [-0.03, 1.03]
    label = dict(text="x + y = 1: always saturated", textposition="middle", font=SMALL)
    layout["shapes"] = [dict(type="line", x0=0, y0=1, x1=1, y1=0, line=DASHED, label=label)]
    return unvalidated_figure(data, layout)


def input_figure(
    x: np.ndarray,
    input_names: tuple[str, ...],
    sample: int,
    valid: np.ndarray,
    cursor: int | None = None,
) -> go.Figure:
    """The probe sequence's inputs: lines for up to 3 channels, a channel×time heatmap beyond."""
    valid_row = np.asarray(valid[sample], dtype=bool)
    values = np.where(valid_row[:, None], np.asarray(x[sample], dtype=float), np.nan)  # (T, C)
    if values.shape[1] > 3:
        panels = [[("inputs", "input", values.T)]]
        figure = _heatmaps(
            panels, dict(colorscale=INPUT_SCALE), "input", "inputs", cursor, "channel"
        )
        figure.data[0].y = list(input_names)
        return figure
    data = []
    for channel, name in enumerate(input_names):
        color = CHANNEL_COLORS[channel % len(CHANNEL_COLORS)]
        hover = f"{name}: %{{y:.3f}}"
        trace = _trace(name, None, values[:, channel], name, hover, width=1.5, color=color)
        data.append(dict(trace, mode="lines+markers", marker=dict(size=4)))
    layout = _layout("inputs", "time step t", "input value", height=260)
    if cursor is not None:  # an empty list would be dropped by plotly's validation
        layout["shapes"] = [_cursor(cursor)]
    return unvalidated_figure(data, layout)


def heads_loss_figure(
    histories: dict[str, BoundedSeries],
    heads: tuple = (),
    log_y: bool = False,
    marks: list[Mark] = (),
) -> go.Figure:
    """Each head's training loss over its own baseline, per model (moving average): one colour
    per model, solid for a regression head, dashed for a classification head, and a line at 1,
    where every head is at its baseline. ``heads``: gru_viz.tasks.Head records (their
    ``share_column``, ``title`` and ``kind``); with none, a note that the task has one head."""
    if not heads:
        return _note_figure("This task has one head: its loss is the loss chart's.", "heads")
    data, shown_values = [], []
    for kind, history in histories.items():
        steps = history.array("step")
        rows = _evenly(len(steps))
        for head in heads:
            share = history.array(head.share_column)
            if share.size != steps.size:  # not recorded (a run of another task)
                continue
            shown = _positive(share) if log_y else share
            window = int(np.clip(len(share) // 20, 1, 50))
            average = _moving_average(shown, window) if len(share) else shown
            shown_values.append(average)
            dash = "solid" if head.kind == "mse" else "dash"
            name, hover = f"{_title(kind)} {head.title}", f"{head.title} %{{y:.3g}} × baseline"
            data.append(_trace(kind, steps[rows], average[rows], name, hover, width=2.5, dash=dash))
    layout = _layout("heads", "training step", "loss ÷ the head's baseline", log_y)
    line = _hline(1.0, "1: the head's baseline", "1: each head's baseline", "dot")
    shapes, notes = _event_marks(list(marks))
    layout["shapes"] = [line, *shapes]
    if notes:
        layout["annotations"] = notes
    if log_y:
        _set_log_range(layout["yaxis"], _log_range(*shown_values, [1.0]))
    return unvalidated_figure(data, layout)


def right_class_probability(logits: np.ndarray, right: int) -> np.ndarray:
    """softmax(logits)[..., right], computed stably: the probability a class head's logits
    (last axis) give the right class."""
    logits = np.asarray(logits, dtype=float)
    logits = logits - np.max(logits, axis=-1, keepdims=True)
    return np.exp(logits[..., right]) / np.exp(logits).sum(axis=-1)


def heads_prediction_figure(
    predictions: dict[str, np.ndarray],
    target: np.ndarray,
    loss_mask: np.ndarray,
    valid: np.ndarray,
    sample: int,
    cursor: int | None = None,
    titles: tuple[str, str] = ("sum head", "larger head"),
    marks: list[TimeMark] = (),
) -> go.Figure:
    """One probe sequence of a task with a regression head (output 0) and a two-class head
    (outputs 1-2: logits; the target one-hot there), on one time axis. Top: each model's
    regression output at every step and the target (crosses) where it is scored. Bottom: the
    probability each model gives the right class at every step (the class scored at the
    sequence's last scored step), against chance. ``predictions``: raw outputs, (samples, T, 3).
    """
    valid_row = np.asarray(valid[sample], dtype=bool)
    scored = np.flatnonzero(np.asarray(loss_mask[sample], dtype=bool) & valid_row)
    steps = np.arange(valid_row.size)
    row = np.asarray(target[sample], dtype=float)
    right = int(np.argmax(row[scored[-1], 1:3])) if scored.size else 0
    refs, layout = _grid(
        [[f"{titles[0]}: output vs target"], [f"{titles[1]}: P(right class)"]], "time step t", ""
    )
    (x1, y1), (x2, y2) = refs
    crosses = dict(color=NEUTRAL, symbol="x", size=11)
    target_trace = dict(type="scatter", mode="markers", x=scored, y=row[scored, 0], marker=crosses)
    target_trace.update(name="target (scored steps)", hovertemplate="target %{y:.3f}")
    data = [dict(target_trace, xaxis=x1, yaxis=y1)]
    marker = dict(size=np.where(np.isin(steps, scored), 8, 0))
    for kind, prediction in predictions.items():
        output = np.where(valid_row, prediction[sample, :, 0], np.nan)
        trace = _trace(kind, steps, output, f"{_title(kind)} {titles[0]}", "%{y:.3f}", width=2)
        data.append(dict(trace, mode="lines+markers", marker=marker, xaxis=x1, yaxis=y1))
        probability = right_class_probability(prediction[sample, :, 1:3], right)
        probability = np.where(valid_row, probability, np.nan)
        name, hover = f"{_title(kind)} {titles[1]}", f"P(class {right}) = %{{y:.2f}}"
        trace = _trace(kind, steps, probability, name, hover, width=2, dash="dash")
        data.append(dict(trace, mode="lines+markers", marker=marker, xaxis=x2, yaxis=y2))
    chance = _hline(0.5, "chance 1/2", "chance 1/2")
    shapes = [dict(chance, yref=y2)]
    marked, notes = _time_marks(list(marks), refs)
    shapes += marked
    if cursor is not None:
        shapes += [_cursor(cursor, x, y) for x, y in refs]
    layout["annotations"] += notes
    layout["yaxis"]["title"] = dict(text="value (output 0)")
    layout["yaxis2"].update(title=dict(text="probability"), range=[0, 1.05])
    for axis in ("xaxis", "xaxis2"):  # the whole sequence in view, aligned with the cursor
        layout[axis]["range"] = [-1, valid_row.size]
    # The legend under the plot: above it are the panels' titles.
    legend = dict(LEGEND, y=-0.14, yanchor="top")
    layout.update(uirevision="prediction_heads", height=560, shapes=shapes, font=FONT)
    layout.update(margin=dict(MARGIN, t=45, b=110), legend=legend, hovermode="x unified")
    return unvalidated_figure(data, layout)
