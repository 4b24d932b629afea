"""Every equation the app computes and the sentences that explain them, written once.

The page typesets ``equations_latex``; the report, the exported script, the gate-less chart note
and the step functions' docstrings print ``equations_text``; both come from ``EQUATIONS``. The
convention is PyTorch's (``torch/nn/modules/rnn.py``): the reset gate acts inside the tanh,
after W_hn, and z ≈ 1 keeps the old state. Tests scan every text here for the common
misconceptions (tests/test_lessons.py).
"""

from __future__ import annotations

import re

# kind -> rows of (left side, right side, what it is), in Unicode. The same rows, rewritten by
# _latex, are what the page typesets, so the two can never disagree.
EQUATIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "gru": (
        ("r_t", "σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)", "reset gate"),
        ("z_t", "σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)", "update gate"),
        ("n_t", "tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))", "candidate"),
        ("h_t", "(1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}", "new state"),
    ),
    "rnn": (("h_t", "tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)", "new state"),),
    "lstm": (
        (
            "i_t, f_t, o_t",
            "σ(W_i· x_t + b_i· + W_h· h_{t−1} + b_h·)",
            "input, forget, output gates",
        ),
        ("g_t", "tanh(W_ig x_t + b_ig + W_hg h_{t−1} + b_hg)", "candidate"),
        ("c_t", "f_t ⊙ c_{t−1} + i_t ⊙ g_t", "cell"),
        ("h_t", "o_t ⊙ tanh(c_t)", "new state"),
    ),
}
READOUT = (("ŷ_t", "W_out h_t + b_out", "readout at every step; L = task loss on scored steps"),)
EQUATION_TITLES = {
    "gru": "GRU, as PyTorch computes it (torch.nn.GRU; rows of W and b stacked [r | z | n])",
    "rnn": "Vanilla RNN (torch.nn.RNN, tanh)",
    "lstm": "LSTM (torch.nn.LSTM; rows stacked [i | f | g | o])",
}

# Markdown; the report turns ** and * into HTML.
CONVENTION_NOTE = (
    "This is PyTorch's (and cuDNN's) convention, and what this app computes. Cho et al. (2014) "
    "apply r to h_{t-1} *before* multiplying by W_hn, n_t = tanh(W_in x_t + W_hn (r_t ⊙ "
    "h_{t-1})); the two are not the same function. Some texts also swap the roles of z_t and "
    "1 − z_t; this app always uses PyTorch's."
)
EQUATION_NOTES = (
    "**z ≈ 1 keeps the old state** (h_t ≈ h_{t-1}); z ≈ 0 replaces it with the candidate n_t.",
    "**r ≈ 0 makes the candidate ignore the old state**: n_t then depends on x_t alone. The reset "
    "gate acts *inside* the tanh, on W_hn h_{t-1} + b_hn. A unit starts afresh only where r ≈ 0 "
    "*and* z ≈ 0; with z ≈ 1 it keeps its old state whatever r is.",
    CONVENTION_NOTE,
    "Why gates help with long memory: with z ≈ 1 the path h_{t-1} → h_t is close to the identity, "
    "so ∂h_t/∂h_{t-1} ≈ diag(z) need not shrink the gradient step after step, unlike the RNN's "
    "tanh'(·) W_hh. Gates do not stop gradients from *exploding*, and neither does clipping: "
    "clipping only bounds the size of the step an exploding gradient takes.",
)
NO_GATES_NOTE = "The vanilla RNN has no gates: every step rewrites its whole state"


def _latex(text: str) -> str:
    text = re.sub(r"([A-Za-z])_([a-z·]{2,})", r"\1_{\2}", text)  # W_ir -> W_{ir}
    for plain, tex in (
        ("σ(", r"\sigma("),
        ("tanh(", r"\tanh("),
        ("⊙", r"\odot"),
        ("−", "-"),
        ("·", r"\cdot "),
        ("ŷ", r"\hat y"),
    ):
        text = text.replace(plain, tex)
    return text


def equations_latex(kind: str) -> str:
    rows = EQUATIONS.get(kind, READOUT)
    body = r" \\ ".join(
        rf"{_latex(lhs)} &= {_latex(rhs)} && \text{{{what}}}" for lhs, rhs, what in rows
    )
    return rf"\begin{{aligned}} {body} \end{{aligned}}"


def equations_text(kind: str, indent: str = "  ") -> str:
    """The equations as aligned plain-text lines (reports, scripts, docstrings)."""
    rows = EQUATIONS.get(kind, READOUT)
    formulas = [f"{lhs} = {rhs}" for lhs, rhs, _ in rows]
    width = max(map(len, formulas))
    return "\n".join(
        f"{indent}{formula.ljust(width)}   {what}"
        for formula, (_, _, what) in zip(formulas, rows, strict=True)
    )


def all_equations_text(kinds: tuple[str, ...] = tuple(EQUATIONS)) -> str:
    """Titled plain-text blocks for the given kinds, then the readout."""
    blocks = [f"{EQUATION_TITLES[k]}:\n{equations_text(k)}" for k in kinds]
    return "\n\n".join([*blocks, f"Readout:\n{equations_text('readout')}"])
