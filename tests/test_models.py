"""The unrolled cell against PyTorch's own modules, and the probe's per-step gradients.

PyTorch is the oracle throughout (idea from micrograd's tests): the fused ``nn.GRU`` / ``nn.RNN``
/ ``nn.LSTM``, the single-step ``nn.*Cell`` modules, and the equations in ``torch.nn``'s docs.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from gru_viz.config import RunConfig
from gru_viz.kinds import KINDS as KIND_TABLE
from gru_viz.models import (
    NO_INTERVENTION,
    Intervention,
    SequenceModel,
    build_model,
    forward,
    unroll,
)
from gru_viz.probe import probe
from gru_viz.tasks import TASKS

KINDS = ("gru", "rnn", "lstm")
FUSED = {"gru": nn.GRU, "rnn": nn.RNN, "lstm": nn.LSTM}
CELLS = {"gru": nn.GRUCell, "rnn": nn.RNNCell, "lstm": nn.LSTMCell}
N_IN, H, N_OUT = 3, 5, 2
TOL = {"atol": 1e-5, "rtol": 1e-5}
EXACT = {"atol": 1e-6, "rtol": 1e-6}


def make(kind: str, layers: int = 1, seed: int = 0):
    return build_model(kind, N_IN, H, layers, N_OUT, seed)


def inputs(batch: int = 4, steps: int = 7, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, steps, N_IN, generator=torch.Generator().manual_seed(seed))


def layer_weights(model, layer: int) -> tuple[torch.Tensor, ...]:
    return tuple(
        getattr(model.rnn, f"{n}_l{layer}").detach()
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )


def cell_for(model, layer: int) -> nn.Module:
    """A torch ``*Cell`` carrying one layer's weights."""
    w_ih, w_hh, b_ih, b_hh = layer_weights(model, layer)
    cell = CELLS[model.kind](w_ih.shape[1], model.hidden_size)
    cell.load_state_dict({"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh})
    return cell


# -- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_build_model_is_seeded_and_leaves_the_global_rng_alone(kind):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b, c = make(kind, seed=7), make(kind, seed=7), make(kind, seed=8)
    assert torch.equal(torch.get_rng_state(), before)
    for (name, pa), pb, pc in zip(
        a.named_parameters(), b.parameters(), c.parameters(), strict=True
    ):
        assert torch.equal(pa, pb), name
        assert not torch.equal(pa, pc), name


@pytest.mark.parametrize("kind", KINDS)
def test_build_model_gives_torch_manual_seed_weights(kind):
    # The same numbers as seeding torch's global generator and constructing: links, the
    # standalone script and earlier exports keep reproducing.
    torch.manual_seed(7)
    plain = SequenceModel(kind, N_IN, H, 2, 3)
    built = build_model(kind, N_IN, H, 2, 3, seed=7)
    for (name, expected), actual in zip(
        plain.state_dict().items(), built.state_dict().values(), strict=True
    ):
        assert torch.equal(expected, actual), name


def test_models_built_in_parallel_threads_get_exactly_their_own_seeds_weights():
    # A class opening a link together builds models in Streamlit's session threads at once.
    # Seeding the process-wide generator let one student's seed leak into another's weights.
    seeds = [101, 202] * 4
    alone = {s: build_model("gru", N_IN, 48, 3, 1, seed=s).state_dict() for s in set(seeds)}
    built: dict[int, list] = {}
    start = threading.Barrier(len(seeds))

    def build(index: int, seed: int) -> None:
        start.wait()
        built[index] = [build_model("gru", N_IN, 48, 3, 1, seed=seed) for _ in range(6)]

    threads = [threading.Thread(target=build, args=(i, s)) for i, s in enumerate(seeds)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, seed in enumerate(seeds):
        for model in built[index]:
            for name, value in model.state_dict().items():
                assert torch.equal(value, alone[seed][name]), (seed, name)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_loads_into_a_plain_torch_module(kind, layers):
    model = make(kind, layers)
    plain = FUSED[kind](N_IN, H, layers, batch_first=True)
    plain.load_state_dict(model.rnn.state_dict())  # strict: same names and shapes
    x = inputs()
    with torch.no_grad():
        ours, plain_out = model.rnn(x)[0], plain(x)[0]
        assert torch.equal(ours, plain_out)
        assert torch.equal(model(x), model.readout(plain_out))


# -- unrolled == fused -----------------------------------------------------------------------


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_unrolled_output_and_gradients_equal_the_fused_module(kind, layers):
    model = make(kind, layers)
    x = inputs()
    target = torch.randn(4, 7, N_OUT, generator=torch.Generator().manual_seed(5))

    def grads(output: torch.Tensor) -> list[torch.Tensor]:
        loss = ((output - target) ** 2).sum()
        return torch.autograd.grad(loss, list(model.parameters()))

    unrolled = unroll(model, x)
    fused = model(x)
    torch.testing.assert_close(unrolled.output, fused, **TOL)
    names = [n for n, _ in model.named_parameters()]
    for name, g_unrolled, g_fused in zip(names, grads(unrolled.output), grads(fused), strict=True):
        assert g_fused.abs().sum() > 0, name  # every parameter takes part
        torch.testing.assert_close(g_unrolled, g_fused, **TOL, msg=name)
    # The states handed out are the states the fused module computes, layer by layer.
    with torch.no_grad():
        layer_input = x
        for layer in range(layers):
            plain = FUSED[kind](layer_input.shape[-1], H, 1, batch_first=True)
            w_ih, w_hh, b_ih, b_hh = layer_weights(model, layer)
            plain.load_state_dict(
                {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh, "bias_ih_l0": b_ih, "bias_hh_l0": b_hh}
            )
            layer_input = plain(layer_input)[0]
            states = torch.stack(unrolled.states[layer], dim=1)
            torch.testing.assert_close(states, layer_input, **TOL)


@pytest.mark.parametrize("layers", [1, 2])
def test_gru_records_follow_the_pytorch_equations_and_gru_cell(layers):
    model = make("gru", layers)
    x = inputs()
    rec = unroll(model, x, record=True).records
    assert len(rec) == layers
    layer_input = x
    for layer in range(layers):
        w_ih, w_hh, b_ih, b_hh = layer_weights(model, layer)
        # PyTorch stacks the gate rows as [r | z | n].
        w_ir, w_iz, w_in = w_ih[:H], w_ih[H : 2 * H], w_ih[2 * H :]
        w_hr, w_hz, w_hn = w_hh[:H], w_hh[H : 2 * H], w_hh[2 * H :]
        b_ir, b_iz, b_in = b_ih[:H], b_ih[H : 2 * H], b_ih[2 * H :]
        b_hr, b_hz, b_hn = b_hh[:H], b_hh[H : 2 * H], b_hh[2 * H :]
        cell = cell_for(model, layer)
        h_prev = torch.zeros(4, H)
        cell_h = torch.zeros(4, H)
        for t in range(x.shape[1]):
            xt = layer_input[:, t]
            r = torch.sigmoid(xt @ w_ir.T + b_ir + h_prev @ w_hr.T + b_hr)
            z = torch.sigmoid(xt @ w_iz.T + b_iz + h_prev @ w_hz.T + b_hz)
            n = torch.tanh(xt @ w_in.T + b_in + r * (h_prev @ w_hn.T + b_hn))
            h = (1 - z) * n + z * h_prev
            for name, value in (("r", r), ("z", z), ("n", n), ("h", h)):
                torch.testing.assert_close(
                    rec[layer][name][:, t], value, **EXACT, msg=f"layer {layer} {name} t={t}"
                )
            with torch.no_grad():
                cell_h = cell(xt, cell_h)
            torch.testing.assert_close(rec[layer]["h"][:, t], cell_h, **EXACT)
            h_prev = rec[layer]["h"][:, t]
        layer_input = rec[layer]["h"]


@pytest.mark.parametrize("layers", [1, 2])
def test_rnn_records_equal_rnn_cell(layers):
    model = make("rnn", layers)
    x = inputs()
    rec = unroll(model, x, record=True).records
    layer_input = x
    for layer in range(layers):
        w_ih, w_hh, b_ih, b_hh = layer_weights(model, layer)
        cell = cell_for(model, layer)
        h = torch.zeros(4, H)
        for t in range(x.shape[1]):
            pre = layer_input[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
            torch.testing.assert_close(rec[layer]["pre"][:, t], pre, **EXACT)
            with torch.no_grad():
                h = cell(layer_input[:, t], h)
            torch.testing.assert_close(rec[layer]["h"][:, t], h, **EXACT)
        layer_input = rec[layer]["h"]


@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_records_equal_lstm_cell(layers):
    model = make("lstm", layers)
    x = inputs()
    rec = unroll(model, x, record=True).records
    assert set(rec[0]) == set(KIND_TABLE["lstm"].traces)
    layer_input = x
    for layer in range(layers):
        w_ih, w_hh, b_ih, b_hh = layer_weights(model, layer)
        cell = cell_for(model, layer)
        h, c = torch.zeros(4, H), torch.zeros(4, H)
        for t in range(x.shape[1]):
            gates = layer_input[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # rows [i|f|g|o]
            i, f = torch.sigmoid(gates[:, :H]), torch.sigmoid(gates[:, H : 2 * H])
            g, o = torch.tanh(gates[:, 2 * H : 3 * H]), torch.sigmoid(gates[:, 3 * H :])
            for name, value in (("i", i), ("f", f), ("g", g), ("o", o)):
                torch.testing.assert_close(rec[layer][name][:, t], value, **EXACT)
            with torch.no_grad():
                h, c = cell(layer_input[:, t], (h, c))
            torch.testing.assert_close(rec[layer]["c"][:, t], c, **EXACT)
            torch.testing.assert_close(rec[layer]["h"][:, t], h, **EXACT)
        layer_input = rec[layer]["h"]


def test_records_are_only_kept_when_asked():
    out = unroll(make("gru"), inputs())
    assert out.records == [{}]
    assert len(out.states) == 1 and len(out.states[0]) == 7


# -- interventions ---------------------------------------------------------------------------


def test_forward_without_intervention_is_the_fused_path():
    model = make("gru", 2)
    x = inputs()
    assert torch.equal(forward(model, x, NO_INTERVENTION), model(x))
    assert not NO_INTERVENTION.active


def test_forward_with_an_intervention_is_the_unrolled_path_and_trains():
    model = make("gru")
    x = inputs()
    iv = Intervention(clamp_update=0.5)
    assert iv.active
    out = forward(model, x, iv)
    assert torch.equal(out, unroll(model, x, iv).output)
    assert not torch.allclose(out, model(x), atol=1e-3)
    out.pow(2).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("layers", [1, 2])
def test_clamp_update_zero_makes_the_state_the_candidate(layers):
    rec = unroll(make("gru", layers), inputs(), Intervention(clamp_update=0.0), True).records
    for layer in rec:
        assert torch.equal(layer["z"], torch.zeros_like(layer["z"]))
        torch.testing.assert_close(layer["h"], layer["n"], atol=0, rtol=0)
        assert layer["h"].abs().max() > 0.05


@pytest.mark.parametrize("layers", [1, 2])
def test_clamp_update_one_freezes_the_initial_zero_state(layers):
    model = make("gru", layers)
    out = unroll(model, inputs(), Intervention(clamp_update=1.0), record=True)
    for layer in out.records:
        assert torch.equal(layer["h"], torch.zeros_like(layer["h"]))
        assert layer["n"].abs().max() > 0.05  # the candidate is there, but never let in
    # The output is then the readout's bias alone.
    torch.testing.assert_close(out.output, model.readout.bias.expand(4, 7, N_OUT), **EXACT)


@pytest.mark.parametrize("layers", [1, 2])
def test_clamp_reset_zero_makes_the_candidate_ignore_the_state(layers):
    model = make("gru", layers)
    x = inputs()
    rec = unroll(model, x, Intervention(clamp_reset=0.0), record=True).records
    layer_input = x
    for layer in range(layers):
        w_ih, _, b_ih, _ = layer_weights(model, layer)
        expected = torch.tanh(layer_input @ w_ih[2 * H :].T + b_ih[2 * H :])
        assert torch.equal(rec[layer]["r"], torch.zeros_like(rec[layer]["r"]))
        torch.testing.assert_close(rec[layer]["n"], expected, **EXACT)
        layer_input = rec[layer]["h"]


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_ablated_units_are_zero_at_every_step_and_feed_back_as_zero(kind, layers):
    model = make(kind, layers)
    x = inputs()
    ablated = (1, 3)
    keep = torch.ones(H)
    keep[list(ablated)] = 0.0
    out = unroll(model, x, Intervention(ablate_units=ablated), record=True)
    layer_input = x
    for layer in range(layers):
        h_rec = out.records[layer]["h"]
        assert torch.equal(h_rec[..., list(ablated)], torch.zeros(4, 7, len(ablated)))
        assert (h_rec[..., [0, 2, 4]].abs() > 0).all()
        # Oracle: torch's cell, with the ablated units zeroed after each step.
        cell = cell_for(model, layer)
        h, c = torch.zeros(4, H), torch.zeros(4, H)
        for t in range(7):
            with torch.no_grad():
                if kind == "lstm":
                    h, c = cell(layer_input[:, t], (h, c))
                    c = c * keep
                else:
                    h = cell(layer_input[:, t], h)
                h = h * keep
            torch.testing.assert_close(h_rec[:, t], h, **EXACT)
        layer_input = h_rec
    # Out-of-range units are ignored rather than raising.
    torch.testing.assert_close(
        unroll(model, x, Intervention(ablate_units=(99,))).output, model(x), **TOL
    )


def test_update_gate_bias_makes_the_initial_gru_remember():
    model = make("gru", 2)
    x = inputs()
    before = unroll(model, x, record=True).records
    assert all(layer["z"].mean() < 0.7 for layer in before)
    model.set_update_gate_bias(3.0)
    for layer in range(2):
        _, _, b_ih, b_hh = layer_weights(model, layer)
        assert torch.equal(b_ih[H : 2 * H], torch.zeros(H))
        assert torch.equal(b_hh[H : 2 * H], torch.full((H,), 3.0))
    after = unroll(model, x, record=True).records
    for layer in after:
        assert layer["z"].mean() > 0.9


@pytest.mark.parametrize("kind, block", [("gru", 2), ("rnn", 0), ("lstm", 2)])
def test_recurrent_sigma_max_is_the_top_singular_value_of_the_candidate_block(kind, block):
    model = make(kind, 2)
    for layer in range(2):
        w_hh = layer_weights(model, layer)[1]
        rows = w_hh[block * H : (block + 1) * H]
        assert rows.shape == (H, H)
        expected = float(torch.linalg.svdvals(rows)[0])
        assert model.recurrent_sigma_max(layer) == pytest.approx(expected, rel=1e-5)


# -- the probe's per-step gradients against an independent oracle -----------------------------


def _single_layer(model, layer: int) -> nn.Module:
    """A one-layer fused torch module carrying ``layer``'s weights."""
    w_ih, w_hh, b_ih, b_hh = layer_weights(model, layer)
    plain = FUSED[model.kind](w_ih.shape[1], model.hidden_size, 1, batch_first=True)
    plain.load_state_dict(
        {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh, "bias_ih_l0": b_ih, "bias_hh_l0": b_hh}
    )
    return plain


def oracle_grad_h_norm(model, task, batch) -> np.ndarray:
    """(layers, B, T) ‖∂L_s/∂h_t‖, built only from fused torch modules.

    For each layer l and step t, h_t (from a no-grad fused run) becomes a leaf; the fused module
    continues from it over x[:, t+1:] (for the LSTM from (h_t, c_t) with c_t held fixed, which
    is what ∂L/∂h_t means there); the layers above and the readout run over the whole sequence;
    each sample's own loss is differentiated with respect to the leaf.
    """
    layers = [_single_layer(model, layer) for layer in range(model.num_layers)]
    steps = batch.x.shape[1]
    norms = np.zeros((model.num_layers, batch.x.shape[0], steps))
    with torch.no_grad():
        layer_inputs, layer_states = [batch.x], []
        for plain in layers:
            layer_states.append(plain(layer_inputs[-1])[0])
            layer_inputs.append(layer_states[-1])
    for layer, plain in enumerate(layers):
        for t in range(steps):
            with torch.no_grad():
                final = plain(layer_inputs[layer][:, : t + 1])[1]  # state after step t
            h_t = (final[0] if model.kind == "lstm" else final).clone().requires_grad_(True)
            start = (h_t, final[1]) if model.kind == "lstm" else h_t
            parts = [layer_states[layer][:, :t], h_t.transpose(0, 1)]
            if t + 1 < steps:
                parts.append(plain(layer_inputs[layer][:, t + 1 :], start)[0])
            seq = torch.cat(parts, dim=1)
            for above in layers[layer + 1 :]:
                seq = above(seq)[0]
            per_sample = task.loss_per_sample(model.readout(seq), batch)
            for s in range(batch.x.shape[0]):  # each sample's own loss, one at a time
                (grad,) = torch.autograd.grad(per_sample[s], h_t, retain_graph=True)
                assert grad[0, [i for i in range(batch.x.shape[0]) if i != s]].abs().max() == 0
                norms[layer, s, t] = float(grad[0, s].norm())
    return norms


def task_setup(task_name: str, kind: str, layers: int, seq_len: int = 9, samples: int = 5):
    cfg = RunConfig(
        task=task_name, seq_len=seq_len, recall_len=2, n_symbols=3, hidden_size=H, num_layers=layers
    )
    task = TASKS[task_name]
    batch = task.generate(cfg, samples, torch.Generator().manual_seed(3))
    model = build_model(kind, batch.x.shape[-1], H, layers, task.output_size(cfg), seed=11)
    return cfg, task, batch, model


@pytest.mark.parametrize("task_name", ["adding", "copy", "varlen", "reset"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_probe_grad_h_norm_equals_the_fused_oracle(kind, layers, task_name):
    cfg, task, batch, model = task_setup(task_name, kind, layers)
    result = probe(model, task, batch, step=17)
    steps = batch.x.shape[1]
    assert result.grad_h_norm.shape == (layers, 5, steps)
    valid = batch.valid.numpy()
    expected = oracle_grad_h_norm(model, task, batch)
    got = result.grad_h_norm
    assert np.all(np.isfinite(got[:, valid]))
    assert expected[:, valid].max() > 1e-3
    np.testing.assert_allclose(got[:, valid], expected[:, valid], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
def test_probe_reports_the_fused_loss_prediction_and_sigma(kind):
    cfg, task, batch, model = task_setup("copy", kind, 2)
    result = probe(model, task, batch, step=3)
    assert result.step == 3 and result.kind == kind
    with torch.no_grad():
        fused = model(batch.x)
        np.testing.assert_allclose(
            result.loss, task.loss_per_sample(fused, batch).numpy(), rtol=1e-5
        )
        np.testing.assert_allclose(
            result.prediction, torch.softmax(fused, -1).numpy(), rtol=1e-5, atol=1e-6
        )
    assert result.sigma_max == pytest.approx(model.recurrent_sigma_max(1))
    for name in KIND_TABLE[kind].traces:
        assert result.traces[name].shape == (2, 5, batch.x.shape[1], H)
        assert result.traces[name].dtype == np.float32


@pytest.mark.parametrize("kind", KINDS)
def test_probe_under_intervention_records_the_intervened_cell(kind):
    cfg, task, batch, model = task_setup("adding", kind, 1)
    iv = Intervention(ablate_units=(0,))
    result = probe(model, task, batch, step=0, intervention=iv)
    assert np.all(result.traces["h"][..., 0] == 0)
    with torch.no_grad():
        expected = task.loss_per_sample(unroll(model, batch.x, iv).output, batch).numpy()
    np.testing.assert_allclose(result.loss, expected, rtol=1e-6)


# -- padding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_padded_steps_are_nan_in_every_trace_and_finite_elsewhere(kind, layers):
    cfg, task, batch, model = task_setup("varlen", kind, layers, seq_len=12, samples=8)
    valid = batch.valid.numpy()
    assert (~valid).any() and valid.all(axis=0).any()  # some padding, some full columns
    result = probe(model, task, batch, step=0)
    arrays = {"grad_h_norm": result.grad_h_norm, "prediction": result.prediction, **result.traces}
    for name, values in arrays.items():
        per_step = values if name == "grad_h_norm" else np.moveaxis(values, -1, 0)
        # per_step: (..., B, T); NaN exactly where the step is padding.
        assert np.array_equal(
            np.isnan(per_step).any(axis=tuple(range(per_step.ndim - 2))), ~valid
        ), name
        assert np.isfinite(per_step[..., valid]).all(), name
    assert np.isfinite(result.loss).all()


@pytest.mark.parametrize("kind", KINDS)
def test_loss_ignores_padded_inputs(kind):
    cfg, task, batch, model = task_setup("varlen", kind, 1, seq_len=12, samples=8)
    pad = ~batch.valid
    assert pad.any()
    with torch.no_grad():
        base = task.loss_per_sample(model(batch.x), batch)
        junk = batch.x.clone()
        junk[pad] = 100 * torch.randn(int(pad.sum()), junk.shape[-1])
        junked = task.loss_per_sample(model(junk), batch)
        assert torch.equal(base, junked)
        # ...while the same change at one valid step does change it (the check can fail).
        moved = batch.x.clone()
        moved[:, 0] += 1.0
        assert not torch.allclose(task.loss_per_sample(model(moved), batch), base)
