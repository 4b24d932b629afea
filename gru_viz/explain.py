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
    # GRU variants (gru_viz.models computes them in a Python loop; VARIANT_NOTES says how each
    # differs from PyTorch's GRU). The candidate is n_t throughout, PyTorch's name for it
    # (the articles' h̃_t), so the rows of the GRU-like kinds line up.
    "gru_cho": (
        ("r_t", "σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)", "reset gate"),
        ("z_t", "σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)", "update gate"),
        (
            "n_t",
            "tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t−1}) + b_hn)",
            "candidate: r acts on h first",
        ),
        ("h_t", "(1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}", "new state"),
    ),
    "blog": (
        ("z_t", "σ(W_z [h_{t−1}, x_t] + b_z)", "update gate: 1 writes"),
        ("r_t", "σ(W_r [h_{t−1}, x_t] + b_r)", "reset gate"),
        ("n_t", "tanh(W_n [h_{t−1}, x_t] + b_n)", "candidate: always sees the old state"),
        ("h_t", "(1 − z_t) ⊙ h_{t−1} + z_t ⊙ r_t ⊙ n_t", "new state: r outside the tanh"),
    ),
    "blog_tied": (
        ("z_t", "σ(W_g [h_{t−1}, x_t] + b_z)", "update gate: 1 writes"),
        ("r_t", "σ(W_g [h_{t−1}, x_t] + b_r)", "reset gate: z's weights, own bias"),
        ("n_t", "tanh(W_n [h_{t−1}, x_t] + b_n)", "candidate: always sees the old state"),
        ("h_t", "(1 − z_t) ⊙ h_{t−1} + z_t ⊙ r_t ⊙ n_t", "new state: r outside the tanh"),
    ),
    "mgu": (
        ("f_t", "σ(W_if x_t + b_if + W_hf h_{t−1} + b_hf)", "forget gate: 1 writes"),
        (
            "n_t",
            "tanh(W_in x_t + b_in + W_hn (f_t ⊙ h_{t−1}) + b_hn)",
            "candidate: f acts on h first",
        ),
        ("h_t", "(1 − f_t) ⊙ h_{t−1} + f_t ⊙ n_t", "new state"),
    ),
}
READOUT = (("ŷ_t", "W_out h_t + b_out", "readout at every step; L = task loss on scored steps"),)
EQUATION_TITLES = {
    "gru": "GRU, as PyTorch computes it (torch.nn.GRU; rows of W and b stacked [r | z | n])",
    "rnn": "Vanilla RNN (torch.nn.RNN, tanh)",
    "lstm": "LSTM (torch.nn.LSTM; rows stacked [i | f | g | o])",
    "gru_cho": "GRU as Cho et al. (2014) published it (Keras reset_after=False; rows [r | z | n])",
    "blog": "Blog GRU, the formula many articles print (z = 1 writes; rows [z | r | n])",
    "blog_tied": "Blog GRU with tied gates: z and r share W_g (rows [g | n])",
    "mgu": "Minimal gated unit, MGU (Zhou et al. 2016; rows [f | n])",
}
# Markdown, per variant: exactly how it differs from PyTorch's GRU (torch.nn.GRU, EQUATIONS
# "gru"), how its weights are stored, and what its gates mean. Every variant keeps nn.GRU's
# parameter names and two bias vectors, so a bias written b_z below is the sum of the two
# stored rows (b_z = b_iz + b_hz), as PyTorch's own r and z biases are; the variants run as a
# Python loop over time (unfused: slower than torch.nn.GRU).
VARIANT_NOTES: dict[str, tuple[str, ...]] = {
    "gru_cho": (
        "The GRU as Cho et al. (2014) published it, and Keras's GRU with reset_after=False. It "
        "differs from PyTorch's GRU in one place: r_t scales h_{t-1} *before* W_hn, "
        "n_t = tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t-1}) + b_hn), where PyTorch scales "
        "W_hn h_{t-1} + b_hn *after* it. The same weights give a different function (PyTorch's "
        "r also scales b_hn; here b_hn is always added).",
        "Keras has one candidate bias; here b_in and b_hn act only through their sum, which is "
        "Keras's bias. Both are kept so that the parameters have nn.GRU's names and shapes "
        "(rows [r | z | n]): a GRU state dict loads into this model as it is.",
        "The gates mean what they mean in PyTorch's GRU: **z ≈ 1 keeps the old state**; "
        "**r ≈ 0 makes the candidate ignore the old state**.",
    ),
    "blog": (
        "The formula many articles print. W_z [h_{t-1}, x_t] = W_hz h_{t-1} + W_iz x_t: the h "
        "columns are stored in weight_hh and the x columns in weight_ih, rows [z | r | n], and "
        "b_z = b_iz + b_hz.",
        "It differs from PyTorch's GRU in where r acts and in what z means. **z ≈ 1 writes the "
        "candidate** and z ≈ 0 keeps the old state, the opposite of PyTorch's z. **r acts "
        "outside the tanh**: it scales the candidate as it is written, "
        "h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ r_t ⊙ n_t, and never touches h_{t-1} inside the "
        "candidate, which always sees the old state.",
        "The source article makes three errors. (1) It calls this the GRU, but r outside the "
        "tanh is neither Cho et al.'s GRU nor PyTorch's: both apply r to the old state inside "
        "the candidate. (2) It reverses r's meaning: “a small r keeps the state” is wrong. "
        "In this formula a small r suppresses the candidate's write, h_t ≈ (1 − z_t) ⊙ h_{t-1}: "
        "where z is large the state is erased toward zero, not kept. (3) “Gates solve "
        "exploding gradients” is wrong: where the state is kept, the gates give the gradient "
        "a near-identity path that need not shrink, which helps against *vanishing* gradients; "
        "nothing in them bounds a gradient that grows. Clipping only bounds the step such a "
        "gradient takes.",
    ),
    "blog_tied": (
        "The blog formula with one weight matrix for both gates: z_t = σ(W_g [h_{t-1}, x_t] + "
        "b_z) and r_t = σ(W_g [h_{t-1}, x_t] + b_r) differ only by their biases, so they rise "
        "and fall together. Rows [g | n]: z's bias is bias_ih's g rows, r's bias is bias_hh's "
        "g rows, and b_n = b_in + b_hn.",
        "Everything else is the blog formula (see its note): **z ≈ 1 writes the candidate**, r "
        "scales the candidate outside the tanh, and the same three errors of the source "
        "article apply.",
    ),
    "mgu": (
        "The minimal gated unit (Zhou et al. 2016): one gate f does the work of PyTorch's two. "
        "It is Cho et al.'s GRU with r_t = f_t and z_t = 1 − f_t: **f ≈ 1 writes the "
        "candidate** (it forgets the old state; the opposite of the LSTM's f) and f ≈ 0 keeps "
        "the old state. f also scales h_{t-1} before W_hn, as Cho's r does.",
        "The paper's W_f, U_f, W_h, U_h are W_if, W_hf, W_in, W_hn here (rows [f | n]); "
        "b_f = b_if + b_hf and b_h = b_in + b_hn. Two weight blocks instead of three: about "
        "two thirds of the GRU's parameters at the same width.",
    ),
}

# Markdown; the report turns ** and * into HTML.
CONVENTION_NOTE = (
    "This is PyTorch's (and cuDNN's) convention, and what this app computes. Cho et al. (2014) "
    "apply r to h_{t-1} *before* multiplying by W_hn, n_t = tanh(W_in x_t + W_hn (r_t ⊙ "
    "h_{t-1})); the two are not the same function. Some texts also swap the roles of z_t and "
    "1 − z_t; this app's GRU always uses PyTorch's."
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
