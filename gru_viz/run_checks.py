"""Checks for the parts of a run file (``gru_viz.snapshot``): each takes a value read from an
untrusted file and returns it typed, or raises ``SnapshotError`` saying where and why.

Every check looks at a value's type and size before reading it (a tensor view can claim 10¹²
elements, a list can be a million entries), and never formats what it refuses beyond a short
``show``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from gru_viz.checkpoint import SIZE_LIMITS
from gru_viz.config import FIELD_BY_NAME, RunConfig, config_from_strings
from gru_viz.models import Intervention
from gru_viz.records import BoundedSeries, Event
from gru_viz.safe_torch_file import show

MAX_STEPS = 10**9
MAX_SERIES_ROWS = 1_000_000
MAX_EVENTS = 10_000
MAX_TEXT = 4_000
MAX_NAME = 64
MAX_HIDDEN = SIZE_LIMITS["hidden_size"]


class SnapshotError(ValueError):
    """The data is not a gru-viz run we can load safely; the message says why."""


def check_config(values: object, where: str) -> RunConfig:
    values = as_dict(values, where)
    for name, value in values.items():
        if name not in FIELD_BY_NAME or type(value) is not str:
            raise SnapshotError(f"{where} has {show(name)}: {show(value)}, not a setting")
    cfg, problems = config_from_strings(values)  # a field a file lacks keeps its default
    if problems:
        raise SnapshotError(f"{where}: {problems[0]}")
    return cfg


def check_events(values: object, initial: RunConfig, step_count: int) -> list[Event]:
    if type(values) is not list or len(values) > MAX_EVENTS:
        raise SnapshotError(f"events is not a list of at most {MAX_EVENTS}")
    events, running = [], initial
    for i, value in enumerate(values):
        where = f"events[{i}]"
        value = as_dict(value, where)
        exact_keys(where, value, {"step", "kind", "text", "affects_training", "changes"})
        changes = value["changes"]
        if type(changes) is not list or not all(
            type(c) is list and len(c) == 2 and type(c[0]) is str for c in changes
        ):
            raise SnapshotError(f"{where}.changes is not a list of [setting, value] pairs")
        names = [name for name, _ in changes]
        if len(set(names)) != len(names) or not set(names) <= FIELD_BY_NAME.keys():
            raise SnapshotError(f"{where}.changes names an unknown or repeated setting")
        # Each change read as the setting it names would read it, on the settings before it.
        running, problems = config_from_strings(dict(changes), running)
        if problems:
            raise SnapshotError(f"{where}.changes: {problems[0]}")
        events.append(
            Event(
                as_int(value["step"], f"{where}.step", 0, step_count),
                as_text(value["kind"], f"{where}.kind", MAX_NAME),
                as_text(value["text"], f"{where}.text"),
                as_bool(value["affects_training"], f"{where}.affects_training"),
                tuple((name, getattr(running, name)) for name in names),
            )
        )
    return events


def check_series(value: object, where: str, step_count: int) -> BoundedSeries:
    value = as_dict(value, where)
    exact_keys(where, value, {"capacity", "stride", "columns"})
    capacity = as_int(value["capacity"], f"{where}.capacity", 1, MAX_SERIES_ROWS)
    stride = as_int(value["stride"], f"{where}.stride", 1, MAX_STEPS)
    if stride & (stride - 1):
        raise SnapshotError(f"{where}.stride {stride} is not a power of two")
    columns = as_dict(value["columns"], f"{where}.columns")
    if columns and next(iter(columns)) != "step":
        raise SnapshotError(f"{where} has no step column first")
    rows = None
    for name, column in columns.items():
        as_text(name, f"{where} column name", MAX_NAME)
        if type(column) is not torch.Tensor or column.dim() != 1:
            raise SnapshotError(f"{where}.{name} is not a column")
        rows = len(column) if rows is None else rows
        # Its length, checked before any value is read (a view can claim any length).
        check_tensor(column, f"{where}.{name}", (rows,), torch.float64)
    if rows is not None and rows > capacity:
        raise SnapshotError(f"{where} has {rows} rows; its capacity is {capacity}")
    values = {name: column.tolist() for name, column in columns.items()}
    steps = values.get("step", [])
    if not all(
        math.isfinite(s) and s == int(s) and 0 <= s <= step_count and int(s) % stride == 0
        for s in steps
    ) or any(b < a for a, b in zip(steps, steps[1:], strict=False)):
        raise SnapshotError(f"{where}.step holds steps this run cannot have")
    series = BoundedSeries(capacity)
    series.stride = stride
    for row in range(len(steps)):  # appended as the trainer appended them
        series.append(int(steps[row]), **{n: v[row] for n, v in values.items() if n != "step"})
    if len(series) != len(steps):
        raise SnapshotError(f"{where} does not fit its capacity")
    return series


def check_intervention(value: object, where: str) -> Intervention:
    value = as_dict(value, where)
    exact_keys(where, value, {"clamp_update", "clamp_reset", "ablate_units"})
    clamps = {}
    for name in ("clamp_update", "clamp_reset"):
        clamp = value[name]
        if clamp is not None and (type(clamp) is not float or not 0.0 <= clamp <= 1.0):
            raise SnapshotError(f"{where}.{name} {show(clamp)} is not a number in 0..1")
        clamps[name] = clamp
    units = value["ablate_units"]
    if (
        type(units) is not list
        or len(units) > MAX_HIDDEN
        or not all(type(u) is int and 0 <= u < MAX_HIDDEN for u in units)
        or len(set(units)) != len(units)
    ):
        raise SnapshotError(f"{where}.ablate_units is not a list of distinct unit numbers")
    return Intervention(ablate_units=tuple(units), **clamps)


def check_state(value: object, where: str, like: Mapping[str, torch.Tensor]) -> dict:
    """Exactly ``like``'s keys, each a finite float32 tensor of its shape."""
    value = as_dict(value, where)
    for key in value:
        if key not in like:
            raise SnapshotError(f"{where} has an unexpected key {show(key)}")
    missing = [key for key in like if key not in value]
    if missing:
        raise SnapshotError(f"{where} lacks {missing[0]}")
    return {
        key: check_tensor(value[key], f"{where}.{key}", tuple(t.shape), torch.float32, finite=True)
        for key, t in like.items()
    }


def check_tensor(value: object, where: str, shape, dtype: torch.dtype, finite: bool = False):
    # Meta, sparse, nested and quantised tensors all unpickle; none belongs in a run.
    if (
        type(value) is not torch.Tensor
        or value.is_nested
        or value.layout != torch.strided
        or value.device.type != "cpu"
        or value.dtype != dtype
    ):
        raise SnapshotError(f"{where} is not a dense CPU tensor of {dtype}")
    # The shape before any value: a zero-stride view of one stored number can claim 10^12.
    if tuple(value.shape) != tuple(shape):
        raise SnapshotError(f"{where} has shape {tuple(value.shape)}, expected {tuple(shape)}")
    if finite and not bool(torch.isfinite(value).all()):
        raise SnapshotError(f"{where} holds NaN or infinite values")
    return value


def exact_keys(where: str, value: dict, keys) -> None:
    keys = frozenset(keys)
    if keys - value.keys():
        raise SnapshotError(f"{where} lacks {', '.join(sorted(keys - value.keys()))}")
    extra = value.keys() - keys
    if extra:
        raise SnapshotError(f"{where} has an unexpected key {show(next(iter(extra)))}")


def as_dict(value: object, where: str) -> dict:
    if not isinstance(value, dict) or not all(type(k) is str for k in value):
        raise SnapshotError(f"{where} is {show(value)}, not a dict with names for keys")
    return value


def as_int(value: object, where: str, lo: int, hi: int) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise SnapshotError(f"{where} {show(value)} is not a whole number in {lo}..{hi}")
    return value


def as_bool(value: object, where: str) -> bool:
    if type(value) is not bool:
        raise SnapshotError(f"{where} {show(value)} is not true or false")
    return value


def as_text(value: object, where: str, most: int = MAX_TEXT) -> str:
    if type(value) is not str or len(value) > most:
        raise SnapshotError(f"{where} is not a text of at most {most} characters")
    return value
