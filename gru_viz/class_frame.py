"""What a class's students are sent at each update: built once per update and view, shared.

A student's live panel draws one ``Frame``: the status row and one chart payload (every live
chart, with its heading and caption, as ``gru_viz.chart_payload`` bytes). The class builds a
frame once per update for each distinct ``View`` its students ask for (most ask for the
default one) and every student with that view is sent the same bytes: a class of a hundred
costs a hundred sends, not a hundred builds, and a student's page runs no figure code at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from gru_viz import chart_payload, chart_rows
from gru_viz.chart_payload import Chart
from gru_viz.figures import FIGURES, RunView, Selection, run_view
from gru_viz.status_row import status_row


@dataclass(frozen=True)
class View:
    """One viewer's choices: what they look at, not what the run does."""

    sample: int = 0
    cursor: int | None = None  # None: the last step
    log_y: bool = True
    projector: bool = False
    jacobian: bool = False  # "Why the gradient vanishes" under the gradient chart
    show_input: bool = False  # the probe sequence's input, last


@dataclass(frozen=True)
class Frame:
    version: int  # the class's update it shows
    samples: int  # probe sequences, and time steps in each: the bounds of a viewer's choices
    steps: int
    payload: bytes  # the status row and every chart, for gru_viz.dashboard.plot.charts


# A figure by catalogue id, for a view and selection (a class's shared cache in practice).
FigureSource = Callable[[str, RunView, Selection], go.Figure]


def selection(view: View, samples: int, steps: int) -> Selection:
    """The view's selection, clamped into the run's current bounds (the teacher may have made
    the sequences shorter, or the probe smaller, since the viewer chose)."""
    cursor = steps - 1 if view.cursor is None else view.cursor
    return Selection(
        sample=min(max(view.sample, 0), samples - 1),
        cursor=min(max(cursor, 0), steps - 1),
        log_y=view.log_y,
    )


def build(live: Any, view: View, figure: FigureSource, version: int) -> Frame:
    """The frame of a ``gru_viz.session.LiveSession`` for ``view`` (read under its tick turn)."""
    run = run_view(live.trainer)
    samples, steps = run.x.shape[:2]
    sel = selection(view, samples, steps)
    rows = []
    for row in chart_rows.page_rows(
        run, projector=view.projector, jacobian=view.jacobian, show_input=view.show_input
    ):
        cells = []
        for figure_id in row:
            spec = FIGURES[figure_id]
            cells.append(
                Chart(
                    chart_rows.chart_key(figure_id),
                    figure(figure_id, run, sel),
                    heading=spec.heading,
                    caption=spec.caption(run),
                    png=chart_rows.png_name(figure_id, chart_rows.png_step(figure_id, run)),
                    clickable=figure_id == chart_rows.PICKER,
                )
            )
        rows.append(cells)
    scale = chart_rows.PROJECTOR_SCALE if view.projector else 1.0
    status = status_row(live)
    if view.projector:  # its first screen is for the charts (the loss chart has the baseline)
        status = dataclasses.replace(status, sizes="")
    payload = chart_payload.encode(rows, scale, dataclasses.asdict(status))
    return Frame(version, samples, steps, payload)
