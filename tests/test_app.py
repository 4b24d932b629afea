"""The dashboard as a user drives it, through Streamlit's AppTest (no browser).

``run_every`` never fires in AppTest, so every ``at.run()`` is one tick of the live fragment.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from gru_viz import chart_payload
from gru_viz.config import RunConfig
from gru_viz.session import LiveSession

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SMALL = {"cfg_seq_len": 12, "cfg_hidden_size": 8, "cfg_batch_size": 16}


def open_app(**settings) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    for key, value in {**SMALL, **settings}.items():
        widget = (
            at.sidebar.get("slider")
            + at.sidebar.get("number_input")
            + at.sidebar.get("selectbox")
            + at.sidebar.get("radio")
            + at.sidebar.get("multiselect")
        )
        matches = [w for w in widget if w.key == key]
        assert matches, f"no sidebar widget {key}"
        matches[0].set_value(value)
    at.run()
    assert not at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


def live(at: AppTest):
    return at.session_state["live"]


def test_page_renders_every_figure_before_training():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value.startswith("Why gates help")
    # Charts are gru_viz.dashboard.plot components, each sent its plotly figure as JSON.
    charts = at.get("bidi_component")
    keys = [c.key for c in charts]
    for figure_id in ("loss", "grad_norm", "grad_h", "prediction", "hidden", "gates"):
        assert f"{figure_id}_chart" in keys, keys
    specs = [f for c in charts for f in chart_payload.figures(c.proto.bytes).values()]
    titles = json.dumps([s["layout"].get("title", "") for s in specs])
    assert "update gate" in json.dumps(specs).lower()
    assert titles  # every figure serialised
    assert metric(at, "Training step") == "0"
    # the equations panel is built only once opened (a lazy expander) and then states
    # PyTorch's convention
    assert not at.latex
    at.session_state["show_equations"] = True  # what clicking the expander's header does
    at.run()
    latex = " ".join(e.body for e in at.latex)
    assert r"r_t \odot (W_{hn} h_{t-1} + b_{hn})" in latex
    assert r"h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}" in latex


def test_step_play_pause_and_reset():
    at = open_app()
    at.selectbox(key="steps_per_click").set_value(10).run()
    at.button(key="step").click().run()
    assert not at.exception
    assert metric(at, "Training step") == "10"
    for loss in (m for m in at.metric if m.label.endswith(" loss")):
        assert loss.delta.endswith("of baseline")
        # a share of the baseline is a level: no up/down arrow suggesting the loss just rose
        assert MetricProto.MetricDirection.Name(loss.proto.direction) == "NONE"
    first_loss = live(at).trainer.slots["gru"].history.array("loss")[0]
    assert len(live(at).trainer.slots["rnn"].history) == 10

    at.button(key="play").click().run()  # the full rerun after the click is the first tick
    assert live(at).playing
    assert int(metric(at, "Training step").replace(",", "")) > 10
    assert at.button(key="play").label.endswith("Pause")
    at.button(key="play").click().run()
    assert not live(at).playing
    paused_at = metric(at, "Training step")
    at.run()
    assert metric(at, "Training step") == paused_at  # paused means no training on a rerun

    at.button(key="reset").click().run()
    assert metric(at, "Training step") == "0"
    at.selectbox(key="steps_per_click").set_value(1).run()
    at.button(key="step").click().run()
    # same seed, same first batch, same initial weights: the same first loss
    assert live(at).trainer.slots["gru"].history.array("loss")[0] == first_loss


def test_learning_rate_applies_live_but_seed_rebuilds():
    at = open_app()
    at.button(key="step").click().run()
    trainer = live(at).trainer
    at.sidebar.number_input(key="cfg_lr").set_value(0.003).run()
    assert not at.exception
    assert live(at).trainer is trainer  # not rebuilt
    assert trainer.slots["gru"].optimizer.param_groups[0]["lr"] == pytest.approx(0.003)
    assert any("on the fly" in i.value for i in at.info)

    # A trained run is not thrown away unasked: the seed still shows what runs until a yes.
    at.sidebar.number_input(key="cfg_seed").set_value(7).run()
    assert live(at).trainer is trainer and at.sidebar.number_input(key="cfg_seed").value == 0
    question = [w.value for w in at.sidebar.warning if "would be lost" in w.value]
    assert question == [
        "Seed 0 → 7 rebuilds the models from scratch: the 1 step trained so far would be lost."
    ]
    at.sidebar.button(key="cancel_seed").click().run()
    assert live(at).trainer is trainer and not at.sidebar.warning

    at.sidebar.number_input(key="cfg_seed").set_value(7).run()
    at.sidebar.button(key="confirm_seed").click().run()
    assert live(at).trainer is not trainer
    assert live(at).trainer.step_count == 0 and live(at).cfg.seed == 7
    assert at.sidebar.number_input(key="cfg_seed").value == 7
    assert any("rebuilt" in w.value for w in at.warning)


def test_structural_change_rebuilds_with_the_new_task():
    at = open_app()
    at.sidebar.selectbox(key="cfg_task").set_value("copy").run()
    assert not at.exception
    assert live(at).trainer.task.name == "copy"
    # the copy task's own knobs appear, the signal knobs do not
    keys = {w.key for w in at.sidebar.get("slider")}
    assert {"cfg_n_symbols", "cfg_recall_len"} <= keys
    assert "cfg_trend" not in keys


def test_diverging_model_is_stopped_with_a_message_and_page_stays_alive():
    at = open_app(cfg_optimizer="sgd", cfg_clip=0.0, cfg_lr=10.0)
    at.selectbox(key="steps_per_click").set_value(200).run()
    at.button(key="step").click().run()
    while live(at).stepping:  # Step × 200 trains tick by tick: one tick per run here
        at.run()
    assert not at.exception
    slots = live(at).trainer.slots
    stopped = [k for k, s in slots.items() if s.stopped]
    assert stopped == list(slots), "lr=10 with SGD and no clipping: both diverge (seeds 0-3)"
    assert any("stopped" in e.value for e in at.error)
    for control in ("play", "step"):  # nothing to train: a press says why, not nothing
        at.button(key=control).click().run()
        assert not live(at).playing and any("Nothing to train" in w.value for w in at.warning)
    assert at.button(key=f"restore_{stopped[0]}")
    at.button(key=f"restore_{stopped[0]}").click().run()
    assert slots[stopped[0]].stopped is None


def test_too_costly_settings_are_refused_with_a_message():
    at = open_app()
    for key, value in (("cfg_batch_size", 256), ("cfg_seq_len", 200), ("cfg_hidden_size", 128)):
        at.sidebar.slider(key=key).set_value(value).run()
    assert not at.exception
    refusals = [e.value for e in at.sidebar.error if "too much work" in e.value]
    assert refusals and refusals[0].startswith("Not applied, kept 8:")  # SMALL: 8 units
    # The refused value is not left on show: the widget is back to what runs.
    assert live(at).cfg.hidden_size == at.sidebar.slider(key="cfg_hidden_size").value == 8


def test_the_status_line_says_when_other_sessions_share_the_server():
    at = open_app()
    at.button(key="play").click().run()
    other = LiveSession(RunConfig(seq_len=12, hidden_size=8, batch_size=16))  # another student
    other.speed, other.playing = "normal", True
    other.tick()
    at.run()
    captions = " ".join(c.value for c in at.caption)
    assert "1 other session is training on this server" in captions
    other.playing = False  # pausing gives its share back at once
    at.run()
    assert "other session" not in " ".join(c.value for c in at.caption)
