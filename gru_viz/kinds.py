"""The kinds of recurrent model gru-viz trains: one torch-free table every layer reads.

A kind's title and colour (views), its weight blocks (parameter counts, the cost budget, the
tracked recurrent block), what its unrolled step records (traces, the step inspector) and which
of those are gates (heatmaps) are written here once. ``gru_viz.models`` holds the arithmetic and
``gru_viz.explain`` the equations; both key on these names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelKind:
    name: str  # the key used everywhere: config, links, checkpoints, CLI --models
    title: str
    color: str  # Okabe-Ito, distinguishable under the common colour-vision deficiencies
    # Weight blocks stacked in weight_ih / weight_hh, in PyTorch's order.
    blocks: tuple[str, ...]
    # Recorded per step by the unrolled pass, in order; "h" is always last and is the state
    # whose gradient ∂L/∂h_t is measured.
    traces: tuple[str, ...]
    gates: tuple[str, ...]  # traces drawn as gate heatmaps, in display order
    # The block feeding the cell's tanh from h_{t-1}: the RNN's W_hh and its analogue in the
    # gated cells; its largest singular value is tracked over training.
    recurrent_block: str
    seed_offset: int  # per kind, so adding a model never changes another model's weights

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


KINDS: dict[str, ModelKind] = {
    kind.name: kind
    for kind in (
        ModelKind(
            "gru", "GRU", "#0072B2", ("r", "z", "n"), ("r", "z", "n", "h"), ("z", "r"), "n", 101
        ),
        # The RNN's one block is named h so that its tracked weight reads W_hh.
        ModelKind("rnn", "RNN (tanh)", "#E69F00", ("h",), ("pre", "h"), (), "h", 202),
        ModelKind(
            "lstm",
            "LSTM",
            "#009E73",
            ("i", "f", "g", "o"),
            ("i", "f", "g", "o", "c", "h"),
            ("i", "f", "o"),
            "g",
            303,
        ),
    )
}
MODEL_KINDS = tuple(KINDS)

# What each gate's value means, in PyTorch's convention: h' = (1 − z) ⊙ n + z ⊙ h and
# n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), so z ≈ 1 keeps and r ≈ 0 ignores the old state.
GATE_LABELS = {
    "z": "update gate z (1 = keep old state)",
    "r": "reset gate r (0 = candidate ignores old state)",
    "i": "input gate i (1 = write candidate)",
    "f": "forget gate f (1 = keep cell)",
    "o": "output gate o (1 = expose cell)",
}


def title(kind: str) -> str:
    return KINDS[kind].title if kind in KINDS else kind.upper()
