"""Save and safely load model checkpoints that plain PyTorch can use.

A checkpoint is a dict of tensors and plain values, written with ``torch.save``:

- ``"rnn"``: the recurrent layer's state dict with PyTorch's own keys (``weight_ih_l0``, ...):
  ``torch.nn.GRU(input_size, hidden_size, num_layers, batch_first=True).load_state_dict(ck["rnn"])``
  for "gru" (``nn.RNN`` / ``nn.LSTM`` for "rnn" / "lstm"). The GRU variants ("gru_cho", "blog",
  "blog_tied", "mgu") keep the same keys with ``gate_blocks × hidden_size`` rows and load into
  ``gru_viz.models.RNN_CLASSES[kind]``: torch has no module that computes them. (A "gru_cho"
  state dict has nn.GRU's shapes and would load into ``torch.nn.GRU`` too, which then computes
  PyTorch's GRU, a different function of the same weights.)
- ``"readout"``: the ``torch.nn.Linear(hidden_size, output_size)`` state dict;
- ``"kind"``, ``"input_size"``, ``"hidden_size"``, ``"num_layers"``, ``"output_size"``, ``"step"``;
- ``"config"``: the run's settings as strings (``RunConfig`` field name -> value).

``load_checkpoint`` checks everything ``to_torch_modules`` relies on, so a bad file raises
``CheckpointError`` there and nowhere else. It opens only regular files, reads only torch's zip
format, bounds what that unpacks to, and unpickles with ``torch.load(weights_only=True)``, which
refuses pickled code.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from gru_viz import safe_torch_file
from gru_viz.config import FIELDS, RunConfig, format_value
from gru_viz.kinds import KINDS
from gru_viz.models import RNN_CLASSES, SequenceModel
from gru_viz.safe_torch_file import show

FORMAT = "gru-viz-checkpoint/1"
KEYS = frozenset(
    ("format", "kind", "input_size", "hidden_size", "num_layers", "output_size", "step")
    + ("rnn", "readout", "config")
)
MAX_CHECKPOINT_BYTES = 50 * 1024 * 1024
# What a gru-viz run can produce (matching parameter counts can widen a model 4x); a file that
# claims more would make ``to_torch_modules`` allocate whatever it asks for before any check.
_FIELD_HI = {f.name: int(f.hi) for f in FIELDS if f.name in ("hidden_size", "num_layers")}
SIZE_LIMITS = {
    "input_size": 64,
    "output_size": 64,
    "hidden_size": 4 * _FIELD_HI["hidden_size"],
    "num_layers": _FIELD_HI["num_layers"],
}


class CheckpointError(ValueError):
    """The file is not a gru-viz checkpoint we can load safely."""


def checkpoint_dict(model: SequenceModel, cfg: RunConfig, step: int) -> dict:
    return {
        "format": FORMAT,
        "kind": model.kind,
        "input_size": model.rnn.input_size,
        "hidden_size": model.hidden_size,
        "num_layers": model.num_layers,
        "output_size": model.readout.out_features,
        "step": step,
        "rnn": {k: v.detach().clone() for k, v in model.rnn.state_dict().items()},
        "readout": {k: v.detach().clone() for k, v in model.readout.state_dict().items()},
        "config": {f.name: format_value(f, getattr(cfg, f.name)) for f in FIELDS},
    }


def save_checkpoint(
    model: SequenceModel, cfg: RunConfig, step: int, path: str | os.PathLike
) -> None:
    torch.save(checkpoint_dict(model, cfg, step), path)


def rnn_shapes(
    kind: str, input_size: int, hidden_size: int, num_layers: int
) -> dict[str, tuple[int, ...]]:
    """The state dict shapes of ``RNN_CLASSES[kind](input_size, hidden_size, num_layers)``.

    Every kind, built-in or variant, stores two weights and two biases per layer with
    ``gate_blocks × hidden_size`` rows (kinds.ModelKind.blocks).
    """
    rows = KINDS[kind].gate_blocks * hidden_size
    shapes = {}
    for layer in range(num_layers):
        shapes[f"weight_ih_l{layer}"] = (rows, input_size if layer == 0 else hidden_size)
        shapes[f"weight_hh_l{layer}"] = (rows, hidden_size)
        shapes[f"bias_ih_l{layer}"] = (rows,)
        shapes[f"bias_hh_l{layer}"] = (rows,)
    return shapes


def load_checkpoint(path: str | os.PathLike, max_bytes: int = MAX_CHECKPOINT_BYTES) -> dict:
    """Load without executing anything from the file; raises CheckpointError with the reason."""
    data = _read(path, max_bytes)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError("not a gru-viz checkpoint (missing format marker)")
    if KEYS - data.keys():
        raise CheckpointError(f"checkpoint lacks {', '.join(sorted(KEYS - data.keys()))}")
    extra = data.keys() - KEYS
    if extra:
        raise CheckpointError(f"unexpected checkpoint key {show(next(iter(extra)))}")
    kind = data["kind"]
    if not isinstance(kind, str) or kind not in RNN_CLASSES:
        raise CheckpointError(f"unknown model kind {show(kind)}")
    for name, most in SIZE_LIMITS.items():
        value = data[name]
        if type(value) is not int or not 1 <= value <= most:
            raise CheckpointError(f"{name} {show(value)} is not a whole number in 1..{most}")
    if type(data["step"]) is not int or data["step"] < 0:
        raise CheckpointError(f"step {show(data['step'])} is not a whole number >= 0")
    config = data["config"]
    if not isinstance(config, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in config.items()
    ):
        raise CheckpointError("config is not a dict of strings")
    hidden, out = data["hidden_size"], data["output_size"]
    shapes = rnn_shapes(kind, data["input_size"], hidden, data["num_layers"])
    _check_state("rnn", data["rnn"], shapes)
    _check_state("readout", data["readout"], {"weight": (out, hidden), "bias": (out,)})
    return data


def to_torch_modules(data: dict) -> tuple[nn.Module, nn.Linear]:
    """The recurrent layer (batch_first=True) and the readout, ready to run.

    Plain ``torch.nn.GRU`` / ``RNN`` / ``LSTM`` for the built-in kinds. For the GRU variants
    torch has no module, so this returns gru_viz's own (``gru_viz.models.RNN_CLASSES[kind]``,
    a ``LoopRNN`` with nn.GRU's interface: ``states, last = rnn(x)``); the readout is always a
    plain ``torch.nn.Linear``. ``data`` comes from ``load_checkpoint``, which has checked
    everything used here.
    """
    rnn = RNN_CLASSES[data["kind"]](
        data["input_size"], data["hidden_size"], data["num_layers"], batch_first=True
    )
    rnn.load_state_dict(data["rnn"])
    readout = nn.Linear(data["hidden_size"], data["output_size"])
    readout.load_state_dict(data["readout"])
    return rnn, readout


def _read(path: str | os.PathLike, max_bytes: int) -> object:
    data = safe_torch_file.read_regular_file(path, max_bytes, CheckpointError, "checkpoint")
    return safe_torch_file.load(data, max_bytes, CheckpointError, "checkpoint")


def _check_state(part: str, state: object, shapes: dict[str, tuple[int, ...]]) -> None:
    """A state dict with exactly these keys and shapes, of finite floating-point tensors."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{part} is {show(state)}, not a dict of tensors")
    for key in state:
        if key not in shapes:
            raise CheckpointError(f"{part} has an unexpected key {show(key)}")
    for key, shape in shapes.items():
        if key not in state:
            raise CheckpointError(f"{part} lacks {key}")
        t = state[key]
        # Meta, sparse, nested and integer tensors all unpickle; none belongs in these modules.
        if (
            type(t) not in (torch.Tensor, nn.Parameter)
            or t.is_nested
            or t.layout != torch.strided
            or t.device.type != "cpu"
            or not t.is_floating_point()
        ):
            raise CheckpointError(f"{part}.{key} is not a dense floating-point CPU tensor")
        # The shape before any value: a zero-stride view of one stored float can claim 10^12.
        if tuple(t.shape) != shape:
            raise CheckpointError(f"{part}.{key} has shape {tuple(t.shape)}, expected {shape}")
        # As float32, which the modules hold: 1e300 is finite in float64 but not there.
        if not bool(torch.isfinite(t.float()).all()):
            raise CheckpointError(f"{part}.{key} holds NaN or infinite values")
