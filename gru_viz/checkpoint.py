"""Save and safely load model checkpoints that plain PyTorch can use.

A checkpoint is a dict of tensors and plain values, written with ``torch.save``:

- ``"rnn"``: the recurrent layer's state dict with PyTorch's own keys (``weight_ih_l0``, ...):
  ``torch.nn.GRU(input_size, hidden_size, num_layers, batch_first=True).load_state_dict(ck["rnn"])``
- ``"readout"``: the ``torch.nn.Linear(hidden_size, output_size)`` state dict;
- ``"kind"``, ``"input_size"``, ``"hidden_size"``, ``"num_layers"``, ``"output_size"``, ``"step"``;
- ``"config"``: the run's settings as strings (``RunConfig`` field name -> value).

Loading uses ``torch.load(weights_only=True)``, which refuses pickled code, after a size check.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from gru_viz.config import FIELDS, RunConfig, format_value
from gru_viz.models import RNN_CLASSES, SequenceModel

FORMAT = "gru-viz-checkpoint/1"
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


def load_checkpoint(path: str | os.PathLike, max_bytes: int = MAX_CHECKPOINT_BYTES) -> dict:
    """Load without executing anything from the file; raises CheckpointError with the reason."""
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise CheckpointError(f"file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # weights_only refuses pickled objects: report, never run them
        raise CheckpointError(f"not a safe checkpoint: {str(err).splitlines()[0][:200]}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError("not a gru-viz checkpoint (missing format marker)")
    if data.get("kind") not in RNN_CLASSES:
        raise CheckpointError(f"unknown model kind {str(data.get('kind'))[:20]!r}")
    for name, most in SIZE_LIMITS.items():
        value = data.get(name)
        if type(value) is not int or not 1 <= value <= most:
            raise CheckpointError(f"{name} {str(value)[:20]} is not a whole number in 1..{most}")
    return data


def to_torch_modules(data: dict) -> tuple[nn.Module, nn.Linear]:
    """Plain ``torch.nn`` modules (recurrent layer with batch_first=True, readout)."""
    rnn = RNN_CLASSES[data["kind"]](
        data["input_size"], data["hidden_size"], data["num_layers"], batch_first=True
    )
    rnn.load_state_dict(data["rnn"])
    readout = nn.Linear(data["hidden_size"], data["output_size"])
    readout.load_state_dict(data["readout"])
    return rnn, readout
