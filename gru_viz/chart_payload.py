"""What the page's chart component is sent: rows of charts, as one UTF-8 JSON byte string.

The component (``gru_viz.dashboard.plot``) draws a grid of rows of Plotly charts, each with an
optional heading and caption, from one payload::

    {"scale": 1.0, "rows": [[{"id": "loss", "heading": "...", "caption": "...",
                              "png": "gru-viz-loss-step40", "clickable": false,
                              "figure": {"data": [...], "layout": {...}}}, ...], ...]}

Each figure's own JSON (which a ``FrozenFigure`` computes once and keeps) is spliced in as it
is: it is not escaped into a string inside another JSON document, so neither the server nor the
browser encodes or parses it twice. Sent as bytes, the payload is also hashed as bytes by
Streamlit rather than re-serialised with sorted keys. A class's students share one payload per
update and view (``gru_viz.classroom``): a hundred students cost a hundred sends of one string.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from gru_viz.figure_cache import FrozenFigure, revision

# The trace types the page's plotly.js can draw: its cartesian bundle's modules
# (gru_viz/dashboard/static/plotly-cartesian.min.js). A figure with any other trace type would
# show as an error in the browser; tests/test_plots.py checks every figure against this set.
BROWSER_TRACES = frozenset(
    {"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour"}
    | {"image", "pie", "scatter", "scatterternary", "violin"}
)


@dataclass(frozen=True)
class Chart:
    id: str  # names the chart's element (data-name), so tests and styles can find it
    figure: go.Figure
    heading: str | None = None  # drawn above the chart as plain text, if given
    caption: str | None = None  # drawn below it as plain text, if given
    png: str | None = None  # the file name the toolbar's camera button saves
    clickable: bool = False  # a click on a point is reported to the page ({"x": ...})


def _chart(chart: Chart) -> str:
    figure_json = chart.figure.to_json()
    # The browser redraws a chart only when its revision changes: a class's frame carries all
    # six charts on every update, and most of them (the probe charts) change only at a probe.
    if isinstance(chart.figure, FrozenFigure):
        rev = chart.figure.revision()
    else:
        rev = revision(figure_json)
    meta: dict[str, Any] = {"id": chart.id, "clickable": chart.clickable, "rev": rev}
    for name in ("heading", "caption", "png"):
        if getattr(chart, name) is not None:
            meta[name] = getattr(chart, name)
    return json.dumps(meta)[:-1] + ',"figure":' + figure_json + "}"


def encode(
    rows: Sequence[Sequence[Chart]], scale: float = 1.0, status: dict[str, Any] | None = None
) -> bytes:
    """The payload for ``rows`` of charts; ``scale``: text and lines that many times larger
    (the projector view), applied in the browser; ``status``: a status row drawn above the
    charts (a ``gru_viz.status_row.StatusRow`` as a dict), first in the payload so that a
    reader of the step counter need not parse the figures."""
    head = f'{{"scale":{float(scale)!r},'
    if status is not None:
        head += f'"status":{json.dumps(status)},'
    body = ",".join("[" + ",".join(_chart(c) for c in row) + "]" for row in rows)
    return f'{head}"rows":[{body}]}}'.encode()


def decode(payload: bytes) -> dict[str, Any]:
    return json.loads(payload)


def status(payload: bytes) -> dict[str, Any] | None:
    return decode(payload).get("status")


def figures(payload: bytes) -> dict[str, dict[str, Any]]:
    """Each chart's figure (as plotly JSON) by chart id: what tests and benchmarks read."""
    return {cell["id"]: cell["figure"] for row in decode(payload)["rows"] for cell in row}
