"""The multi-task problem: two heads (the sum, and which marked value is larger) on one state.

Targets and losses are checked against plain numpy; the baselines against what a constant
predictor scores on fresh data; training against a falsifiable contrast (head weight 1 trains the
sum head only, and the class head then stays at its baseline); the figures against plotly's own
validation.
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from gru_viz import export, plots
from gru_viz.config import FIELD_BY_NAME, RunConfig
from gru_viz.figures import CATALOGUE, FIGURES, Selection, run_view
from gru_viz.report import build_report
from gru_viz.tasks import TASKS
from gru_viz.trainer import Trainer

TASK = TASKS["multitask"]
SMALL = RunConfig(
    task="multitask", seq_len=12, hidden_size=8, batch_size=8, probe_samples=3, head_weight=0.3
)


def draw(n: int = 16, seed: int = 0, **changes):
    cfg = RunConfig(task="multitask", **{"seq_len": 20, **changes})
    return cfg, TASK.generate(cfg, n, torch.Generator().manual_seed(seed))


def reference_targets(x: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy: each sequence's marked values (from the noise-free values), their sum, and
    the class (1 where the second marked value is the larger)."""
    sums, larger = [], []
    for s in range(len(x)):
        first, second = np.flatnonzero(x[s, :, 1] == 1)
        sums.append(clean[s, first] + clean[s, second])
        larger.append(int(clean[s, second] > clean[s, first]))
    return np.asarray(sums), np.asarray(larger)


def numpy_losses(pred: np.ndarray, target_sum: np.ndarray, larger: np.ndarray, w: float):
    """Per sequence at its last step: squared error, cross-entropy, and the weighted total."""
    last = pred[:, -1].astype(np.float64)
    squared = (last[:, 0] - target_sum) ** 2
    logits = last[:, 1:3]
    log_norm = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    cross_entropy = log_norm - logits[np.arange(len(last)), larger]
    total = w * squared / (1 / 6) + (1 - w) * cross_entropy / math.log(2)
    return squared, cross_entropy, total


# -- the data ------------------------------------------------------------------------------------


def test_the_task_and_its_setting_are_registered():
    assert TASK.loss_kind == "heads" and TASK.output_size(RunConfig(task="multitask")) == 3
    assert TASK.input_names(RunConfig(task="multitask")) == ("value", "marker")
    assert [(h.id, h.kind, h.channels) for h in TASK.heads] == [
        ("sum", "mse", (0, 1)),
        ("larger", "ce", (1, 3)),
    ]
    field = FIELD_BY_NAME["head_weight"]
    assert field.used_by("multitask") and not field.used_by("adding")
    assert field.structural and (field.lo, field.default, field.hi) == (0.0, 0.5, 1.0)
    with pytest.raises(ValueError, match="Weight of the sum head"):
        RunConfig(task="multitask", head_weight=1.5)


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_shapes_and_targets_against_a_numpy_reference(noise):
    cfg, batch = draw(n=256, seq_len=21, seed=4, noise=noise, head_weight=0.25)
    _, clean = draw(n=256, seq_len=21, seed=4, noise=0.0)  # noise is drawn last: same values
    x, target = batch.x.numpy(), batch.target.numpy()
    assert x.shape == (256, 21, 2) and x.dtype == np.float32
    assert target.shape == (256, 21, 3) and target.dtype == np.float32
    assert batch.head_weight == 0.25
    marker = x[..., 1]
    assert set(np.unique(marker)) <= {0.0, 1.0} and (marker.sum(1) == 2).all()
    assert (marker[:, :10].sum(1) == 1).all() and (marker[:, 10:].sum(1) == 1).all()
    sums, larger = reference_targets(x, clean.x.numpy()[..., 0])
    np.testing.assert_allclose(target[:, -1, 0], sums, rtol=1e-6)
    np.testing.assert_array_equal(target[:, -1, 1:], np.eye(2)[larger])
    assert (target[:, :-1] == 0).all()  # only the last step holds a target
    expected_mask = np.zeros((256, 21), bool)
    expected_mask[:, -1] = True
    np.testing.assert_array_equal(batch.loss_mask.numpy(), expected_mask)
    assert batch.valid.all() and batch.padded is None
    if noise:
        assert not np.allclose(x[..., 0], clean.x.numpy()[..., 0])
        np.testing.assert_array_equal(target, clean.target.numpy())  # the clean values scored


def test_the_inputs_and_the_sum_are_the_adding_problems():
    cfg, batch = draw(n=64, seed=9, noise=0.2)
    adding = TASKS["adding"].generate(
        cfg.replace(task="adding"), 64, torch.Generator().manual_seed(9)
    )
    assert torch.equal(batch.x, adding.x)
    assert torch.equal(batch.target[..., 0], adding.target[..., 0])
    assert torch.equal(batch.loss_mask, adding.loss_mask)


def test_both_classes_are_about_equally_common():
    _, batch = draw(n=20_000, seed=1)
    assert float(batch.target[:, -1, 2].mean()) == pytest.approx(0.5, abs=0.015)


# -- the loss ------------------------------------------------------------------------------------


@pytest.mark.parametrize("w", [0.0, 0.3, 1.0])
def test_the_loss_is_the_weighted_sum_of_each_heads_share(w):
    cfg, batch = draw(n=32, seed=3, head_weight=w)
    pred = 2 * torch.randn(32, 20, 3, generator=torch.Generator().manual_seed(8))
    _, clean = draw(n=32, seed=3)
    sums, larger = reference_targets(batch.x.numpy(), clean.x.numpy()[..., 0])
    squared, cross_entropy, total = numpy_losses(pred.numpy(), sums, larger, w)
    assert float(TASK.loss(pred, batch)) == pytest.approx(total.mean(), rel=1e-5)
    per_sample = TASK.loss_per_sample(pred, batch).numpy()
    np.testing.assert_allclose(per_sample, total, rtol=1e-5, atol=1e-6)  # float32 rounding
    heads = TASK.head_losses(pred, batch)
    assert heads["loss_head_sum"] == pytest.approx(squared.mean(), rel=1e-5)
    assert heads["loss_head_larger"] == pytest.approx(cross_entropy.mean(), rel=1e-5)
    assert heads["share_head_sum"] == pytest.approx(squared.mean() * 6, rel=1e-5)
    assert heads["share_head_larger"] == pytest.approx(cross_entropy.mean() / math.log(2), rel=1e-5)
    # Only the last step is scored: even NaN elsewhere leaves every number as it was.
    noisy = pred.clone()
    noisy[:, :-1] = float("nan")
    assert torch.equal(TASK.loss_per_sample(noisy, batch), TASK.loss_per_sample(pred, batch))
    assert TASK.head_losses(noisy, batch) == heads


def test_baselines_are_what_a_constant_and_a_coin_toss_score():
    for w in (0.0, 0.5, 1.0):
        cfg, batch = draw(n=20_000, seq_len=10, seed=42, head_weight=w)
        assert TASK.baseline(cfg) == 1
        assert [r.id for r in TASK.references(cfg)] == ["baseline"]
        constant = torch.zeros_like(batch.target)
        constant[..., 0] = 1.0  # the mean of the sum; logits 0: P = 1/2 for each class
        heads = TASK.head_losses(constant, batch)
        assert heads["share_head_sum"] == pytest.approx(1, rel=0.03)
        assert heads["loss_head_sum"] == pytest.approx(1 / 6, rel=0.03)
        assert heads["loss_head_larger"] == pytest.approx(math.log(2), rel=1e-6)
        assert float(TASK.loss(constant, batch)) == pytest.approx(1, rel=0.03)
    assert float(batch.target[:, -1, 0].mean()) == pytest.approx(1.0, abs=0.01)
    assert [h.baseline for h in TASK.heads] == [pytest.approx(1 / 6), pytest.approx(math.log(2))]


# -- training ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> Trainer:
    trainer = Trainer(SMALL)
    trainer.step(40)  # probes at 0, 20 and 40
    return trainer


def test_each_heads_loss_is_recorded_every_step(small):
    for slot in small.slots.values():
        history = slot.history
        assert len(history) == 40
        sums, larger = history.array("share_head_sum"), history.array("share_head_larger")
        assert sums.size == larger.size == 40 and np.isfinite(sums).all()
        np.testing.assert_allclose(sums, history.array("loss_head_sum") * 6, rtol=1e-6)
        np.testing.assert_allclose(
            larger, history.array("loss_head_larger") / math.log(2), rtol=1e-6
        )
        # The loss trained on is the weighted sum of the shares of the same batch.
        np.testing.assert_allclose(history.array("loss"), 0.3 * sums + 0.7 * larger, rtol=1e-5)
    adding = Trainer(RunConfig(seq_len=8, hidden_size=4, batch_size=4))
    adding.step(2)
    assert "loss_head_sum" not in adding.slots["gru"].history.columns


def _train(w: float, steps: int = 300) -> Trainer:
    cfg = RunConfig(task="multitask", seq_len=20, head_weight=w, models=("gru",), probe_every=100)
    trainer = Trainer(cfg)
    trainer.step(steps)
    return trainer


def _recent(trainer: Trainer, column: str) -> float:
    return float(np.mean(trainer.slots["gru"].history.array(column)[-20:]))


def test_the_gru_learns_both_heads_and_a_weight_of_one_trains_only_the_sum():
    both, sum_only = _train(0.5), _train(1.0)
    # Measured (seeds 0-2): sum 0.02, larger 0.15 of their baselines.
    assert _recent(both, "share_head_sum") < 0.2
    assert _recent(both, "share_head_larger") < 0.5
    # Measured: sum 0.003-0.006, larger 1.007-1.012.
    assert _recent(sum_only, "share_head_sum") < 0.2
    assert 0.9 < _recent(sum_only, "share_head_larger") < 1.15
    # The class head got no gradient at all: its readout rows are as initialised.
    initial = Trainer(sum_only.cfg).slots["gru"].model.readout
    trained = sum_only.slots["gru"].model.readout
    assert torch.equal(trained.weight[1:], initial.weight[1:])
    assert torch.equal(trained.bias[1:], initial.bias[1:])
    assert not torch.equal(trained.weight[:1], initial.weight[:1])


# -- figures, report, metrics --------------------------------------------------------------------


def _same_after_validation(figure: go.Figure) -> bool:
    validated = go.Figure(figure.to_dict())
    return json.loads(validated.to_json()) == json.loads(figure.to_json())


def test_every_figure_passes_plotly_validation(small):
    view = run_view(small)
    adding = Trainer(RunConfig(seq_len=8, hidden_size=4, batch_size=4, probe_samples=2))
    adding.step(3)
    for spec in CATALOGUE:
        for sel in (Selection(cursor=0), Selection(sample=2, cursor=4, log_y=False)):
            assert _same_after_validation(spec.build(view, sel)), spec.id
        assert spec.caption(view) and isinstance(spec.numbers(view), str), spec.id
    # Without a cursor too (the input chart and the one-head prediction chart then send an
    # empty shape list, which validation drops: harmless, and not this task's figures).
    for spec_id in ("heads", "prediction", "loss"):
        assert _same_after_validation(FIGURES[spec_id].build(view, Selection())), spec_id
    heads_alone = FIGURES["heads"].build(run_view(adding), Selection())  # a note, valid
    assert _same_after_validation(heads_alone) and not heads_alone.data


def test_only_the_heads_figure_depends_on_the_task_having_heads(small):
    view = run_view(small)
    adding = Trainer(RunConfig(seq_len=8, hidden_size=4, batch_size=4, probe_samples=2))
    other = run_view(adding)
    assert [s.id for s in CATALOGUE if not s.applies(other)] == ["heads"]
    assert all(s.applies(view) for s in CATALOGUE)
    assert view.head_weight == 0.3 and [h.id for h in view.heads] == ["sum", "larger"]


@pytest.mark.parametrize("log_y", [False, True])
def test_the_heads_chart_draws_each_heads_share_per_model(small, log_y):
    view = run_view(small)
    figure = FIGURES["heads"].build(view, Selection(log_y=log_y))
    assert len(figure.data) == 2 * len(small.slots)
    for trace in figure.data:
        kind, head = trace.legendgroup, trace.name.split(" ")[-2]
        history = small.slots[kind].history
        assert trace.line.dash == ("solid" if head == "sum" else "dash")
        share = history.array(f"share_head_{head}")
        smoothed = plots._moving_average(share, int(np.clip(share.size // 20, 1, 50)))
        np.testing.assert_allclose(trace.y, smoothed, rtol=1e-12)
        np.testing.assert_array_equal(trace.x, history.array("step"))
    (line,) = figure.layout.shapes
    assert line.y0 == line.y1 == 1
    assert figure.layout.yaxis.type == ("log" if log_y else "linear")
    reading = FIGURES["heads"].caption(view)
    assert "w = 0.3" in reading and "solid: the sum head" in reading
    assert "not trained at all" not in reading
    assert "not trained at all" in FIGURES["heads"].caption(
        run_view(Trainer(SMALL.replace(head_weight=1.0)))
    )


def test_the_prediction_figure_shows_the_sum_and_the_right_class(small):
    view = run_view(small)
    sample = 1
    figure = FIGURES["prediction"].build(view, Selection(sample=sample, cursor=3))
    target = view.target[sample, -1]
    right = int(np.argmax(target[1:]))
    (crosses,) = [t for t in figure.data if t.name == "target (scored steps)"]
    assert list(crosses.x) == [SMALL.seq_len - 1] and crosses.y[0] == pytest.approx(target[0])
    for kind, probe in view.probes.items():
        output, probability = (t for t in figure.data if t.legendgroup == kind)
        assert output.yaxis == "y" and probability.yaxis == "y2"
        np.testing.assert_allclose(output.y, probe.prediction[sample, :, 0])
        logits = probe.prediction[sample, :, 1:].astype(float)
        softmax = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        np.testing.assert_allclose(probability.y, softmax[:, right], rtol=1e-6)
    assert "P(right class)" in FIGURES["prediction"].numbers(view)
    marked = np.flatnonzero(view.x[sample, :, 1] > 0.5)
    lines = {s.x0 for s in figure.layout.shapes if s.line.color == plots.MARK_COLOR}
    assert lines == set(marked.tolist())


def test_the_report_and_the_metrics_carry_each_head(small):
    html = build_report(small)
    assert 'id="fig-heads"' in html and "Loss per head" in html
    assert "sum head" in html and "larger head" in html
    rows = list(csv.DictReader(io.StringIO(export.metrics_csv(small))))
    assert list(rows[0])[-5:] == [*export.HEAD_COLUMNS, export.EVENT_COLUMN]
    for kind, slot in small.slots.items():
        mine = [r for r in rows if r["model"] == kind]
        for column in export.HEAD_COLUMNS:
            got = [float(r[column]) for r in mine]
            np.testing.assert_allclose(got, slot.history.array(column), rtol=5e-6)
    adding = Trainer(RunConfig(seq_len=8, hidden_size=4, batch_size=4))
    adding.step(2)
    for row in csv.DictReader(io.StringIO(export.metrics_csv(adding))):
        assert all(row[column] == "" for column in export.HEAD_COLUMNS)
        assert float(row["loss"]) > 0
