"""Teaching text shown beside the figures: the exact equations and how to read each chart.

Kept apart from the UI so tests can check every claim against the code's convention
(PyTorch's: the reset gate acts inside the tanh, after W_hn; z ≈ 1 keeps the old state).
"""

from __future__ import annotations

GRU_EQUATIONS = r"""
\begin{aligned}
r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) && \text{reset gate} \\
z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) && \text{update gate} \\
n_t &= \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big)
    && \text{candidate} \\
h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1} && \text{new state}
\end{aligned}
"""

RNN_EQUATIONS = r"h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})"

LSTM_EQUATIONS = r"""
\begin{aligned}
i_t, f_t, o_t &= \sigma(W_{i\cdot} x_t + b_{i\cdot} + W_{h\cdot} h_{t-1} + b_{h\cdot}), \quad
g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)
\end{aligned}
"""

READOUT_EQUATION = (
    r"\hat y_t = W_{out} h_t + b_{out}, \qquad L = \text{task loss on the scored steps}"
)

EQUATION_NOTES = (
    "**z ≈ 1 keeps the old state** (h_t ≈ h_{t-1}); z ≈ 0 replaces it with the candidate n_t.",
    "**r ≈ 0 makes the candidate ignore the old state**: n_t then depends on x_t alone. The reset "
    "gate acts *inside* the tanh, on W_hn h_{t-1} + b_hn.",
    "This is PyTorch's (and cuDNN's) convention, and what this app computes. Cho et al. (2014) "
    "apply r to h_{t-1} *before* multiplying by W_hn; the two are not the same function.",
    "Why gates help with long memory: with z ≈ 1 the path h_{t-1} → h_t is close to the identity, "
    "so ∂h_t/∂h_{t-1} ≈ diag(z) need not shrink the gradient step after step, unlike the RNN's "
    "tanh'(·) W_hh. Gates do not stop gradients from *exploding*; gradient clipping does that.",
)

SYMBOL_TO_FIGURE = (
    ("z_t, r_t", "Gates heatmaps (unit × time)"),
    ("h_t", "Hidden state heatmaps"),
    ("‖∂L/∂h_t‖", "Gradient reaching each time step"),
    ("ŷ_t vs target", "Prediction vs target"),
    ("L", "Loss curves (with the task's trivial baseline)"),
    ("‖∇θ L‖", "Gradient norm per step (with the clipping threshold)"),
)

FIGURE_READINGS = {
    "loss": "Training loss of each model on the same batches. The dashed line is what a model "
    "scores by ignoring its inputs ({note}); below it, the model has learned something.",
    "grad_norm": "Size of the whole gradient at each step, before clipping. Spikes are "
    "exploding gradients; the dashed line is the clipping threshold, above which "
    "the update is scaled down.",
    "grad_h": "How much the loss depends on the hidden state at each time step, ‖∂L/∂h_t‖, "
    "measured through the recurrence (log scale). Where the loss is read at the end, "
    "a line that falls towards early steps means those steps barely get any learning "
    "signal: the vanishing gradient. Dotted: the same model at initialisation.",
    "hidden": "Each row is one hidden unit, each column a time step, for the chosen probe "
    "sequence; colour is the value of h_t (−1 blue … +1 red).",
    "gates": "GRU gates for the same sequence. Update gate z: bright (≈1) keeps the old state, "
    "dark (≈0) writes the candidate. Reset gate r: dark (≈0) lets the candidate ignore "
    "the old state. A plain RNN has no gates.",
    "prediction": "What each model outputs on the chosen probe sequence, against the target "
    "on the steps that are scored.",
    "input": "The chosen probe sequence's input channels.",
}


def figure_reading(name: str, baseline_note: str = "") -> str:
    return FIGURE_READINGS[name].format(note=baseline_note)
