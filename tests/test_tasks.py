"""Every synthetic task: shapes, seeding, what the targets mean, and the trivial baselines."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gru_viz.config import RunConfig
from gru_viz.tasks import TASKS, get_task

ALL = tuple(TASKS)
SAMPLED = ("forecast", "missing", "irregular", "reset")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def draw(name: str, n: int = 16, seed: int = 0, **changes):
    cfg = RunConfig(task=name, **{"seq_len": 20, **changes})
    return cfg, TASKS[name], TASKS[name].generate(cfg, n, gen(seed))


def test_the_registry_is_complete():
    assert set(TASKS) == {
        "adding",
        "copy",
        "forecast",
        "varlen",
        "missing",
        "irregular",
        "reset",
        "multitask",
    }
    for name, task in TASKS.items():
        assert task.name == name and get_task(name) is task
        assert task.loss_kind in ("mse", "ce", "heads")
        assert task.title and task.description and task.baseline_note


@pytest.mark.parametrize("name", ALL)
def test_shapes_dtypes_and_masks(name):
    cfg, task, batch = draw(name, n=6, noise=0.1)
    steps = cfg.total_len
    assert batch.x.shape == (6, steps, len(task.input_names(cfg)))
    assert batch.x.dtype == torch.float32
    if task.loss_kind in ("mse", "heads"):
        assert batch.target.shape == (6, steps, task.output_size(cfg))
        assert batch.target.dtype == torch.float32
    else:
        assert batch.target.shape == (6, steps)
        assert batch.target.dtype == torch.int64
        assert int(batch.target.min()) >= 0 and int(batch.target.max()) < task.output_size(cfg)
    for mask in (batch.loss_mask, batch.valid):
        assert mask.shape == (6, steps) and mask.dtype == torch.bool
    assert not (batch.loss_mask & ~batch.valid).any()  # only real steps are scored
    assert batch.loss_mask.any(dim=1).all()  # every sequence is scored somewhere
    assert torch.isfinite(batch.x).all() and torch.isfinite(batch.target.float()).all()


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_batch_other_seed_other_batch(name):
    torch.manual_seed(0)
    global_state = torch.get_rng_state()
    _, _, a = draw(name, seed=5, noise=0.1)
    _, _, b = draw(name, seed=5, noise=0.1)
    _, _, c = draw(name, seed=6, noise=0.1)
    assert torch.equal(torch.get_rng_state(), global_state)  # only the given generator is used
    for field in ("x", "target", "loss_mask", "valid"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert not torch.equal(a.x, c.x)
    assert not torch.equal(a.target, c.target)


@pytest.mark.parametrize("name", ALL)
def test_one_generator_gives_a_fresh_batch_each_call(name):
    cfg, task, _ = draw(name)
    g = gen(1)
    first, second = task.generate(cfg, 8, g), task.generate(cfg, 8, g)
    assert not torch.equal(first.x, second.x)


# -- losses ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_losses_against_a_direct_computation(name):
    if name == "multitask":
        pytest.skip("two heads: tests/test_multitask.py checks its loss against numpy")
    cfg, task, batch = draw(name, n=5)
    out = task.output_size(cfg)
    pred = torch.randn(5, cfg.total_len, out, generator=gen(9))
    mask = batch.loss_mask
    if task.loss_kind == "mse":
        each = ((pred - batch.target) ** 2).mean(-1)
    else:
        each = -torch.log_softmax(pred, -1).gather(-1, batch.target.unsqueeze(-1)).squeeze(-1)
    per_step = task.loss_per_step(pred, batch)
    torch.testing.assert_close(per_step[mask], each[mask])
    assert torch.equal(per_step[~mask], torch.zeros(int((~mask).sum())))
    expected_total = each[mask].mean()
    torch.testing.assert_close(task.loss(pred, batch), expected_total)
    for s in range(5):
        torch.testing.assert_close(task.loss_per_sample(pred, batch)[s], each[s][mask[s]].mean())


@pytest.mark.parametrize("name", ALL)
def test_loss_ignores_predictions_at_unscored_steps(name):
    cfg, task, batch = draw(name, n=5)
    pred = torch.randn(5, cfg.total_len, task.output_size(cfg), generator=gen(2))
    noisy = pred.clone()
    noisy[~batch.loss_mask] = float("nan")  # even NaN there must not leak into the loss
    assert torch.equal(task.loss_per_sample(noisy, batch), task.loss_per_sample(pred, batch))


# -- baselines -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["adding", "varlen"])
def test_adding_baseline_is_one_sixth_and_is_what_predicting_one_scores(name):
    cfg, task, batch = draw(name, n=20_000, seq_len=10, seed=42)
    assert task.baseline(cfg) == pytest.approx(1 / 6)
    scored = task.loss(torch.ones_like(batch.target), batch)
    assert float(scored) == pytest.approx(1 / 6, rel=0.03)
    # 1.0 is the best constant: the mean of the targets is 1.
    assert float(batch.target[batch.loss_mask].mean()) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("symbols", [2, 4, 7])
def test_copy_baseline_is_a_uniform_guess(symbols):
    cfg, task, batch = draw("copy", n=32, n_symbols=symbols)
    assert task.baseline(cfg) == pytest.approx(math.log(symbols))
    uniform = torch.zeros(32, cfg.total_len, symbols)
    assert float(task.loss(uniform, batch)) == pytest.approx(math.log(symbols), rel=1e-6)
    perfect = 50 * F.one_hot(batch.target, symbols).float()
    assert float(task.loss(perfect, batch)) < 1e-6


@pytest.mark.parametrize("name", SAMPLED)
def test_sampled_baseline_is_what_the_global_mean_scores_on_fresh_data(name):
    cfg, task, batch = draw(name, n=4096, seq_len=30, seed=2024, noise=0.1)
    baseline = task.baseline(cfg)
    assert baseline > 0.05
    mean = batch.target[batch.loss_mask].mean()
    scored = float(task.loss(torch.full_like(batch.target, float(mean)), batch))
    assert scored == pytest.approx(baseline, rel=0.05)


@pytest.mark.parametrize("name", SAMPLED)
def test_sampled_baseline_follows_the_task_knobs_only(name):
    cfg = RunConfig(task=name, seq_len=30)
    task = TASKS[name]
    assert task.baseline(
        cfg.replace(hidden_size=7, lr=0.5, seed=9, models=("lstm",))
    ) == task.baseline(cfg)
    if name == "reset":  # latched values are uniform on [-1, 1): variance 1/3
        assert task.baseline(cfg) == pytest.approx(1 / 3, rel=0.03)
        assert task.baseline(cfg.replace(season=2.0)) == task.baseline(cfg)
    else:  # a bigger seasonal wave is harder to guess with a constant
        big, small = task.baseline(cfg.replace(season=2.0)), task.baseline(cfg.replace(season=0.5))
        assert big > 1.5 * small


# -- what each task means --------------------------------------------------------------------


def test_adding_target_is_the_sum_of_the_two_marked_values():
    cfg, _, batch = draw("adding", n=256, seq_len=21)
    values, marker = batch.x[..., 0], batch.x[..., 1]
    assert set(marker.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(marker.sum(dim=1), torch.full((256,), 2.0))
    half = 21 // 2
    assert torch.equal(marker[:, :half].sum(1), torch.ones(256))  # one in each half
    assert torch.equal(marker[:, half:].sum(1), torch.ones(256))
    assert ((values >= 0) & (values < 1)).all()
    expected = (values * marker).sum(dim=1)
    assert torch.equal(
        batch.loss_mask, torch.zeros_like(batch.loss_mask).index_fill(1, torch.tensor([20]), True)
    )
    torch.testing.assert_close(batch.target[:, -1, 0], expected)
    assert batch.valid.all()
    # The markers are spread over each half, not stuck in one place.
    assert len(marker[:, :half].argmax(1).unique()) == half


def test_adding_noise_perturbs_the_values_but_not_the_target():
    _, _, clean = draw("adding", n=512, seq_len=40, seed=3)
    _, _, noisy = draw("adding", n=512, seq_len=40, seed=3, noise=0.5)
    assert torch.equal(clean.target, noisy.target)
    assert torch.equal(clean.x[..., 1], noisy.x[..., 1])
    diff = noisy.x[..., 0] - clean.x[..., 0]
    assert float(diff.std()) == pytest.approx(0.5, rel=0.05)


def test_copy_recalls_the_symbols_shown_after_the_lag():
    cfg, _, batch = draw("copy", n=64, seq_len=6, recall_len=3, n_symbols=5)
    k, lag, a = 3, 6, 5
    assert cfg.total_len == lag + 2 * k == batch.x.shape[1]
    shown = batch.x[:, :k, :a].argmax(-1)
    assert torch.equal(batch.x[:, :k].sum(-1), torch.ones(64, k))  # one-hot symbols
    assert torch.equal(batch.x[:, :k, a:], torch.zeros(64, k, 2))
    assert torch.equal(batch.x[:, k : k + lag, a], torch.ones(64, lag))  # blanks
    assert torch.equal(batch.x[:, k : k + lag].sum(-1), torch.ones(64, lag))
    assert torch.equal(batch.x[:, k + lag :, a + 1], torch.ones(64, k))  # go
    assert torch.equal(batch.x[:, k + lag :].sum(-1), torch.ones(64, k))
    assert torch.equal(batch.target[:, k + lag :], shown)
    expected_mask = torch.zeros(64, cfg.total_len, dtype=torch.bool)
    expected_mask[:, k + lag :] = True
    assert torch.equal(batch.loss_mask, expected_mask)
    assert set(shown.unique().tolist()) == set(range(a))


@pytest.mark.parametrize("name", ["forecast", "missing", "irregular"])
def test_forecast_targets_are_the_next_value(name):
    cfg, _, batch = draw(name, n=64, seq_len=25, missing_rate=0.0)
    observed = batch.x[..., 0]
    torch.testing.assert_close(batch.target[:, :-1, 0], observed[:, 1:], atol=0, rtol=0)
    assert torch.equal(batch.loss_mask[:, :-1], torch.ones(64, 24, dtype=torch.bool))
    assert not batch.loss_mask[:, -1].any()  # nothing left to predict at the end
    assert batch.valid.all()


def test_forecast_signal_has_the_requested_trend_and_season():
    _, _, flat = draw("forecast", n=64, trend=0.0, season=0.0)
    assert torch.equal(flat.x, torch.zeros_like(flat.x))
    _, _, wave = draw("forecast", n=256, trend=0.0, season=1.5, seq_len=60)
    assert float(wave.x.abs().max()) == pytest.approx(1.5, rel=0.01)


def test_missing_drops_inputs_at_the_rate_and_says_so():
    cfg, _, batch = draw("missing", n=1024, seq_len=50, missing_rate=0.3, seed=8)
    value, seen = batch.x[..., 0], batch.x[..., 1]
    assert set(seen.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(value[seen == 0], torch.zeros(int((seen == 0).sum())))
    assert float(1 - seen.mean()) == pytest.approx(0.3, abs=0.01)
    # Where the next value was seen it is the target; where it was dropped, the target is
    # still the true signal (not the zero the model saw).
    nxt_seen = seen[:, 1:] == 1
    torch.testing.assert_close(
        batch.target[:, :-1, 0][nxt_seen], value[:, 1:][nxt_seen], atol=0, rtol=0
    )
    assert (batch.target[:, :-1, 0][~nxt_seen] != 0).float().mean() > 0.99


def test_irregular_gap_channel_is_positive_with_mean_one():
    cfg, _, batch = draw("irregular", n=512, seq_len=40)
    gap = batch.x[..., 1]
    assert (gap[:, :-1] > 0).all()
    assert torch.equal(gap[:, -1], torch.zeros(512))  # no next sample after the last
    assert float(gap[:, :-1].mean()) == pytest.approx(1.0, rel=0.03)
    assert float(gap[:, :-1].std()) == pytest.approx(1.0, rel=0.05)  # exponential gaps


def test_irregular_gap_matters_for_the_next_value():
    """The signal is sampled at the cumulated gaps: same sequence, other gaps, other values."""
    _, _, batch = draw("irregular", n=512, seq_len=40, trend=0.0, noise=0.0)
    change = (batch.x[:, 1:, 0] - batch.x[:, :-1, 0]).abs()
    gap = batch.x[:, :-1, 1]
    small, large = change[gap < 0.2].mean(), change[gap > 2.0].mean()
    assert small < 0.5 * large


def test_reset_target_is_the_value_at_the_latest_marker():
    cfg, _, batch = draw("reset", n=128, seq_len=30)
    values, marker = batch.x[..., 0], batch.x[..., 1]
    assert torch.equal(marker[:, 0], torch.ones(128))
    assert float(marker.mean()) == pytest.approx(0.1 + 0.9 / 30, abs=0.02)
    for s in range(128):
        held = None
        for t in range(30):
            if marker[s, t] == 1:
                held = values[s, t]
            assert batch.target[s, t, 0] == held
    assert batch.loss_mask.all() and batch.valid.all()


def test_varlen_pads_after_a_length_in_the_upper_half():
    cfg, _, batch = draw("varlen", n=512, seq_len=20)
    lengths = batch.valid.sum(dim=1)
    assert int(lengths.min()) == 10 and int(lengths.max()) == 20  # the whole range is used
    steps = torch.arange(20)
    assert torch.equal(batch.valid, steps[None] < lengths[:, None])  # a prefix
    assert torch.equal(batch.x[~batch.valid], torch.zeros(int((~batch.valid).sum()), 2))
    rows = torch.arange(512)
    assert torch.equal(batch.loss_mask.sum(1), torch.ones(512, dtype=torch.long))
    assert batch.loss_mask[rows, lengths - 1].all()  # the last real step
    values, marker = batch.x[..., 0], batch.x[..., 1]
    assert torch.equal(marker.sum(1), torch.full((512,), 2.0))
    half = lengths // 2
    first, second = marker.argmax(1), (marker * steps).sum(1).long() - marker.argmax(1)
    assert (first < half).all() and (second >= half).all() and (second < lengths).all()
    torch.testing.assert_close(
        batch.target[rows, lengths - 1, 0], values[rows, first] + values[rows, second]
    )


# -- reference levels -------------------------------------------------------------------------
def binned_conditional_mean_loss(x: torch.Tensor, y: torch.Tensor, bins: int = 200) -> float:
    """MSE of predicting y by its mean within bins of x: a model-free estimate of the best
    prediction from x alone (the oracle for the memoryless line)."""
    edges = torch.quantile(x, torch.linspace(0, 1, bins + 1, dtype=x.dtype))
    which = torch.bucketize(x, edges[1:-1])
    sums = torch.zeros(bins, dtype=y.dtype).index_add_(0, which, y)
    counts = torch.zeros(bins, dtype=y.dtype).index_add_(0, which, torch.ones_like(y))
    return float(((y - (sums / counts.clamp(min=1))[which]) ** 2).mean())


def test_the_memoryless_line_is_the_best_prediction_from_the_current_input():
    # Oracles on other sequences: a binned conditional mean of the target given x_t (the best
    # any rule of x_t can do, up to binning), and repeating x_t, which the line must beat.
    cfg = RunConfig(task="forecast", noise=0.1)
    batch = TASKS["forecast"].generate(cfg, 8192, torch.Generator().manual_seed(99))
    x = batch.x[..., 0][batch.loss_mask].double()
    y = batch.target[batch.loss_mask][:, 0].double()
    (memoryless,) = [r for r in TASKS["forecast"].references(cfg) if r.id == "memoryless"]
    assert memoryless.value == pytest.approx(binned_conditional_mean_loss(x, y), rel=0.03)
    assert memoryless.value < float(((y - x) ** 2).mean())  # better than repeating x_t
    assert memoryless.value < 0.25 * TASKS["forecast"].baseline(cfg)


def test_the_noise_floor_is_what_pure_noise_leaves_to_predict():
    # No trend, no season: every target is noise of variance σ², which nothing can predict,
    # so even the mean (the baseline) scores the floor.
    cfg = RunConfig(task="forecast", noise=0.4, trend=0.0, season=0.0)
    levels = {r.id: r.value for r in TASKS["forecast"].references(cfg)}
    assert levels["noise_floor"] == pytest.approx(0.16)
    assert levels["baseline"] == pytest.approx(levels["noise_floor"], rel=0.05)
    assert "noise_floor" not in {r.id for r in TASKS["forecast"].references(RunConfig())}


def test_the_latchs_noise_floor_is_the_best_guess_of_a_value_seen_once_through_noise():
    # v ~ U(-1, 1) seen as v + noise: the best estimate E[v | seen] still errs by the floor.
    noise, gen = 0.3, torch.Generator().manual_seed(5)
    v = 2 * torch.rand(400_000, generator=gen, dtype=torch.float64) - 1
    seen = v + noise * torch.randn(400_000, generator=gen, dtype=torch.float64)
    levels = {r.id: r.value for r in TASKS["reset"].references(RunConfig(task="reset", noise=0.3))}
    assert levels["noise_floor"] == pytest.approx(binned_conditional_mean_loss(seen, v), rel=0.03)
    assert levels["noise_floor"] < noise**2  # below σ²: the clean value is scored here


def test_tasks_without_a_memoryless_shortcut_draw_only_the_baseline():
    for name in ("adding", "copy", "varlen"):
        assert [r.id for r in TASKS[name].references(RunConfig(task=name))] == ["baseline"]
