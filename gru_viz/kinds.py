"""The kinds of recurrent model gru-viz trains: one torch-free table every layer reads.

A kind's title and colour (views), its weight blocks (parameter counts, the cost budget, the
tracked recurrent block), what its unrolled step records (traces, the step inspector), which of
those are gates (heatmaps) and what each gate's value means (labels) are written here once.
``gru_viz.models`` holds the arithmetic and ``gru_viz.explain`` the equations; both key on these
names.

Besides PyTorch's own GRU, RNN and LSTM there are four GRU variants (``gru_viz.models`` computes
them in a Python loop over time, see ``explain.VARIANT_NOTES``): Cho et al.'s original GRU, the
formula many blog posts print (with and without tied gates), and the minimal gated unit. Every
kind stores its weights as ``torch.nn.GRU`` does, ``weight_ih_l{k}`` / ``weight_hh_l{k}`` of
``gate_blocks × hidden`` rows and two bias vectors of as many rows, so a parameter count is
``gate_blocks · H · (inputs + H + 2)`` for the first layer, whatever the kind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelKind:
    name: str  # the key used everywhere: config, links, checkpoints, CLI --models
    title: str
    # Distinguishable on light and dark backgrounds and under the common colour-vision
    # deficiencies: Okabe-Ito for the built-ins, Paul Tol's CVD-safe schemes for the variants
    # (tests/test_variants.py measures the distances).
    color: str
    # Weight blocks stacked in weight_ih / weight_hh, in PyTorch's order for the built-ins.
    blocks: tuple[str, ...]
    # Recorded per step by the unrolled pass, in order; "h" is always last and is the state
    # whose gradient ∂L/∂h_t is measured.
    traces: tuple[str, ...]
    gates: tuple[str, ...]  # traces drawn as gate heatmaps, in display order
    # The block feeding the cell's tanh from h_{t-1}: the RNN's W_hh and its analogue in the
    # gated cells; its largest singular value is tracked over training.
    recurrent_block: str
    seed_offset: int  # per kind, so adding a model never changes another model's weights
    # What each gate's value means in THIS kind, aligned with ``gates``: "name (meaning)".
    gate_labels: tuple[str, ...] = ()
    # Seconds of one training step (forward + backward) relative to the fused torch.nn.GRU at
    # batch 64, 50 steps, 32 units, one thread: python -m bench.bench_variants measures it.
    step_cost: float = 1.0
    # False: computed by gru_viz.models' Python loop (GRU variants), not a fused torch module.
    fused: bool = True

    def __post_init__(self) -> None:
        if len(self.gate_labels) != len(self.gates):
            raise ValueError(f"{self.name}: one label per gate")

    @property
    def gate_blocks(self) -> int:
        return len(self.blocks)

    @property
    def recurrent_block_index(self) -> int:
        return self.blocks.index(self.recurrent_block)

    @property
    def recurrent_weight(self) -> str:
        """The tracked block's name as the equations write it, e.g. W_hn."""
        return f"W_h{self.recurrent_block}"

    def gate_label(self, gate: str) -> str:
        return self.gate_labels[self.gates.index(gate)]


# PyTorch's GRU: h' = (1 − z) ⊙ n + z ⊙ h, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
_KEEP_Z = "update gate z (1 = keep old state)"
_RESET_R = "reset gate r (0 = candidate ignores old state)"
# The blog formula: h' = (1 − z) ⊙ h + z ⊙ r ⊙ n, so z writes and r scales what is written.
_WRITE_Z = "update gate z (1 = write candidate, 0 = keep old state)"
_SCALE_R = "reset gate r (scales the candidate written: 0 = write zero)"

KINDS: dict[str, ModelKind] = {
    kind.name: kind
    for kind in (
        ModelKind(
            "gru",
            "GRU",
            "#0072B2",
            ("r", "z", "n"),
            ("r", "z", "n", "h"),
            ("z", "r"),
            "n",
            101,
            gate_labels=(_KEEP_Z, _RESET_R),
            step_cost=1.0,
        ),
        # The RNN's one block is named h so that its tracked weight reads W_hh.
        ModelKind(
            "rnn", "RNN (tanh)", "#E69F00", ("h",), ("pre", "h"), (), "h", 202, step_cost=0.35
        ),
        ModelKind(
            "lstm",
            "LSTM",
            "#009E73",
            ("i", "f", "g", "o"),
            ("i", "f", "g", "o", "c", "h"),
            ("i", "f", "o"),
            "g",
            303,
            gate_labels=(
                "input gate i (1 = write candidate)",
                "forget gate f (1 = keep cell)",
                "output gate o (1 = expose cell)",
            ),
            step_cost=0.4,
        ),
        # -- GRU variants: same weight layout as torch.nn.GRU, different equations ------------
        # Rows [r | z | n] as PyTorch's, so a GRU state dict loads as is; only where r acts
        # differs. Light blue: the GRU's relative.
        ModelKind(
            "gru_cho",
            "GRU (Cho 2014)",
            "#6699CC",
            ("r", "z", "n"),
            ("r", "z", "n", "h"),
            ("z", "r"),
            "n",
            404,
            gate_labels=(_KEEP_Z, _RESET_R),
            step_cost=1.55,
            fused=False,
        ),
        # W·[h, x] is stored split, h columns in weight_hh and x columns in weight_ih; rows
        # [z | r | n] in the formula's order.
        ModelKind(
            "blog",
            "Blog GRU (r outside tanh)",
            "#CC3311",
            ("z", "r", "n"),
            ("z", "r", "n", "h"),
            ("z", "r"),
            "n",
            505,
            gate_labels=(_WRITE_Z, _SCALE_R),
            step_cost=1.35,
            fused=False,
        ),
        # One weight block g for both gates: z and r differ only by their biases.
        ModelKind(
            "blog_tied",
            "Blog GRU, tied gates",
            "#AA3377",
            ("g", "n"),
            ("z", "r", "n", "h"),
            ("z", "r"),
            "n",
            606,
            gate_labels=(_WRITE_Z, _SCALE_R),
            step_cost=1.35,
            fused=False,
        ),
        ModelKind(
            "mgu",
            "MGU",
            "#228833",
            ("f", "n"),
            ("f", "n", "h"),
            ("f",),
            "n",
            707,
            gate_labels=("forget gate f (1 = write candidate, 0 = keep old state)",),
            step_cost=1.25,
            fused=False,
        ),
    )
}
MODEL_KINDS = tuple(KINDS)
VARIANTS = tuple(name for name, kind in KINDS.items() if not kind.fused)

# Gate -> label for PyTorch's GRU and LSTM only (their gate names do not collide). A gate's
# meaning depends on the kind (the blog GRU's z = 1 writes where PyTorch's keeps; the MGU's
# f = 1 writes where the LSTM's keeps): label gates with ``gate_label(kind, gate)``.
GATE_LABELS = {
    gate: KINDS[kind].gate_label(gate) for kind in ("gru", "lstm") for gate in KINDS[kind].gates
}


def gate_label(kind: str, gate: str) -> str:
    """What ``gate``'s value means in ``kind``, as "name (meaning)"."""
    return KINDS[kind].gate_label(gate)


def title(kind: str) -> str:
    return KINDS[kind].title if kind in KINDS else kind.upper()
