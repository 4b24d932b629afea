"""A self-contained HTML report of a run: settings, results, figures and how to read them.

The page inlines plotly.js once (about 4.8 MB) and embeds every figure as a div, so it opens
offline and can be mailed or archived. Each figure comes with a short reading that quotes the
run's own numbers, so the page says what happened, not only what to look at.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import plotly.offline

from gru_viz import plots
from gru_viz.config import FIELD_BY_NAME, format_value

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from gru_viz.trainer import Trainer

SAMPLE = 0  # the probe sequence every per-sequence figure shows

EQUATIONS = """\
GRU, as PyTorch computes it (torch.nn.GRU; rows of W and b stacked [r | z | n]):
  r_t = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)              reset gate
  z_t = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)              update gate
  n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))   candidate
  h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

Vanilla RNN:
  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)

LSTM:
  i, f, o = σ(…),  g = tanh(…),  c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)"""

EQUATION_NOTES = (
    "z<sub>t</sub> ≈ 1 keeps the old state; z<sub>t</sub> ≈ 0 replaces it by the candidate. "
    "r<sub>t</sub> ≈ 0 makes the candidate ignore the old state. PyTorch (and cuDNN) apply the "
    "reset gate <em>after</em> multiplying by W<sub>hn</sub>, inside the tanh as above; Cho et "
    "al. (2014) apply it to h<sub>t−1</sub> <em>before</em> the matrix, "
    "n<sub>t</sub> = tanh(W x<sub>t</sub> + U (r<sub>t</sub> ⊙ h<sub>t−1</sub>)). Some texts "
    "also swap the roles of z<sub>t</sub> and 1 − z<sub>t</sub>; this page always uses "
    "PyTorch's."
)

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


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Cells are given already escaped (some carry markup)."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _list(parts: list[str]) -> str:
    return "; ".join(parts) if parts else "no data yet"


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
            recent = float(np.mean(losses[-20:]))
            numbers = [f"{losses[-1]:.4g}", f"{recent:.4g}", f"{recent / baseline:.0%}"]
        title = _esc(plots.MODEL_TITLES.get(kind, kind))
        rows.append([title, f"{slot.parameter_count():,}", *numbers, status])
    header = ["model", "parameters", "last training loss", "mean of last 20", "of baseline"]
    return _table([*header, "status"], rows)


def _loss_reading(trainer: Trainer, baseline: float) -> str:
    parts = []
    for kind, slot in trainer.slots.items():
        losses = slot.history.array("loss")
        if losses.size:
            recent = float(np.mean(losses[-20:]))
            parts.append(
                f"{plots.MODEL_TITLES[kind]} {recent:.3g} ({recent / baseline:.0%} of the baseline)"
            )
    return (
        "Both models train on the same batches. The dashed line is the loss of a model "
        f"that learned nothing about the task ({trainer.task.baseline_note}). A curve "
        "that settles on it has found only the trivial answer; below it, the model uses "
        "its input. The thin lines are single steps, the thick ones their moving average. "
        f"Mean of the last 20 steps: {_list(parts)}."
    )


def _grad_norm_reading(trainer: Trainer) -> str:
    clip = trainer.cfg.clip_norm
    if clip is None:
        return (
            "The length of the whole gradient of each step. Clipping is off, so a spike "
            "here is applied in full: an exploding gradient can throw the weights far away "
            "in one step."
        )
    parts = []
    for kind, slot in trainer.slots.items():
        norms = slot.history.array("grad_norm")
        if norms.size:
            parts.append(
                f"{plots.MODEL_TITLES[kind]} {int(np.sum(norms > clip))} of "
                f"{norms.size} recorded steps"
            )
    return (
        "The length of the whole gradient of each step, before clipping, on a log scale. "
        f"Any step above the dashed line was rescaled to length {clip:g} before the "
        "update, which is what stops exploding gradients (the gates do not). Clipped: "
        f"{_list(parts)}."
    )


def _scored_at_end(loss_mask: np.ndarray) -> bool:
    """True when only a few final steps are scored (adding, copy), not every step (forecast)."""
    return float(loss_mask.mean()) < 0.5


def _grad_h_reading(trainer: Trainer, at_end: bool) -> str:
    parts = []
    for kind, slot in trainer.slots.items():
        if not slot.snapshots.grad_h_mean:
            continue
        curve = slot.snapshots.grad_h_mean[-1]  # the latest probe, averaged over its samples
        curve = curve[np.isfinite(curve) & (curve > 0)]
        if curve.size > 1:
            parts.append(f"{plots.MODEL_TITLES[kind]} ×{curve[0] / curve[-1]:.1e}")
    where = (
        "The loss is read only at the end, so whatever the model learns about early "
        "inputs must come from a gradient that travelled back through every step between."
        if at_end
        else "The loss is read at every step here, so each h_t also gets a direct gradient "
        "from its own prediction, which flattens the curve; what reaches it from later losses "
        "still shrinks with the distance travelled."
    )
    return (
        "The size of the gradient of the loss with respect to each hidden state h_t "
        "(mean over the probe sequences, log scale). " + where + " In a tanh RNN it "
        "shrinks roughly geometrically going back (a straight line on this scale); the "
        "GRU's update gate gives it a path, h_t = … + z_t ⊙ h_{t−1}, that multiplies by z "
        "instead of passing through a weight matrix and tanh′. The dotted line is the same "
        "model at initialisation. Gradient at the first step relative to the last, now: "
        f"{_list(parts)}."
    )


def _hidden_reading(trainer: Trainer) -> str:
    parts = []
    for kind, slot in trainer.slots.items():
        if slot.latest is not None:
            h = slot.latest.traces["h"][-1, SAMPLE]
            h = h[~np.isnan(h)]  # padding is not a state
            parts.append(f"{plots.MODEL_TITLES[kind]} {np.mean(np.abs(h) > 0.9):.0%}")
    return (
        f"Every hidden unit (rows) of probe sequence {SAMPLE} at every step (columns); red is "
        "+1, blue −1, white 0, blank is padding. A unit that keeps its colour across many "
        "steps is holding something in memory; one that flickers with the input is not. "
        f"Share of entries saturated (|h| > 0.9): {_list(parts)}."
    )


def _gate_reading(trainer: Trainer) -> str:
    gru = trainer.slots.get("gru")
    if gru is None or gru.latest is None:
        if "lstm" in trainer.slots:
            return (
                "Yellow is 1, dark violet 0. The LSTM writes the candidate where i is near 1, "
                "keeps its cell where f is near 1 and shows it where o is near 1."
            )
        return plots.NO_GATES_NOTE.replace("<br>", " ")
    z = gru.latest.traces["z"][-1, SAMPLE]
    r = gru.latest.traces["r"][-1, SAMPLE]
    keepers = int(np.sum(np.nanmean(z, axis=0) > 0.9))
    return (
        "Yellow is 1, dark violet 0. Where the update gate z is near 1 the unit keeps its "
        "old state and ignores the step's input: long yellow stretches are memory being "
        "held. Where the reset gate r is near 0 the candidate is computed without the old "
        "state: dark patches mark where the unit starts afresh. "
        f"Mean z {np.nanmean(z):.2f}, mean r {np.nanmean(r):.2f}; {keepers} of "
        f"{z.shape[1]} GRU units have z above 0.9 on average over this sequence."
    )


def _prediction_reading(trainer: Trainer, baseline: float) -> str:
    parts = [
        f"{plots.MODEL_TITLES[kind]} {slot.latest.loss[SAMPLE]:.3g}"
        for kind, slot in trainer.slots.items()
        if slot.latest is not None
    ]
    what = (
        "the probability each model gives the correct symbol at the scored steps; the "
        "dashed line is a uniform guess"
        if trainer.task.loss_kind == "ce"
        else "each model's output at every step and the target (crosses) at the steps that "
        "are scored; the output at other steps shows what the model would answer if "
        "asked then"
    )
    return (
        f"Probe sequence {SAMPLE}: {what}. This sequence's loss: {_list(parts)} "
        f"(baseline {baseline:.3g})."
    )


def _sigma_reading(trainer: Trainer) -> str:
    parts = [
        f"{plots.MODEL_TITLES[kind]} σ_max({plots.RECURRENT_BLOCKS[kind]}) = "
        f"{slot.latest.sigma_max:.2f}"
        for kind, slot in trainer.slots.items()
        if slot.latest is not None
    ]
    return (
        "The largest singular value of the recurrent weight block that feeds each cell's "
        "tanh. For the tanh RNN, σ_max(W_hh) < 1 guarantees that gradients shrink "
        "geometrically going back in time (tanh′ ≤ 1); above 1 they can grow, though they "
        "need not. The GRU's direct path through z does not pass through W_hn, so its "
        f"memory does not hinge on this number. Now: {_list(parts)}."
    )


def _saturation_reading() -> str:
    return (
        "Each point is one unit's gate over all probe sequences and steps: how often it "
        "is nearly closed (below 0.1, x) against nearly open (above 0.9, y), after "
        "Karpathy, Johnson and Fei-Fei (2015). Points near the diagonal act as switches; "
        "points near the origin stay in between and blend old and new."
    )


def _figures(trainer: Trainer) -> list[tuple[str, str, go.Figure, str]]:
    """(id, heading, figure, reading) of every figure in the page, in order."""
    cfg, task, slots = trainer.cfg, trainer.task, trainer.slots
    baseline = task.baseline(cfg)
    batch = trainer.probe_batch
    x, target = batch.x.numpy(), batch.target.numpy()
    loss_mask, valid = batch.loss_mask.numpy(), batch.valid.numpy()
    probes = {kind: slot.latest for kind, slot in slots.items() if slot.latest is not None}
    histories = {kind: slot.history for kind, slot in slots.items()}
    at_end = _scored_at_end(loss_mask)
    note = (
        plots.GRAD_H_NOTE
        if at_end
        else "loss is read at every step → each h_t also gets a direct gradient"
    )
    names = task.input_names(cfg)
    return [
        (
            "loss",
            "Training loss",
            plots.loss_figure(histories, baseline, task.baseline_note, log_y=True),
            _loss_reading(trainer, baseline),
        ),
        (
            "grad_norm",
            "Gradient norm and clipping",
            plots.grad_norm_figure(histories, cfg.clip_norm),
            _grad_norm_reading(trainer),
        ),
        (
            "grad_h",
            "Gradient reaching each time step",
            plots.grad_h_figure(probes, {k: s.snapshots for k, s in slots.items()}, note=note),
            _grad_h_reading(trainer, at_end),
        ),
        (
            "input",
            f"Inputs of probe sequence {SAMPLE}",
            plots.input_figure(x, names, SAMPLE, valid),
            f"What the models read, channel by channel: {', '.join(names)}.",
        ),
        (
            "hidden_state",
            "Hidden states",
            plots.hidden_state_figure(probes, SAMPLE),
            _hidden_reading(trainer),
        ),
        ("gate", "Gates", plots.gate_figure(probes, SAMPLE), _gate_reading(trainer)),
        ("saturation", "Gate saturation", plots.saturation_figure(probes), _saturation_reading()),
        (
            "prediction",
            "Predictions",
            plots.prediction_figure(
                {k: p.prediction for k, p in probes.items()},
                target,
                loss_mask,
                valid,
                task.loss_kind,
                SAMPLE,
            ),
            _prediction_reading(trainer, baseline),
        ),
        (
            "sigma",
            "Recurrent weights: largest singular value",
            plots.sigma_figure({k: s.probe_series for k, s in slots.items()}),
            _sigma_reading(trainer),
        ),
    ]


def build_report(trainer: Trainer, title: str | None = None) -> str:
    """The whole run as one self-contained HTML page (plotly.js inlined once)."""
    task = trainer.task
    title = title or f"gru-viz: {task.title}, step {trainer.step_count}"
    baseline = task.baseline(trainer.cfg)
    sections = []
    for figure_id, heading, figure, reading in _figures(trainer):
        div = figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"fig-{figure_id}",
            config={"displaylogo": False, "responsive": True},
        )
        sections.append(
            f'<section class="figure"><h3>{_esc(heading)}</h3>{div}<p>{_esc(reading)}</p></section>'
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>{STYLE}</style>
<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>
</head><body>
<h1>{_esc(title)}</h1>
<h2>Task: {_esc(task.title)}</h2>
<p>{_esc(task.description)}</p>
<h2>Results after {trainer.step_count} training steps</h2>
<p>Trivial baseline {baseline:.4g}: {_esc(task.baseline_note)}.</p>
{_results_table(trainer, baseline)}
<h2>Settings</h2>
{_config_table(trainer)}
<h2>Equations</h2>
<pre>{_esc(EQUATIONS)}</pre>
<p>{EQUATION_NOTES}</p>
<h2>Figures</h2>
{"".join(sections)}
</body></html>
"""


def write_report(trainer: Trainer, path: str | Path) -> Path:
    """Write ``build_report(trainer)`` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.write_text(build_report(trainer), encoding="utf-8")
    return path
