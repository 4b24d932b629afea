"""The figure "Why the gradient vanishes": one step's Jacobian, per model, along a probe sequence.

A pure builder in the style of ``gru_viz.plots`` (numpy in, plotly Figure out, no torch, built
from plain dicts without validation; the tests validate it). What it draws comes from
``gru_viz.jacobian.jacobian_series``: per model, arrays (T,) "norm" (‖∂h_t/∂h_{t−1}‖₂), "bound"
(RNN), "keep" (gated kinds), "factor" (the measured ‖∂L/∂h_{t−1}‖/‖∂L/∂h_t‖), and going back
from the last step b: "ratio" (measured), "log10_norm_of_product" and "log10_product_of_norms".
The text beside it (``reading``, ``summary``) is written here too, next to what it describes.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from gru_viz.kinds import title as _title
from gru_viz.numbers import format_number
from gru_viz.plots import (
    FONT,
    LEGEND,
    MARGIN,
    ROW_HEIGHT,
    SMALL,
    _cursor,
    _grid,
    _hline,
    _log_range,
    _note_figure,
    _positive,
    _set_log_range,
    _time_marks,
    _trace,
    unvalidated_figure,
)
from gru_viz.records import TimeMark

# The direct path's coefficient "keep" is drawn as, per kind: the diagonal part of the Jacobian
# that passes the old state straight on (its largest entry is that part's norm).
KEEP_LABELS = {
    "gru": "max z (‖diag z_t‖)",
    "gru_cho": "max z (‖diag z_t‖)",
    "blog": "max (1 − z)",
    "blog_tied": "max (1 − z)",
    "mgu": "max (1 − f)",
    "lstm": "max f (cell path)",
}
BOUND_LABEL = "bound σ_max(W_hh)·max tanh′"
ONE_LABEL = "1: the gradient keeps its size"
FACTOR_LABEL = "measured ‖∂L/∂h_t−1‖/‖∂L/∂h_t‖"
TOP_KEY = (
    "each step: ‖J_t‖ = ‖∂h_t/∂h_t−1‖₂ (solid) · ○ what it did to the gradient,<br>"
    "‖∂L/∂h_t−1‖/‖∂L/∂h_t‖ · dotted: the direct path (GRU max z) · dashed: RNN bound"
)
BOTTOM_KEY = (
    "going back from {back}: measured ‖∂L/∂h_a‖ / ‖∂L/∂h_b‖ (solid),<br>"
    "the norm of the product ‖J_b⋯J_a+1‖ (dash-dot), the product of norms Π ‖J_t‖ (dashed)"
)
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _norm_label(kind: str) -> str:
    return "‖∂(h,c)_t/∂(h,c)_t−1‖" if kind == "lstm" else "‖∂h_t/∂h_t−1‖"


def format_power(log10_value: float) -> str:
    """10 to a power, printed as ``format_number`` prints numbers, beyond float range too."""
    if not math.isfinite(log10_value):
        return "—"
    if abs(log10_value) < 300:
        return format_number(10.0**log10_value)
    return f"10{str(round(log10_value)).translate(_SUPERSCRIPTS)}"


def span_of(series: dict[str, np.ndarray]) -> tuple[int, int] | None:
    """(a, b): the first and last steps with a measured gradient."""
    steps = np.flatnonzero(np.isfinite(series["ratio"]))
    return (int(steps[0]), int(steps[-1])) if steps.size else None


def _relation(low: float, high: float) -> str:
    """ "≤" or ">" between two log₁₀ values, "vs" when either is not a number."""
    if not (math.isfinite(low) or low == -math.inf) or not math.isfinite(high):
        return "vs"
    return "≤" if low <= high + 1e-9 else ">"


def span_lines(series: dict[str, dict[str, np.ndarray]]) -> list[str]:
    """Per model, over the whole span a … b: the measured ‖∂L/∂h_a‖/‖∂L/∂h_b‖, the norm of the
    product of the step Jacobians, and the product of their norms, with the signs that hold."""
    lines = []
    for kind, arrays in series.items():
        span = span_of(arrays)
        if span is None:
            continue
        a, b = span
        ratio = float(arrays["ratio"][a])
        with np.errstate(divide="ignore", invalid="ignore"):
            measured = math.log10(ratio) if ratio > 0 else -math.inf if ratio == 0 else math.nan
        chain = float(arrays["log10_norm_of_product"][a])
        norms = float(arrays["log10_product_of_norms"][a])
        lines.append(
            f"{_title(kind)}: ‖∂L/∂h_{a}‖ / ‖∂L/∂h_{b}‖ = {format_number(ratio)} "
            f"{_relation(measured, chain)} ‖J_{b}⋯J_{a + 1}‖ = {format_power(chain)} "
            f"{_relation(chain, norms)} Π ‖J_t‖ = {format_power(norms)}"
        )
    return lines


def summary(series: dict[str, dict[str, np.ndarray]], sample: int = 0) -> str:
    """The figure's numbers in a sentence (the report's line under it)."""
    lines = span_lines(series)
    if not lines:
        return ""
    return f"Probe sequence {sample}, over its whole span: {'; '.join(lines)}."


READING = (
    "Why the gradient vanishes, step by step (top layer, the chosen probe sequence, log "
    "scale). Backpropagation carries the gradient back one step at a time, multiplying it by "
    "that step's Jacobian J_t = ∂h_t/∂h_{t−1} (transposed). Top: its spectral norm ‖J_t‖₂, the "
    "most one step can stretch any gradient (solid; the LSTM's is that of its whole state "
    "(h, c)), and circles: what going back through step t did to this sequence's gradient, "
    "‖∂L/∂h_{t−1}‖ / ‖∂L/∂h_t‖ (not drawn for the LSTM, whose gradient also flows through c). "
    "Below the line at 1 a step shrinks every gradient. Tanh RNN: "
    "J_t = diag(1 − h_t²) W_hh, so ‖J_t‖ ≤ σ_max(W_hh) · max_i (1 − h_t,i²) (dashed; Pascanu "
    "et al. 2013): saturated units pass almost nothing back. GRU: J_t = diag(z_t) plus terms "
    "that each row multiplies by z_t(1 − z_t) or by 1 − z_t, so where a unit's z ≈ 1 its row of "
    "J_t is ≈ z on the diagonal and ≈ 0 elsewhere, and the gradient reaching that unit is passed "
    "back to it multiplied by ≈ z, with ‖J_t‖ near 1 (dotted: max_i z_t,i, the norm of "
    "diag(z_t); for the blog GRU and the "
    "MGU the kept share 1 − z or 1 − f, for the LSTM the cell's f). Bottom, for a loss read at "
    "the end: ‖∂L/∂h_a‖ ≤ ‖∂L/∂h_b‖ · ‖J_b ⋯ J_{a+1}‖ ≤ ‖∂L/∂h_b‖ · Π_{t=a+1..b} ‖J_t‖. The "
    "product of the norms (dashed) is a worst case: each step stretches at most one direction "
    "that far, and successive steps need not stretch the same one, so a tanh RNN's gradient "
    "can vanish while every ‖J_t‖ is above 1. The norm of the product (dash-dot) follows the "
    "measured ratio (solid) far more closely."
)
EVERY_STEP = (
    " Here the loss is read at every step, and the bound covers only the gradient coming back "
    "from the loss at the last step b: writing e_s for the gradient the loss at step s sends "
    "straight into h_s, ‖∂L/∂h_a‖ ≤ ‖∂L/∂h_b‖ · Π_{t=a+1..b} ‖J_t‖ + Σ_{s=a..b−1} ‖e_s‖ · "
    "Π_{t=a+1..s} ‖J_t‖, so the measured ratio may rise above both bottom lines, and a circle "
    "above its step's ‖J_t‖."
)


def reading(scored_at_end: bool) -> str:
    """How to read the figure; ``scored_at_end``: the task reads the loss only at the end."""
    return READING if scored_at_end else READING + EVERY_STEP


def _log_axis(axis: dict, *arrays) -> dict:
    axis.update(type="log", exponentformat="power", minorloglabels="none")
    _set_log_range(axis, _log_range(*arrays))
    return axis


def _power_of_ten(log10_values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore"):
        return _positive(10.0 ** np.asarray(log10_values, dtype=float))


GAP_PX = 105  # between the panels: ticks, then a two-line title


def jacobian_figure(
    series: dict[str, dict[str, np.ndarray]],
    sample: int,
    cursor: int | None = None,
    *,
    marks: list[TimeMark] = (),
    layers: int = 1,
) -> go.Figure:
    """Top, per step t on a log axis: ‖∂h_t/∂h_{t−1}‖₂ (solid) with a line at 1; the RNN's
    bound σ_max(W_hh) · max tanh′ (dashed); the gated kinds' direct path (dotted); and what the
    step did to the measured gradient, ‖∂L/∂h_{t−1}‖/‖∂L/∂h_t‖ (dots). Bottom, going back from
    the last step b: the measured ‖∂L/∂h_a‖/‖∂L/∂h_b‖ (solid), the norm of the product of the
    Jacobians ‖J_b ⋯ J_{a+1}‖ (dash-dot) and the product of their norms (dashed). Underneath,
    the three numbers over the whole span, per model.
    """
    if not series:
        return _note_figure("No model to show.", "jacobian")
    spans = [span_of(arrays) for arrays in series.values()]
    last = next((span[1] for span in spans if span is not None), None)
    which = f"top layer of {layers}: " if layers > 1 else ""
    back = f"b = {last}" if last is not None else "b = the last step"
    titles = [[TOP_KEY], [BOTTOM_KEY.format(back=back)]]
    # Two-line panel titles: the lower one needs room above it for the upper panel's ticks.
    refs, layout = _grid(titles, "time step t", "", gap_px=GAP_PX)
    (x1, y1), (x2, y2) = refs
    data, top_values, bottom_values = [], [[1.0]], [[1.0]]
    hover = "%{fullData.name}: %{y:.3g}<extra></extra>"

    def add(trace: dict, x: str, y: str, dash: str | None = None, **extra) -> None:
        """One legend entry per model (its ‖J_t‖ line; a click hides all its lines)."""
        line = dict(trace["line"], dash=dash) if dash else trace["line"]
        extra.setdefault("showlegend", False)
        data.append(dict(trace, line=line, xaxis=x, yaxis=y, **extra))

    for kind, arrays in series.items():
        name = _title(kind)
        norm = _positive(arrays["norm"])
        line = _trace(kind, None, norm, f"{name} {_norm_label(kind)}", hover, width=2.5)
        add(line, x1, y1, showlegend=True)
        top_values.append(norm)
        if "bound" in arrays:
            bound = _positive(arrays["bound"])
            add(
                _trace(kind, None, bound, f"{name} {BOUND_LABEL}", hover, width=1.5), x1, y1, "dash"
            )
            top_values.append(bound)
        if "keep" in arrays:
            keep = _positive(arrays["keep"])
            label = f"{name} {KEEP_LABELS.get(kind, 'direct path')}"
            add(_trace(kind, None, keep, label, hover, width=1.5), x1, y1, "dot")
            top_values.append(keep)
        if kind != "lstm":  # its ‖J_t‖ is the whole state's, which ∂L/∂h_t alone is not
            factor = _positive(arrays["factor"])
            dots = _trace(kind, None, factor, f"{name} {FACTOR_LABEL}", hover, "markers")
            color = dots["line"]["color"]
            add(dots, x1, y1, marker=dict(color=color, size=5, symbol="circle-open"))
            top_values.append(factor)
        ratio = _positive(arrays["ratio"])
        chain = _power_of_ten(arrays["log10_norm_of_product"])
        product = _power_of_ten(arrays["log10_product_of_norms"])
        bottom_values += [ratio, chain, product]
        add(_trace(kind, None, ratio, f"{name} measured ratio", hover, width=2.5), x2, y2)
        chain_trace = _trace(kind, None, chain, f"{name} ‖J_b⋯J_a+1‖", hover, width=1.5)
        add(chain_trace, x2, y2, "dashdot")
        product_trace = _trace(kind, None, product, f"{name} Π ‖J_t‖", hover, width=1.5)
        add(product_trace, x2, y2, "dash")
    top_axis, bottom_axis = f"yaxis{y1[1:]}", f"yaxis{y2[1:]}"
    layout[top_axis]["title"] = dict(text=f"{which}one step, ‖J_t‖₂ (log)")
    layout[bottom_axis]["title"] = dict(text="relative to step b (log)")
    _log_axis(layout[top_axis], *top_values)
    _log_axis(layout[bottom_axis], *bottom_values)
    ones = [dict(_hline(1.0, ONE_LABEL, ONE_LABEL), showlegend=False)]
    ones.append(dict(_hline(1.0, "", ONE_LABEL), yref=y2, showlegend=False))
    shapes, notes = _time_marks(list(marks), refs)
    if cursor is not None:
        shapes += [_cursor(cursor, x, y) for x, y in refs]
    lines = span_lines(series) or ["no gradient measured on this sequence"]
    numbers = dict(xref="paper", yref="paper", showarrow=False, x=0, y=0, yshift=-48)
    numbers.update(xanchor="left", yanchor="top", align="left", font=SMALL)
    numbers["text"] = "<br>".join([f"probe sample {sample}, the whole span:", *lines])
    layout["annotations"] += [*notes, numbers]
    layout["shapes"] = ones + shapes
    top, bottom = 110, 60 + 18 * (len(lines) + 1)  # the key and titles; the span's numbers
    layout.update(
        uirevision="jacobian",
        height=top + 2 * ROW_HEIGHT + bottom,  # a plot area of ROW_HEIGHT per row (_grid)
        hovermode="x unified",
        # above the top panel's key, at the top of the whole figure
        legend=dict(LEGEND, yref="container", y=1, yanchor="top"),
        font=FONT,
        margin=dict(MARGIN, t=top, b=bottom),
    )
    return unvalidated_figure(data, layout)
