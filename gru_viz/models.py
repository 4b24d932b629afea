r"""GRU, vanilla tanh RNN, LSTM and GRU-variant sequence models: fused for training, unrolled
for probing.

``SequenceModel`` wraps a recurrent stack (``batch_first=True``) and a linear readout applied at
every step. For "gru", "rnn" and "lstm" the stack is ``torch.nn.GRU`` / ``nn.RNN`` / ``nn.LSTM``;
for the GRU variants of ``gru_viz.kinds`` ("gru_cho", "blog", "blog_tied", "mgu") it is one of
this module's ``LoopRNN`` classes: the same interface (``(states, last) = rnn(x)``), the same
parameter names and shapes as ``nn.GRU`` (``weight_ih_l0`` ... with ``gate_blocks × H`` rows) and
the same initialisation, computed by a Python loop over time (unfused, slower). Parameters keep
PyTorch's names (``rnn.weight_ih_l0`` ...), so ``model.rnn.state_dict()`` loads into a plain
``torch.nn.GRU`` (built-ins) or into ``RNN_CLASSES[kind]`` (variants).

``unroll`` replays the same weights one step at a time, exactly as the stack computes them. The
equations each step function computes are written once, in ``gru_viz.explain.EQUATIONS`` (the
page, the report and the exported script show that copy; each step function's docstring is set
from it below), and ``tests/test_models.py`` holds every step to ``torch.nn.GRU`` / ``RNN`` /
``LSTM``, ``tests/test_variants.py`` the variants to plain loops written from the equations.
Gate rows are stacked in W and b in the order ``gru_viz.kinds`` lists as ``blocks``.

Shapes: x (B, T, input_size); hidden states (B, T, H) per layer; outputs (B, T, output_size).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from gru_viz.explain import equations_text
from gru_viz.kinds import KINDS, title

# Many browser sessions share one small server: one thread per process keeps each session's
# training from starving the others (and is as fast as more threads for these tiny matrices).
torch.set_num_threads(1)


# -- GRU variants ----------------------------------------------------------------------------
# These classes are copied verbatim into the exported script (gru_viz.standalone), so they use
# only torch, F, math and nn, and each other.


class LoopRNN(nn.Module):
    """A stack of recurrent layers computed one step at a time, with torch.nn.GRU's interface.

    Layer k holds weight_ih_lk (G·H, inputs), weight_hh_lk (G·H, H), bias_ih_lk and bias_hh_lk
    (G·H,), named and registered in the order torch.nn.GRU uses, with the G = ``blocks`` gate
    blocks stacked as rows. Every parameter starts ~ U(−1/√H, 1/√H), drawn in that order, as
    torch.nn.GRU initialises its own. ``rnn(x)`` returns (states of the top layer (B, T, H),
    last state of every layer (layers, B, H)); batch_first=True only.
    """

    blocks = 3  # gate blocks of H rows in each weight and bias

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, batch_first: bool = True
    ):
        super().__init__()
        if not batch_first:
            raise ValueError("only batch_first=True is supported")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first = True
        rows = self.blocks * hidden_size
        for layer in range(num_layers):
            columns = input_size if layer == 0 else hidden_size
            for name, shape in (
                ("weight_ih", (rows, columns)),
                ("weight_hh", (rows, hidden_size)),
                ("bias_ih", (rows,)),
                ("bias_hh", (rows,)),
            ):
                setattr(self, f"{name}_l{layer}", nn.Parameter(torch.empty(shape)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def layer_params(self, layer: int) -> tuple[torch.Tensor, ...]:
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return tuple(getattr(self, f"{name}_l{layer}") for name in names)

    def project(self, x: torch.Tensor, params: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The input's part of every step at once: (B, T, inputs) -> (B, T, G·H).

        The two bias vectors enter every pre-activation only as their sum, so both go in here.
        """
        w_ih, _, b_ih, b_hh = params
        return F.linear(x, w_ih, b_ih + b_hh)

    def step(self, gi, h, params, **clamps) -> dict[str, torch.Tensor]:
        """One time step from the input part gi (B, G·H) and h_{t-1} (B, H); "h" is h_t."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, hx: torch.Tensor | None = None):
        batch, steps, _ = x.shape
        last = []
        for layer in range(self.num_layers):
            params = self.layer_params(layer)
            gi = self.project(x, params)
            h = x.new_zeros(batch, self.hidden_size) if hx is None else hx[layer]
            states = []
            # unbind, not gi[:, t]: each slice's backward would write a zeroed copy of the whole
            # projection, a cost in time² that dominated long sequences.
            for gi_t in gi.unbind(1):
                h = self.step(gi_t, h, params)["h"]
                states.append(h)
            x = torch.stack(states, dim=1)  # the next layer's input
            last.append(h)
        return x, torch.stack(last)


class ChoGRU(LoopRNN):
    """Cho et al. (2014), Keras reset_after=False: r scales h_{t-1} before W_hn. Rows [r|z|n]."""

    def step(self, gi, h, params, clamp_update=None, clamp_reset=None):
        w_hh, hidden = params[1], h.shape[1]
        # addmm(a, h, W.t()) = a + W h: one call for the sum and the product
        pre = torch.addmm(gi[:, : 2 * hidden], h, w_hh[: 2 * hidden].t())
        r, z = torch.sigmoid(pre).chunk(2, 1)
        if clamp_reset is not None:  # the app's interventions: a fixed gate value
            r = torch.full_like(r, clamp_reset)
        if clamp_update is not None:
            z = torch.full_like(z, clamp_update)
        n = torch.tanh(torch.addmm(gi[:, 2 * hidden :], r * h, w_hh[2 * hidden :].t()))
        # lerp(n, h, z) = n + z ⊙ (h − n) = (1 − z) ⊙ n + z ⊙ h: z = 1 keeps the old state
        return {"r": r, "z": z, "n": n, "h": torch.lerp(n, h, z)}


class BlogGRU(LoopRNN):
    """The formula many articles print: z writes, r scales the candidate outside the tanh.

    W·[h, x] is stored split, h columns in weight_hh and x columns in weight_ih; rows [z|r|n].
    """

    def step(self, gi, h, params, clamp_update=None, clamp_reset=None):
        w_hh, hidden = params[1], h.shape[1]
        pre = torch.addmm(gi, h, w_hh.t())  # W·[h, x] + b for z, r and n at once
        z, r = torch.sigmoid(pre[:, : 2 * hidden]).chunk(2, 1)
        if clamp_update is not None:  # the app's interventions: a fixed gate value
            z = torch.full_like(z, clamp_update)
        if clamp_reset is not None:
            r = torch.full_like(r, clamp_reset)
        n = torch.tanh(pre[:, 2 * hidden :])
        # lerp(h, r ⊙ n, z) = (1 − z) ⊙ h + z ⊙ r ⊙ n: z = 1 writes the candidate
        return {"z": z, "r": r, "n": n, "h": torch.lerp(h, r * n, z)}


class TiedBlogGRU(BlogGRU):
    """The blog formula with one weight block g for z and r, which differ only by bias.

    Rows [g|n]; z's bias is bias_ih's g rows, r's is bias_hh's. Each forward expands them to
    the blog GRU's rows [z|r|n], z and r both from W_g, and runs the blog GRU's step.
    """

    blocks = 2

    def layer_params(self, layer):
        w_ih, w_hh, b_ih, b_hh = super().layer_params(layer)
        hidden = self.hidden_size
        w_ih = torch.cat([w_ih[:hidden], w_ih[:hidden], w_ih[hidden:]])  # W_g, W_g, W_n
        w_hh = torch.cat([w_hh[:hidden], w_hh[:hidden], w_hh[hidden:]])
        bias = torch.cat([b_ih[:hidden], b_hh[:hidden], b_ih[hidden:] + b_hh[hidden:]])
        return w_ih, w_hh, bias, torch.zeros_like(bias)  # b_z, b_r, b_n (b_hh all in bias)


class MGU(LoopRNN):
    """Minimal gated unit (Zhou et al. 2016): one gate f, f = 1 writes. Rows [f|n]."""

    blocks = 2

    def step(self, gi, h, params):
        w_hh, hidden = params[1], h.shape[1]
        f = torch.sigmoid(torch.addmm(gi[:, :hidden], h, w_hh[:hidden].t()))
        n = torch.tanh(torch.addmm(gi[:, hidden:], f * h, w_hh[hidden:].t()))
        # lerp(h, n, f) = (1 − f) ⊙ h + f ⊙ n
        return {"f": f, "n": n, "h": torch.lerp(h, n, f)}


TORCH_CLASSES = {"gru": nn.GRU, "rnn": nn.RNN, "lstm": nn.LSTM}
VARIANT_CLASSES = {"gru_cho": ChoGRU, "blog": BlogGRU, "blog_tied": TiedBlogGRU, "mgu": MGU}
# kind -> the recurrent stack's class, called (input_size, hidden_size, num_layers,
# batch_first=True): torch.nn's own for the built-ins, LoopRNN subclasses for the variants.
RNN_CLASSES: dict[str, type[nn.Module]] = {**TORCH_CLASSES, **VARIANT_CLASSES}
# The kinds Intervention's clamps reach: those with a z and an r (the trainer's rule too).
CLAMPED_KINDS = tuple(k for k, kind in KINDS.items() if {"z", "r"} <= set(kind.gates))


@dataclass(frozen=True)
class Intervention:
    """Changes inside the cell for the unrolled path; the default changes nothing.

    clamp_update / clamp_reset fix the gate traces named z / r to a constant in [0, 1], in the
    kinds that have both (CLAMPED_KINDS; the LSTM, RNN and MGU ignore them). The value is the
    gate's own value, so it means what that kind's z and r mean (kinds.gate_label):

    - gru, gru_cho: z = 1 keeps h_{t-1}, z = 0 writes the candidate n; r = 0 makes n ignore
      h_{t-1} (PyTorch's r also drops b_hn there, Cho's keeps it).
    - blog, blog_tied: z is the share written, so z = 1 writes r ⊙ n and z = 0 keeps h_{t-1}
      (the opposite of the GRU's); r scales the candidate as it is written, so r = 0 gives
      h_t = (1 − z) ⊙ h_{t-1} (nothing written; where z = 1 the state becomes 0). r never
      reaches h_{t-1} inside n. In blog_tied, clamping one gate leaves the other computed from
      the shared weights.

    ablate_units zeroes those hidden units after every step (in every layer, every kind).
    """

    clamp_update: float | None = None
    clamp_reset: float | None = None
    ablate_units: tuple[int, ...] = field(default_factory=tuple)

    @property
    def active(self) -> bool:
        return (
            self.clamp_update is not None or self.clamp_reset is not None or bool(self.ablate_units)
        )

    def describe(self, kinds: Sequence[str] = ()) -> str:
        """What it changes; with the run's ``kinds``, which of them each clamp reaches."""
        clamped = [k for k in kinds if k in CLAMPED_KINDS]
        who = ", ".join(title(k) for k in clamped) if clamped else "GRU"
        parts = []
        if self.clamp_update is not None:
            parts.append(f"{who} update gate z clamped to {self.clamp_update:.2f}")
        if self.clamp_reset is not None:
            parts.append(f"{who} reset gate r clamped to {self.clamp_reset:.2f}")
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

    def set_forget_gate_bias(self, value: float) -> None:
        """LSTM only: make σ(b_if + b_hf) start near σ(value) (Jozefowicz et al. 2015: 1).
        Rows [i | f | g | o]: b_if = value, b_hf = 0."""
        h = self.hidden_size
        with torch.no_grad():
            for layer in range(self.num_layers):
                getattr(self.rnn, f"bias_ih_l{layer}")[h : 2 * h] = value
                getattr(self.rnn, f"bias_hh_l{layer}")[h : 2 * h] = 0.0


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
        # nn.GRU/RNN/LSTM.reset_parameters (and LoopRNN's, the same): every parameter
        # ~ U(−1/√H, 1/√H), in order.
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
    variant = model.kind in VARIANT_CLASSES
    clamps = {}
    if variant and model.kind in CLAMPED_KINDS:
        clamps = dict(clamp_update=intervention.clamp_update, clamp_reset=intervention.clamp_reset)
    layer_input = x
    all_states, all_records = [], []
    for layer in range(model.num_layers):
        # a variant's own view of its weights (the tied blog GRU expands its shared block)
        params = model.rnn.layer_params(layer) if variant else _layer_params(model.rnn, layer)
        w_ih, w_hh, b_ih, b_hh = params
        # input projections for all steps at once
        gi_all = (
            model.rnn.project(layer_input, params) if variant else F.linear(layer_input, w_ih, b_ih)
        )
        h = x.new_zeros(batch, hidden)
        c = x.new_zeros(batch, hidden)
        states: list[torch.Tensor] = []
        recorded: dict[str, list[torch.Tensor]] = {name: [] for name in KINDS[model.kind].traces}
        # unbind, not gi_all[:, t]: see LoopRNN.forward (a backward cost in time²).
        for gi_t in gi_all.unbind(1):
            if variant:  # the variant's own step, the one its forward uses
                out = model.rnn.step(gi_t, h, params, **clamps)
            elif model.kind == "gru":
                out = _gru_step(gi_t, h, w_hh, b_hh, intervention)
            elif model.kind == "rnn":
                out = _rnn_step(gi_t, h, w_hh, b_hh, intervention)
            else:
                out = _lstm_step(gi_t, h, c, w_hh, b_hh)
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
for _kind, _cls in VARIANT_CLASSES.items():
    if "step" in vars(_cls):  # TiedBlogGRU runs BlogGRU's step on expanded weights
        _cls.step.__doc__ = f"{KINDS[_kind].title}, one step:\n{equations_text(_kind)}"
