"""Which charts the live panel shows, in which rows, and what each chart element is called.

The page (``gru_viz.dashboard.charts``) and a class's shared frames (``gru_viz.class_frame``)
both lay the catalogue's figures out from here, so a student sees the teacher's rows.
"""

from __future__ import annotations

from gru_viz.figures import FIGURES, RunView

# Rows of the main panel, by catalogue id. Figures that do not apply to the run's task (the
# per-head losses) drop out.
ROWS = (("loss", "grad_norm"), ("heads",), ("grad_h", "prediction"), ("hidden",), ("gates",))
# The projector view tells the story in four large charts.
PROJECTOR_ROWS = (("loss", "grad_h"), ("gates",), ("hidden",))
# The gradient chart doubles as a time picker: click a point to move the cursor there.
PICKER = "grad_h"
JACOBIAN = "jacobian"  # "Why the gradient vanishes", a switch away, under the picker's row
INPUT = "input"  # the probe sequence's input, a switch away, last
PROJECTOR_SCALE = 1.6  # chart text and lines in the projector view, this many times larger


def chart_key(figure_id: str) -> str:
    """The chart's element key on the page (and its ``data-name`` in the browser)."""
    return f"{figure_id}_chart"


def png_name(figure_id: str, step: int) -> str:
    """What the toolbar's camera button saves: the figure and the training step it shows."""
    return f"gru-viz-{figure_id}-step{step}"


def png_step(figure_id: str, view: RunView) -> int:
    """The training step a chart's PNG is named after: a probe chart's, its probe's step (its
    bytes then stay the same between probes, and a browser that has them does not redraw it);
    the others', the run's step."""
    if FIGURES[figure_id].per_probe and figure_id != INPUT and view.probes:
        return max(p.step for p in view.probes.values())
    return view.step


def applying(row: tuple[str, ...], view: RunView) -> tuple[str, ...]:
    return tuple(figure_id for figure_id in row if FIGURES[figure_id].applies(view))


def page_rows(
    view: RunView, *, projector: bool, jacobian: bool = False, show_input: bool = False
) -> list[tuple[str, ...]]:
    """The rows of figure ids the live panel draws for ``view`` (empty rows dropped)."""
    rows: list[tuple[str, ...]] = []
    for row in PROJECTOR_ROWS if projector else ROWS:
        row = applying(row, view)
        if row:
            rows.append(row)
        if row and row[0] == PICKER and jacobian and not projector:
            rows.append((JACOBIAN,))
    if show_input and not projector:
        rows.append((INPUT,))
    return rows
