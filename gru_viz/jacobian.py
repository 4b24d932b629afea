r"""One step's Jacobian ∂h_t/∂h_{t−1}: why the gradient through time vanishes, or does not.

Backpropagation through time multiplies the gradient by one Jacobian per step. Write
δ_t = ∂L/∂h_t (the total gradient the probe measures, ``ProbeResult.grad_h_norm``),
J_t = ∂h_t/∂h_{t−1} (the layer's input x_t held fixed) and e_t = the gradient the loss read at
step t sends straight into h_t through the readout. Then

    δ_{t−1} = J_tᵀ δ_t + e_{t−1},

so for a loss read only at the end (e_t = 0 before the last step b)

    ‖∂L/∂h_a‖ ≤ ‖∂L/∂h_b‖ · Π_{t=a+1..b} ‖J_t‖₂          (a ≤ b),

and for a loss read at several steps the same recursion gives, for any a ≤ b,

    ‖∂L/∂h_a‖ ≤ ‖∂L/∂h_b‖ · Π_{t=a+1..b} ‖J_t‖₂ + Σ_{s=a..b−1} ‖e_s‖ · Π_{t=a+1..s} ‖J_t‖₂:

the first term alone bounds only the part of ∂L/∂h_a that comes back from the losses at steps
≥ b; each scored step in between adds a fresh gradient of its own.

The product of the norms is a worst case, and often a very loose one: each J_t stretches at
most one direction by ‖J_t‖, and successive steps need not stretch the same one. The tight
bound is the norm of the product, ‖∂L/∂h_a‖ ≤ ‖∂L/∂h_b‖ · ‖J_b J_{b−1} ⋯ J_{a+1}‖ (for a loss
read at b), which is what a tanh RNN's vanishing follows: at PyTorch's initialisation (H = 32)
σ_max(W_hh) ≈ 1.1, so every ‖J_t‖ is above 1 and Π‖J_t‖ grows, while the spectral radius of
W_hh is about 0.6, and the product of the Jacobians and the measured gradient shrink by about
0.57 per step (seeds 0–3). Both are computed here.

Which Jacobian, per kind (all exact, written out below and checked against
``torch.autograd.functional.jacobian`` of ``gru_viz.models``' own step functions):

- rnn: J_t = diag(1 − h_t²) W_hh; also Pascanu et al.'s (2013) bound
  ‖J_t‖ ≤ σ_max(W_hh) · max_i (1 − h_t,i²), key "bound".
- gru, gru_cho: J_t = diag(z_t) + (terms that carry a factor z_t(1 − z_t) or 1 − z_t per row):
  a unit with z ≈ 1 passes its gradient back multiplied by ≈ z. Key "keep": max_i z_t,i, the
  norm of that diagonal part diag(z_t).
- blog, blog_tied, mgu: the direct path is diag(1 − z_t) (MGU: diag(1 − f_t)); "keep" is its
  largest entry.
- lstm: the state is (h, c), and h_{t−1} reaches the future through c_t too, so ∂h_t/∂h_{t−1}
  with c_{t−1} held fixed bounds nothing. Reported: the full 2H × 2H Jacobian
  ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}). Its product bounds ‖(∂L/∂h_a, ∂L/∂c_a)‖, hence ‖∂L/∂h_a‖,
  by ‖∂L/∂h_b‖ · Π‖J_t‖ when b is the last step (where c_b feeds nothing, so ∂L/∂c_b = 0).
  "keep": max_i f_t,i, the norm of the cell's direct path diag(f_t).

Interventions are part of the step: a clamped gate is a constant (no derivative), and ablated
units are zeroed after the step (their rows of J_t are zero), as in ``models.unroll``.

Several layers: the Jacobian of one layer's state holding its input (the layer below's h_t)
fixed. For the top layer (the default) the bound above holds exactly, since h_{t−1} of the top
layer reaches the loss only through h_t and its own readout. For a lower layer it does not:
its state also reaches the loss through the layers above.

Cost: the Jacobians are built in closed form from the probe's own records (its weights and
recorded gates, as the step inspector does), so nothing is replayed, and every norm is exact
(√λ_max(J Jᵀ), LAPACK), not a power iteration: an iteration stopped early underestimates a
norm, and underestimates could fall below the measured ratio they are drawn to bound. The
eigensolver is the cost, 2T symmetric eigenproblems of size H (2H for the LSTM) per sequence,
so the figure computes only the chosen probe sequence, and is rebuilt only when the probe or
the sequence changes. Measured on one thread of the 2-core development machine while it was
loaded by other jobs (load average 6), per model and sequence: H = 32, T = 50 (the defaults)
8–13 ms (LSTM 55 ms); H = 64, T = 100 70–100 ms (LSTM 350 ms); H = 128, T = 200 0.8–0.95 s
(LSTM 3.6 s); the same eigensolver ran about twice as fast at load 2. This module imports
only numpy at load (torch only inside ``step_jacobian_norms``), so ``gru_viz.figures`` can use
it before torch has loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gru_viz.records import ProbeResult

# Steps per batch of Jacobians: bounds the memory of the LSTM's (T, 2H, 2H) at H = 128.
CHUNK = 32


def _clamps(intervention: Any) -> tuple[float | None, float | None, tuple[int, ...]]:
    """(clamp_update, clamp_reset, ablate_units) of an Intervention, a mapping of those names,
    or None (no intervention)."""
    if intervention is None:
        return None, None, ()
    if isinstance(intervention, Mapping):
        get = intervention.get
    else:

        def get(name, default=None):
            return getattr(intervention, name, default)

    return get("clamp_update"), get("clamp_reset"), tuple(get("ablate_units", ()) or ())


def _units(intervention: Any, size: int) -> np.ndarray:
    """1 per unit, 0 for the units the intervention ablates (zeroed after every step)."""
    units = np.ones(size)
    units[[u for u in _clamps(intervention)[2] if 0 <= u < size]] = 0.0
    return units


def _rows(coefs: list[np.ndarray], blocks: np.ndarray) -> np.ndarray:
    """Σ_k diag(coefs[k]_t) @ blocks[k] for every step t: K × (T, H), (K, H, S) -> (T, H, S)."""
    return np.einsum("kti,kij->tij", np.stack(coefs), blocks, optimize=True)


def _add_diagonal(matrices: np.ndarray, values: np.ndarray) -> np.ndarray:
    """matrices[t] += diag(values[t]) in place (on the leading H × H block)."""
    size = values.shape[1]
    matrices[:, np.arange(size), np.arange(size)] += values
    return matrices


def _through(w_out: np.ndarray, scale: np.ndarray, w_in: np.ndarray) -> np.ndarray:
    """W_out diag(scale_t) W_in for every step t: a gate that scales h_{t−1} before W_out."""
    return (w_out[None] * scale[:, None, :]) @ w_in


def _slope(gate: np.ndarray, clamped: float | None) -> np.ndarray:
    """σ′ = σ(1 − σ) as a function of the gate's value; 0 where the gate is clamped."""
    return np.zeros_like(gate) if clamped is not None else gate * (1 - gate)


# Each kernel: (W_hh as (blocks, H, H), b_hh as (blocks, H), per-step values (T, H) with the
# old state as "h_prev" (and "c_prev"), clamps) -> (J (T, S, S), the direct path's diagonal).
def _gru(w, b, v, clamp_update, clamp_reset):
    """h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}, n = tanh(… + r ⊙ (W_hn h_{t−1} + b_hn)); rows [r|z|n]."""
    r, z, n, h = v["r"], v["z"], v["n"], v["h_prev"]
    gh_n = h @ w[2].T + b[2]  # W_hn h_{t−1} + b_hn, what r scales
    tanh_slope = (1 - z) * (1 - n**2)
    coefs = [tanh_slope * gh_n * _slope(r, clamp_reset), (h - n) * _slope(z, clamp_update)]
    return _add_diagonal(_rows([*coefs, tanh_slope * r], w), z), z


def _gru_cho(w, b, v, clamp_update, clamp_reset):
    """n = tanh(… + W_hn (r ⊙ h_{t−1}) + b_hn): ∂(r ⊙ h)/∂h = diag(r) + diag(h ⊙ σ′_r) W_hr."""
    r, z, n, h = v["r"], v["z"], v["n"], v["h_prev"]
    tanh_slope = (1 - z) * (1 - n**2)
    jac = _rows([(h - n) * _slope(z, clamp_update)], w[1:2])
    jac += tanh_slope[:, :, None] * w[2][None] * r[:, None, :]
    if clamp_reset is None:
        jac += tanh_slope[:, :, None] * _through(w[2], h * _slope(r, None), w[0])
    return _add_diagonal(jac, z), z


def _blog(w, b, v, clamp_update, clamp_reset):
    """h_t = (1 − z) ⊙ h_{t−1} + z ⊙ r ⊙ n, n = tanh(W_n [h_{t−1}, x_t] + b_n); rows [z|r|n].
    The old state's direct path is diag(1 − z)."""
    z, r, n, h = v["z"], v["r"], v["n"], v["h_prev"]
    coefs = [(r * n - h) * _slope(z, clamp_update), z * n * _slope(r, clamp_reset)]
    return _add_diagonal(_rows([*coefs, z * r * (1 - n**2)], w), 1 - z), 1 - z


def _mgu(w, b, v, clamp_update, clamp_reset):  # unroll clamps nothing here: no z and r
    """h_t = (1 − f) ⊙ h_{t−1} + f ⊙ n, n = tanh(… + W_hn (f ⊙ h_{t−1}) + b_hn); rows [f|n]."""
    f, n, h = v["f"], v["n"], v["h_prev"]
    slope = f * (1 - f)
    tanh_slope = f * (1 - n**2)
    jac = _rows([(n - h) * slope], w[0:1])
    jac += tanh_slope[:, :, None] * (w[1][None] * f[:, None, :] + _through(w[1], h * slope, w[0]))
    return _add_diagonal(jac, 1 - f), 1 - f


def _rnn(w, b, v, clamp_update, clamp_reset):  # no gates to clamp
    """h_t = tanh(pre_t): J_t = diag(tanh′(pre_t)) W_hh."""
    return _rows([1 - np.tanh(v["pre"]) ** 2], w), None


def _lstm(w, b, v, clamp_update, clamp_reset):  # unroll clamps no LSTM gate
    """The (h, c) state: c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t); rows [i|f|g|o].

    J_t = [[∂h_t/∂h_{t−1}, ∂h_t/∂c_{t−1}], [∂c_t/∂h_{t−1}, diag(f_t)]].
    """
    i, f, g, o, c = v["i"], v["f"], v["g"], v["o"], v["c"]
    size = i.shape[1]
    tanh_c = np.tanh(c)
    through_c = o * (1 - tanh_c**2)  # ∂h_t/∂c_t
    cell = [g * i * (1 - i), v["c_prev"] * f * (1 - f), i * (1 - g**2), np.zeros_like(o)]
    jac = np.zeros((len(i), 2 * size, 2 * size))
    jac[:, size:, :size] = _rows(cell, w)
    hidden = [through_c * coef for coef in cell[:3]] + [tanh_c * o * (1 - o)]
    jac[:, :size, :size] = _rows(hidden, w)
    jac[:, :size, size:][:, np.arange(size), np.arange(size)] = through_c * f
    jac[:, size:, size:][:, np.arange(size), np.arange(size)] = f
    return jac, f


KERNELS = {
    "gru": _gru,
    "rnn": _rnn,
    "lstm": _lstm,
    "gru_cho": _gru_cho,
    "blog": _blog,
    "blog_tied": _blog,  # on the blog GRU's rows, expanded from the shared block
    "mgu": _mgu,
}


def _recurrent_weights(kind: str, weights: Mapping[str, np.ndarray], layer: int):
    """(W_hh as (blocks, H, H), b_hh as (blocks, H)) of one layer in float64, as the step
    computes with them: the tied blog GRU's shared block expanded to rows [z | r | n]
    (``TiedBlogGRU.layer_params``)."""
    w_hh = np.asarray(weights[f"weight_hh_l{layer}"], dtype=np.float64)
    b_hh = np.asarray(weights[f"bias_hh_l{layer}"], dtype=np.float64)
    size = w_hh.shape[1]
    if kind == "blog_tied":
        w_hh = np.concatenate([w_hh[:size], w_hh[:size], w_hh[size:]])
        b_hh = np.concatenate([b_hh[:size], b_hh[:size], b_hh[size:]])  # unused by the kernel
    return w_hh.reshape(-1, size, size), b_hh.reshape(-1, size)


class _Steps:
    """One sequence's per-step values, ready for a kernel, and the batches they are cut into."""

    def __init__(self, kind, weights, traces, intervention, layer):
        self.kind = kind
        self.clamp_update, self.clamp_reset, _ = _clamps(intervention)
        self.w, self.b = _recurrent_weights(kind, weights, layer)
        values = {name: np.asarray(value, dtype=np.float64) for name, value in traces.items()}
        size = values["h"].shape[1]
        self.units = _units(intervention, size)
        # the recorded h is after ablation (what the next step reads); the recorded c before
        values["h_prev"] = np.concatenate([np.zeros((1, size)), values["h"][:-1]])
        if kind == "lstm":
            values["c_prev"] = np.concatenate([np.zeros((1, size)), values["c"][:-1] * self.units])
        self.values = values
        self.steps = len(values["h"])

    def jacobians(self, start: int = 0, stop: int | None = None):
        """(J, keep) of steps [start, stop): ablated units' rows of J zeroed, as unroll does."""
        part = {name: value[start:stop] for name, value in self.values.items()}
        jac, keep = KERNELS[self.kind](self.w, self.b, part, self.clamp_update, self.clamp_reset)
        units = np.tile(self.units, jac.shape[1] // len(self.units))  # (h, c) for the LSTM
        jac *= units[None, :, None]
        return jac, None if keep is None else keep * self.units


def step_jacobians(
    kind: str,
    weights: Mapping[str, np.ndarray],
    traces: Mapping[str, np.ndarray],
    intervention: Any = None,
    layer: int = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Every step's Jacobian from one sequence's records, and the direct path's coefficients.

    weights: the recurrent stack's state dict (PyTorch names) as numpy; traces: that layer's
    recorded values for one sequence, name -> (T, H) (``ProbeResult.traces[name][layer, s]``),
    NaN on padding. Returns J (T, S, S), S = H (2H for the LSTM's (h, c)), J[t] = ∂h_t/∂h_{t−1}
    with h_{−1} = 0 (and c_{−1} = 0), NaN where step t is padding; and keep (T, H): the diagonal
    of the old state's direct path (z, 1 − z, 1 − f or the LSTM's f), or None for the RNN.
    """
    return _Steps(kind, weights, traces, intervention, layer).jacobians()


def spectral_norms(matrices: np.ndarray) -> np.ndarray:
    """‖J_t‖₂, the largest singular value of each (S, S) matrix; NaN where it has a NaN.

    Computed as √λ_max(J Jᵀ) by a symmetric eigensolver, which returns every eigenvalue to
    within about 1e-16 · λ_max (so the largest to full relative precision) and is about twice
    as fast as the singular value decomposition here.
    """
    norms = np.full(len(matrices), np.nan)
    finite = np.isfinite(matrices).all(axis=(1, 2))
    if finite.any():
        jac = np.ascontiguousarray(matrices[finite])
        top = np.linalg.eigvalsh(jac @ jac.transpose(0, 2, 1))[:, -1]
        norms[finite] = np.sqrt(np.maximum(top, 0.0))
    return norms


def jacobian_norms(
    kind: str,
    weights: Mapping[str, np.ndarray],
    traces: Mapping[str, np.ndarray],
    intervention: Any = None,
    layer: int = 0,
    last: int | None = None,
) -> dict[str, np.ndarray]:
    """Per step of one sequence (arrays (T,), NaN on padding), with b = ``last`` (default: the
    last valid step), the step the gradient is followed back from:

    "norm"[t]: ‖∂h_t/∂h_{t−1}‖₂ (LSTM: of ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}));
    "bound"[t] (rnn): σ_max(W_hh) · max_i |∂h_t,i/∂pre_t,i|, Pascanu et al.'s bound on "norm"
    (without ablation, max_i (1 − h_t,i²));
    "keep"[t] (gated kinds): max_i of the old state's direct-path coefficient, the norm of
    diag(z_t) for the GRU (gru_cho too), of diag(1 − z_t) for the blog GRUs, diag(1 − f_t) for
    the MGU, and of the cell's diag(f_t) for the LSTM;
    "log10_product_of_norms"[a]: log₁₀ Π_{t=a+1..b} ‖J_t‖₂ for a ≤ b (0 at a = b);
    "log10_norm_of_product"[a]: log₁₀ ‖J_b J_{b−1} ⋯ J_{a+1}‖₂ = log₁₀ ‖∂h_b/∂h_a‖₂, the
    tightest bound on ‖∂L/∂h_a‖ / ‖∂L/∂h_b‖ for a loss read at b (never above the product of
    norms; far below it when the steps stretch different directions).

    Arguments as ``step_jacobians``; computed CHUNK steps at a time, from the end. Steps after
    b get "norm" too, the products nothing.
    """
    steps = _Steps(kind, weights, traces, intervention, layer)
    total = steps.steps
    if last is None:
        valid = np.flatnonzero(np.isfinite(steps.values["h"]).all(axis=1))
        last = int(valid[-1]) if valid.size else -1
    norm = np.full(total, np.nan)
    keep_max = np.full(total, np.nan)
    chain = np.full(total, np.nan)  # log₁₀ ‖J_b ⋯ J_{a+1}‖ at a
    # J_b ⋯ J_{t+1} = 10^scale · product, rescaled at every step so that it never underflows
    product, scale, alive = None, 0.0, True
    for stop in range(total, 0, -CHUNK):
        start = max(stop - CHUNK, 0)
        jac, keep = steps.jacobians(start, stop)
        norm[start:stop] = spectral_norms(jac)
        if keep is not None:
            keep_max[start:stop] = _max_over_units(keep)
        products, scales = [], []
        top = min(stop - 1, last)  # J_b is the first factor
        for t in range(top, max(start, 1) - 1, -1) if alive else ():  # a = t − 1 ≥ 0
            product = jac[t - start] if product is None else product @ jac[t - start]
            size = np.abs(product).max()
            if not (np.isfinite(size) and size > 0):
                alive = False  # a zero or non-finite product stays so: drawn as a gap
                break
            product = product / size
            scale += np.log10(size)
            products.append(product)
            scales.append(scale)
        if products:
            first = top - len(products)
            chain[first:top] = (np.log10(spectral_norms(np.stack(products))) + scales)[::-1]
    out = {"norm": norm}
    if kind != "rnn":
        out["keep"] = keep_max
    else:
        sigma = np.linalg.svd(steps.w[0], compute_uv=False)[0]
        # J_t = diag(units ⊙ tanh′(pre_t)) W_hh, so ‖J_t‖ ≤ max_i |units_i tanh′_i| · σ_max
        slope = (1 - np.tanh(steps.values["pre"]) ** 2) * steps.units
        out["bound"] = sigma * _max_over_units(slope)
    if last >= 0:
        chain[last] = 0.0
        with np.errstate(divide="ignore"):
            logs = np.log10(norm[1 : last + 1])  # suffix sums: Σ_{t=a+1..b} log ‖J_t‖ at a
        products_of_norms = np.full(total, np.nan)
        products_of_norms[: last + 1] = np.concatenate([np.cumsum(logs[::-1])[::-1], [0.0]])
        out["log10_product_of_norms"] = products_of_norms
    else:
        out["log10_product_of_norms"] = np.full(total, np.nan)
    out["log10_norm_of_product"] = chain
    return out


def _max_over_units(values: np.ndarray) -> np.ndarray:
    """max over the last axis, NaN (without a warning) where a step is padding."""
    finite = np.isfinite(values).all(axis=-1)
    out = np.full(values.shape[0], np.nan)
    out[finite] = values[finite].max(axis=-1)
    return out


def step_jacobian_norms(
    model: Any, x_sample: Any, intervention: Any = None, layer: int = -1
) -> dict[str, np.ndarray]:
    """``jacobian_norms`` for one input sequence, replayed through ``models.unroll``.

    model: a ``gru_viz.models.SequenceModel``; x_sample: (T, inputs) or (1, T, inputs), tensor
    or array; intervention: a ``models.Intervention`` (None: ``NO_INTERVENTION``). The top layer
    by default. Arrays (T,), as ``jacobian_norms`` describes.
    """
    import torch  # here, not at module level: the figures load this module before torch

    from gru_viz.models import NO_INTERVENTION, unroll

    x = torch.as_tensor(x_sample, dtype=next(model.parameters()).dtype)
    if x.dim() == 2:
        x = x[None]
    with torch.no_grad():
        out = unroll(model, x, intervention or NO_INTERVENTION, record=True)
    layer %= model.num_layers
    traces = {name: value[0].double().numpy() for name, value in out.records[layer].items()}
    weights = {name: value.double().numpy() for name, value in model.rnn.state_dict().items()}
    return jacobian_norms(model.kind, weights, traces, intervention, layer)


def probe_jacobian_norms(
    probe: ProbeResult,
    sample: int,
    intervention: Any = None,
    layer: int = -1,
    last: int | None = None,
) -> dict[str, np.ndarray]:
    """``jacobian_norms`` of one probe sequence, from the probe's records alone (no model, no
    torch): its weights at probe time and its recorded traces.

    intervention: what the probe ran with; None reads ``probe.intervention`` where the record
    has one (else none). A clamp changes the Jacobian (a clamped gate has no derivative), so a
    probe taken under a clamp needs it. last: the step b the products go back from (default:
    the last valid step; ``jacobian_series`` passes the last step with a gradient).
    """
    if not probe.weights:
        raise ValueError("the probe record holds no weights to compute the Jacobians from")
    if intervention is None:
        intervention = getattr(probe, "intervention", None)
    layers = probe.traces["h"].shape[0]
    layer %= layers
    traces = {name: value[layer, sample] for name, value in probe.traces.items()}
    return jacobian_norms(probe.kind, probe.weights, traces, intervention, layer, last)


def last_gradient_step(grad_h: np.ndarray) -> int | None:
    """b: the last step whose ‖∂L/∂h_t‖ is positive. Steps after the last scored one get no
    gradient (a forecast's last step predicts nothing), and padding is NaN."""
    grads = np.asarray(grad_h, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        steps = np.flatnonzero(np.isfinite(grads) & (grads > 0))
    return int(steps[-1]) if steps.size else None


def gradient_span(grad_h: np.ndarray) -> dict[str, np.ndarray]:
    """The measured decay of the gradient along one sequence, going back from the last step b
    with a gradient (``last_gradient_step``), both (T,), NaN outside [first valid step, b]:

    "ratio"[a]: ‖∂L/∂h_a‖ / ‖∂L/∂h_b‖ (1 at a = b);
    "factor"[t]: ‖∂L/∂h_{t−1}‖ / ‖∂L/∂h_t‖, what going back through step t did to the
    gradient's length (never above "norm"[t] when the loss is read only at the end).
    grad_h: ‖∂L/∂h_t‖ of the sequence and layer (``ProbeResult.grad_h_norm[layer, s]``).
    """
    grads = np.asarray(grad_h, dtype=np.float64)
    ratio, factor = np.full(len(grads), np.nan), np.full(len(grads), np.nan)
    valid = np.flatnonzero(np.isfinite(grads))
    last = last_gradient_step(grads)
    if last is not None:
        first = valid[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio[first : last + 1] = grads[first : last + 1] / grads[last]
            factor[first + 1 : last + 1] = grads[first:last] / grads[first + 1 : last + 1]
    return {"ratio": ratio, "factor": factor}


def jacobian_series(
    probes: Mapping[str, ProbeResult], sample: int
) -> dict[str, dict[str, np.ndarray]]:
    """What the "why the gradient vanishes" figure draws, per model, for one probe sequence
    (top layer): ``jacobian_norms``' arrays, ``gradient_span``'s and "grad_h" (‖∂L/∂h_t‖)."""
    series = {}
    for kind, probe in probes.items():
        if not (probe.traces and probe.weights):
            continue  # an old snapshot whose traces were shed: nothing to compute from
        grad_h = np.asarray(probe.grad_h_norm[-1, sample], dtype=np.float64)
        last = last_gradient_step(grad_h)
        norms = probe_jacobian_norms(probe, sample, last=-1 if last is None else last)
        series[kind] = {**norms, **gradient_span(grad_h), "grad_h": grad_h}
    return series
