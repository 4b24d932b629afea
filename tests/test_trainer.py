"""The trainer: determinism, shared batches, clipping, non-finite recovery, live settings.

The learning test (``test_gru_learns_the_adding_problem``) is the slow one here (~4 s on one
thread); everything else uses tiny models and a few steps.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import gru_viz.trainer as trainer_module
from gru_viz.config import RunConfig
from gru_viz.kinds import KINDS
from gru_viz.models import NO_INTERVENTION, Intervention
from gru_viz.records import BoundedSeries
from gru_viz.tasks import get_task
from gru_viz.trainer import Trainer

SMALL = RunConfig(
    task="adding", seq_len=10, hidden_size=8, batch_size=16, probe_every=5, probe_samples=4
)


def weights(slot) -> list[torch.Tensor]:
    return [p.detach().clone() for p in slot.model.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def history(slot) -> dict[str, np.ndarray]:
    return {name: slot.history.array(name) for name in slot.history.columns}


# -- determinism and shared data -------------------------------------------------------------


def test_same_config_same_numbers():
    a, b = Trainer(SMALL), Trainer(SMALL)
    assert a.step(12) == b.step(12) == 12
    for kind in SMALL.models:
        sa, sb = a.slots[kind], b.slots[kind]
        ha, hb = history(sa), history(sb)
        assert set(ha) == {
            "step",
            "loss",
            "grad_norm",
            "grad_input",
            "grad_recurrent",
            "grad_bias",
            "grad_readout",
        }
        assert len(ha["loss"]) == 12
        for name in ha:
            assert np.array_equal(ha[name], hb[name]), name
        assert same(weights(sa), weights(sb))
        assert np.array_equal(sa.latest.grad_h_norm, sb.latest.grad_h_norm)
        for name, trace in sa.latest.traces.items():
            assert np.array_equal(trace, sb.latest.traces[name], equal_nan=True), name


def test_other_seed_other_numbers():
    a, b = Trainer(SMALL), Trainer(SMALL.replace(seed=1))
    a.step(3)
    b.step(3)
    for kind in SMALL.models:
        assert not same(weights(a.slots[kind]), weights(b.slots[kind]))
        assert not np.array_equal(
            a.slots[kind].history.array("loss"), b.slots[kind].history.array("loss")
        )
    assert not torch.equal(a.probe_batch.x, b.probe_batch.x)


def test_the_models_have_their_own_initial_weights():
    t = Trainer(SMALL.replace(models=("gru", "rnn", "lstm")))
    gru = t.slots["gru"].model.rnn.weight_hh_l0
    lstm = t.slots["lstm"].model.rnn.weight_hh_l0
    assert not torch.equal(gru[: 3 * 8], lstm[: 3 * 8])


def test_every_model_trains_on_the_same_seeded_batches(monkeypatch):
    seen: dict[str, list[torch.Tensor]] = {"gru": [], "rnn": [], "lstm": []}
    real_forward = trainer_module.forward

    def spy(model, x, intervention=NO_INTERVENTION):
        seen[model.kind].append(x.clone())
        return real_forward(model, x, intervention)

    monkeypatch.setattr(trainer_module, "forward", spy)
    cfg = SMALL.replace(models=("gru", "rnn", "lstm"))
    t = Trainer(cfg)
    t.step(3)
    assert [len(v) for v in seen.values()] == [3, 3, 3]
    # The oracle: one generator seeded with the config's seed, drawn from once per step.
    stream = torch.Generator().manual_seed(cfg.seed)
    for i in range(3):
        expected = get_task(cfg.task).generate(cfg, cfg.batch_size, stream).x
        for kind in seen:
            assert torch.equal(seen[kind][i], expected), (kind, i)
    assert not torch.equal(seen["gru"][0], seen["gru"][1])
    # The probe batch is not one of the training batches.
    assert not any(torch.equal(t.probe_batch.x, x[: cfg.probe_samples]) for x in seen["gru"])


def test_adding_a_model_changes_nothing_for_the_others():
    alone, together = (
        Trainer(SMALL.replace(models=("gru",))),
        Trainer(SMALL.replace(models=("gru", "rnn", "lstm"))),
    )
    alone.step(6)
    together.step(6)
    assert same(weights(alone.slots["gru"]), weights(together.slots["gru"]))
    assert np.array_equal(
        alone.slots["gru"].history.array("loss"), together.slots["gru"].history.array("loss")
    )


def test_probes_run_at_start_and_on_the_cadence():
    calls = {"step": 0, "probe": 0}
    t = Trainer(
        SMALL,
        on_step_end=lambda tr: calls.__setitem__("step", calls["step"] + 1),
        on_probe=lambda tr: calls.__setitem__("probe", calls["probe"] + 1),
    )
    assert calls == {"step": 0, "probe": 1}
    t.step(12)
    assert calls == {"step": 12, "probe": 3}
    for slot in t.slots.values():
        assert slot.snapshots.steps == [0, 5, 10]
        assert slot.latest.step == 10
        assert list(slot.probe_series.array("step")) == [0, 5, 10]
        assert np.array_equal(slot.history.array("step"), np.arange(1, 13))


def test_run_for_takes_at_least_one_step_and_respects_max_steps():
    t = Trainer(SMALL.replace(models=("gru",)))
    assert t.run_for(0.0) == 1
    assert t.run_for(60.0, max_steps=3) == 3
    assert t.step_count == 4


def test_hidden_sizes_can_differ_per_model():
    t = Trainer(SMALL, hidden_sizes={"rnn": 3})
    assert t.slots["rnn"].model.hidden_size == 3
    assert t.slots["gru"].model.hidden_size == SMALL.hidden_size
    assert t.slots["rnn"].parameter_count() == sum(
        p.numel() for p in t.slots["rnn"].model.parameters()
    )


# -- gradients and clipping ------------------------------------------------------------------


def _oracle_gradient(cfg: RunConfig, t: Trainer, kind: str):
    """The first step's gradient, from a copy of the model and the first batch of the seed."""
    model = copy.deepcopy(t.slots[kind].model)
    task = get_task(cfg.task)
    batch = task.generate(cfg, cfg.batch_size, torch.Generator().manual_seed(cfg.seed))
    task.loss(model(batch.x), batch).backward()
    named = {name: p.grad.clone() for name, p in model.named_parameters()}
    return named, float(torch.sqrt(sum((g**2).sum() for g in named.values())))


@pytest.mark.parametrize("clip", [0.05, 0.0, 100.0])
def test_sgd_update_is_the_gradient_rescaled_to_the_clip(clip):
    cfg = SMALL.replace(models=("gru",), optimizer="sgd", lr=0.1, clip=clip)
    t = Trainer(cfg)
    slot = t.slots["gru"]
    grads, norm = _oracle_gradient(cfg, t, "gru")
    assert 0.05 < norm < 100  # so the three cases are: clipped, off, not reached
    before = dict(slot.model.named_parameters())
    before = {name: p.detach().clone() for name, p in before.items()}
    t.step(1)
    scale = clip / (norm + 1e-6) if 0 < clip < norm else 1.0
    delta_sq = 0.0
    for name, p in slot.model.named_parameters():
        delta = p.detach() - before[name]
        torch.testing.assert_close(delta, -cfg.lr * scale * grads[name], atol=1e-7, rtol=1e-4)
        delta_sq += float((delta**2).sum())
    if clip == 0.05:
        assert delta_sq**0.5 <= cfg.lr * clip + 1e-6
    # The history records the norm before clipping, and its split into groups.
    assert slot.history.array("grad_norm")[0] == pytest.approx(norm, rel=1e-5)
    groups = {
        "grad_input": ["rnn.weight_ih_l0"],
        "grad_recurrent": ["rnn.weight_hh_l0"],
        "grad_bias": ["rnn.bias_ih_l0", "rnn.bias_hh_l0"],
        "grad_readout": ["readout.weight", "readout.bias"],
    }
    for column, names in groups.items():
        expected = float(torch.sqrt(sum((grads[n] ** 2).sum() for n in names)))
        assert slot.history.array(column)[0] == pytest.approx(expected, rel=1e-5), column


def test_history_loss_is_the_loss_of_the_batch_before_the_update():
    cfg = SMALL.replace(models=("rnn",))
    t = Trainer(cfg)
    model = copy.deepcopy(t.slots["rnn"].model)
    task = get_task(cfg.task)
    batch = task.generate(cfg, cfg.batch_size, torch.Generator().manual_seed(cfg.seed))
    with torch.no_grad():
        expected = float(task.loss(model(batch.x), batch))
    t.step(1)
    assert t.slots["rnn"].history.array("loss")[0] == pytest.approx(expected, rel=1e-6)


# -- non-finite values -----------------------------------------------------------------------


def test_divergence_stops_each_model_with_its_last_finite_weights():
    cfg = SMALL.replace(optimizer="sgd", lr=10.0, clip=0.0)
    snapshots: dict[int, dict[str, list[torch.Tensor]]] = {}
    first_stop: dict[str, int] = {}

    def record(tr: Trainer) -> None:
        snapshots[tr.step_count] = {k: weights(s) for k, s in tr.slots.items()}
        for kind, slot in tr.slots.items():
            if slot.stopped and kind not in first_stop:
                first_stop[kind] = tr.step_count

    t = Trainer(cfg, on_step_end=record)
    snapshots[0] = {k: weights(s) for k, s in t.slots.items()}
    taken = t.step(300)
    assert set(first_stop) == {"gru", "rnn"}, "lr 10 without clipping should diverge"
    assert taken == max(first_stop.values()) < 300  # stops once nothing is left to train
    assert t.step(5) == 0 and t.step_count == taken
    for kind, slot in t.slots.items():
        stop = first_stop[kind]
        assert slot.stopped.startswith(f"{KINDS[kind].title} stopped")
        assert f"step {stop}" in slot.stopped and "clipping" in slot.stopped
        assert all(torch.isfinite(p).all() for p in slot.model.parameters())
        assert same(weights(slot), snapshots[stop - 1][kind])
        assert len(slot.history) == stop - 1
        assert np.isfinite(slot.history.array("loss")).all()


def test_a_nan_gradient_stops_only_that_model_and_restore_resumes_it():
    t = Trainer(SMALL)
    t.step(3)
    gru, rnn = t.slots["gru"], t.slots["rnn"]
    good = weights(gru)
    hook = gru.model.rnn.weight_hh_l0.register_hook(lambda g: g * float("nan"))
    assert t.step(1) == 1
    assert gru.stopped is not None and "NaN" in gru.stopped and "step 4" in gru.stopped
    assert rnn.stopped is None
    assert same(weights(gru), good)
    assert gru.latest.step == 4  # the stop re-probes so the views show the final state
    t.step(3)  # the other model keeps training
    assert len(rnn.history) == 7 and len(gru.history) == 3
    assert same(weights(gru), good)
    assert [s.kind for s in t.active] == ["rnn"]
    hook.remove()
    t.restore("gru")
    assert gru.stopped is None
    t.step(2)
    assert len(gru.history) == 5 and len(rnn.history) == 9
    assert list(gru.history.array("step")[-2:]) == [8.0, 9.0]
    assert not same(weights(gru), good)
    assert all(torch.isfinite(p).all() for p in gru.model.parameters())


def test_an_update_that_makes_weights_non_finite_is_undone():
    t = Trainer(SMALL)
    t.step(2)
    gru = t.slots["gru"]
    good = weights(gru)
    real_step = gru.optimizer.step

    def poisoned_step(*args, **kwargs):
        result = real_step(*args, **kwargs)
        with torch.no_grad():
            gru.model.readout.weight[0, 0] = float("inf")
        return result

    gru.optimizer.step = poisoned_step
    t.step(1)
    assert gru.stopped is not None and "non-finite" in gru.stopped and "step 3" in gru.stopped
    assert same(weights(gru), good)
    assert len(gru.history) == 2 and len(t.slots["rnn"].history) == 3
    t.restore("gru")  # with a fresh optimizer, so the poisoned step is gone
    t.step(1)
    assert gru.stopped is None and len(gru.history) == 3


# -- bounded records -------------------------------------------------------------------------


@pytest.mark.parametrize("capacity, every", [(100, 1), (101, 1), (50, 20)])
def test_bounded_series_stays_bounded_and_spans_the_run(capacity, every):
    series = BoundedSeries(capacity)
    last = 0
    for i in range(10_000):
        step = i * every
        series.append(step, loss=float(i), other=-float(i))
        assert len(series) <= capacity
        last = step
    steps = series.array("step")
    assert len(steps) == len(series) >= capacity // 4
    assert len(series.array("loss")) == len(steps) == len(series.array("other"))
    assert steps[0] == 0  # the start of the run
    assert np.all(np.diff(steps) > 0)
    assert last - steps[-1] <= 4 * every * 10_000 / capacity  # and its latest part
    assert np.diff(steps).max() <= 4 * every * 10_000 / capacity  # no big holes in between
    np.testing.assert_array_equal(series.array("loss"), steps / every)
    assert series.array("missing").size == 0


# -- live settings and interventions ---------------------------------------------------------


def test_apply_live_changes_the_learning_rate_in_place():
    t = Trainer(SMALL)
    t.step(2)
    optimizers = {k: s.optimizer for k, s in t.slots.items()}
    t.apply_live(SMALL.replace(lr=0.123, clip=0.5, batch_size=4, probe_every=2))
    assert t.cfg.lr == 0.123 and t.cfg.clip == 0.5
    for kind, slot in t.slots.items():
        assert slot.optimizer is optimizers[kind]  # Adam's moments survive
        assert [g["lr"] for g in slot.optimizer.param_groups] == [0.123]
    t.step(2)
    assert t.slots["gru"].latest.step == 4  # the new probe cadence
    t.apply_live(t.cfg.replace(optimizer="sgd", lr=0.5))
    for slot in t.slots.values():
        assert isinstance(slot.optimizer, torch.optim.SGD)
        assert slot.optimizer.param_groups[0]["lr"] == 0.5


def test_apply_live_refuses_structural_changes():
    t = Trainer(SMALL)
    for change in ({"hidden_size": 4}, {"seed": 9}, {"task": "copy"}, {"models": ("gru",)}):
        with pytest.raises(ValueError, match=next(iter(change))):
            t.apply_live(SMALL.replace(lr=0.5, **change))
        assert t.cfg == SMALL


def test_set_intervention_reprobes_at_once():
    t = Trainer(SMALL)
    t.step(2)
    snapshots = len(t.slots["gru"].snapshots.steps)
    t.set_intervention("gru", Intervention(clamp_update=0.25))
    gru = t.slots["gru"]
    assert len(gru.snapshots.steps) == snapshots + 1 and gru.latest.step == 2
    assert np.all(gru.latest.traces["z"] == np.float32(0.25))
    t.set_intervention("gru", NO_INTERVENTION)
    assert np.ptp(gru.latest.traces["z"]) > 0.05


def test_probe_only_intervention_does_not_touch_training():
    plain, probed = Trainer(SMALL), Trainer(SMALL)
    probed.set_intervention("gru", Intervention(ablate_units=(0, 1)))
    plain.step(3)
    probed.step(3)
    assert np.array_equal(
        plain.slots["gru"].history.array("loss"), probed.slots["gru"].history.array("loss")
    )
    assert np.all(probed.slots["gru"].latest.traces["h"][..., :2] == 0)
    trained = Trainer(SMALL)
    trained.set_intervention("gru", Intervention(ablate_units=(0, 1)), in_training=True)
    trained.step(3)
    assert not np.array_equal(
        plain.slots["gru"].history.array("loss"), trained.slots["gru"].history.array("loss")
    )
    assert np.array_equal(
        plain.slots["rnn"].history.array("loss"), trained.slots["rnn"].history.array("loss")
    )


# -- learning (slow: ~4 s) -------------------------------------------------------------------


def test_gru_learns_the_adding_problem():
    cfg = RunConfig(
        task="adding",
        seq_len=30,
        models=("gru",),
        hidden_size=32,
        batch_size=64,
        lr=0.01,
        probe_every=1000,
    )
    t = Trainer(cfg)
    t.step(200)
    losses = t.slots["gru"].history.array("loss")
    baseline = get_task("adding").baseline(cfg)
    assert losses[:5].mean() > 0.5 * baseline  # it starts at chance...
    assert losses[-20:].mean() < 0.5 * baseline  # ...and clearly beats it
