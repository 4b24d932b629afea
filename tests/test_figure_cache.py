"""The live panel's figure cache: rebuilt exactly when what a chart shows changes."""

from __future__ import annotations

import json

import plotly.io as pio

from gru_viz import plots
from gru_viz.config import RunConfig
from gru_viz.figure_cache import FigureCache
from gru_viz.trainer import Trainer

SMALL = RunConfig(seq_len=12, hidden_size=8, batch_size=8, probe_samples=3, probe_every=5)


def gates(cache: FigureCache, trainer: Trainer, sample: int, cursor: int):
    probes = {k: s.latest for k, s in trainer.slots.items()}
    return cache.get(
        "gates",
        (*probes.values(), sample, cursor),
        lambda: plots.gate_figure(probes, sample, cursor=cursor),
    )


def test_a_chart_is_rebuilt_only_when_its_probe_sample_or_cursor_changes():
    trainer, cache = Trainer(SMALL), FigureCache()
    first = gates(cache, trainer, 0, 3)
    assert gates(cache, trainer, 0, 3) is first
    assert gates(cache, trainer, 1, 3) is not first  # another sample
    moved = gates(cache, trainer, 1, 4)  # the cursor moved
    trainer.step(2)  # no probe yet (every 5 steps): the same picture
    assert gates(cache, trainer, 1, 4) is moved
    trainer.step(3)  # step 5 probes: new gate values
    fresh = gates(cache, trainer, 1, 4)
    assert fresh is not moved and (cache.built, cache.reused) == (4, 2)
    expected = plots.gate_figure({k: s.latest for k, s in trainer.slots.items()}, 1, cursor=4)
    assert json.loads(pio.to_json(fresh)) == json.loads(pio.to_json(expected))


def test_a_frozen_figure_serialises_once_and_like_plotly():
    trainer, cache = Trainer(SMALL), FigureCache()
    figure = gates(cache, trainer, 0, 3)
    first = figure.to_dict()
    assert figure.to_dict() is first  # what st.plotly_chart serialises, computed once
    plain = plots.gate_figure({k: s.latest for k, s in trainer.slots.items()}, 0, cursor=3)
    assert json.loads(pio.to_json(first)) == json.loads(pio.to_json(plain.to_dict()))


def test_values_compare_by_value_and_records_by_identity():
    cache, built = FigureCache(), []

    def build():
        built.append(1)
        return plots.loading_figure()

    record = object()
    cache.get("x", (record, 2, "a"), build)
    cache.get("x", (record, 2, "a"), build)
    cache.get("x", (object(), 2, "a"), build)  # an equal-looking but new record
    cache.get("x", (record, 2), build)  # fewer inputs
    assert len(built) == 3
