"""A length sweep's rows, read: the figure (final loss ÷ baseline against length), its reading,
the one-line summary and the stand-alone HTML page, and ``sweep.csv`` with ``sweep.html`` on disk.

Pure: rows in (``gru_viz.sweep.COLUMNS``), numbers, text and figures out; no torch, no training.
The CLI, the page's memory-span panel and the tests read a sweep through these.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
import plotly.offline

from gru_viz.kinds import KINDS
from gru_viz.kinds import title as kind_title
from gru_viz.numbers import RECENT, describe_share, format_number, share_of
from gru_viz.plots import _hline, _layout, _note_figure, _positive, _trace, unvalidated_figure
from gru_viz.sweep import length_label, to_csv

if TYPE_CHECKING:
    from gru_viz.sweep import SweepPlan

READING = (
    "Each line is one model's final loss (the mean of its last {recent} training losses) divided "
    "by the task's trivial baseline, averaged over the seeds; the dots are the single seeds. "
    "A model at 1 (the dashed line) has learned nothing beyond the baseline at that length; "
    "lower is better, and a line that climbs towards 1 as the sequences grow shows where that "
    "model's memory runs out."
)
MEMORYLESS_READING = (
    "The dotted line is the best a model with no memory does: below it a model uses memory."
)


# -- reading the rows (pure: numbers in, numbers and figures out) -------------------------------
def _models_of(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    present = {row["model"] for row in rows}
    return [k for k in KINDS if k in present] + sorted(present - set(KINDS))


def _share(row: Mapping[str, Any]) -> float:
    return share_of(float(row["final_loss"]), float(row["baseline"]))


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def share_table(rows: Sequence[Mapping[str, Any]]) -> tuple[list[int], dict[str, list[float]]]:
    """(lengths, {model: mean over seeds of final loss ÷ baseline at each length}); NaN where a
    model has no finished run at that length."""
    lengths = sorted({int(row["seq_len"]) for row in rows})
    table = {}
    for kind in _models_of(rows):
        table[kind] = [
            _mean([_share(r) for r in rows if r["model"] == kind and int(r["seq_len"]) == length])
            for length in lengths
        ]
    return lengths, table


def sweep_figure(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Final loss ÷ baseline against length: a line per model through the mean over seeds, the
    seeds as dots, a dashed line at 1 (the baseline); log y. Rows as run_rows or from_csv give."""
    rows = list(rows)
    if not rows:
        return _note_figure("No finished runs yet.", "sweep")
    lengths, table = share_table(rows)
    data = []
    for kind, means in table.items():
        name = kind_title(kind)
        mine = [r for r in rows if r["model"] == kind]
        seeds = len({r["seed"] for r in mine})
        hover = f"{name}, length %{{x}}: %{{y:.3g}} × baseline (mean of seeds)<extra></extra>"
        label = f"{name} (mean of {seeds} seed{'s' if seeds != 1 else ''})"
        line = _trace(kind, lengths, _positive(np.array(means)), label, hover, "lines+markers")
        data.append(dict(line, line=dict(line["line"], width=2.5)))
        hover = f"{name}, length %{{x}}, seed %{{customdata}}: %{{y:.3g}} × baseline<extra></extra>"
        dots = _trace(
            kind,
            [int(r["seq_len"]) for r in mine],
            _positive(np.array([_share(r) for r in mine])),
            f"{name} (each seed)",
            hover,
            "markers",
        )
        colour = dots.pop("line")["color"]
        data.append(
            dict(
                dots,
                customdata=[int(r["seed"]) for r in mine],
                marker=dict(color=colour, size=7, opacity=0.55, symbol="circle-open"),
                showlegend=False,
            )
        )
    memoryless = [
        _mean(
            [
                share_of(float(r["memoryless_loss"]), float(r["baseline"]))
                for r in rows
                if int(r["seq_len"]) == length and r.get("memoryless_loss") not in (None, "")
            ]
        )
        for length in lengths
    ]
    if not all(math.isnan(v) for v in memoryless):
        hover = "no memory at length %{x}: %{y:.3g} × baseline<extra></extra>"
        line = _trace("", lengths, _positive(np.array(memoryless)), "best without memory", hover)
        data.append(dict(line, line=dict(line["line"], dash="dot", width=1.5)))
    task = str(rows[0]["task"])
    layout = _layout("sweep", length_label(task), "final loss ÷ baseline", log_y=True)
    layout["hovermode"] = "closest"
    if len(lengths) > 1 and lengths[-1] >= 4 * lengths[0]:  # doublings read as equal steps
        layout["xaxis"].update(type="log", tickvals=lengths, ticktext=[str(v) for v in lengths])
    else:
        layout["xaxis"].update(tickvals=lengths)
    layout["shapes"] = [_hline(1.0, "baseline", "baseline (learned nothing)")]
    return unvalidated_figure(data, layout)


def reading(rows: Sequence[Mapping[str, Any]]) -> str:
    """How to read the sweep figure, then what these rows say at the longest length."""
    rows = list(rows)
    parts = [READING.format(recent=RECENT)]
    if any(r.get("memoryless_loss") not in (None, "") for r in rows):
        parts.append(MEMORYLESS_READING)
    if rows:
        lengths, table = share_table(rows)
        at = ", ".join(
            f"{kind_title(kind)} {describe_share(means[-1], 1.0)}" for kind, means in table.items()
        )
        parts.append(f"At length {lengths[-1]}: {at} (mean of seeds).")
        stopped = sum(1 for r in rows if r.get("stopped") not in (None, ""))
        if stopped:
            parts.append(
                f"{stopped} run{'s' if stopped != 1 else ''} stopped (diverged); each counts "
                "with the mean of its last recorded losses."
            )
    return " ".join(parts)


def share_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """The share table as aligned plain text, for a terminal."""
    lengths, table = share_table(rows)
    names = {kind: kind_title(kind) for kind in table}
    first = max([len("length"), *map(len, names.values())])
    cells = [[format_number(v, 3) for v in means] for means in table.values()]
    width = max([len(str(v)) for v in lengths] + [len(c) for row in cells for c in row]) + 2
    lines = ["length".ljust(first) + "".join(str(v).rjust(width) for v in lengths)]
    for kind, row in zip(table, cells, strict=True):
        lines.append(names[kind].ljust(first) + "".join(c.rjust(width) for c in row))
    return "\n".join(lines)


# -- a self-contained page ----------------------------------------------------------------------
STYLE = """\
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }"""


def _html_table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int) -> str:
    def cells(row: Sequence[str], tag: str) -> str:
        numeric = ' class="n"' if tag == "td" else ""
        return "".join(
            f"<{tag}{numeric if i >= numeric_from else ''}>{html.escape(str(c))}</{tag}>"
            for i, c in enumerate(row)
        )

    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    return f"<table><tr>{cells(header, 'th')}</tr>{body}</table>"


def build_html(rows: Sequence[Mapping[str, Any]], plan: SweepPlan | None = None) -> str:
    """The sweep as one self-contained HTML page: plotly.js inlined once, the figure, how to
    read it, the mean shares, every run and (with ``plan``) the settings."""
    rows = list(rows)
    task = str(rows[0]["task"]) if rows else plan.base.task if plan else ""
    heading = f"gru-viz sweep: {task}, final loss against {length_label(task).split(' (')[0]}"
    div = sweep_figure(rows).to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id="fig-sweep",
        config={"displaylogo": False, "responsive": True},
    )
    lengths, table = share_table(rows)
    means = _html_table(
        ["model", *map(str, lengths)],
        ([kind_title(k), *(format_number(v, 3) for v in vs)] for k, vs in table.items()),
        1,
    )
    runs = _html_table(
        ["model", "length", "seed", "final loss", "÷ baseline", "baseline", "steps", "stopped at"],
        (
            [
                kind_title(r["model"]),
                r["seq_len"],
                r["seed"],
                format_number(float(r["final_loss"]), 4),
                format_number(_share(r), 3),
                format_number(float(r["baseline"]), 4),
                r["steps"],
                "" if r.get("stopped") in (None, "") else r["stopped"],
            ]
            for r in rows
        ),
        1,
    )
    settings = ""
    if plan is not None:
        from gru_viz.tasks import get_task  # a plan means training, so torch is there anyway

        note = get_task(plan.base.task).baseline_note
        settings = f"<h2>Settings</h2><p>Baseline: {html.escape(note)}.</p>" + _html_table(
            ["setting", "value"], plan.settings().items(), 2
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(heading)}</title>
<style>{STYLE}</style>
<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>
</head><body>
<h1>{html.escape(heading)}</h1>
<p>{html.escape(reading(rows))}</p>
{div}
<h2>Final loss ÷ baseline, mean of seeds</h2>
{means}
{settings}
<h2>Every run</h2>
{runs}
</body></html>
"""


def write_files(rows: Sequence[Mapping[str, Any]], folder: str | Path, plan=None) -> list[str]:
    """Write sweep.csv and sweep.html to ``folder``; returns the names written."""
    folder = Path(folder)
    (folder / "sweep.csv").write_text(to_csv(rows), encoding="utf-8")
    (folder / "sweep.html").write_text(build_html(rows, plan), encoding="utf-8")
    return ["sweep.csv", "sweep.html"]
