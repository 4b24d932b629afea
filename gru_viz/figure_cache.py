"""Rebuild a figure only when what it shows has changed, and turn it into a dict only once.

A live tick redraws every chart, but the probe charts (hidden states, gates, ‖∂L/∂h_t‖, the
prediction) change only when a probe runs (every ``probe_every`` steps), after an intervention,
or when the user moves the probe sample or the time cursor. Each redraw of a plotly Figure
costs building it and ``to_dict`` (a deep copy and base64 of every array), which is what
the chart is sent. Cached and frozen, an unchanged chart costs almost nothing per
tick; on a server shared by a class that was a quarter of every tick (bench.load_test).
"""

from __future__ import annotations

import collections
import hashlib
import threading
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

    def revision(self) -> str:
        """A short digest of the figure's JSON: equal revisions, the same chart (the browser
        skips redrawing it, gru_viz.chart_payload)."""
        try:
            return self._frozen_revision
        except AttributeError:
            self._frozen_revision = revision(self.to_json())
            return self._frozen_revision


def revision(figure_json: str) -> str:
    return hashlib.blake2b(figure_json.encode(), digest_size=8).hexdigest()


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
    """The latest figure per chart name, with the inputs it was built from.

    One session's (names are chart ids), or a class's, shared by every viewer (names include
    each viewer's choices: sample, cursor): then at most ``most`` names are kept, least recently
    used first out, and a lock makes one viewer build what the others then reuse.
    """

    def __init__(self, most: int | None = None) -> None:
        self._entries: collections.OrderedDict[Hashable, tuple[tuple, FrozenFigure]] = (
            collections.OrderedDict()
        )
        self.most = most
        self._lock = threading.Lock()
        self.built = self.reused = 0

    def get(self, name: Hashable, inputs: tuple, build: Callable[[], go.Figure]) -> go.Figure:
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None and _same(entry[0], inputs):
                self._entries.move_to_end(name)
                self.reused += 1
                return entry[1]
            figure = freeze(build())
            self._entries[name] = (inputs, figure)
            self._entries.move_to_end(name)
            if self.most is not None and len(self._entries) > self.most:
                self._entries.popitem(last=False)
            self.built += 1
            return figure
