"""One step's Jacobian ∂h_t/∂h_{t−1}: exact against autograd, and the bounds it gives hold.

The reference for every Jacobian is ``torch.autograd.functional.jacobian`` of
``gru_viz.models``' own step functions (the ones ``unroll`` runs), in float64; the bounds are
checked against the gradients the probe measures. Small models (6 to 8 units, 7 to 12 steps):
the whole file takes about 12 s of CPU.
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as F
from torch.autograd.functional import jacobian

from gru_viz import jacobian as jac
from gru_viz import plots_jacobian
from gru_viz.config import RunConfig
from gru_viz.kinds import KINDS, MODEL_KINDS
from gru_viz.models import (
    CLAMPED_KINDS,
    NO_INTERVENTION,
    VARIANT_CLASSES,
    Intervention,
    _gru_step,
    _layer_params,
    _lstm_step,
    _rnn_step,
    build_model,
    unroll,
)
from gru_viz.probe import probe
from gru_viz.trainer import Trainer

PACKAGE = Path(__file__).resolve().parent.parent / "gru_viz"
INTERVENTIONS = {
    "none": NO_INTERVENTION,
    "clamp z": Intervention(clamp_update=0.8),
    "clamp r": Intervention(clamp_reset=0.3),
    "ablate": Intervention(ablate_units=(1, 4)),
    "all": Intervention(clamp_update=0.6, clamp_reset=0.2, ablate_units=(0, 5)),
}


# -- the reference: autograd through the step functions -------------------------------------
def _step_function(model, layer, x, iv, t):
    """(h_{t−1} -> h_t as unroll computes it, h_{t−1}): for the LSTM the map and point are the
    whole state (h, c), concatenated."""
    out = unroll(model, x, iv)
    hidden = model.hidden_size
    keep = torch.ones(hidden, dtype=x.dtype)
    keep[[u for u in iv.ablate_units if 0 <= u < hidden]] = 0.0
    below = x if layer == 0 else torch.stack(out.states[layer - 1], 1).detach()
    variant = model.kind in VARIANT_CLASSES
    params = model.rnn.layer_params(layer) if variant else _layer_params(model.rnn, layer)
    w_ih, w_hh, b_ih, b_hh = params
    gi = (model.rnn.project(below, params) if variant else F.linear(below, w_ih, b_ih))[:, t]
    gi = gi.detach()
    clamps = {}
    if variant and model.kind in CLAMPED_KINDS:
        clamps = dict(clamp_update=iv.clamp_update, clamp_reset=iv.clamp_reset)
    zeros = torch.zeros(1, hidden, dtype=x.dtype)
    h_prev = out.states[layer][t - 1].detach() if t else zeros
    if model.kind == "lstm":
        # c_{t−1} as the next step reads it: after ablation
        records = unroll(model, x, iv, record=True).records[layer]
        c_prev = records["c"][:, t - 1] * keep if t else zeros

        def step(state):
            o = _lstm_step(gi, state[:, :hidden], state[:, hidden:], w_hh, b_hh)
            return torch.cat([o["h"] * keep, o["c"] * keep], 1)

        return step, torch.cat([h_prev, c_prev], 1)

    def step(h):
        if variant:
            o = model.rnn.step(gi, h, params, **clamps)
        elif model.kind == "gru":
            o = _gru_step(gi, h, w_hh, b_hh, iv)
        else:
            o = _rnn_step(gi, h, w_hh, b_hh, iv)
        return o["h"] * keep

    return step, h_prev


def autograd_jacobian(model, layer, x, iv, t) -> torch.Tensor:
    step, point = _step_function(model, layer, x, iv, t)
    return jacobian(step, point)[0, :, 0]


def records_of(model, x, iv, layer):
    with torch.no_grad():
        out = unroll(model, x, iv, record=True)
    traces = {k: v[0].numpy() for k, v in out.records[layer].items()}
    weights = {k: v.detach().numpy() for k, v in model.rnn.state_dict().items()}
    return traces, weights


def small_model(kind, layers=1, seed=3, hidden=6):
    model = build_model(kind, 2, hidden, layers, 1, seed).double()
    x = torch.randn(1, 7, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return model, x


# -- exactness -----------------------------------------------------------------------------------
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("iv_name", list(INTERVENTIONS))
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_step_jacobians_and_their_norms_equal_autograds(kind, iv_name, layers):
    iv = INTERVENTIONS[iv_name]
    model, x = small_model(kind, layers)
    top = layers - 1
    traces, weights = records_of(model, x, iv, top)
    matrices, keep = jac.step_jacobians(kind, weights, traces, iv, top)
    norms = jac.jacobian_norms(kind, weights, traces, iv, top)
    size = 2 * model.hidden_size if kind == "lstm" else model.hidden_size
    assert matrices.shape == (7, size, size)
    for t in (0, 1, 3, 6):
        reference = autograd_jacobian(model, top, x, iv, t)
        np.testing.assert_allclose(matrices[t], reference.numpy(), atol=1e-12)
        spectral = float(torch.linalg.matrix_norm(reference, ord=2))
        assert norms["norm"][t] == pytest.approx(spectral, rel=1e-10, abs=1e-14)
    assert ("bound" in norms) == (kind == "rnn")
    assert ("keep" in norms) == (kind != "rnn")


@pytest.mark.parametrize("kind", ["gru", "gru_cho", "blog", "blog_tied", "mgu", "lstm"])
def test_keep_is_the_diagonal_the_old_state_passes_straight_on(kind):
    """ "keep" is the direct path of the kind's equations: z for PyTorch's and Cho's GRU,
    1 − z for the blog formula, 1 − f for the MGU, f on the LSTM's cell."""
    model, x = small_model(kind)
    traces, weights = records_of(model, x, NO_INTERVENTION, 0)
    _, keep = jac.step_jacobians(kind, weights, traces)
    gate = {"gru": "z", "gru_cho": "z", "lstm": "f"}.get(kind)
    expected = traces[gate] if gate else 1 - traces["z" if kind.startswith("blog") else "f"]
    np.testing.assert_allclose(keep, expected)
    norms = jac.jacobian_norms(kind, weights, traces)
    np.testing.assert_allclose(norms["keep"], expected.max(axis=1))


def test_with_z_near_one_the_gru_step_is_near_diag_z_and_its_norm_near_one():
    """J_t = diag(z) + terms scaled by z(1 − z) or 1 − z per row: as z → 1 every row but the
    diagonal fades, so the norm approaches max z, and the gradient is passed back ≈ unchanged."""
    model, x = small_model("gru", hidden=8)
    model.set_update_gate_bias(8.0)
    traces, weights = records_of(model, x, NO_INTERVENTION, 0)
    assert traces["z"].min() > 0.99
    matrices, keep = jac.step_jacobians("gru", weights, traces)
    rest = matrices - np.stack([np.diag(z) for z in keep])
    assert jac.spectral_norms(rest).max() < 0.02
    norms = jac.jacobian_norms("gru", weights, traces)
    assert np.all(np.abs(norms["norm"] - norms["keep"]) < 0.02)
    assert np.all(np.abs(norms["norm"] - 1) < 0.03)


@pytest.mark.parametrize("iv", [NO_INTERVENTION, INTERVENTIONS["ablate"]])
def test_the_rnn_bound_is_at_least_the_norm_at_every_step(iv):
    # Saturated and unsaturated steps both: recurrent weights scaled up, inputs large.
    model, x = small_model("rnn", hidden=8)
    with torch.no_grad():
        model.rnn.weight_hh_l0.mul_(4.0)
    x = torch.cat([x, 3 * x], dim=1)
    traces, weights = records_of(model, x, iv, 0)
    norms = jac.jacobian_norms("rnn", weights, traces, iv)
    assert np.all(norms["bound"] >= norms["norm"] * (1 - 1e-12))
    sigma = float(torch.linalg.matrix_norm(model.rnn.weight_hh_l0.detach(), ord=2))
    tanh_slope = 1 - np.tanh(traces["pre"]) ** 2
    if not iv.ablate_units:  # Pascanu et al.'s form: σ_max(W_hh) · max_i (1 − h_t,i²)
        np.testing.assert_allclose(norms["bound"], sigma * (1 - traces["h"] ** 2).max(axis=1))
    assert np.ptp(tanh_slope.max(axis=1)) > 0.1  # the bound moves with saturation


@pytest.mark.parametrize("kind", ["gru", "rnn", "lstm", "mgu"])
def test_the_norm_of_the_product_is_the_norm_of_dh_b_dh_a(kind):
    """ "log10_norm_of_product"[a] = log₁₀ ‖∂h_b/∂h_a‖ (LSTM: of (h, c)), autograd through the
    steps a+1 … b; it never exceeds the product of the step norms."""
    model, x = small_model(kind)
    traces, weights = records_of(model, x, NO_INTERVENTION, 0)
    norms = jac.jacobian_norms(kind, weights, traces)
    b = 6
    for a in (0, 2, 5):
        steps = [_step_function(model, 0, x, NO_INTERVENTION, t) for t in range(a + 1, b + 1)]

        def chain(state, steps=steps):
            for step, _ in steps:
                state = step(state)
            return state

        reference = jacobian(chain, steps[0][1])[0, :, 0]
        expected = math.log10(float(torch.linalg.matrix_norm(reference, ord=2)))
        assert norms["log10_norm_of_product"][a] == pytest.approx(expected, abs=1e-9)
        products = np.log10(norms["norm"][a + 1 : b + 1]).sum()
        assert norms["log10_product_of_norms"][a] == pytest.approx(products, abs=1e-9)
        assert norms["log10_norm_of_product"][a] <= norms["log10_product_of_norms"][a] + 1e-9
    assert norms["log10_norm_of_product"][b] == norms["log10_product_of_norms"][b] == 0


def test_a_long_chain_neither_underflows_nor_overflows():
    model, _ = small_model("rnn", hidden=8)
    x = torch.randn(1, 400, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    traces, weights = records_of(model, x, NO_INTERVENTION, 0)
    norms = jac.jacobian_norms("rnn", weights, traces)
    assert np.isfinite(norms["log10_norm_of_product"]).all()
    assert norms["log10_norm_of_product"][0] < -50  # far below 1e-50, yet finite in logs


def test_a_product_that_dies_leaves_a_gap_and_every_step_norm_still_drawn():
    """Every unit ablated: each J_t is 0, so the product is 0 (a gap on the log axis)."""
    model, x = small_model("gru")
    everyone = Intervention(ablate_units=tuple(range(model.hidden_size)))
    traces, weights = records_of(model, x, everyone, 0)
    norms = jac.jacobian_norms("gru", weights, traces, everyone)
    np.testing.assert_array_equal(norms["norm"], 0.0)
    assert (
        norms["log10_norm_of_product"][-1] == 0
        and np.isnan(norms["log10_norm_of_product"][:-1]).all()
    )
    x = torch.cat([x] * 12, dim=1)  # several chunks
    traces, weights = records_of(model, x, INTERVENTIONS["ablate"], 0)
    norms = jac.jacobian_norms("gru", weights, traces, INTERVENTIONS["ablate"])
    assert np.isfinite(norms["norm"]).all() and np.isfinite(norms["log10_norm_of_product"]).all()


def test_the_model_path_and_the_records_path_agree():
    trainer = Trainer(RunConfig(seq_len=10, hidden_size=6, batch_size=4, probe_samples=2))
    for kind, slot in trainer.slots.items():
        for sample in range(2):
            from_model = jac.step_jacobian_norms(slot.model, trainer.probe_batch.x[sample])
            from_records = jac.probe_jacobian_norms(slot.latest, sample)
            assert from_model.keys() == from_records.keys(), kind
            for key, values in from_model.items():
                np.testing.assert_allclose(values, from_records[key], rtol=1e-5, atol=1e-7)


# -- the bounds hold on what the probe measures --------------------------------------------------
def _trained(task="adding", models=MODEL_KINDS, steps=30, **changes) -> Trainer:
    cfg = RunConfig(
        task=task, models=models, seq_len=12, hidden_size=8, batch_size=8, probe_samples=3
    )
    trainer = Trainer(cfg.replace(**changes))
    trainer.step(steps)
    trainer.probe_all()
    return trainer


@pytest.fixture(scope="module")
def adding() -> Trainer:
    return _trained()


def _log_ratio(grads: np.ndarray, a: int, b: int) -> float:
    return math.log10(grads[a] / grads[b])


def _assert_end_bounds(series: dict, kind: str, pairs: bool) -> None:
    arrays = series[kind]
    grads, norm = arrays["grad_h"], arrays["norm"]
    first, last = plots_jacobian.span_of(arrays)
    tol = 1e-4  # the probe's gradients are float32
    for a in range(first, last + 1):
        measured = _log_ratio(grads, a, last)
        assert measured <= arrays["log10_norm_of_product"][a] + tol, (kind, a)
        assert arrays["log10_norm_of_product"][a] <= arrays["log10_product_of_norms"][a] + tol
    # Every span [a, b], not only the one that ends at the last step. (Not for the LSTM: from
    # an earlier b its bound needs ‖∂L/∂c_b‖ too, which is 0 only at the last step.)
    for b in range(first + 1, last + 1) if pairs else ():
        for a in range(first, b):
            bound = np.log10(norm[a + 1 : b + 1]).sum()
            assert _log_ratio(grads, a, b) <= bound + tol, (kind, a, b)
    # Step by step: what going back through step t does to the gradient is at most ‖J_t‖.
    if pairs:
        factor = arrays["factor"][first + 1 : last + 1]
        assert np.all(factor <= norm[first + 1 : last + 1] * (1 + tol)), kind


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_for_a_loss_read_at_the_end_the_products_bound_the_measured_ratio(adding, kind):
    series = jac.jacobian_series({kind: adding.slots[kind].latest}, sample=0)
    _assert_end_bounds(series, kind, pairs=kind != "lstm")
    for sample in (1, 2):
        series = jac.jacobian_series({kind: adding.slots[kind].latest}, sample)
        _assert_end_bounds(series, kind, pairs=False)


@pytest.mark.parametrize("kind", ["gru", "rnn", "lstm"])
def test_the_bound_holds_for_the_top_layer_of_a_stack_and_for_padded_sequences(kind):
    for trainer in (
        _trained(models=(kind,), num_layers=2, steps=10),
        _trained(task="varlen", models=(kind,), steps=10),
    ):
        for sample in range(3):
            series = jac.jacobian_series({kind: trainer.slots[kind].latest}, sample)
            valid = trainer.probe_batch.valid[sample].numpy()
            assert np.isnan(series[kind]["norm"][~valid]).all()
            assert np.isfinite(series[kind]["norm"][valid]).all()
            _assert_end_bounds(series, kind, pairs=kind != "lstm")


@pytest.mark.parametrize("kind", ["gru", "blog", "rnn", "lstm"])
def test_the_bound_holds_under_an_intervention_when_the_probe_says_which(kind):
    trainer = _trained(models=(kind,), steps=10)
    iv = INTERVENTIONS["all"]
    slot = trainer.slots[kind]
    result = probe(slot.model, trainer.task, trainer.probe_batch, trainer.step_count, iv)
    for sample in range(3):
        norms = jac.probe_jacobian_norms(result, sample, iv)
        grads = result.grad_h_norm[-1, sample].astype(np.float64)
        series = {kind: {**norms, **jac.gradient_span(grads), "grad_h": grads}}
        _assert_end_bounds(series, kind, pairs=kind != "lstm")
        # what the probe would record: the same numbers read off the result itself
        result.intervention = iv
        same = jac.probe_jacobian_norms(result, sample)
        np.testing.assert_array_equal(same["norm"], norms["norm"])
        del result.intervention


def _direct_gradients(model, task, batch) -> np.ndarray:
    """‖e_s‖ per sample and step: what the loss read at step s sends straight into h_s through
    the readout, (samples, T)."""
    out = unroll(model, batch.x)
    output = out.output.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(task.loss_per_sample(output, batch).sum(), output)
    return (grad @ model.readout.weight.detach()).norm(dim=-1).numpy().astype(np.float64)


@pytest.mark.parametrize("kind", ["gru", "rnn"])
def test_for_a_loss_read_at_every_step_only_the_sum_bound_holds(kind):
    """With a loss at every step, ‖∂L/∂h_a‖ ≤ ‖∂L/∂h_b‖·Π_{a+1..b}‖J_t‖ + Σ_{s=a..b−1} ‖e_s‖ ·
    Π_{a+1..s}‖J_t‖ holds; the end-only bound (the first term) fails, the measured ratio far
    above it, since every step receives a gradient of its own."""
    trainer = _trained(task="forecast", models=(kind,), steps=20)
    slot = trainer.slots[kind]
    direct = _direct_gradients(slot.model, trainer.task, trainer.probe_batch)
    failed = 0
    for sample in range(3):
        norms = jac.probe_jacobian_norms(slot.latest, sample)["norm"]
        grads = slot.latest.grad_h_norm[-1, sample].astype(np.float64)
        # the last step predicts nothing (no next value): b is the one before, the last scored
        b = jac.last_gradient_step(grads)
        assert b == len(grads) - 2 and grads[-1] == 0
        series = jac.jacobian_series({kind: slot.latest}, sample)[kind]
        assert plots_jacobian.span_of(series) == (0, b)
        assert np.isfinite(series["norm"][-1]) and np.isnan(series["log10_norm_of_product"][-1])
        for a in range(b):
            steps = norms[a + 1 : b + 1]
            # Π_{t=a+1..s} ‖J_t‖ for s = a … b
            reach = np.concatenate([[1.0], np.cumprod(steps)])
            bound = grads[b] * reach[-1] + np.sum(direct[sample, a:b] * reach[:-1])
            assert grads[a] <= bound * (1 + 1e-4), (sample, a)
            failed += grads[a] > grads[b] * reach[-1] * (1 + 1e-4)
    assert failed > 0


def test_for_the_rnn_the_product_of_norms_is_far_looser_than_the_norm_of_the_product():
    """At PyTorch's initialisation σ_max(W_hh) ≈ 1.1 but its spectral radius ≈ 0.58: every step
    may stretch some direction, yet the steps' product shrinks like 0.58^n, and so does the
    measured gradient. Why the figure draws ‖J_b⋯J_a+1‖ beside Π‖J_t‖."""
    trainer = Trainer(RunConfig(models=("rnn",), seq_len=50, probe_samples=2))
    series = jac.jacobian_series({"rnn": trainer.slots["rnn"].latest}, sample=0)["rnn"]
    assert np.nanmedian(series["norm"]) > 1
    assert series["log10_product_of_norms"][0] > 0
    assert series["log10_norm_of_product"][0] < -8
    assert math.log10(series["ratio"][0]) <= series["log10_norm_of_product"][0] + 1e-4


# -- the figure ----------------------------------------------------------------------------------
def test_the_figure_is_what_plotly_validation_accepts_and_shows_both_numbers(adding):
    view_probes = {k: s.latest for k, s in adding.slots.items()}
    series = jac.jacobian_series(view_probes, sample=1)
    marks = adding.task.time_marks(
        adding.probe_batch.x[1].numpy(), (~adding.probe_batch.valid[1]).numpy(), adding.cfg
    )
    figure = plots_jacobian.jacobian_figure(series, 1, cursor=4, marks=list(marks))
    validated = go.Figure(figure.to_dict())
    assert json.loads(validated.to_json()) == json.loads(figure.to_json())
    layout = figure.layout
    assert layout.uirevision == "jacobian" and 150 <= layout.height <= 900
    assert layout.yaxis.type == layout.yaxis2.type == "log"
    assert any(s.y0 == s.y1 == 1.0 and s.yref == "y" for s in layout.shapes)  # the line at 1
    text = layout.annotations[-1].text
    for kind, arrays in series.items():
        ratio = arrays["ratio"][0]
        assert f"‖∂L/∂h_0‖ / ‖∂L/∂h_11‖ = {plots_jacobian.format_number(ratio)} ≤" in text
        product = plots_jacobian.format_power(arrays["log10_product_of_norms"][0])
        assert f"Π ‖J_t‖ = {product}" in text, kind
    # One legend entry per model; the RNN's bound and the gated kinds' direct path drawn.
    assert sum(bool(t.showlegend) for t in figure.data) == len(series)
    names = [t.name for t in figure.data]
    assert any("bound σ_max(W_hh)" in n for n in names)
    assert sum("max z" in n for n in names) == 2  # gru and gru_cho


def test_the_figure_is_built_from_numpy_alone():
    steps = 20
    rng = np.random.default_rng(0)
    norm = rng.uniform(0.5, 1.5, steps)
    logs = np.log10(norm)
    suffix = np.concatenate([np.cumsum(logs[1:][::-1])[::-1], [0.0]])
    series = {
        "rnn": {
            "norm": norm,
            "bound": norm * 1.2,
            "log10_product_of_norms": suffix,
            "log10_norm_of_product": suffix - np.linspace(5, 0, steps),
            **jac.gradient_span(10 ** (suffix - np.linspace(6, 0, steps))),
        }
    }
    figure = plots_jacobian.jacobian_figure(series, 0, layers=2)
    assert json.loads(go.Figure(figure.to_dict()).to_json()) == json.loads(figure.to_json())
    assert "top layer of 2" in figure.layout.yaxis.title.text
    assert plots_jacobian.jacobian_figure({}, 0).layout.annotations[0].text == "No model to show."
    # beyond a float's range the product is still printed, as a power of ten
    assert plots_jacobian.format_power(-412.2) == "10⁻⁴¹²"


@pytest.mark.parametrize("module", ["plots_jacobian.py", "jacobian.py"])
def test_the_figure_modules_load_no_torch(module):
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    banned = ("torch", "streamlit", "gru_viz.models", "gru_viz.trainer", "gru_viz.probe")
    for node in tree.body:  # module level: jacobian.py imports torch inside one function
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        assert not any(n.startswith(banned) for n in names), (module, names)
    code = "import sys, gru_viz.jacobian, gru_viz.plots_jacobian; print('torch' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    )
    assert loaded.stdout.strip() == "False"


def test_every_kind_has_a_direct_path_label_or_a_bound():
    for kind in KINDS:
        assert (kind in plots_jacobian.KEEP_LABELS) != (kind == "rnn")


@pytest.mark.parametrize("scored_at_end", [True, False])
def test_the_reading_states_the_bound_and_repeats_no_misconception(scored_at_end):
    from tests.test_lessons import misconceptions

    text = plots_jacobian.reading(scored_at_end)
    assert "‖∂L/∂h_a‖ ≤ ‖∂L/∂h_b‖ · ‖J_b ⋯ J_{a+1}‖" in text
    assert ("Σ_{s=a..b−1} ‖e_s‖" in text) != scored_at_end
    constants = [
        node.value
        for node in ast.walk(ast.parse((PACKAGE / "plots_jacobian.py").read_text("utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    assert not misconceptions(text) and not any(misconceptions(c) for c in constants)
