"""Rebuild a figure only when what it shows has changed, and turn it into a dict only once.

A live tick redraws every chart, but the probe charts (hidden states, gates, ‖∂L/∂h_t‖, the
prediction) change only when a probe runs (every ``probe_every`` steps), after an intervention,
or when the user moves the probe sample or the time cursor. Each redraw of a plotly Figure
costs building it and ``to_dict`` (a deep copy and base64 of every array), which is what
the chart is sent. Cached and frozen, an unchanged chart costs almost nothing per
tick; on a server shared by a class that was a quarter of every tick (bench.load_test).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import plotly.graph_objects as go

_VALUES = (int, float, str, bool, type(None))


class FrozenFigure(go.Figure):
    """A finished figure whose dict and JSON are computed on first use and then reused.

    Never change one after it has been drawn: the change would not reach them.
    """

    def to_dict(self) -> dict[str, Any]:
        try:
            return self._frozen_dict
        except AttributeError:
            self._frozen_dict = super().to_dict()
            return self._frozen_dict

    def to_json(self, *args: Any, **kwargs: Any) -> str:
        if args or kwargs:
            return super().to_json(*args, **kwargs)
        try:
            return self._frozen_json
        except AttributeError:
            self._frozen_json = super().to_json()
            return self._frozen_json


def freeze(figure: go.Figure) -> FrozenFigure:
    # The builders' figures are unvalidated plain data: adopting their class keeps that data
    # as it is (no copy, no validation); only ``to_dict`` changes.
    figure.__class__ = FrozenFigure
    return figure


def _same(old: tuple, new: tuple) -> bool:
    """Values compare by value; records (probe results, batches) by identity, since the
    trainer replaces a record rather than changing it (the cache holds the old one, so its id
    cannot be reused)."""
    return len(old) == len(new) and all(
        a == b if isinstance(a, _VALUES) and isinstance(b, _VALUES) else a is b
        for a, b in zip(old, new, strict=True)
    )


class FigureCache:
    """One session's latest figure per chart name, with the inputs it was built from."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[tuple, FrozenFigure]] = {}
        self.built = self.reused = 0

    def get(self, name: Hashable, inputs: tuple, build: Callable[[], go.Figure]) -> go.Figure:
        entry = self._entries.get(name)
        if entry is not None and _same(entry[0], inputs):
            self.reused += 1
            return entry[1]
        figure = freeze(build())
        self._entries[name] = (inputs, figure)
        self.built += 1
        return figure
