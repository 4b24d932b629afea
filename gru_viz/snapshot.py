"""Save a whole run and load it back, so a page continues exactly where the run was.

A run file (``save_run``) holds what a page needs to go on: the settings (as strings, those
that differ from the defaults, as a link carries them), the step count, each model's weights
and optimizer state (Adam's moments, or nothing while the optimizer is not built yet), the batch
generator's state, the histories, the probe series, the events, and a few probe snapshots.
Training a loaded run gives the same numbers, bit for bit on the same machine, as the original
would have (tests/test_snapshot.py).

Probe snapshots are what would make a file big: their traces (every gate at every step of every
probe sequence) are megabytes. A file keeps the initialisation, up to ``KEEP_BETWEEN`` snapshots
evenly spaced in between and the newest, each with its small parts (the per-step gradient norms,
predictions, losses, σ_max) and the recurrent weights it was taken with, and no traces: the
traces depend only on those weights, the fixed probe batch and the intervention in force, so
``load_run`` replays them with ``gru_viz.probe.probe``. (The readout's weights at a past probe are
nowhere in a run, so the parts that depend on them, such as the gradients and losses, are kept
as they were.) Which intervention a snapshot was probed with is not recorded in it; saving finds
it by replaying each kept snapshot with no intervention and with the model's current one, and
keeps the one that reproduces its traces exactly (a snapshot that neither reproduces is kept
without traces, as the trace budget leaves old snapshots anyway).

``load_run`` refuses anything malformed with ``SnapshotError`` before it builds anything from it,
by the rules of ``gru_viz.checkpoint``: torch's zip format only, bounded sizes, unpickled with
``torch.load(weights_only=True)``, and every tensor checked for its exact type, shape and (where
it must be) finite values before a value is read. ``read_run`` adds the checks on the path: a
regular file, opened without waiting on a FIFO. The checks of each part live in
``gru_viz.run_checks``.

``copy_run`` forks a run in memory (a class's "fork this run") with the same semantics, keeping
every snapshot as it is. Call these under the session's lock (``LiveSession.export``), as a
training step changes what they read. Callbacks (``on_step_end``, ``on_probe``) are not copied.

Each lesson ships a trained run of its setup in ``gru_viz/lesson_runs/<key>.pt``;
``python -m gru_viz.snapshot --all`` regenerates them (``--check`` only compares).
"""

from __future__ import annotations

import argparse
import copy
import functools
import io
import math
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from gru_viz import safe_torch_file
from gru_viz.config import (
    FIELD_BY_NAME,
    RunConfig,
    config_to_strings,
    format_value,
)
from gru_viz.models import NO_INTERVENTION, Intervention
from gru_viz.probe import probe
from gru_viz.records import BoundedSeries, ProbeResult, ProbeSnapshots
from gru_viz.run_checks import (
    MAX_HIDDEN,
    MAX_STEPS,
    SnapshotError,
    as_bool,
    as_dict,
    as_int,
    as_text,
    check_config,
    check_events,
    check_intervention,
    check_series,
    check_state,
    check_tensor,
    exact_keys,
)
from gru_viz.safe_torch_file import show
from gru_viz.trainer import ModelSlot, Trainer, make_optimizer

FORMAT = "gru-viz-run/1"
RUNS_DIR = Path(__file__).resolve().with_name("lesson_runs")
# Snapshots a file keeps between the initialisation and the newest: the gradient chart draws
# the initialisation, three in between and the newest (about 20 kB a snapshot for both models).
KEEP_BETWEEN = 3
MAX_RUN_BYTES = 16 * 1024 * 1024  # a lesson's run is ~200 kB; a long run's history adds ~1 MB
RUN_FILE = "run file"  # what refusals call it
MAX_SNAPSHOTS = 1_000
# The per-parameter state each optimizer keeps (cfg.optimizer -> names); SGD without momentum
# keeps none.
OPTIMIZER_STATE = {"adam": ("step", "exp_avg", "exp_avg_sq"), "sgd": ()}

# What a run holds, field by field: a field added to ModelSlot or Trainer must be saved here (or
# listed as rebuilt), which tests/test_snapshot.py checks.
SLOT_FIELDS = frozenset(
    ("kind", "model", "make_optimizer", "history", "probe_series", "snapshots", "latest")
    + ("stopped", "intervention", "intervene_in_training", "_last_good", "_healthy", "_optimizer")
)
TRAINER_FIELDS = frozenset(
    ("cfg", "initial_cfg", "events", "task", "on_step_end", "on_probe", "step_count")
    + ("probe_seconds", "data_generator", "probe_batch", "slots")
)
_TOP = frozenset(
    ("format", "config", "initial_config", "step_count", "data_generator", "hidden_sizes")
    + ("events", "slots")
)
_SLOT = frozenset(
    ("weights", "optimizer", "history", "probe_series", "snapshots", "latest", "stopped")
    + ("intervention", "intervene_in_training", "healthy")
)
_ENTRY = frozenset(
    ("step", "grad_h_norm", "prediction", "loss", "sigma_max", "weights", "traces")
    + ("intervention",)
)


# -- saving ----------------------------------------------------------------------------------
def save_run(trainer: Trainer) -> bytes:
    """The run as the bytes of a ``torch.save`` file (the same run gives the same bytes)."""
    buffer = io.BytesIO()
    torch.save(_canonical(_capture(trainer, with_snapshots=True)), buffer)
    return buffer.getvalue()


def _canonical(value: object) -> object:
    """Equal texts as one object. Pickle writes an object it has seen as a reference to it,
    so without this a loaded run (its config and initial config read separately) would save
    to other bytes than the run it came from, for the same content."""
    if isinstance(value, str):
        return sys.intern(value)
    if isinstance(value, dict):
        return {_canonical(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def copy_run(trainer: Trainer) -> Trainer:
    """An independent copy that trains on exactly as the original would, snapshots and all."""
    copied = _restore(_capture(trainer, with_snapshots=False), with_snapshots=False)
    for kind, slot in trainer.slots.items():
        twin = copied.slots[kind]
        twin.snapshots = copy.deepcopy(slot.snapshots)
        index = next((i for i, r in enumerate(slot.snapshots.results) if r is slot.latest), None)
        twin.latest = (
            twin.snapshots.results[index] if index is not None else copy.deepcopy(slot.latest)
        )
    return copied


class _Pool:
    """One stored tensor for equal tensors (torch.save writes a shared tensor once): the
    newest probe's weights are the model's, the last healthy weights often too."""

    def __init__(self) -> None:
        self._seen: dict[tuple, torch.Tensor] = {}

    def share(self, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.detach().cpu().contiguous()
        key = (str(tensor.dtype), tuple(tensor.shape), tensor.numpy().tobytes())
        return self._seen.setdefault(key, tensor.clone())


def _capture(trainer: Trainer, with_snapshots: bool) -> dict:
    pool = _Pool()
    slots = {}
    for kind, slot in trainer.slots.items():
        slots[kind] = {
            "weights": {k: pool.share(v) for k, v in slot.model.state_dict().items()},
            "optimizer": _capture_optimizer(slot, trainer.cfg, pool),
            "history": _capture_series(slot.history),
            "probe_series": _capture_series(slot.probe_series),
            "snapshots": None,
            "latest": None,
            "stopped": slot.stopped,
            "intervention": _capture_intervention(slot.intervention),
            "intervene_in_training": bool(slot.intervene_in_training),
            "healthy": None,
        }
        if slot._healthy is not None:
            step, weights = slot._healthy
            names = [name for name, _ in slot.model.named_parameters()]
            healthy = {n: pool.share(w) for n, w in zip(names, weights, strict=True)}
            slots[kind]["healthy"] = {"step": int(step), "weights": healthy}
        if with_snapshots:
            slots[kind]["snapshots"], slots[kind]["latest"] = _capture_snapshots(
                trainer, slot, pool
            )
    return {
        "format": FORMAT,
        "config": config_to_strings(trainer.cfg),
        "initial_config": config_to_strings(trainer.initial_cfg),
        "step_count": int(trainer.step_count),
        "data_generator": trainer.data_generator.get_state().clone(),
        "hidden_sizes": {kind: int(s.model.hidden_size) for kind, s in trainer.slots.items()},
        "events": [
            {
                "step": int(e.step),
                "kind": e.kind,
                "text": e.text,
                "affects_training": bool(e.affects_training),
                "changes": [[name, format_value(FIELD_BY_NAME[name], v)] for name, v in e.changes],
            }
            for e in trainer.events
        ],
        "slots": slots,
    }


def _capture_optimizer(slot: ModelSlot, cfg: RunConfig, pool: _Pool) -> dict | None:
    if slot._optimizer is None:
        return None  # not built yet: it will be, from the config, on the first step
    state = slot._optimizer.state_dict()
    names = [name for name, _ in slot.model.named_parameters()]
    groups = state["param_groups"]
    if len(groups) != 1 or list(groups[0]["params"]) != list(range(len(names))):
        raise SnapshotError("the optimizer has parameter groups this format does not keep")
    kept = {}
    for index, values in state["state"].items():
        if set(values) != set(OPTIMIZER_STATE[cfg.optimizer]):
            raise SnapshotError(f"unexpected {cfg.optimizer} state {sorted(values)}")
        kept[names[index]] = {k: pool.share(torch.as_tensor(values[k])) for k in sorted(values)}
    return {"lr": float(groups[0]["lr"]), "state": kept}


def _capture_series(series: BoundedSeries) -> dict:
    return {
        "capacity": int(series.capacity),
        "stride": int(series.stride),
        "columns": {
            name: torch.tensor(column, dtype=torch.float64)
            for name, column in series.columns.items()
        },
    }


def _capture_intervention(intervention: Intervention) -> dict:
    def clamp(value: float | None) -> float | None:
        return None if value is None else float(value)

    return {
        "clamp_update": clamp(intervention.clamp_update),
        "clamp_reset": clamp(intervention.clamp_reset),
        "ablate_units": [int(u) for u in intervention.ablate_units],
    }


def kept_snapshots(steps_by_model: Mapping[str, list[int]]) -> dict[str, list[int]]:
    """Which snapshots a file keeps, per model: the first and the newest, and up to
    ``KEEP_BETWEEN`` steps evenly spaced among those every model has (so a slider over the
    steps the models share still finds them)."""
    common = sorted(set.intersection(*(set(s) for s in steps_by_model.values())))
    spots = np.linspace(0, len(common) - 1, KEEP_BETWEEN + 2).round().astype(int)
    picks = {common[i] for i in spots} if common else set()
    kept = {}
    for kind, steps in steps_by_model.items():
        newest = {step: i for i, step in enumerate(steps)}  # the latest probe at each step
        indices = {0, len(steps) - 1} | {newest[s] for s in picks}
        kept[kind] = sorted(i for i in indices if 0 <= i < len(steps))
    return kept


def _capture_snapshots(trainer: Trainer, slot: ModelSlot, pool: _Pool) -> tuple[dict, object]:
    snapshots = slot.snapshots
    steps = {kind: s.snapshots.steps for kind, s in trainer.slots.items()}
    indices = kept_snapshots(steps)[slot.kind]
    scratch = copy.deepcopy(slot.model)  # replays the probe with a snapshot's weights
    entries = [_capture_result(trainer, slot, scratch, snapshots.results[i], pool) for i in indices]
    if slot.latest is None:
        latest = None
    elif indices and snapshots.results[indices[-1]] is slot.latest:
        latest = "last"
    else:
        latest = _capture_result(trainer, slot, scratch, slot.latest, pool)
    snaps = {
        "capacity": int(snapshots.capacity),
        "trace_budget_bytes": int(snapshots.trace_budget_bytes),
        "entries": entries,
    }
    return snaps, latest


def _capture_result(
    trainer: Trainer, slot: ModelSlot, scratch, result: ProbeResult, pool: _Pool
) -> dict:
    intervention = None
    if result.traces:
        candidates = [NO_INTERVENTION]
        if slot.intervention.active:
            candidates.append(slot.intervention)
        for candidate in candidates:
            replayed = _replay(trainer, scratch, result.weights, result.step, candidate)
            if _same_traces(replayed, result.traces):
                intervention = _capture_intervention(candidate)
                break
        if intervention is None and result is slot.latest:
            intervention = _capture_intervention(slot.intervention)  # what it was probed with
    return {
        "step": int(result.step),
        "grad_h_norm": torch.from_numpy(np.array(result.grad_h_norm, dtype=np.float32)),
        "prediction": torch.from_numpy(np.array(result.prediction, dtype=np.float32)),
        "loss": torch.from_numpy(np.array(result.loss, dtype=np.float32)),
        "sigma_max": float(result.sigma_max),
        "weights": {
            k: pool.share(torch.from_numpy(np.array(v))) for k, v in result.weights.items()
        },
        "traces": intervention is not None,
        "intervention": intervention,
    }


def _replay(trainer: Trainer, scratch, weights, step: int, intervention: Intervention) -> dict:
    """The traces of a probe with these recurrent weights: they depend on nothing else."""
    with torch.no_grad():
        for name, parameter in scratch.rnn.named_parameters():
            parameter.copy_(torch.as_tensor(weights[name]))
    return probe(scratch, trainer.task, trainer.probe_batch, step, intervention).traces


def _same_traces(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].shape == b[k].shape and np.array_equal(a[k], b[k], equal_nan=True) for k in a
    )


# -- loading ---------------------------------------------------------------------------------
def read_run(path: str | os.PathLike, max_bytes: int = MAX_RUN_BYTES) -> Trainer:
    """Load a run file: a regular file only, never waiting on a FIFO (gru_viz.safe_torch_file)."""
    return load_run(safe_torch_file.read_regular_file(path, max_bytes, SnapshotError, RUN_FILE))


def load_run(data: bytes, max_bytes: int = MAX_RUN_BYTES) -> Trainer:
    """A Trainer from ``save_run``'s bytes; raises SnapshotError, naming the reason, for
    anything else. Nothing in the data is executed, and nothing is built from it unchecked."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SnapshotError("a run is bytes")
    state = safe_torch_file.load(bytes(data), max_bytes, SnapshotError, RUN_FILE)
    return _restore(state)


def _restore(state: object, with_snapshots: bool = True) -> Trainer:
    """Build the trainer ``state`` describes, checking every part before using it."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SnapshotError("not a gru-viz run (missing format marker)")
    exact_keys("the run", state, _TOP)
    cfg, initial = (
        check_config(state["config"], "config"),
        check_config(state["initial_config"], "initial"),
    )
    if cfg.structural_changes(initial):
        raise SnapshotError("config and initial config differ in settings that rebuild a run")
    step_count = as_int(state["step_count"], "step_count", 0, MAX_STEPS)
    hidden = as_dict(state["hidden_sizes"], "hidden_sizes")
    slots = as_dict(state["slots"], "slots")
    for name, part in (("hidden_sizes", hidden), ("slots", slots)):
        if list(part) != list(cfg.models):
            raise SnapshotError(f"{name} has {list(part)[:8]}, not the config's models")
    # Sizes matched to the GRU's parameter count are at most 4 x its own (hidden_sizes_for): a
    # model is never much larger than the config, whose cost the config's budget has bounded.
    most = min(MAX_HIDDEN, 4 * cfg.hidden_size)
    sizes = {kind: as_int(h, f"hidden size of {kind}", 1, most) for kind, h in hidden.items()}
    events = check_events(state["events"], initial, step_count)
    generator_state = check_tensor(
        state["data_generator"], "data_generator", torch.Generator().get_state().shape, torch.uint8
    )

    trainer = Trainer(initial, hidden_sizes=sizes)  # every shape below is checked against it
    trainer.cfg = cfg
    trainer.step_count = step_count
    trainer.events = events
    trainer.probe_seconds = 0.0
    try:
        trainer.data_generator.set_state(generator_state.clone())
    except (RuntimeError, ValueError) as err:
        raise SnapshotError(f"data_generator: {safe_torch_file.first_line(err)}") from None
    for kind, slot in trainer.slots.items():
        _restore_slot(trainer, slot, as_dict(slots[kind], kind), with_snapshots)
    return trainer


def _restore_slot(trainer: Trainer, slot: ModelSlot, data: dict, with_snapshots: bool) -> None:
    kind, model, cfg = slot.kind, slot.model, trainer.cfg
    exact_keys(kind, data, _SLOT)
    template = slot.latest  # the probe the new trainer took: the shapes every probe has
    params = dict(model.named_parameters())
    weights = check_state(data["weights"], f"{kind}.weights", model.state_dict())
    model.load_state_dict(weights)  # copies into the parameters

    slot.make_optimizer = functools.partial(make_optimizer, cfg, model)
    slot._optimizer = None
    if data["optimizer"] is not None:
        _restore_optimizer(slot, as_dict(data["optimizer"], f"{kind}.optimizer"), cfg, params)
    slot.history = check_series(data["history"], f"{kind}.history", trainer.step_count)
    slot.probe_series = check_series(
        data["probe_series"], f"{kind}.probe_series", trainer.step_count
    )
    stopped = data["stopped"]
    slot.stopped = None if stopped is None else as_text(stopped, f"{kind}.stopped")
    slot.intervention = check_intervention(data["intervention"], f"{kind}.intervention")
    slot.intervene_in_training = as_bool(data["intervene_in_training"], "intervene_in_training")
    slot._last_good = []  # filled before each update; what it held before one never matters
    slot._healthy = None
    if data["healthy"] is not None:
        healthy = as_dict(data["healthy"], f"{kind}.healthy")
        exact_keys(f"{kind}.healthy", healthy, {"step", "weights"})
        step = as_int(healthy["step"], f"{kind}.healthy.step", 0, trainer.step_count)
        kept = check_state(healthy["weights"], f"{kind}.healthy.weights", params)
        slot._healthy = (step, [kept[name].clone() for name in params])
    if with_snapshots:  # (copy_run copies them as they are)
        _restore_snapshots(trainer, slot, data, template)


def _restore_optimizer(slot: ModelSlot, data: dict, cfg: RunConfig, params: dict) -> None:
    exact_keys(f"{slot.kind}.optimizer", data, {"lr", "state"})
    lr = data["lr"]
    if type(lr) is not float or not math.isfinite(lr) or lr <= 0:
        raise SnapshotError(f"{slot.kind}.optimizer.lr {show(lr)} is not a positive number")
    kept = as_dict(data["state"], f"{slot.kind}.optimizer.state")
    names = list(params)
    state = {}
    for name, values in kept.items():
        if name not in params:
            raise SnapshotError(f"{slot.kind}.optimizer.state has an unexpected key {show(name)}")
        where = f"{slot.kind}.optimizer.state.{name}"
        values = as_dict(values, where)
        exact_keys(where, values, set(OPTIMIZER_STATE[cfg.optimizer]))
        parsed = {}
        for key, value in values.items():
            shape = () if key == "step" else params[name].shape
            tensor = check_tensor(value, f"{where}.{key}", shape, torch.float32, finite=True)
            if key in ("step", "exp_avg_sq") and bool((tensor < 0).any()):
                raise SnapshotError(f"{where}.{key} is negative")
            parsed[key] = tensor.clone()  # never shared: Adam updates these in place
        state[names.index(name)] = parsed
    optimizer = slot.make_optimizer()
    saved = optimizer.state_dict()
    saved["state"] = state
    saved["param_groups"][0]["lr"] = lr
    optimizer.load_state_dict(saved)
    slot._optimizer = optimizer


def _restore_snapshots(trainer: Trainer, slot: ModelSlot, data: dict, template) -> None:
    where = f"{slot.kind}.snapshots"
    snaps = as_dict(data["snapshots"], where)
    exact_keys(where, snaps, {"capacity", "trace_budget_bytes", "entries"})
    capacity = as_int(snaps["capacity"], f"{where}.capacity", 1, MAX_SNAPSHOTS)
    budget = as_int(
        snaps["trace_budget_bytes"], f"{where}.trace_budget_bytes", 0, MAX_RUN_BYTES * 64
    )
    entries = snaps["entries"]
    if type(entries) is not list or len(entries) > capacity:
        raise SnapshotError(f"{where}.entries is not a list of at most {capacity} snapshots")
    scratch = copy.deepcopy(slot.model)
    restored = ProbeSnapshots(capacity=capacity, trace_budget_bytes=budget)
    for i, entry in enumerate(entries):
        restored.add(_result(trainer, slot, scratch, entry, f"{where}[{i}]", template))
    latest = data["latest"]
    if type(latest) is str:
        if latest != "last" or not restored.results:
            raise SnapshotError(f"{slot.kind}.latest {show(latest)} names no snapshot")
        slot.latest = restored.results[-1]  # the same object, as in a live run
    elif latest is None:
        slot.latest = None
    else:
        slot.latest = _result(trainer, slot, scratch, latest, f"{slot.kind}.latest", template)
    slot.snapshots = restored


def _result(trainer, slot, scratch, entry, where: str, template: ProbeResult) -> ProbeResult:
    entry = as_dict(entry, where)
    exact_keys(where, entry, _ENTRY)
    step = as_int(entry["step"], f"{where}.step", 0, trainer.step_count)

    def array(name: str, like: np.ndarray) -> np.ndarray:
        return (
            check_tensor(entry[name], f"{where}.{name}", like.shape, torch.float32).numpy().copy()
        )

    shapes = {k: torch.from_numpy(v) for k, v in template.weights.items()}
    stored = check_state(entry["weights"], f"{where}.weights", shapes)
    weights = {k: v.numpy().copy() for k, v in stored.items()}
    sigma = entry["sigma_max"]
    if type(sigma) is not float or not math.isfinite(sigma):
        raise SnapshotError(f"{where}.sigma_max {show(sigma)} is not a finite number")
    traces = as_bool(entry["traces"], f"{where}.traces")
    intervention = NO_INTERVENTION
    if entry["intervention"] is not None:
        intervention = check_intervention(entry["intervention"], f"{where}.intervention")
    return ProbeResult(
        step=step,
        kind=slot.kind,
        traces=_replay(trainer, scratch, weights, step, intervention) if traces else {},
        grad_h_norm=array("grad_h_norm", template.grad_h_norm),
        prediction=array("prediction", template.prediction),
        loss=array("loss", template.loss),
        sigma_max=sigma,
        weights=weights,
    )


# -- the lessons' trained runs ---------------------------------------------------------------
def lesson_run_path(key: str) -> Path:
    return RUNS_DIR / f"{key}.pt"


def load_lesson_run(key: str) -> Trainer:
    """The shipped trained run of lesson ``key`` ("Jump to a trained run")."""
    return read_run(lesson_run_path(key))


def train_lesson_run(key: str) -> Trainer:
    """What a lesson's shipped run is: its setup (seed 0) trained for the lesson's steps, or
    until every model stopped (the exploding-gradient lesson's run blows up on the way)."""
    from gru_viz.lessons import LESSONS, start_trainer

    lesson = LESSONS[key]
    trainer = start_trainer(lesson)
    trainer.step(lesson.steps - trainer.step_count)
    return trainer


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)  # readers see the old file or the new one, never half of one


def main(argv: list[str] | None = None) -> int:
    from gru_viz.lessons import LESSONS, check_claim

    parser = argparse.ArgumentParser(
        prog="python -m gru_viz.snapshot",
        description="Train each lesson's setup and save its run to gru_viz/lesson_runs/.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every lesson")
    which.add_argument("--lesson", action="append", choices=sorted(LESSONS), help="this lesson")
    parser.add_argument(
        "--check", action="store_true", help="compare with the shipped files; write nothing"
    )
    args = parser.parse_args(argv)
    keys = list(LESSONS) if args.all else args.lesson
    stale = []
    for number, key in enumerate(keys, 1):
        start = time.perf_counter()
        trainer = train_lesson_run(key)
        data = save_run(trainer)
        claim = check_claim(LESSONS[key], load_run(data), wait=True)
        path = lesson_run_path(key)
        same = path.is_file() and path.read_bytes() == data
        if not claim.holds:
            print(f"{key}: the lesson's claim does not hold on this run: {claim.summary}")
            return 1
        if args.check:
            stale += [] if same else [key]
            state = "matches" if same else "DIFFERS from the shipped file"
        else:
            if not same:
                _write(path, data)
            state = "unchanged" if same else "written"
        print(
            f"[{number}/{len(keys)}] {key}: {trainer.step_count} steps, {len(data) / 1000:.0f} kB, "
            f"claim holds, {state} ({time.perf_counter() - start:.1f} s)",
            flush=True,
        )
    if stale:
        print(f"stale: {', '.join(stale)}; regenerate with python -m gru_viz.snapshot --all")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
