r"""GRU, vanilla tanh RNN and LSTM sequence models: fused for training, unrolled for probing.

``SequenceModel`` wraps ``torch.nn.GRU`` / ``nn.RNN`` / ``nn.LSTM`` (``batch_first=True``) and a
linear readout applied at every step. Parameters keep PyTorch's names (``rnn.weight_ih_l0`` ...),
so ``model.rnn.state_dict()`` loads into a plain ``torch.nn.GRU``.

``unroll`` replays the same weights one step at a time, exactly as PyTorch computes them. The
equations each step function computes are written once, in ``gru_viz.explain.EQUATIONS`` (the
page, the report and the exported script show that copy; each step function's docstring is set
from it below), and ``tests/test_models.py`` holds every step to ``torch.nn.GRU`` / ``RNN`` /
``LSTM``. Gate rows are stacked in W and b in the order ``gru_viz.kinds`` lists as ``blocks``.

Shapes: x (B, T, input_size); hidden states (B, T, H) per layer; outputs (B, T, output_size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from gru_viz.explain import equations_text
from gru_viz.kinds import KINDS

# Many browser sessions share one small server: one thread per process keeps each session's
# training from starving the others (and is as fast as more threads for these tiny matrices).
torch.set_num_threads(1)

RNN_CLASSES = {"gru": nn.GRU, "rnn": nn.RNN, "lstm": nn.LSTM}


@dataclass(frozen=True)
class Intervention:
    """Changes inside the cell for the unrolled path; the default changes nothing.

    clamp_update / clamp_reset fix the GRU's z / r to a constant in [0, 1]; ablate_units zeroes
    those hidden units after every step (in every layer).
    """

    clamp_update: float | None = None
    clamp_reset: float | None = None
    ablate_units: tuple[int, ...] = field(default_factory=tuple)

    @property
    def active(self) -> bool:
        return (
            self.clamp_update is not None or self.clamp_reset is not None or bool(self.ablate_units)
        )

    def describe(self) -> str:
        parts = []
        if self.clamp_update is not None:
            parts.append(f"GRU update gate z clamped to {self.clamp_update:.2f}")
        if self.clamp_reset is not None:
            parts.append(f"GRU reset gate r clamped to {self.clamp_reset:.2f}")
        if self.ablate_units:
            parts.append(f"units {', '.join(map(str, self.ablate_units))} zeroed in every model")
        return "; ".join(parts) or "none"


NO_INTERVENTION = Intervention()


class SequenceModel(nn.Module):
    """A recurrent stack plus a linear readout applied at every time step."""

    def __init__(
        self, kind: str, input_size: int, hidden_size: int, num_layers: int, output_size: int
    ):
        super().__init__()
        self.kind = kind
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.rnn = RNN_CLASSES[kind](input_size, hidden_size, num_layers, batch_first=True)
        self.readout = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fused path: (B, T, input_size) -> (B, T, output_size)."""
        states, _ = self.rnn(x)
        return self.readout(states)

    def recurrent_sigma_max(self, layer: int = 0) -> float:
        """Largest singular value of the tracked recurrent block (kinds: recurrent_block)."""
        weight = getattr(self.rnn, f"weight_hh_l{layer}").detach()
        blocks = weight.chunk(weight.shape[0] // self.hidden_size, 0)
        block = blocks[KINDS[self.kind].recurrent_block_index]
        return float(torch.linalg.matrix_norm(block, ord=2))

    def set_update_gate_bias(self, value: float) -> None:
        """GRU only: make σ(b_iz + b_hz) start near σ(value); positive means long memory."""
        h = self.hidden_size
        with torch.no_grad():
            for layer in range(self.num_layers):
                getattr(self.rnn, f"bias_ih_l{layer}")[h : 2 * h] = 0.0
                getattr(self.rnn, f"bias_hh_l{layer}")[h : 2 * h] = value


def build_model(
    kind: str, input_size: int, hidden_size: int, num_layers: int, output_size: int, seed: int
) -> SequenceModel:
    """PyTorch's own initialisation, drawn from a generator of this model's own.

    The same numbers as ``torch.manual_seed(seed)`` followed by construction, but torch's
    process-wide generator is never touched: sessions build models in parallel threads, and a
    shared generator let one student's seed leak into another's weights.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.device("meta"):  # shapes only: construction draws nothing
        model = SequenceModel(kind, input_size, hidden_size, num_layers, output_size)
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        # nn.GRU/RNN/LSTM.reset_parameters: every parameter ~ U(−1/√H, 1/√H), in order.
        bound = 1 / math.sqrt(hidden_size)
        for parameter in model.rnn.parameters():
            nn.init.uniform_(parameter, -bound, bound, generator=generator)
        # nn.Linear.reset_parameters, fan_in = H.
        nn.init.kaiming_uniform_(model.readout.weight, a=math.sqrt(5), generator=generator)
        nn.init.uniform_(model.readout.bias, -bound, bound, generator=generator)
    return model


@dataclass
class Unrolled:
    """Result of an unrolled pass.

    output: (B, T, output_size). states[layer] is the list of T tensors h_t, each (B, H) and
    part of the autograd graph, so ``torch.autograd.grad(loss, states[l])`` gives the total
    ∂L/∂h_t through every path. records[layer][name] is (B, T, H) when recording.
    """

    output: torch.Tensor
    states: list[list[torch.Tensor]]
    records: list[dict[str, torch.Tensor]]


def _layer_params(rnn: nn.Module, layer: int) -> tuple[torch.Tensor, ...]:
    return tuple(
        getattr(rnn, f"{name}_l{layer}")
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )


def _gru_step(
    gi: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, iv: Intervention
) -> dict[str, torch.Tensor]:
    # Fewer, larger ops than one per symbol: the loop is bound by per-op overhead at these sizes.
    hidden = h.shape[1]
    gh = F.linear(h, w_hh, b_hh)
    r, z = torch.sigmoid(gi[:, : 2 * hidden] + gh[:, : 2 * hidden]).chunk(2, 1)
    if iv.clamp_reset is not None:
        r = torch.full_like(r, iv.clamp_reset)
    if iv.clamp_update is not None:
        z = torch.full_like(z, iv.clamp_update)
    n = torch.tanh(torch.addcmul(gi[:, 2 * hidden :], r, gh[:, 2 * hidden :]))
    # lerp(n, h, z) = n + z ⊙ (h − n) = (1 − z) ⊙ n + z ⊙ h
    return {"r": r, "z": z, "n": n, "h": torch.lerp(n, h, z)}


def _rnn_step(
    gi: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, iv: Intervention
) -> dict[str, torch.Tensor]:
    pre = gi + F.linear(h, w_hh, b_hh)
    return {"pre": pre, "h": torch.tanh(pre)}


def _lstm_step(
    gi: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor
) -> dict[str, torch.Tensor]:
    i, f, g, o = (gi + F.linear(h, w_hh, b_hh)).chunk(4, 1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": o * torch.tanh(c)}


def unroll(
    model: SequenceModel,
    x: torch.Tensor,
    intervention: Intervention = NO_INTERVENTION,
    record: bool = False,
) -> Unrolled:
    """Step-by-step forward pass with the model's own weights (equations in the module doc)."""
    batch, steps, _ = x.shape
    hidden = model.hidden_size
    keep = None
    if intervention.ablate_units:
        keep = torch.ones(hidden)
        keep[[u for u in intervention.ablate_units if 0 <= u < hidden]] = 0.0
    layer_input = x
    all_states, all_records = [], []
    for layer in range(model.num_layers):
        w_ih, w_hh, b_ih, b_hh = _layer_params(model.rnn, layer)
        gi_all = F.linear(layer_input, w_ih, b_ih)  # input projections for all steps at once
        h = x.new_zeros(batch, hidden)
        c = x.new_zeros(batch, hidden)
        states: list[torch.Tensor] = []
        recorded: dict[str, list[torch.Tensor]] = {name: [] for name in KINDS[model.kind].traces}
        for t in range(steps):
            if model.kind == "gru":
                out = _gru_step(gi_all[:, t], h, w_hh, b_hh, intervention)
            elif model.kind == "rnn":
                out = _rnn_step(gi_all[:, t], h, w_hh, b_hh, intervention)
            else:
                out = _lstm_step(gi_all[:, t], h, c, w_hh, b_hh)
                c = out["c"] if keep is None else out["c"] * keep
            h = out["h"] if keep is None else out["h"] * keep
            states.append(h)
            if record:
                for name in recorded:
                    recorded[name].append((h if name == "h" else out[name]).detach())
        layer_input = torch.stack(states, dim=1)
        all_states.append(states)
        all_records.append(
            {k: torch.stack(v, dim=1) for k, v in recorded.items()} if record else {}
        )
    return Unrolled(model.readout(layer_input), all_states, all_records)


def forward(
    model: SequenceModel, x: torch.Tensor, intervention: Intervention = NO_INTERVENTION
) -> torch.Tensor:
    """Training forward: fused when nothing intervenes, else the unrolled path."""
    if intervention.active:
        return unroll(model, x, intervention).output
    return model(x)


# help(_gru_step) shows the equations it computes, from their one copy.
_gru_step.__doc__ = equations_text("gru")
_rnn_step.__doc__ = equations_text("rnn")
_lstm_step.__doc__ = equations_text("lstm")
