"""Figure builders and the HTML report, checked against the records of small real runs.

Each trainer here builds and trains in well under a second (8 hidden units, 12 steps).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from html import escape
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.offline
import pytest

from gru_viz import chart_payload, plots
from gru_viz.config import RunConfig
from gru_viz.figures import CATALOGUE, FIGURES, Selection, run_view
from gru_viz.kinds import KINDS
from gru_viz.records import BoundedSeries
from gru_viz.report import build_report, write_report
from gru_viz.tasks import TASKS
from gru_viz.trainer import Trainer

SMALL = RunConfig(seq_len=12, hidden_size=8, batch_size=8, probe_samples=3)
PACKAGE = Path(__file__).resolve().parent.parent / "gru_viz"


def trained(steps: int = 40, **changes) -> Trainer:
    trainer = Trainer(SMALL.replace(**changes))
    trainer.step(steps)  # probes at steps 0, 20 and 40
    return trainer


@pytest.fixture(scope="module")
def adding() -> Trainer:
    return trained()


@pytest.fixture(scope="module")
def three() -> Trainer:
    return trained(models=("gru", "rnn", "lstm"))


@pytest.fixture(scope="module")
def varlen() -> Trainer:
    return trained(task="varlen")


@pytest.fixture(scope="module")
def copy_task() -> Trainer:
    return trained(task="copy", seq_len=5)


def records(trainer: Trainer) -> dict:
    slots, batch = trainer.slots, trainer.probe_batch
    return dict(
        probes={k: s.latest for k, s in slots.items()},
        histories={k: s.history for k, s in slots.items()},
        snapshots={k: s.snapshots for k, s in slots.items()},
        series={k: s.probe_series for k, s in slots.items()},
        x=batch.x.numpy(),
        target=batch.target.numpy(),
        loss_mask=batch.loss_mask.numpy(),
        valid=batch.valid.numpy(),
    )


def all_figures(trainer: Trainer, sample: int = 0, cursor: int | None = 3) -> dict[str, go.Figure]:
    r, cfg, task = records(trainer), trainer.cfg, trainer.task
    predictions = {k: p.prediction for k, p in r["probes"].items()}
    return {
        "loss": plots.loss_figure(r["histories"], task.references(cfg)),
        "hidden": plots.hidden_state_figure(r["probes"], sample, cursor=cursor),
        "gate": plots.gate_figure(r["probes"], sample, cursor=cursor),
        "grad_h": plots.grad_h_figure(r["probes"], r["snapshots"], None, cursor),
        "grad_norm": plots.grad_norm_figure(r["histories"], cfg.clip_norm),
        "prediction": plots.prediction_figure(
            predictions, r["target"], r["loss_mask"], r["valid"], task.loss_kind, sample, cursor
        ),
        "sigma": plots.sigma_figure(r["series"]),
        "saturation": plots.saturation_figure(r["probes"]),
        "input": plots.input_figure(r["x"], task.input_names(cfg), sample, r["valid"], cursor),
    }


def groups(figure: go.Figure) -> set[str]:
    return {trace.legendgroup for trace in figure.data if trace.legendgroup}


def finite_or_nan_equal(actual, expected) -> None:
    np.testing.assert_array_equal(np.asarray(actual, dtype=float), np.asarray(expected, float))


# -- every figure --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["adding", "three", "varlen", "copy_task"])
def test_every_figure_is_a_figure_that_serialises_and_keeps_zoom(name, request):
    trainer = request.getfixturevalue(name)
    figures = all_figures(trainer)
    for key, figure in figures.items():
        assert isinstance(figure, go.Figure), key
        assert figure.layout.uirevision, key
        assert json.loads(figure.to_json())["data"] is not None, key
        assert 150 <= figure.layout.height <= 700, key
    # The same figure built again (as on the next redraw) keeps its uirevision: zoom survives.
    again = all_figures(trainer, sample=1, cursor=5)
    assert {k: f.layout.uirevision for k, f in figures.items()} == {
        k: f.layout.uirevision for k, f in again.items()
    }
    assert len({f.layout.uirevision for f in figures.values()}) == len(figures)


@pytest.mark.parametrize("name", ["adding", "three", "varlen", "copy_task"])
def test_every_figure_is_exactly_what_plotly_validation_accepts(name, request):
    # The builders skip plotly's validation for speed; plotly itself is the oracle here: the
    # same dicts, validated, must be accepted (no unknown property or bad value raises) and
    # must send the browser the same figure (e.g. no colour-scale name only Python expands).
    figures = all_figures(request.getfixturevalue(name))
    figures.update(
        loading=plots.loading_figure(),
        rnn_alone_gates=plots.gate_figure(
            {"rnn": request.getfixturevalue(name).slots["rnn"].latest}, 0
        ),
    )
    for key, figure in figures.items():
        validated = go.Figure(figure.to_dict())
        assert json.loads(validated.to_json()) == json.loads(figure.to_json()), key


@pytest.mark.parametrize("name", ["adding", "three", "varlen", "copy_task"])
def test_every_figure_the_page_draws_is_one_its_plotly_js_bundle_can_draw(name, request):
    # The page ships plotly.js's cartesian bundle, not the full one: a trace type outside it
    # would reach the browser as "could not be drawn". Every catalogue figure (the lab's
    # Jacobian and the heads included) of each kind of task, and the page's other figures.
    trainer = request.getfixturevalue(name)
    view = run_view(trainer)
    figures = [spec.build(view, Selection(cursor=3)) for spec in CATALOGUE]
    figures += [*all_figures(trainer).values(), plots.loading_figure()]
    types = {trace.type or "scatter" for figure in figures for trace in figure.data}
    assert types <= chart_payload.BROWSER_TRACES, types - chart_payload.BROWSER_TRACES
    assert {"scatter", "heatmap"} <= types  # the check saw real figures


def test_the_pages_plotly_js_bundle_is_the_version_plotly_python_writes_for():
    # Figures are plotly (Python)'s JSON for the plotly.js it ships; the cartesian bundle the
    # page loads instead must be that same release, and must say it holds these traces.
    from gru_viz.dashboard.plot import PLOTLY_JS, PLOTLY_PACKAGE_JS

    def version(path: Path) -> str:
        return re.search(
            r"plotly\.js (?:\(cartesian - minified\) )?v(\S+)", path.read_text()[:300]
        )[1]

    assert version(PLOTLY_JS) == version(PLOTLY_PACKAGE_JS)
    assert "(cartesian - minified)" in PLOTLY_JS.read_text()[:300]


@pytest.mark.parametrize("name", ["adding", "three"])
def test_one_trace_group_per_model_in_the_line_charts(name, request):
    trainer = request.getfixturevalue(name)
    figures = all_figures(trainer)
    models = set(trainer.cfg.models)
    for key in ("loss", "grad_h", "grad_norm", "prediction", "sigma"):
        assert groups(figures[key]) == models, key
    hidden = figures["hidden"]
    assert [t.type for t in hidden.data] == ["heatmap"] * len(models)


# -- heatmaps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", [0, 2])
def test_hidden_state_heatmaps_are_the_probe_states_unit_by_time(three, sample):
    probes = records(three)["probes"]
    figure = plots.hidden_state_figure(probes, sample)
    for trace, (kind, probe) in zip(figure.data, probes.items(), strict=True):
        np.testing.assert_array_equal(trace.z, probe.traces["h"][-1, sample].T)
        assert trace.coloraxis == "coloraxis"
        assert kind.upper()[:3] in trace.hovertemplate.upper()
    axis = figure.layout.coloraxis
    assert (axis.cmin, axis.cmax) == (-1, 1)
    assert axis.colorbar.title.text == "h value"
    # Panels share the time axis.
    assert figure.layout.xaxis2.matches == "x" and figure.layout.xaxis3.matches == "x"


def test_gate_heatmaps_show_each_gate_with_pytorch_semantics(three):
    probes = records(three)["probes"]
    figure = plots.gate_figure(probes, 1)
    expected = [("gru", "z"), ("gru", "r"), ("lstm", "i"), ("lstm", "f"), ("lstm", "o")]
    assert len(figure.data) == len(expected)
    for trace, (kind, gate) in zip(figure.data, expected, strict=True):
        np.testing.assert_array_equal(trace.z, probes[kind].traces[gate][-1, 1].T)
        assert trace.coloraxis == "coloraxis"
    assert (figure.layout.coloraxis.cmin, figure.layout.coloraxis.cmax) == (0, 1)
    assert "0 → 1" in figure.layout.coloraxis.colorbar.title.text


def test_gru_gate_titles_state_the_pytorch_meaning(adding):
    figure = plots.gate_figure(records(adding)["probes"], 0)
    titles = [a.text for a in figure.layout.annotations]
    assert titles == [
        "GRU update gate z (1 = keep old state)",
        "GRU reset gate r (0 = candidate ignores old state)",
    ]


def test_an_rnn_alone_has_no_gates_and_the_figures_say_so(adding):
    rnn_only = {"rnn": adding.slots["rnn"].latest}
    for figure in (plots.gate_figure(rnn_only, 0), plots.saturation_figure(rnn_only)):
        assert len(figure.data) == 0
        assert "no gates" in figure.layout.annotations[0].text
        json.loads(figure.to_json())


def test_the_cursor_marks_the_same_step_on_every_panel(three):
    probes = records(three)["probes"]
    figure = plots.hidden_state_figure(probes, 0, cursor=7)
    assert [(s.x0, s.x1, s.xref) for s in figure.layout.shapes] == [
        (7, 7, "x"),
        (7, 7, "x2"),
        (7, 7, "x3"),
    ]
    assert not plots.hidden_state_figure(probes, 0).layout.shapes


def test_padding_stays_nan_in_every_per_step_figure(varlen):
    r = records(varlen)
    lengths = r["valid"].sum(axis=1)
    sample = int(np.argmin(lengths))
    padded = ~r["valid"][sample]
    assert padded.any(), "the varlen probe batch should hold a padded sequence"
    figures = all_figures(varlen, sample=sample)
    for trace in figures["hidden"].data + figures["gate"].data:
        z = np.asarray(trace.z)
        assert np.isnan(z[:, padded]).all() and not np.isnan(z[:, ~padded]).any()
    for trace in figures["prediction"].data[1:] + figures["input"].data:
        y = np.asarray(trace.y, dtype=float)
        assert np.isnan(y[padded]).all() and not np.isnan(y[~padded]).any()
    single = plots.grad_h_figure(r["probes"], r["snapshots"], sample)
    assert np.isnan(np.asarray(single.data[-1].y, float)[padded]).all()
    # NaN travels through JSON (binary float arrays) rather than turning into zeros.
    z = json.loads(figures["hidden"].to_json())["data"][0]["z"]
    assert z["dtype"].startswith("f")


# -- line charts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("log_y", [False, True])
def test_the_loss_chart_draws_the_trivial_baseline(adding, log_y):
    task, histories = adding.task, records(adding)["histories"]
    baseline = task.baseline(adding.cfg)
    figure = plots.loss_figure(histories, task.references(adding.cfg), log_y=log_y)
    (line,) = figure.layout.shapes
    assert line.y0 == line.y1 == pytest.approx(baseline)
    assert "baseline 0.167" == line.name == line.label.text  # 3 digits, never 20
    (twin,) = [t for t in figure.data if t.name == "baseline"]
    assert task.baseline_note in twin.hovertemplate and set(twin.y) == {baseline}
    assert figure.layout.yaxis.type == ("log" if log_y else "linear")
    losses = [t for t in figure.data if t.name.endswith("(each step)")]
    for trace, history in zip(losses, histories.values(), strict=True):
        finite_or_nan_equal(trace.x, history.array("step"))
        finite_or_nan_equal(trace.y, history.array("loss"))


def test_signal_tasks_draw_the_memoryless_line_and_with_noise_the_noise_floor():
    task, cfg = TASKS["forecast"], RunConfig(task="forecast", noise=0.3)
    figure = plots.loss_figure({}, task.references(cfg), log_y=True)
    lines = {shape.name.split(" ")[0]: shape for shape in figure.layout.shapes}
    assert set(lines) == {"baseline", "no", "noise"}
    memoryless = next(t for t in figure.data if t.name == "no memory")
    assert "below this line the model uses memory" in memoryless.hovertemplate
    assert lines["noise"].y0 == pytest.approx(0.09)
    assert {s.line.dash for s in figure.layout.shapes} == {"dash", "dashdot", "dot"}
    assert plots.loss_figure({}, TASKS["adding"].references(RunConfig()), log_y=True)


def test_a_narrow_log_axis_still_spans_a_decade():
    # Before any training only the baseline is drawn: a range of one value got a single tick
    # labelled 0.16666666666666674068.
    figure = plots.loss_figure({}, TASKS["adding"].references(RunConfig()), log_y=True)
    low, high = figure.layout.yaxis.range
    assert high - low >= 1 and low < np.log10(1 / 6) < high
    assert len(figure.layout.yaxis.tickvals) >= 3  # 0.1, 0.2, 0.5 ... not one tick
    assert set(figure.layout.yaxis.ticktext) >= {"0.1", "0.2", "0.5"}


def test_long_runs_are_drawn_with_a_bounded_number_of_points():
    history = BoundedSeries(capacity=2000)
    for step in range(1999):
        history.append(step, loss=1.0 / (1 + step), grad_norm=float(step % 7 + 1))
    loss = plots.loss_figure({"gru": history}, TASKS["adding"].references(RunConfig()))
    norms = plots.grad_norm_figure({"gru": history}, 1.0)
    raw, smooth = loss.data[0], loss.data[1]
    for trace in (raw, smooth, norms.data[0]):
        assert len(trace.x) <= plots.MAX_LINE_POINTS
        assert trace.x[0] == 0 and trace.x[-1] == 1998  # the whole run, up to the last step
    # The smoothing is computed over every step, then thinned: the last drawn value is the mean
    # of the last 50 losses, not of the last 50 drawn points.
    assert smooth.y[-1] == pytest.approx(np.mean(1.0 / (1 + np.arange(1949, 1999))))
    assert raw.y[-1] == pytest.approx(1 / 1999)


def test_the_clip_line_appears_only_when_clipping_is_on(adding):
    histories = records(adding)["histories"]
    clipped = plots.grad_norm_figure(histories, 1.0)
    (line,) = clipped.layout.shapes
    assert line.y0 == line.y1 == 1.0 and line.label.text == "clip at 1"
    assert not plots.grad_norm_figure(histories, None).layout.shapes
    assert clipped.layout.yaxis.type == "log"
    assert plots.grad_norm_figure(histories, None, log_y=False).layout.yaxis.type == "linear"
    for trace, history in zip(clipped.data, histories.values(), strict=True):
        finite_or_nan_equal(trace.y, history.array("grad_norm"))


def test_grad_h_compares_now_with_initialisation_on_a_log_axis(adding):
    r = records(adding)
    figure = plots.grad_h_figure(r["probes"], r["snapshots"])
    assert figure.layout.yaxis.type == "log"
    assert figure.layout.xaxis.title.text == "time step t"
    assert figure.layout.yaxis.title.text == "‖∂L/∂h_t‖ (log)"
    assert "travel back" in figure.layout.annotations[0].text
    for kind, snapshots in r["snapshots"].items():
        title = KINDS[kind].title
        by_name = {t.name: t for t in figure.data if t.legendgroup == kind}
        first, now = by_name[f"{title} at step 0"], by_name[f"{title} now (step 40)"]
        assert first.line.dash == "dot" and now.line.width > first.line.width
        assert first.line.color == now.line.color == KINDS[kind].color
        np.testing.assert_allclose(first.y, snapshots.grad_h_mean[0], rtol=1e-6)
        np.testing.assert_allclose(now.y, np.nanmean(r["probes"][kind].grad_h_norm[-1], 0))
    one = plots.grad_h_figure(r["probes"], r["snapshots"], sample=2)
    np.testing.assert_allclose(one.data[-1].y, r["probes"]["rnn"].grad_h_norm[-1][2])


def test_zero_gradients_become_gaps_on_the_log_axis(adding):
    probe = adding.slots["gru"].latest
    zeros = dataclasses.replace(probe, grad_h_norm=np.zeros_like(probe.grad_h_norm))
    figure = plots.grad_h_figure({"gru": zeros}, {}, sample=0)
    assert len(figure.data) == 1 and np.isnan(np.asarray(figure.data[0].y, float)).all()
    json.loads(figure.to_json())


def test_regression_predictions_against_the_scored_targets(adding):
    r = records(adding)
    predictions = {k: p.prediction for k, p in r["probes"].items()}
    figure = plots.prediction_figure(predictions, r["target"], r["loss_mask"], r["valid"], "mse", 1)
    target, *outputs = figure.data
    scored = np.flatnonzero(r["loss_mask"][1])
    np.testing.assert_array_equal(target.x, scored)
    np.testing.assert_array_equal(target.y, r["target"][1, scored, 0])
    for trace, prediction in zip(outputs, predictions.values(), strict=True):
        np.testing.assert_array_equal(trace.y, prediction[1, :, 0])


def test_classification_shows_the_probability_of_the_correct_symbol(copy_task):
    r = records(copy_task)
    predictions = {k: p.prediction for k, p in r["probes"].items()}
    figure = plots.prediction_figure(predictions, r["target"], r["loss_mask"], r["valid"], "ce", 0)
    scored = np.flatnonzero(r["loss_mask"][0])
    symbols = r["target"][0, scored]
    for trace, prediction in zip(figure.data, predictions.values(), strict=True):
        np.testing.assert_array_equal(trace.x, scored)
        np.testing.assert_allclose(trace.y, prediction[0, scored, symbols])
        assert ((trace.y >= 0) & (trace.y <= 1)).all()
    (chance,) = figure.layout.shapes
    assert chance.y0 == pytest.approx(1 / copy_task.cfg.n_symbols)
    assert tuple(figure.layout.yaxis.range) == (0, 1.05)


def test_sigma_chart_tracks_each_model_against_one(adding):
    series = records(adding)["series"]
    figure = plots.sigma_figure(series)
    (line,) = figure.layout.shapes
    assert line.y0 == 1.0 and line.label.text == "σ = 1"
    for trace, one in zip(figure.data, series.values(), strict=True):
        np.testing.assert_array_equal(trace.x, one.array("step"))
        np.testing.assert_array_equal(trace.y, one.array("sigma_max"))


def test_saturation_counts_nearly_closed_and_nearly_open_gates(varlen):
    probes = records(varlen)["probes"]
    figure = plots.saturation_figure(probes)
    z_trace = next(t for t in figure.data if t.name == "GRU update gate z")
    values = probes["gru"].traces["z"][-1]
    unit = values[..., 3][~np.isnan(values[..., 3])]  # padding counts for neither side
    assert z_trace.x[3] == pytest.approx(np.mean(unit < 0.1))
    assert z_trace.y[3] == pytest.approx(np.mean(unit > 0.9))
    assert len(figure.data) == 2  # z and r; the RNN has none
    assert tuple(figure.layout.xaxis.range) == tuple(figure.layout.yaxis.range)


def test_inputs_are_lines_for_few_channels_and_a_heatmap_for_many(adding, copy_task):
    r = records(adding)
    lines = plots.input_figure(r["x"], ("value", "marker"), 0, r["valid"])
    assert [t.name for t in lines.data] == ["value", "marker"]
    np.testing.assert_allclose(lines.data[1].y, r["x"][0, :, 1])
    r = records(copy_task)
    names = copy_task.task.input_names(copy_task.cfg)
    heatmap = plots.input_figure(r["x"], names, 2, r["valid"])
    assert heatmap.data[0].type == "heatmap" and tuple(heatmap.data[0].y) == names
    np.testing.assert_allclose(heatmap.data[0].z, r["x"][2].T)


# -- the report and the rules --------------------------------------------------------------------


def test_the_report_is_one_self_contained_page(adding, tmp_path):
    html = build_report(adding)
    plotly_js = plotly.offline.get_plotlyjs()
    assert html.count(plotly_js[:300]) == 1  # the bundle's licence header, inlined once
    assert html.count("plotly.js v") == 1
    view = run_view(adding)
    for spec in CATALOGUE:  # every figure that applies to the task, and no other
        shown = f'id="fig-{spec.id}"' in html
        assert shown == spec.applies(view), spec.id
        assert not shown or escape(spec.heading) in html
    assert "n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))" in html
    assert "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}" in html
    assert "Cho et al. (2014)" in html
    assert adding.task.title in html and "seq_len" in html
    assert f"{adding.task.baseline(adding.cfg):.4g}" in html
    path = write_report(adding, tmp_path / "report.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_the_report_names_why_a_model_stopped():
    trainer = trained(steps=0)
    trainer.slots["rnn"].stopped = "RNN stopped: <test> reason"
    html = build_report(trainer, heading="a & b")
    assert "RNN stopped: &lt;test&gt; reason" in html
    assert "<title>a &amp; b</title>" in html


@pytest.mark.parametrize("module", ["plots.py", "report.py"])
def test_views_import_no_torch_model_trainer_or_streamlit(module):
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    banned = ("torch", "streamlit", "gru_viz.models", "gru_viz.trainer", "gru_viz.probe")
    for node in tree.body:  # module level only: report.py names the trainer for type hints
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            assert not name.startswith(banned), f"{module} imports {name}"


# -- the task's marked steps ---------------------------------------------------------------------
def mark_lines(figure: go.Figure) -> list[float]:
    return sorted({s.x0 for s in figure.layout.shapes or () if s.line.color == plots.MARK_COLOR})


def mark_labels(figure: go.Figure) -> list[str]:
    notes = figure.layout.annotations or ()
    return [a.text for a in notes if a.font and a.font.color == plots.MARK_COLOR]


def test_heatmaps_mark_the_adding_problems_two_values_on_every_panel(adding):
    view = run_view(adding)
    for sample in (0, 1):
        marked = np.flatnonzero(view.x[sample, :, 1] > 0.5)
        assert len(marked) == 2
        for spec_id in ("hidden", "gates"):
            figure = FIGURES[spec_id].build(view, Selection(sample=sample))
            assert mark_lines(figure) == list(marked), (spec_id, sample)
            assert mark_labels(figure) == ["marked"]
    # The chart of the sequences' mean marks only the steps every sequence has marked.
    shared = set.intersection(*(set(np.flatnonzero(x[:, 1] > 0.5)) for x in view.x))
    assert mark_lines(FIGURES["grad_h"].build(view, Selection())) == sorted(shared)


def test_the_copy_task_marks_its_symbols_and_recall_window_everywhere(copy_task):
    view, k, lag = run_view(copy_task), copy_task.cfg.recall_len, copy_task.cfg.seq_len
    edges = [-0.5, k - 0.5, k + lag - 0.5, 2 * k + lag - 0.5]
    for spec_id in ("hidden", "gates", "grad_h"):
        figure = FIGURES[spec_id].build(view, Selection())
        assert mark_lines(figure) == edges, spec_id
        assert mark_labels(figure) == ["symbols", "recall"]


def test_padding_is_marked_where_it_starts(varlen):
    view = run_view(varlen)
    sample = int(np.argmin(view.valid.sum(axis=1)))  # the shortest sequence
    end = int(view.valid[sample].sum())
    figure = FIGURES["hidden"].build(view, Selection(sample=sample))
    assert end - 0.5 in mark_lines(figure) and "padding" in mark_labels(figure)
