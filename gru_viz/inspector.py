"""The step inspector: one model's computation at one (probe sample, time step), with numbers.

Values come from the probe's recorded traces (so they are exactly what the figures show); the
gate pre-activations, which the probe does not keep, are recomputed for the chosen unit from
the model's own weights with the same equations as ``gru_viz.models`` (``gru_viz.explain``
writes them; every kind, the GRU variants included, has its own substituted form below).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from gru_viz.kinds import KINDS
from gru_viz.models import SequenceModel
from gru_viz.records import ProbeResult

# Per kind: the step's input and old state, then what the step records, in order.
ROWS = {k: ("x_t", "h_{t-1}", *(f"{name}_t" for name in kind.traces)) for k, kind in KINDS.items()}


@dataclass
class StepView:
    kind: str
    step: int
    vectors: dict[str, np.ndarray]  # row name -> (H,) or (inputs,) for x_t
    equation: str  # LaTeX with the chosen unit's numbers substituted
    unit: int


def step_view(
    model: SequenceModel, result: ProbeResult, x: np.ndarray, sample: int, t: int, unit: int
) -> StepView:
    """The top layer's step t for one probe sample (single-layer models show the real x_t)."""
    traces = {k: v[-1, sample] for k, v in result.traces.items()}  # (T, H) each, top layer
    layer = model.num_layers - 1
    below = x[sample] if layer == 0 else result.traces["h"][-2, sample]
    h_prev = traces["h"][t - 1] if t > 0 else np.zeros(model.hidden_size, dtype=np.float32)
    vectors = {"x_t": below[t], "h_{t-1}": h_prev}
    for row in ROWS[model.kind][2:]:
        vectors[row] = traces[row.removesuffix("_t")][t]
    equation = _substituted(model, result, layer, below[t], h_prev, vectors, unit)
    return StepView(model.kind, t, vectors, equation, unit)


def _parts(result: ProbeResult, layer: int, x_t: np.ndarray, h_prev: np.ndarray, unit: int):
    """Per gate block: (W_i x + b_i)[unit] and (W_h h + b_h)[unit], with the probe's weights.

    The model may have trained since the probe; its current weights would not match the traces.
    """
    w = result.weights
    w_ih, w_hh = w[f"weight_ih_l{layer}"], w[f"weight_hh_l{layer}"]
    gi = w_ih.astype(np.float64) @ x_t + w[f"bias_ih_l{layer}"]
    gh = w_hh.astype(np.float64) @ h_prev + w[f"bias_hh_l{layer}"]
    size = w_hh.shape[1]
    return [
        (float(gi[b * size + unit]), float(gh[b * size + unit])) for b in range(len(gi) // size)
    ]


def _plus(value: float) -> str:
    """'+ 0.339' or '- 0.339': never '+ -0.339'."""
    return f"{'-' if value < 0 else '+'} {abs(value):.3f}"


def _hidden_part(result: ProbeResult, layer: int, block: int, vector: np.ndarray, unit: int):
    """(W_h· vector + b_h·)[unit] for one gate block: what the candidate gets from a gated h."""
    w = result.weights
    w_hh = w[f"weight_hh_l{layer}"].astype(np.float64)
    row = block * w_hh.shape[1] + unit
    return float(w_hh[row] @ vector + w[f"bias_hh_l{layer}"][row])


def _substituted(model, result, layer, x_t, h_prev, v, u) -> str:
    return _SUBSTITUTED[model.kind](result, layer, x_t, h_prev, v, u)


def _gru(result, layer, x_t, h_prev, v, u) -> str:
    (ir, hr), (iz, hz), (i_n, h_n) = _parts(result, layer, x_t, h_prev, u)
    hp = float(h_prev[u])
    r, z, n, h = (float(v[k][u]) for k in ("r_t", "z_t", "n_t", "h_t"))
    return (
        rf"\begin{{aligned}} r &= \sigma({ir:.3f} {_plus(hr)}) = {r:.3f} \\ "
        rf"z &= \sigma({iz:.3f} {_plus(hz)}) = {z:.3f} \\ "
        rf"n &= \tanh({i_n:.3f} + {r:.3f} \times ({h_n:.3f})) = {n:.3f} \\ "
        rf"h_t &= (1 - {z:.3f}) \times {n:.3f} + {z:.3f} \times {hp:.3f} = {h:.3f}"
        r"\end{aligned}"
    )


def _gru_cho(result, layer, x_t, h_prev, v, u) -> str:
    """r scales h_{t-1} before W_hn, so the candidate's h part needs the whole r ⊙ h_{t-1}."""
    (ir, hr), (iz, hz), (i_n, _) = _parts(result, layer, x_t, h_prev, u)
    hp = float(h_prev[u])
    r, z, n, h = (float(v[k][u]) for k in ("r_t", "z_t", "n_t", "h_t"))
    gated = _hidden_part(result, layer, 2, v["r_t"].astype(np.float64) * h_prev, u)
    return (
        rf"\begin{{aligned}} r &= \sigma({ir:.3f} {_plus(hr)}) = {r:.3f} \\ "
        rf"z &= \sigma({iz:.3f} {_plus(hz)}) = {z:.3f} \\ "
        rf"n &= \tanh({i_n:.3f} {_plus(gated)}) = {n:.3f} "
        rf"\quad (W_{{hn}} (r \odot h_{{t-1}}) + b_{{hn}} = {gated:.3f}) \\ "
        rf"h_t &= (1 - {z:.3f}) \times {n:.3f} + {z:.3f} \times {hp:.3f} = {h:.3f}"
        r"\end{aligned}"
    )


def _blog(result, layer, x_t, h_prev, v, u) -> str:
    (iz, hz), (ir, hr), (i_n, h_n) = _parts(result, layer, x_t, h_prev, u)
    hp = float(h_prev[u])
    z, r, n, h = (float(v[k][u]) for k in ("z_t", "r_t", "n_t", "h_t"))
    return (
        rf"\begin{{aligned}} z &= \sigma({iz:.3f} {_plus(hz)}) = {z:.3f} \\ "
        rf"r &= \sigma({ir:.3f} {_plus(hr)}) = {r:.3f} \\ "
        rf"n &= \tanh({i_n:.3f} {_plus(h_n)}) = {n:.3f} \\ "
        rf"h_t &= (1 - {z:.3f}) \times {hp:.3f} + {z:.3f} \times {r:.3f} \times {n:.3f} "
        rf"= {h:.3f} \end{{aligned}}"
    )


def _blog_tied(result, layer, x_t, h_prev, v, u) -> str:
    """z and r share s = W_g [h_{t-1}, x_t] and differ by their biases (rows [g | n])."""
    w = result.weights
    shared = float(
        w[f"weight_ih_l{layer}"][u].astype(np.float64) @ x_t
        + w[f"weight_hh_l{layer}"][u].astype(np.float64) @ h_prev
    )
    b_z, b_r = float(w[f"bias_ih_l{layer}"][u]), float(w[f"bias_hh_l{layer}"][u])
    _, (i_n, h_n) = _parts(result, layer, x_t, h_prev, u)
    hp = float(h_prev[u])
    z, r, n, h = (float(v[k][u]) for k in ("z_t", "r_t", "n_t", "h_t"))
    return (
        rf"\begin{{aligned}} s &= W_g [h_{{t-1}}, x_t] = {shared:.3f} \\ "
        rf"z &= \sigma({shared:.3f} {_plus(b_z)}) = {z:.3f} \\ "
        rf"r &= \sigma({shared:.3f} {_plus(b_r)}) = {r:.3f} \\ "
        rf"n &= \tanh({i_n:.3f} {_plus(h_n)}) = {n:.3f} \\ "
        rf"h_t &= (1 - {z:.3f}) \times {hp:.3f} + {z:.3f} \times {r:.3f} \times {n:.3f} "
        rf"= {h:.3f} \end{{aligned}}"
    )


def _mgu(result, layer, x_t, h_prev, v, u) -> str:
    (i_f, h_f), (i_n, _) = _parts(result, layer, x_t, h_prev, u)
    hp = float(h_prev[u])
    f, n, h = (float(v[k][u]) for k in ("f_t", "n_t", "h_t"))
    gated = _hidden_part(result, layer, 1, v["f_t"].astype(np.float64) * h_prev, u)
    return (
        rf"\begin{{aligned}} f &= \sigma({i_f:.3f} {_plus(h_f)}) = {f:.3f} \\ "
        rf"n &= \tanh({i_n:.3f} {_plus(gated)}) = {n:.3f} "
        rf"\quad (W_{{hn}} (f \odot h_{{t-1}}) + b_{{hn}} = {gated:.3f}) \\ "
        rf"h_t &= (1 - {f:.3f}) \times {hp:.3f} + {f:.3f} \times {n:.3f} = {h:.3f}"
        r"\end{aligned}"
    )


def _rnn(result, layer, x_t, h_prev, v, u) -> str:
    ((pi, ph),) = _parts(result, layer, x_t, h_prev, u)
    return (
        rf"h_t = \tanh({pi:.3f} {_plus(ph)}) = \tanh({float(v['pre_t'][u]):.3f}) "
        rf"= {float(v['h_t'][u]):.3f}"
    )


def _lstm(result, layer, x_t, h_prev, v, u) -> str:
    i, f, g, o, c, h = (float(v[k][u]) for k in ("i_t", "f_t", "g_t", "o_t", "c_t", "h_t"))
    return (
        rf"c_t = {f:.3f} \times c_{{t-1}} + {i:.3f} \times {g:.3f} = {c:.3f}, \quad "
        rf"h_t = {o:.3f} \times \tanh({c:.3f}) = {h:.3f}"
    )


_SUBSTITUTED = {
    "gru": _gru,
    "rnn": _rnn,
    "lstm": _lstm,
    "gru_cho": _gru_cho,
    "blog": _blog,
    "blog_tied": _blog_tied,
    "mgu": _mgu,
}


def step_figure(view: StepView, title: str) -> go.Figure:
    """Rows x_t, h_{t-1}, gates, h_t as a small heatmap (units across), chosen unit marked."""
    rows = ROWS[view.kind]
    width = max(len(v) for v in view.vectors.values())
    grid = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        grid[i, : len(view.vectors[row])] = view.vectors[row]
    labels = [r.replace("_{t-1}", "(t-1)").replace("_t", "(t)") for r in rows]
    fig = go.Figure(
        go.Heatmap(
            z=grid[::-1],
            y=labels[::-1],
            colorscale="RdBu_r",
            zmin=-1,
            zmax=1,
            hoverongaps=False,
            colorbar=dict(title=dict(text="value"), thickness=10),
            hovertemplate="%{y}, unit %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.add_vline(x=view.unit, line=dict(color="black", dash="dot", width=1))
    fig.update_layout(
        title=dict(text=f"{title}, time step {view.step}", font=dict(size=14)),
        height=max(220, 60 + 28 * len(rows)),
        margin=dict(l=10, r=10, t=40, b=30),
        xaxis_title="unit (x_t row: input channel)",
        uirevision="inspector",
    )
    return fig
