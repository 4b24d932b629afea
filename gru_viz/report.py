"""A self-contained HTML report of a run: settings, results, figures and how to read them.

The page inlines plotly.js once (about 4.8 MB) and embeds every figure of the catalogue
(``gru_viz.figures``) as a div, so it opens offline and can be mailed or archived. Each figure
comes with the catalogue's reading and a sentence quoting the run's own numbers.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import plotly.offline

from gru_viz import explain
from gru_viz.config import FIELD_BY_NAME, format_value
from gru_viz.figures import CATALOGUE, RunView, Selection, run_view
from gru_viz.kinds import title
from gru_viz.numbers import describe_share, format_loss, format_number, recent_loss

if TYPE_CHECKING:
    from gru_viz.trainer import Trainer

STYLE = """\
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; }
.figure { margin-bottom: 2.5em; }
.stopped { color: #b00; }"""


def _esc(value: object) -> str:
    return html.escape(str(value))


def _markdown(text: str) -> str:
    """The notes' **bold** and *emphasis*, escaped first (the notes are ours, but still)."""
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", _esc(text))
    return re.sub(r"\*(.+?)\*", r"<em>\1</em>", text)


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Cells are given already escaped (some carry markup)."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _config_table(trainer: Trainer) -> str:
    rows = []
    for name, value in trainer.cfg.as_dict().items():
        field = FIELD_BY_NAME[name]
        rows.append(
            [_esc(field.label), f"<code>{_esc(name)}</code>", _esc(format_value(field, value))]
        )
    return _table(["setting", "name", "value"], rows)


def _results_table(trainer: Trainer, baseline: float) -> str:
    rows = []
    for kind, slot in trainer.slots.items():
        losses = slot.history.array("loss")
        status = "training normally"
        if slot.stopped:
            status = f'<span class="stopped">{_esc(slot.stopped)}</span>'
        numbers = ["–", "–", "–"]  # nothing trained yet
        if losses.size:
            recent = recent_loss(losses)
            share = describe_share(recent, baseline)
            numbers = [format_loss(losses[-1]), format_loss(recent), _esc(share)]
        rows.append([_esc(title(kind)), f"{slot.parameter_count():,}", *numbers, status])
    header = ["model", "parameters", "last training loss", "mean of last 20", "of baseline"]
    return _table([*header, "status"], rows)


def _events_section(trainer: Trainer) -> str:
    if not trainer.events:
        return "<p>Nothing was changed while it trained.</p>"
    rows = [
        [str(e.step), _esc(e.kind), _esc(e.text), "yes" if e.affects_training else "probe only"]
        for e in trainer.events
    ]
    note = "<p>Step: training steps done when it happened; it acts from the next step on.</p>"
    return note + _table(["step", "what", "change", "changes training"], rows)


def _figure_sections(view: RunView) -> str:
    sections = []
    for spec in CATALOGUE:
        if not spec.applies(view):
            continue
        figure = spec.build(view, Selection(sample=0, cursor=None, log_y=True))
        div = figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"fig-{spec.id}",
            config={"displaylogo": False, "responsive": True},
        )
        reading = " ".join(part for part in (spec.caption(view), spec.numbers(view)) if part)
        sections.append(
            f'<section class="figure"><h3>{_esc(spec.heading)}</h3>{div}'
            f"<p>{_esc(reading)}</p></section>"
        )
    return "".join(sections)


def build_report(trainer: Trainer, heading: str | None = None) -> str:
    """The whole run as one self-contained HTML page (plotly.js inlined once)."""
    task = trainer.task
    heading = heading or f"gru-viz: {task.title}, step {trainer.step_count}"
    baseline = task.baseline(trainer.cfg)
    view = run_view(trainer)
    notes = "".join(f"<li>{_markdown(note)}</li>" for note in explain.EQUATION_NOTES)
    for kind in trainer.slots:  # how each variant in the run differs from PyTorch's GRU
        title_ = _esc(explain.EQUATION_TITLES[kind])
        notes += "".join(
            f"<li><strong>{title_}</strong>: {_markdown(note)}</li>"
            for note in explain.VARIANT_NOTES.get(kind, ())
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(heading)}</title>
<style>{STYLE}</style>
<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>
</head><body>
<h1>{_esc(heading)}</h1>
<h2>Task: {_esc(task.title)}</h2>
<p>{_esc(task.description)}</p>
<h2>Results after {trainer.step_count} training steps</h2>
<p>Trivial baseline {format_number(baseline, 4)}: {_esc(task.baseline_note)}.</p>
{_results_table(trainer, baseline)}
<h2>Settings</h2>
{_config_table(trainer)}
<h2>What changed while it trained</h2>
{_events_section(trainer)}
<h2>Equations</h2>
<pre>{_esc(explain.all_equations_text(tuple(dict.fromkeys(("gru", *trainer.slots)))))}</pre>
<ul>{notes}</ul>
<h2>Figures</h2>
{_figure_sections(view)}
</body></html>
"""


def write_report(trainer: Trainer, path: str | Path) -> Path:
    """Write ``build_report(trainer)`` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.write_text(build_report(trainer), encoding="utf-8")
    return path
