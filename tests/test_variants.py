"""The GRU variants (Cho's GRU, the blog formula, its tied form, the MGU) against the equations.

torch has no module for these, so the oracle is a plain loop written here, independently of
``gru_viz.models``, straight from the equations: for the blog formula literally with the
concatenation [h_{t−1}, x_t] the articles print. The module's own gradients are held to finite
differences (float64 ``gradcheck``) and to the reference's; Cho's GRU also to numbers worked by
hand. Then everything the app does with a kind: seeds, the trainer, the probe and its per-step
gradients, interventions, the inspector, parameter counts, equations, labels and colours.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from gru_viz import explain
from gru_viz.config import RunConfig
from gru_viz.inspector import step_view
from gru_viz.kinds import GATE_LABELS, KINDS, MODEL_KINDS, VARIANTS, gate_label
from gru_viz.models import (
    CLAMPED_KINDS,
    RNN_CLASSES,
    TORCH_CLASSES,
    VARIANT_CLASSES,
    Intervention,
    SequenceModel,
    build_model,
    unroll,
)
from gru_viz.probe import probe
from gru_viz.tasks import TASKS
from gru_viz.trainer import Trainer, parameter_count

N_IN, H, N_OUT = 3, 5, 2
TOL = {"atol": 1e-5, "rtol": 1e-5}
# The weight rows of each variant, as its equations name them (the spec, written here again).
ROWS = {"gru_cho": "rzn", "blog": "zrn", "blog_tied": "gn", "mgu": "fn"}
GATED = {"gru_cho": ("r", "z"), "blog": ("z", "r"), "blog_tied": ("z", "r"), "mgu": ("f",)}


def make(kind: str, layers: int = 1, seed: int = 0, hidden: int = H, inputs: int = N_IN):
    return build_model(kind, inputs, hidden, layers, N_OUT, seed)


def inputs(batch: int = 4, steps: int = 7, seed: int = 1, size: int = N_IN) -> torch.Tensor:
    return torch.randn(batch, steps, size, generator=torch.Generator().manual_seed(seed))


def sigmoid(v):
    return 1 / (1 + torch.exp(-v))


# -- the reference: one plain loop per variant, from the equations ---------------------------


def _block(kind: str, tensor: torch.Tensor, name: str, hidden: int) -> torch.Tensor:
    """The H rows of one gate block, by ROWS."""
    i = ROWS[kind].index(name)
    return tensor[i * hidden : (i + 1) * hidden]


def reference(kind: str, x: torch.Tensor, params: dict[str, torch.Tensor], layers: int):
    """Top-layer states, per layer the list of h_t (in the graph) and the gates per step.

    ``params`` maps weight_ih_l0 ... to tensors; rows are split by ROWS, each block H rows.
    """
    hidden = params["weight_hh_l0"].shape[1]
    all_states, all_gates = [], []
    for layer in range(layers):
        w_ih, w_hh, b_ih, b_hh = (
            params[f"{name}_l{layer}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        W_i, W_h, b_i, b_h = (
            {g: _block(kind, w, g, hidden) for g in ROWS[kind]} for w in (w_ih, w_hh, b_ih, b_hh)
        )
        # the blog formula's W_· acts on [h, x]: W_· = [W_h· | W_i·]
        W = {g: torch.cat([W_h[g], W_i[g]], dim=1) for g in ROWS[kind]}
        h = x.new_zeros(x.shape[0], hidden)
        states, gates = [], {name: [] for name in KINDS[kind].traces[:-1]}
        for t in range(x.shape[1]):
            xt = x[:, t]
            if kind == "gru_cho":
                # Keras reset_after=False: n = tanh(W x + U (r ⊙ h) + b), b = b_in + b_hn
                r = sigmoid(xt @ W_i["r"].T + b_i["r"] + h @ W_h["r"].T + b_h["r"])
                z = sigmoid(xt @ W_i["z"].T + b_i["z"] + h @ W_h["z"].T + b_h["z"])
                n = torch.tanh(xt @ W_i["n"].T + b_i["n"] + (r * h) @ W_h["n"].T + b_h["n"])
                step = {"r": r, "z": z, "n": n}
                h = (1 - z) * n + z * h
            elif kind in ("blog", "blog_tied"):
                hx = torch.cat([h, xt], dim=1)  # [h_{t−1}, x_t], as the articles write it
                if kind == "blog":
                    z = sigmoid(hx @ W["z"].T + b_i["z"] + b_h["z"])
                    r = sigmoid(hx @ W["r"].T + b_i["r"] + b_h["r"])
                else:  # one W_g; z's bias in bias_ih's g rows, r's in bias_hh's
                    z = sigmoid(hx @ W["g"].T + b_i["g"])
                    r = sigmoid(hx @ W["g"].T + b_h["g"])
                n = torch.tanh(hx @ W["n"].T + b_i["n"] + b_h["n"])
                step = {"z": z, "r": r, "n": n}
                h = (1 - z) * h + z * r * n
            else:  # MGU: f = σ(W_f x + U_f h + b_f); n = tanh(W_h x + U_h (f ⊙ h) + b_h)
                f = sigmoid(xt @ W_i["f"].T + h @ W_h["f"].T + b_i["f"] + b_h["f"])
                n = torch.tanh(xt @ W_i["n"].T + (f * h) @ W_h["n"].T + b_i["n"] + b_h["n"])
                step = {"f": f, "n": n}
                h = (1 - f) * h + f * n
            for name, value in step.items():
                gates[name].append(value)
            states.append(h)
        x = torch.stack(states, dim=1)
        all_states.append(states)
        all_gates.append({name: torch.stack(v, dim=1) for name, v in gates.items()})
    return x, all_states, all_gates


def rnn_params(model: SequenceModel) -> dict[str, torch.Tensor]:
    return dict(model.rnn.named_parameters())


# -- the table and the classes agree ---------------------------------------------------------


def test_every_kind_has_a_class_and_the_variants_their_table_rows():
    assert set(RNN_CLASSES) == set(MODEL_KINDS) == set(explain.EQUATIONS)
    assert set(VARIANT_CLASSES) == set(VARIANTS) == set(ROWS) == set(explain.VARIANT_NOTES)
    assert set(TORCH_CLASSES) == {"gru", "rnn", "lstm"}
    for kind, cls in VARIANT_CLASSES.items():
        row = KINDS[kind]
        assert not row.fused and cls.blocks == row.gate_blocks == len(ROWS[kind])
        assert "".join(row.blocks) == ROWS[kind]
        assert row.traces[-1] == "h" and set(row.gates) == set(GATED[kind])
        assert row.recurrent_weight == "W_hn"  # the candidate's block from h_{t−1}
        assert explain.EQUATION_TITLES[kind]
        if kind == "blog_tied":  # the blog GRU's step, on weights with z's rows = r's rows
            assert cls.step is VARIANT_CLASSES["blog"].step
        else:
            assert explain.equations_text(kind) in cls.step.__doc__
    offsets = [kind.seed_offset for kind in KINDS.values()]
    assert len(set(offsets)) == len(offsets) and all(0 < o < 1000 for o in offsets)
    assert len({kind.title for kind in KINDS.values()}) == len(KINDS)


# -- values and gradients against the reference ----------------------------------------------


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", VARIANTS)
def test_forward_unroll_and_traces_equal_the_reference(kind, layers):
    model = make(kind, layers)
    x = inputs()
    target = torch.randn(4, 7, N_OUT, generator=torch.Generator().manual_seed(5))
    states, last = model.rnn(x)
    ref_top, ref_states, ref_gates = reference(kind, x, rnn_params(model), layers)
    torch.testing.assert_close(states, ref_top, **TOL)
    torch.testing.assert_close(last, torch.stack([s[-1] for s in ref_states]), **TOL)

    # unroll runs the forward's own step function: the same numbers, bit for bit
    out = unroll(model, x, record=True)
    fused = model(x)
    assert torch.equal(out.output, fused)
    for layer in range(layers):
        assert set(out.records[layer]) == set(KINDS[kind].traces)
        for name, value in ref_gates[layer].items():
            torch.testing.assert_close(out.records[layer][name], value, **TOL, msg=name)
        ref_h = torch.stack(ref_states[layer], dim=1)
        torch.testing.assert_close(out.records[layer]["h"], ref_h, **TOL)

    # gradients: every parameter, and ∂L/∂h_t at every step of every layer
    def loss_of(output):
        return ((output - target) ** 2).sum()

    params = list(model.parameters())
    flat = [h for layer_states in out.states for h in layer_states]
    got = torch.autograd.grad(loss_of(out.output), params + flat)
    want_params = torch.autograd.grad(loss_of(fused), params)
    ref_flat = [h for layer_states in ref_states for h in layer_states]
    want = torch.autograd.grad(loss_of(model.readout(ref_top)), params + ref_flat)
    names = [n for n, _ in model.named_parameters()]
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        label = names[i] if i < len(names) else f"dL/dh step {i - len(names)}"
        assert w.abs().sum() > 0, label  # every parameter and every state takes part
        torch.testing.assert_close(g, w, **TOL, msg=label)
    for name, g, w in zip(names, got, want_params, strict=False):
        torch.testing.assert_close(g, w, atol=0, rtol=0, msg=name)


@pytest.mark.parametrize("kind", VARIANTS)
def test_float64_gradients_pass_gradcheck_and_equal_the_reference(kind):
    model = build_model(kind, 2, 3, 2, 1, seed=4).double()
    names = [n for n, _ in model.rnn.named_parameters()]
    x = inputs(2, 4, size=2).double().requires_grad_(True)
    params = [p.detach().clone().requires_grad_(True) for p in model.rnn.parameters()]

    def module(x, *ps):
        return functional_call(model.rnn, dict(zip(names, ps, strict=True)), (x,))[0]

    def plain(x, *ps):
        return reference(kind, x, dict(zip(names, ps, strict=True)), 2)[0]

    assert torch.autograd.gradcheck(module, (x, *params), eps=1e-6, atol=1e-8)
    weights = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    got = torch.autograd.grad((module(x, *params) * weights).sum(), [x, *params])
    want = torch.autograd.grad((plain(x, *params) * weights).sum(), [x, *params])
    for name, g, w in zip(["x", *names], got, want, strict=True):
        torch.testing.assert_close(g, w, atol=1e-12, rtol=1e-10, msg=name)


def test_gru_cho_equals_keras_reset_after_false_worked_by_hand():
    # One unit, one input, one step from h_{t-1} = 1 with x_t = 0.5:
    #   r = σ(b_ir) = σ(ln 3) = 3/4                    (all other r terms 0)
    #   z = σ(b_hz) = σ(−ln 3) = 1/4                   (all other z terms 0)
    #   Keras (reset_after=False), one bias b = b_in + b_hn = −0.5 + 0.5 = 0:
    #   n = tanh(W_in x + W_hn (r h) + b) = tanh(1 · 0.5 + 2 · (3/4 · 1) + 0) = tanh(2)
    #     = 0.9640275800758169
    #   h_t = (1 − z) n + z h = 3/4 · 0.96402758 + 1/4 · 1 = 0.9730206850568627
    # PyTorch's GRU on the same weights puts r after the product, bias included:
    #   n = tanh(0.5 − 0.5 + 3/4 · (2 · 1 + 0.5)) = tanh(1.875) = 0.9540452601799487
    #   h_t = 3/4 · 0.95404526 + 1/4 = 0.9655339451349616
    rnn = VARIANT_CLASSES["gru_cho"](1, 1, 1).double()
    state = {
        "weight_ih_l0": [[0.0], [0.0], [1.0]],  # W_ir, W_iz, W_in
        "weight_hh_l0": [[0.0], [0.0], [2.0]],  # W_hr, W_hz, W_hn
        "bias_ih_l0": [math.log(3), 0.0, -0.5],  # b_ir, b_iz, b_in
        "bias_hh_l0": [0.0, -math.log(3), 0.5],  # b_hr, b_hz, b_hn
    }
    state = {k: torch.tensor(v, dtype=torch.float64) for k, v in state.items()}
    rnn.load_state_dict(state)
    x = torch.tensor([[[0.5]]], dtype=torch.float64)
    h0 = torch.ones(1, 1, 1, dtype=torch.float64)
    with torch.no_grad():
        out = rnn.step(rnn.project(x, rnn.layer_params(0))[:, 0], h0[0], rnn.layer_params(0))
    assert float(out["r"]) == pytest.approx(0.75, abs=1e-15)
    assert float(out["z"]) == pytest.approx(0.25, abs=1e-15)
    assert float(out["n"]) == pytest.approx(0.9640275800758169, abs=1e-15)
    assert float(out["h"]) == pytest.approx(0.9730206850568627, abs=1e-15)
    with torch.no_grad():
        assert float(rnn(x, h0)[0]) == float(out["h"])
    torch_gru = nn.GRU(1, 1, batch_first=True).double()
    torch_gru.load_state_dict(state)
    with torch.no_grad():
        assert float(torch_gru(x, h0)[0]) == pytest.approx(0.9655339451349616, abs=1e-15)


def test_tied_blog_gates_share_one_weight_block_and_differ_only_by_bias():
    model = make("blog_tied", 2)
    rnn = model.rnn
    # Two weight blocks: [g | n]. No second gate matrix exists to drift apart.
    for layer in range(2):
        assert getattr(rnn, f"weight_ih_l{layer}").shape[0] == 2 * H
        assert getattr(rnn, f"weight_hh_l{layer}").shape[0] == 2 * H
    rec = unroll(model, inputs(), record=True).records
    for layer in range(2):
        logit = {g: torch.logit(rec[layer][g].double()) for g in ("z", "r")}
        b_z = getattr(rnn, f"bias_ih_l{layer}")[:H].detach().double()
        b_r = getattr(rnn, f"bias_hh_l{layer}")[:H].detach().double()
        # σ⁻¹(z) − σ⁻¹(r) = b_z − b_r at every sample and step: the same W_g [h, x] in both
        torch.testing.assert_close(
            logit["z"] - logit["r"], (b_z - b_r).expand(4, 7, H), atol=2e-5, rtol=0
        )
    # A change to W_g moves both gates.
    with torch.no_grad():
        rnn.weight_ih_l0[:H] += 0.5
    after = unroll(model, inputs(), record=True).records[0]
    for gate in ("z", "r"):
        assert not torch.allclose(after[gate], rec[0][gate])


# -- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", VARIANTS)
def test_build_model_is_seeded_leaves_the_global_rng_alone_and_matches_manual_seed(kind):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b, c = make(kind, 2, seed=7), make(kind, 2, seed=7), make(kind, 2, seed=8)
    assert torch.equal(torch.get_rng_state(), before)
    for (name, pa), pb, pc in zip(
        a.named_parameters(), b.parameters(), c.parameters(), strict=True
    ):
        assert torch.equal(pa, pb), name
        assert not torch.equal(pa, pc), name
    # The same numbers as seeding torch's generator and constructing (the exported script).
    torch.manual_seed(7)
    plain = SequenceModel(kind, N_IN, H, 2, N_OUT)
    for (name, expected), actual in zip(
        plain.state_dict().items(), a.state_dict().values(), strict=True
    ):
        assert torch.equal(expected, actual), name
    bound = 1 / math.sqrt(H)
    assert all(p.abs().max() <= bound for p in a.rnn.parameters())


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_parameter_count_is_what_the_model_holds(kind, layers):
    model = build_model(kind, 4, 6, layers, 3, seed=0)
    assert parameter_count(kind, 4, 6, layers, 3) == sum(p.numel() for p in model.parameters())


def test_blog_weights_on_the_concatenation_count_as_three_blocks():
    # W_z, W_r, W_n each act on [h, x]: H × (H + I) weights, plus b = b_i + b_h (2H) per gate,
    # which is exactly three nn.GRU blocks: 3H (I + H + 2). The tied form has two blocks.
    inputs_, hidden = 4, 6
    per_gate = hidden * (hidden + inputs_) + 2 * hidden
    readout = hidden * 3 + 3
    assert parameter_count("blog", inputs_, hidden, 1, 3) == 3 * per_gate + readout
    assert parameter_count("blog_tied", inputs_, hidden, 1, 3) == 2 * per_gate + readout
    assert parameter_count("mgu", inputs_, hidden, 1, 3) == 2 * per_gate + readout


@pytest.mark.parametrize("kind", VARIANTS)
def test_recurrent_sigma_max_is_that_of_the_candidate_block(kind):
    model = make(kind, 2)
    block = ROWS[kind].index("n")
    for layer in range(2):
        w_hh = getattr(model.rnn, f"weight_hh_l{layer}").detach()
        expected = float(torch.linalg.svdvals(w_hh[block * H : (block + 1) * H])[0])
        assert model.recurrent_sigma_max(layer) == pytest.approx(expected, rel=1e-5)


# -- the trainer and the probe ---------------------------------------------------------------


def test_trainer_trains_variants_beside_the_gru_and_probes_their_gates():
    cfg = RunConfig(
        seq_len=8,
        hidden_size=6,
        batch_size=8,
        probe_every=2,
        models=("gru", "gru_cho", "blog", "blog_tied", "mgu"),
    )
    trainer = Trainer(cfg)
    assert trainer.step(4) == 4
    for kind, slot in trainer.slots.items():
        assert slot.stopped is None, kind
        losses = slot.history.array("loss")
        assert len(losses) == 4 and np.isfinite(losses).all(), kind
        result = slot.latest
        assert result.step == 4 and result.kind == kind
        assert set(result.traces) == set(KINDS[kind].traces)
        for gate in KINDS[kind].gates:
            values = result.traces[gate]
            assert values.shape == (1, cfg.probe_samples, 8, 6)
            assert np.nanmin(values) >= 0 and np.nanmax(values) <= 1, (kind, gate)
        assert np.isfinite(result.sigma_max) and set(result.weights) == set(
            slot.model.rnn.state_dict()
        )
    # Same batches: the GRU's losses are those of a run without the variants.
    alone = Trainer(cfg.replace(models=("gru",)))
    alone.step(4)
    np.testing.assert_array_equal(
        alone.slots["gru"].history.array("loss"), trainer.slots["gru"].history.array("loss")
    )


@pytest.mark.parametrize("kind", VARIANTS)
def test_probe_grad_h_norm_equals_the_reference(kind):
    cfg = RunConfig(task="varlen", seq_len=9, hidden_size=H, num_layers=2)
    task = TASKS["varlen"]
    batch = task.generate(cfg, 5, torch.Generator().manual_seed(3))
    model = build_model(kind, batch.x.shape[-1], H, 2, task.output_size(cfg), seed=11)
    result = probe(model, task, batch, step=0)
    top, states, _ = reference(kind, batch.x, rnn_params(model), 2)
    per_sample = task.loss_per_sample(model.readout(top), batch)
    flat = [h for layer_states in states for h in layer_states]
    grads = torch.autograd.grad(per_sample.sum(), flat)
    expected = torch.stack([g.norm(dim=1) for g in grads]).reshape(2, 9, 5).transpose(1, 2)
    valid = batch.valid.numpy()
    assert (~valid).any()  # padding is NaN in the probe
    assert np.isnan(result.grad_h_norm[:, ~valid]).all()
    np.testing.assert_allclose(
        result.grad_h_norm[:, valid], expected.numpy()[:, valid], rtol=1e-5, atol=1e-7
    )


# -- interventions ---------------------------------------------------------------------------


def test_clamps_reach_the_kinds_with_z_and_r_and_mean_their_own_gates():
    assert set(CLAMPED_KINDS) == {"gru", "gru_cho", "blog", "blog_tied"}
    x = inputs()
    # PyTorch's and Cho's GRU: z = 1 keeps the initial zero state; the blog's z = 1 writes.
    for kind in ("gru", "gru_cho"):
        rec = unroll(make(kind), x, Intervention(clamp_update=1.0), record=True).records[0]
        assert torch.equal(rec["h"], torch.zeros_like(rec["h"]))
    for kind in ("blog", "blog_tied"):
        rec = unroll(make(kind), x, Intervention(clamp_update=0.0), record=True).records[0]
        assert torch.equal(rec["z"], torch.zeros_like(rec["z"]))
        assert torch.equal(rec["h"], torch.zeros_like(rec["h"]))  # z = 0 keeps the zero state
        rec = unroll(make(kind), x, Intervention(clamp_update=1.0), record=True).records[0]
        torch.testing.assert_close(rec["h"], rec["r"] * rec["n"], atol=0, rtol=0)  # writes all
        # r = 0 writes zero: from the zero state nothing is ever written, whatever z is
        rec = unroll(make(kind), x, Intervention(clamp_reset=0.0), record=True).records[0]
        assert torch.equal(rec["h"], torch.zeros_like(rec["h"]))
        assert rec["n"].abs().max() > 0.05 and rec["z"].min() > 0  # the candidate was there
    # Cho's r = 0: the candidate ignores h_{t−1} (b_hn stays, unlike PyTorch's).
    model = make("gru_cho")
    rec = unroll(model, x, Intervention(clamp_reset=0.0), record=True).records[0]
    w_ih, _, b_ih, b_hh = model.rnn.layer_params(0)
    expected = torch.tanh(x @ w_ih[2 * H :].T + b_ih[2 * H :] + b_hh[2 * H :])
    torch.testing.assert_close(rec["n"], expected, **TOL)
    # The MGU has neither: a clamp leaves it as it is.
    mgu = make("mgu")
    both = Intervention(clamp_update=0.3, clamp_reset=0.0)
    assert torch.equal(unroll(mgu, x, both).output, mgu(x))


def test_trainer_clamps_the_kinds_with_z_and_r_and_ablates_every_kind():
    cfg = RunConfig(seq_len=6, hidden_size=4, batch_size=4, models=("gru", "blog", "mgu"))
    trainer = Trainer(cfg)
    trainer.set_interventions(Intervention(clamp_update=0.5, ablate_units=(1,)))
    for kind in ("gru", "blog"):
        assert np.all(trainer.slots[kind].latest.traces["z"] == 0.5)
    assert trainer.slots["mgu"].intervention == Intervention(ablate_units=(1,))
    for slot in trainer.slots.values():
        assert np.all(slot.latest.traces["h"][..., 1] == 0)
    text = Intervention(clamp_update=0.5).describe(("gru", "blog", "mgu"))
    assert text == "GRU, Blog GRU (r outside tanh) update gate z clamped to 0.50"
    assert Intervention(clamp_reset=0.0).describe() == "GRU reset gate r clamped to 0.00"


# -- the step inspector ----------------------------------------------------------------------

_CALL = re.compile(r"\\(sigma|tanh)\((-?[\d.]+) ([+-]) ([\d.]+)\) = (-?[\d.]+)")


@pytest.mark.parametrize("kind", VARIANTS)
def test_inspector_shows_the_traces_and_its_numbers_satisfy_the_equations(kind):
    cfg = RunConfig(seq_len=8, hidden_size=H, models=(kind,))
    trainer = Trainer(cfg)
    trainer.step(3)  # the probe is from step 0: the inspector must use the probe's weights
    slot = trainer.slots[kind]
    x = trainer.probe_batch.x.numpy()
    sample, t = 2, 4
    full = {k: v[-1, sample] for k, v in slot.latest.traces.items()}
    for unit in range(H):
        view = step_view(slot.model, slot.latest, x, sample, t, unit)
        np.testing.assert_array_equal(view.vectors["x_t"], x[sample, t])
        np.testing.assert_array_equal(view.vectors["h_{t-1}"], full["h"][t - 1])
        for name in KINDS[kind].traces:
            np.testing.assert_array_equal(view.vectors[f"{name}_t"], full[name][t])
        calls = _CALL.findall(view.equation)
        assert len(calls) == len(KINDS[kind].traces) - 1  # every gate and the candidate
        for fn, a, sign, b, value in calls:
            arg = float(a) + (float(b) if sign == "+" else -float(b))
            got = 1 / (1 + math.exp(-arg)) if fn == "sigma" else math.tanh(arg)
            assert got == pytest.approx(float(value), abs=2e-3), (kind, unit, view.equation)
        h_new = float(re.search(r"h_t &= .* = (-?[\d.]+)\s*\\end", view.equation).group(1))
        assert h_new == pytest.approx(float(full["h"][t][unit]), abs=5.1e-4)


# -- equations, labels, colours --------------------------------------------------------------


@pytest.mark.parametrize("kind", list(explain.EQUATIONS))
def test_equations_typeset_as_plain_latex(kind):
    latex = explain.equations_latex(kind)
    assert latex.isascii(), kind  # every Unicode symbol rewritten (σ, ⊙, −, ·)
    for _, _, what in explain.EQUATIONS[kind]:
        # the third column goes into \text{...}, where _ ^ { } \ would break the typesetting
        assert what.isascii() and not set(what) & set("_^{}\\$&%#"), what


def test_variant_equations_render_to_the_expected_latex():
    cho = explain.equations_latex("gru_cho")
    assert r"n_t &= \tanh(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn})" in cho
    blog = explain.equations_latex("blog")
    assert r"z_t &= \sigma(W_z [h_{t-1}, x_t] + b_z)" in blog
    assert r"h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot r_t \odot n_t" in blog
    assert r"r_t &= \sigma(W_g [h_{t-1}, x_t] + b_r)" in explain.equations_latex("blog_tied")
    mgu = explain.equations_latex("mgu")
    assert r"f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})" in mgu
    assert "h_t = (1 − f_t) ⊙ h_{t−1} + f_t ⊙ n_t" in explain.equations_text("mgu")


def test_variant_notes_say_how_each_differs_and_name_the_blog_errors():
    notes = {k: " ".join(v) for k, v in explain.VARIANT_NOTES.items()}
    assert "*before* W_hn" in notes["gru_cho"] and "Keras" in notes["gru_cho"]
    blog = notes["blog"]
    assert "three errors" in blog and "outside the tanh" in blog
    assert "“a small r keeps the state” is wrong" in blog
    assert "suppresses the candidate's write" in blog
    assert "“Gates solve exploding gradients” is wrong" in blog
    assert "**z ≈ 1 writes the candidate**" in blog
    assert "share" in explain.EQUATION_TITLES["blog_tied"] and "bias" in notes["blog_tied"]
    assert "z_t = 1 − f_t" in notes["mgu"]


def test_gate_labels_state_each_kinds_own_meaning():
    for kind in KINDS.values():
        assert len(kind.gate_labels) == len(kind.gates)
        for gate, label in zip(kind.gates, kind.gate_labels, strict=True):
            assert re.fullmatch(rf"[a-z ]+ gate {gate} \([^()]+\)", label), label
    keeps, writes = "(1 = keep old state)", "(1 = write candidate, 0 = keep old state)"
    assert gate_label("gru", "z").endswith(keeps) and gate_label("gru_cho", "z").endswith(keeps)
    assert gate_label("blog", "z").endswith(writes)
    assert gate_label("blog_tied", "z").endswith(writes)
    assert gate_label("mgu", "f").endswith(writes)
    assert gate_label("lstm", "f") == "forget gate f (1 = keep cell)"
    assert "0 = candidate ignores old state" in gate_label("gru_cho", "r")
    assert "scales the candidate written: 0 = write zero" in gate_label("blog", "r")
    # The gate-only table is PyTorch's GRU and LSTM, unchanged for views keyed by gate alone.
    expected = {g: gate_label(k, g) for k in ("gru", "lstm") for g in KINDS[k].gates}
    assert expected == GATE_LABELS


# Machado, Oliveira & Fernandes (2009) at full severity, on linear RGB.
_CVD = {
    "normal": np.eye(3),
    "protan": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deutan": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritan": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}


def _linear(color: str) -> np.ndarray:
    c = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    t = xyz @ np.clip(rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _contrast(color: str, background: str) -> float:
    lum = [float(np.array([0.2126, 0.7152, 0.0722]) @ _linear(c)) for c in (color, background)]
    return (max(lum) + 0.05) / (min(lum) + 0.05)


def test_model_colours_stay_apart_under_colour_vision_deficiencies():
    colors = [kind.color for kind in KINDS.values()]
    assert len(set(colors)) == len(colors)
    for name, matrix in _CVD.items():
        for a, b in itertools.combinations(colors, 2):
            distance = np.linalg.norm(_lab(matrix @ _linear(a)) - _lab(matrix @ _linear(b)))
            assert distance > (15 if name == "normal" else 10), (name, a, b, distance)
    for kind in VARIANTS:  # lines readable on Streamlit's light and dark backgrounds
        assert _contrast(KINDS[kind].color, "#FFFFFF") >= 3, kind
        assert _contrast(KINDS[kind].color, "#0E1117") >= 3, kind
