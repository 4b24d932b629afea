"""What changed a run while it trained (settings, interventions, restores, rebuilds) is recorded
once, marked on the training charts, and kept in every export."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from gru_viz import export
from gru_viz.config import RunConfig
from gru_viz.figures import FIGURES, Selection, run_view
from gru_viz.models import Intervention
from gru_viz.report import build_report
from gru_viz.session import LiveSession

TINY = RunConfig(seq_len=8, hidden_size=4, batch_size=4, probe_every=2)


def eventful() -> LiveSession:
    live = LiveSession(TINY)
    live.step(3)
    live.apply(live.cfg.replace(lr=0.003))
    live.step(2)
    live.set_intervention(Intervention(clamp_update=0.5), True)
    live.step(2)
    live.set_intervention(Intervention(), False)
    live.step(1)
    return live


def test_each_change_is_one_event_at_its_step():
    events = eventful().trainer.events
    assert [(e.step, e.kind) for e in events] == [
        (3, "settings"),
        (5, "intervention"),
        (7, "intervention"),
    ]
    assert events[0].text == "learning rate 0.01 → 0.003" and events[0].changes == (("lr", 0.003),)
    assert "z clamped to 0.50" in events[1].text and "training" in events[1].text
    assert all(e.affects_training for e in events)
    # Probe-only interventions do not change training, and nothing unchanged is recorded.
    live = LiveSession(TINY)
    live.set_intervention(Intervention(ablate_units=(1,)), False)
    live.set_intervention(Intervention(ablate_units=(1,)), False)
    (event,) = live.trainer.events
    assert not event.affects_training and "probe only" in event.text


def test_a_rebuild_starts_its_run_with_why():
    live = eventful()
    live.apply(live.cfg.replace(hidden_size=5))
    (event,) = live.trainer.events
    assert (event.step, event.kind) == (0, "rebuild") and "hidden units 4 → 5" in event.text


def test_the_training_charts_mark_every_event_and_name_it_on_hover():
    view = run_view(eventful().trainer)
    for figure_id in ("loss", "grad_norm"):
        layout = FIGURES[figure_id].build(view, Selection()).to_dict()["layout"]
        lines = [s for s in layout["shapes"] if s.get("yref") == "paper" and s["x0"] == s["x1"]]
        assert [s["x0"] for s in lines] == [3, 5, 7], figure_id
        labels = {a["x"]: a for a in layout["annotations"] if "hovertext" in a}
        assert labels[3]["text"] == "lr" and "0.003" in labels[3]["hovertext"]


def test_every_export_keeps_the_events():
    trainer = eventful().trainer
    rows = list(csv.DictReader(io.StringIO(export.metrics_csv(trainer))))
    marked = {(int(r["step"]), r["model"]): r["event"] for r in rows if r["event"]}
    assert marked[(4, "gru")] == marked[(4, "rnn")] == "learning rate 0.01 → 0.003"
    assert "z clamped" in marked[(6, "gru")] and marked[(8, "gru")] == "interventions cleared"
    assert len(marked) == 6
    texts = [e.text for e in trainer.events]
    assert [e["text"] for e in json.loads(export.probe_json(trainer))["events"]] == texts
    npz = np.load(io.BytesIO(export.probe_npz_bytes(trainer)))
    assert [e["text"] for e in json.loads(str(npz["events"]))] == texts
    report = build_report(trainer)
    assert all(text in report for text in texts)
    assert "What changed while it trained" in report
