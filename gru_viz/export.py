"""Turn a trainer's records into files, and the one list of the files a run can be saved as.

``export_files(trainer)`` (the fixed ``EXPORTS`` plus one checkpoint per model and the script)
is what the dashboard's download buttons and the CLI's output folder both come from, so the
two cannot drift apart.

Probe files are planned from array shapes before anything is built, and each stays under
``MAX_FILE_BYTES`` by construction: the top layer by default, all layers only on request and
only when they fit, and, past that, the per-unit traces of the first probe samples only, with
the reason written into the file. JSON text is built in pieces of at most ``CHUNK_NUMBERS``
numbers with the interpreter lock released between them, so a download never freezes the
server's other threads (bench/bench_exports.py measures time, size and stalls).
"""

from __future__ import annotations

import functools
import io
import json
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from gru_viz.kinds import title
from gru_viz.tasks import TASKS
from gru_viz.trainer import PARAM_GROUPS

if TYPE_CHECKING:
    from gru_viz.trainer import Trainer

METRIC_COLUMNS = ("step", "model", "loss", "grad_norm") + tuple(f"grad_{g}" for g in PARAM_GROUPS)
# Each head's loss, raw and over its baseline, for every task with several heads (the multi-task
# problem: loss_head_sum, share_head_sum, loss_head_larger, share_head_larger): in every file,
# so that files of different tasks share one header; empty where the run's task has no such head.
HEAD_COLUMNS = tuple(
    dict.fromkeys(
        column
        for task in TASKS.values()
        for head in task.heads
        for column in (head.loss_column, head.share_column)
    )
)
# The last metrics column: what changed the run (a setting, an intervention, a restore) on the
# first row at or after the step it happened, in the quoted text the charts show on hover.
EVENT_COLUMN = "event"

# Issue 12 allows 60 MB and 3 s a file. A .npz costs a memory copy (~0.1 s for 48 MB); JSON
# costs ~200 ns a number to format (up to 13 bytes each): 24 MB is ~0.4 s on an idle reference
# machine, leaving room for a busy server.
MAX_FILE_BYTES = {"npz": 48_000_000, "json": 24_000_000}
# One "%" formatting call on this many numbers holds the interpreter lock for ~15 ms.
CHUNK_NUMBERS = 1 << 16
FLOAT_FORMAT = "%.6g"  # float32 to 6 significant digits: at most 12 characters, "-1.17549e-38"
_ELEMENT_CHARS = {"f": 12, "b": len("false")}
_ARRAY_OVERHEAD = 1024  # an array's name, npy header and zip entry, or its JSON key
_FILE_OVERHEAD = 16_384  # settings, notes and the zip directory
CONTENTS = (
    "Probe batch: x (samples, T, inputs), target, loss_mask and valid (samples, T). Per model, "
    "at its last probe (<model>_probe_step): <model>_<q> is the per-unit trace of quantity q "
    "(GRU r z n h; RNN pre h; LSTM i f g o c h) in the top layer, (samples, T, hidden); "
    "<model>_grad_h_norm is |dL_s/dh_t| in the top layer, (samples, T); <model>_prediction "
    "(samples, T, outputs); <model>_loss (samples,). Files with every layer name these "
    "<model>_<q>_all_layers and <model>_grad_h_norm_all_layers, with the layer axis first. "
    "Values are float32; NaN (null in JSON) marks padded steps."
)


def events_payload(trainer: Trainer) -> list[dict]:
    """Every event of the run, as plain data (JSON, NPZ)."""
    return [
        {"step": e.step, "kind": e.kind, "text": e.text, "affects_training": e.affects_training}
        for e in trainer.events
    ]


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if text else ""


def _head_cells(values: np.ndarray, rows: int) -> list[str]:
    """A head column's cells: 6 significant digits, or empty where it was not recorded."""
    if values.size != rows:
        return [""] * rows
    return [FLOAT_FORMAT % v if np.isfinite(v) else "" for v in values.tolist()]


def metrics_csv(trainer: Trainer) -> str:
    """One row per (step, model): loss and gradient norms before clipping, each head's loss
    (``HEAD_COLUMNS``, empty for a task with one head), then the event."""
    numeric = [name for name in METRIC_COLUMNS if name != "model"]
    width = len(METRIC_COLUMNS) + len(HEAD_COLUMNS) + 1
    tables = []
    for kind, slot in sorted(trainer.slots.items()):  # rows of one step in model-name order
        rows = len(slot.history)
        table = np.empty((rows, width), dtype=object)
        table[:, 1] = kind
        table[:, [0, *range(2, len(METRIC_COLUMNS))]] = np.column_stack(
            [slot.history.array(name) for name in numeric]
        )
        for i, name in enumerate(HEAD_COLUMNS, start=len(METRIC_COLUMNS)):
            table[:, i] = _head_cells(slot.history.array(name), rows)
        tables.append(table)
    rows = np.concatenate(tables)
    rows = rows[np.argsort(rows[:, 0].astype(float), kind="stable")]
    rows[:, -1] = ""
    steps = rows[:, 0].astype(float)
    for event in trainer.events:  # on the first row of each model that trained after it
        for kind in trainer.slots:
            later = np.flatnonzero((steps > event.step) & (rows[:, 1] == kind))
            if later.size:
                row = later[0]
                rows[row, -1] = "; ".join(filter(None, (rows[row, -1], event.text)))
    rows[:, -1] = [_quoted(text) for text in rows[:, -1]]
    row_format = "%d,%s" + ",%.6g" * (len(METRIC_COLUMNS) - 2) + ",%s" * len(HEAD_COLUMNS)
    row_format += ",%s\n"
    parts = [",".join((*METRIC_COLUMNS, *HEAD_COLUMNS, EVENT_COLUMN)) + "\n"]
    per_block = CHUNK_NUMBERS // width
    for start in range(0, len(rows), per_block):
        block = rows[start : start + per_block]
        parts.append(row_format * len(block) % tuple(block.ravel().tolist()))
    return "".join(parts)


# -- probe files ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProbePlan:
    """What one probe file will hold, decided from shapes alone before anything is built."""

    arrays: dict[str, np.ndarray]
    notes: tuple[str, ...]
    max_bytes: int  # an upper bound of the file's size
    all_layers: bool = False  # every layer's traces, named <model>_<q>_all_layers


def _probe_arrays(trainer: Trainer, all_layers: bool) -> tuple[dict, dict]:
    """(batch and per-model summaries, per-unit traces), as views: nothing is copied yet."""

    def pick(values: np.ndarray, name: str) -> tuple[str, np.ndarray]:
        return (f"{name}_all_layers", values) if all_layers else (name, values[-1])

    batch = trainer.probe_batch
    summary = {
        "x": batch.x.numpy(),
        "target": batch.target.numpy(),
        "loss_mask": batch.loss_mask.numpy(),
        "valid": batch.valid.numpy(),
    }
    traces = {}
    for kind, slot in trainer.slots.items():
        result = slot.latest
        summary.update(
            [
                pick(result.grad_h_norm, f"{kind}_grad_h_norm"),
                (f"{kind}_prediction", result.prediction),
                (f"{kind}_loss", result.loss),
                (f"{kind}_probe_step", np.asarray(result.step)),
            ]
        )
        traces.update(pick(values, f"{kind}_{name}") for name, values in result.traces.items())
    return summary, traces


def _npz_bytes(values: np.ndarray) -> int:
    return values.nbytes + _ARRAY_OVERHEAD


def _json_chars(values: np.ndarray) -> int:
    """Most characters ``_json_chunks`` can write for ``values``: a bound from its shape."""
    if values.dtype.kind in "iu":
        chars = max(len(str(int(values.max(initial=0)))), len(str(int(values.min(initial=0)))))
    else:
        chars = _ELEMENT_CHARS["b" if values.dtype.kind == "b" else "f"]
    for size in reversed(values.shape):  # "[" + size items + (size - 1) commas + "]"
        chars = 2 + size * chars + max(size - 1, 0)
    return chars + _ARRAY_OVERHEAD


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def plan_probe_file(
    trainer: Trainer, kind: Literal["npz", "json"], all_layers: bool = False
) -> ProbePlan:
    """Choose the arrays of a probe file so that it cannot exceed ``MAX_FILE_BYTES``."""
    cost = _npz_bytes if kind == "npz" else _json_chars
    limit = MAX_FILE_BYTES[kind]
    room = limit - _FILE_OVERHEAD
    notes = [CONTENTS]
    if all_layers and trainer.cfg.num_layers > 1:
        summary, traces = _probe_arrays(trainer, all_layers=True)
        arrays = {**summary, **traces}
        total = sum(map(cost, arrays.values()))
        if total <= room:
            return ProbePlan(arrays, tuple(notes), total + _FILE_OVERHEAD, all_layers=True)
        notes.append(
            f"All {trainer.cfg.num_layers} layers would make this .{kind} file about "
            f"{_mb(total)}, over the {_mb(limit)} limit, so it holds the top layer."
        )
    summary, traces = _probe_arrays(trainer, all_layers=False)
    fixed = sum(map(cost, summary.values()))
    if fixed > room:  # no admitted setting comes near (~7 MB of JSON at most); a guarantee
        notes.append(f"Refused: even without traces this .{kind} file would be {_mb(fixed)}.")
        return ProbePlan({}, tuple(notes), _FILE_OVERHEAD)
    samples = len(trainer.probe_batch.x)
    keep = samples  # traces are (samples, T, hidden): drop whole samples from the end

    def traces_cost(n: int) -> int:
        return sum(cost(values[:n]) for values in traces.values())

    while keep and fixed + traces_cost(keep) > room:
        keep -= 1
    if keep < samples:
        notes.append(
            f"Per-unit traces (<model>_<q>) hold the first {keep} of {samples} probe samples: "
            f"all of them would make this .{kind} file about {_mb(fixed + traces_cost(samples))}"
            f", over the {_mb(limit)} limit"
            + ("; the .npz download holds more." if kind == "json" else ".")
        )
        traces = {name: values[:keep] for name, values in traces.items()}
    total = fixed + traces_cost(keep)
    return ProbePlan({**summary, **traces}, tuple(notes), total + _FILE_OVERHEAD)


def probe_arrays(trainer: Trainer, all_layers: bool = False) -> dict[str, np.ndarray]:
    """The arrays of the probe .npz (see ``CONTENTS``), with ``notes`` saying what they are."""
    plan = plan_probe_file(trainer, "npz", all_layers)
    notes, events = (
        np.asarray("\n".join(plan.notes)),
        np.asarray(json.dumps(events_payload(trainer))),
    )
    return {**plan.arrays, "notes": notes, "events": events}


def probe_npz_bytes(trainer: Trainer, all_layers: bool = False) -> bytes:
    # Stored, not deflated: float32 traces shrink ~12% for ~30x the time (zlib takes ~1.5 s on
    # the largest setup's 41 MB), and the stored size is exactly what the plan counted.
    # np.savez copies each array in 16 MiB pieces; the zip checksum releases the lock.
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **probe_arrays(trainer, all_layers))
    return buffer.getvalue()


def all_layers_fit(trainer: Trainer) -> bool:
    """Whether a file of every layer's traces is worth offering (several layers, and it fits)."""
    return trainer.cfg.num_layers > 1 and plan_probe_file(trainer, "npz", True).all_layers


def _template(shape: tuple[int, ...], element: str) -> str:
    """A "%" format string that writes an array of ``shape`` as nested JSON lists.

    Built per piece (about 1 ms, against ~15 ms to format it) rather than cached, so a server
    keeps no large strings between downloads.
    """
    if not shape:
        return element
    return "[" + ",".join([_template(shape[1:], element)] * shape[0]) + "]"


def _format(values: np.ndarray) -> str:
    """One piece of JSON, in one formatting call: keep ``values`` to ``CHUNK_NUMBERS``."""
    if values.dtype.kind == "b":
        return _template(values.shape, "%s") % tuple(np.where(values, "true", "false").flat)
    if values.dtype.kind in "iu":
        return _template(values.shape, "%d") % tuple(values.ravel().tolist())
    values = values.astype(np.float32, copy=False)
    values = np.where(np.isfinite(values), values, np.nan)  # inf too: JSON has only null
    text = _template(values.shape, FLOAT_FORMAT) % tuple(values.ravel().tolist())
    return text.replace("nan", "null")


def _json_chunks(values: np.ndarray) -> Iterator[str]:
    """``values`` as nested JSON lists, in pieces of at most ``CHUNK_NUMBERS`` numbers."""
    if values.size <= CHUNK_NUMBERS:
        yield _format(values)
        return
    per_item = values.size // len(values)
    yield "["
    if per_item > CHUNK_NUMBERS:
        for i, item in enumerate(values):
            yield "," if i else ""
            yield from _json_chunks(item)
    else:
        step = CHUNK_NUMBERS // per_item
        for start in range(0, len(values), step):
            yield ("," if start else "") + _format(values[start : start + step])[1:-1]
    yield "]"


def probe_json_chunks(trainer: Trainer, all_layers: bool = False) -> Iterator[str]:
    """The probe JSON's text in pieces, each at most ``CHUNK_NUMBERS`` numbers long."""
    plan = plan_probe_file(trainer, "json", all_layers)
    head = {"config": trainer.cfg.as_dict(), "step": trainer.step_count, "notes": plan.notes}
    head["events"] = events_payload(trainer)
    yield json.dumps(head)[:-1] + ', "arrays": {'
    for i, (name, values) in enumerate(plan.arrays.items()):
        yield f"{', ' if i else ''}{json.dumps(name)}: "
        yield from _json_chunks(values)
    yield "}}"


def _let_others_run() -> None:
    time.sleep(0)  # releases the interpreter lock, so a waiting thread gets its turn


def probe_json(trainer: Trainer, all_layers: bool = False) -> str:
    """The probe file's arrays as nested lists (6 significant digits); NaN becomes null."""
    parts = []
    for part in probe_json_chunks(trainer, all_layers):
        parts.append(part)
        _let_others_run()
    return "".join(parts)


# -- the catalogue ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportFile:
    """One file a run can be saved as: a dashboard download and, if ``cli``, a CLI output."""

    id: str
    label: str  # on the download button
    suffix: str  # the CLI's file name; the dashboard prefixes the run's name
    mime: str
    build: Callable[[Trainer], bytes | str]
    cli: bool = True
    prefixed: bool = True  # False: the name is complete (the script names itself)

    def file_name(self, run: str) -> str:
        return f"{run}-{self.suffix}" if self.prefixed else self.suffix


def run_name(trainer: Trainer) -> str:
    """The prefix of the dashboard's file names, e.g. gru-viz-adding-step120."""
    return f"gru-viz-{trainer.cfg.task}-step{trainer.step_count}"


def _report(trainer: Trainer) -> str:
    from gru_viz.report import build_report  # plotly: only when a report is asked for

    return build_report(trainer)


def checkpoint_bytes(trainer: Trainer, kind: str) -> bytes:
    """The model's checkpoint (gru_viz.checkpoint's format), as ``torch.save`` writes it."""
    import torch

    from gru_viz.checkpoint import checkpoint_dict

    buffer = io.BytesIO()
    torch.save(checkpoint_dict(trainer.slots[kind].model, trainer.cfg, trainer.step_count), buffer)
    return buffer.getvalue()


OCTET = "application/octet-stream"
EXPORTS: tuple[ExportFile, ...] = (
    ExportFile("metrics", "Metrics (CSV)", "metrics.csv", "text/csv", metrics_csv),
    ExportFile(
        "probe_json", "Probe traces (JSON)", "probe.json", "application/json", probe_json, cli=False
    ),
    ExportFile("probe_npz", "Probe traces (NumPy .npz)", "probe.npz", OCTET, probe_npz_bytes),
    ExportFile("report", "Report (HTML)", "report.html", "text/html", _report),
)


def export_files(trainer: Trainer, script_note: str = "") -> list[ExportFile]:
    """``EXPORTS``, every layer's probe when it fits, one checkpoint per model, the script.

    script_note: a line for the script's docstring (e.g. an intervention the app had on).
    """
    from gru_viz.standalone import script_filename, standalone_script

    files = list(EXPORTS)
    if all_layers_fit(trainer):
        files.append(
            ExportFile(
                "probe_npz_all_layers",
                "Probe traces, all layers (.npz)",
                "probe_all_layers.npz",
                OCTET,
                functools.partial(probe_npz_bytes, all_layers=True),
            )
        )
    files += [
        ExportFile(
            f"checkpoint_{kind}",
            f"{title(kind)} checkpoint (.pt)",
            f"{kind}.pt",
            OCTET,
            functools.partial(checkpoint_bytes, kind=kind),
        )
        for kind in trainer.slots
    ]
    files.append(
        ExportFile(
            "script",
            "Standalone PyTorch script (.py)",
            script_filename(trainer.cfg),
            "text/x-python",
            lambda t: standalone_script(
                t.cfg, max(t.step_count, 100), script_note, t.events, t.initial_cfg
            ),
            cli=False,
            prefixed=False,
        )
    )
    return files


def write_files(trainer: Trainer, folder: str | Path, skip: Collection[str] = ()) -> list[str]:
    """Write the CLI's files (``ExportFile.cli``, ids not in ``skip``); returns their names."""
    written = []
    for item in export_files(trainer):
        if item.cli and item.id not in skip:
            data = item.build(trainer)
            path = Path(folder) / item.suffix
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(data, encoding="utf-8")
            written.append(item.suffix)
    return written
