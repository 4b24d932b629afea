"""Turn a trainer's records into files: metrics CSV, probe arrays (npz) and JSON.

Shared by the CLI and the dashboard's download buttons, so both always export the same thing.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

import numpy as np

from gru_viz.trainer import PARAM_GROUPS

if TYPE_CHECKING:
    from gru_viz.trainer import Trainer

METRIC_COLUMNS = ("step", "model", "loss", "grad_norm") + tuple(f"grad_{g}" for g in PARAM_GROUPS)


def metrics_csv(trainer: Trainer) -> str:
    """One row per (step, model): loss and gradient norms before clipping."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(METRIC_COLUMNS)
    rows = []
    for kind, slot in trainer.slots.items():
        columns = {name: slot.history.array(name) for name in METRIC_COLUMNS if name != "model"}
        for i in range(len(slot.history)):
            rows.append(
                [int(columns["step"][i]), kind]
                + [f"{columns[c][i]:.6g}" for c in METRIC_COLUMNS[2:]]
            )
    rows.sort(key=lambda row: (row[0], row[1]))
    writer.writerows(rows)
    return out.getvalue()


def probe_arrays(trainer: Trainer) -> dict[str, np.ndarray]:
    """The probe batch and, per model, its last probe: ``<model>_<quantity>``.

    Per-unit traces are (samples, T, H) for the top layer (``<model>_<q>_all_layers`` adds the
    layer axis first when there are several); ``<model>_grad_h_norm`` is (samples, T).
    """
    batch = trainer.probe_batch
    arrays = {
        "x": batch.x.numpy(),
        "target": batch.target.numpy(),
        "loss_mask": batch.loss_mask.numpy(),
        "valid": batch.valid.numpy(),
    }
    for kind, slot in trainer.slots.items():
        result = slot.latest
        for name, values in result.traces.items():
            arrays[f"{kind}_{name}"] = values[-1]
            if values.shape[0] > 1:
                arrays[f"{kind}_{name}_all_layers"] = values
        arrays[f"{kind}_grad_h_norm"] = result.grad_h_norm[-1]
        if result.grad_h_norm.shape[0] > 1:
            arrays[f"{kind}_grad_h_norm_all_layers"] = result.grad_h_norm
        arrays[f"{kind}_prediction"] = result.prediction
        arrays[f"{kind}_loss"] = result.loss
        arrays[f"{kind}_probe_step"] = np.asarray(result.step)
    return arrays


def probe_npz_bytes(trainer: Trainer) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **probe_arrays(trainer))
    return buffer.getvalue()


def probe_json(trainer: Trainer) -> str:
    """The same arrays as nested lists; NaN (padding) becomes null."""

    def clean(values: np.ndarray):
        values = np.asarray(values)
        if values.dtype.kind == "f":
            values = values.astype(np.float64)  # np.float64 is a float, so json accepts it
            return np.where(np.isfinite(values), values, None).tolist()
        return values.tolist()

    payload = {
        "config": trainer.cfg.as_dict(),
        "step": trainer.step_count,
        "arrays": {name: clean(v) for name, v in probe_arrays(trainer).items()},
    }
    return json.dumps(payload)
