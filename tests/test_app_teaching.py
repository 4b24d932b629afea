"""The teaching layer as a user drives it through Streamlit's AppTest: lessons, links, the step
inspector, interventions, downloads and the extra views.

``run_every`` never fires in AppTest, so every ``at.run()`` is one tick of the live fragment.
A URL is simulated by filling ``at.query_params`` before the first run.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from gru_viz import chart_payload, export, plots
from gru_viz.config import RunConfig
from gru_viz.inspector import step_view
from gru_viz.lessons import LESSONS
from gru_viz.models import Intervention
from gru_viz.numbers import format_loss
from gru_viz.sharing import write_link
from gru_viz.trainer import Trainer

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SMALL = {"seq_len": "12", "hidden_size": "8", "batch_size": "16"}  # as URL query values
SMALL_CFG = RunConfig(seq_len=12, hidden_size=8, batch_size=16)


def open_app(**query: str) -> AppTest:
    """The page as opened from ``/?key=value&...``."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def live(at: AppTest):
    return at.session_state["live"]


def train(at: AppTest, steps: int) -> None:
    """Pick "Steps per click" and click Step, in one rerun; then, if they were too many to
    train inside the click, run the live panel's ticks (one per run) until they are done."""
    at.selectbox(key="steps_per_click").set_value(steps)
    at.button(key="step").click().run()
    while live(at).stepping:
        at.run()
    assert not at.exception, at.exception


def losses(at: AppTest) -> dict[str, np.ndarray]:
    return {k: s.history.array("loss") for k, s in live(at).trainer.slots.items()}


def text_of(elements) -> str:
    return "\n".join(e.value for e in elements)


def link_warnings(at: AppTest) -> list[str]:
    """The link's problems: one warning, then the problems as a code block (never Markdown)."""
    if not any(w.value.startswith("From the link:") for w in at.warning):
        return []
    return at.code[0].value.splitlines()


def sidebar_keys(at: AppTest) -> set[str]:
    kinds = ("slider", "number_input", "selectbox", "radio", "multiselect")
    return {w.key for kind in kinds for w in at.sidebar.get(kind)}


def chart(at: AppTest, key: str) -> dict:
    """The figure a chart (a gru_viz.dashboard.plot component) was sent, by its key."""
    for element in at.get("bidi_component"):
        if element.key == key:
            return chart_payload.figures(element.proto.bytes)[key]
    raise AssertionError(f"no chart with key {key}")


def decoded(values) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array {"dtype", "bdata", "shape"}."""
    if isinstance(values, dict):
        flat = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        shape = values.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(values, dtype=float)


# -- 1. lessons -----------------------------------------------------------------------------
def test_every_lesson_sets_its_config_and_shows_its_guide():
    at = open_app()
    for key, lesson in LESSONS.items():
        at.selectbox(key="lesson_pick").set_value(key)
        at.button(key="start_lesson").click().run()
        assert not at.exception, (key, at.exception)
        assert live(at).cfg.as_dict() == lesson.config.as_dict(), key
        assert at.sidebar.selectbox(key="cfg_task").value == lesson.config.task
        assert f"Lesson: {lesson.title}" in [h.value for h in at.subheader]
        shown = text_of(at.markdown)
        for part in (lesson.predict, lesson.look_at, lesson.meaning, lesson.try_next):
            assert part in shown, (key, part[:40])
        claim = text_of(at.info)
        assert claim.startswith("Not checked yet") and "(now at 0)" in claim, claim
        assert not at.success
        assert at.query_params == {"lesson": key}  # the lesson's own setup: a short link

    at.selectbox(key="lesson_pick").set_value("free")
    at.button(key="start_lesson").click().run()
    assert not [h for h in at.subheader if h.value.startswith("Lesson:")]
    assert "lesson" not in at.query_params


def test_a_lesson_claim_is_seen_after_its_training_steps():
    lesson = LESSONS["masks"]  # one of the two cheapest to train (3-4 s on one thread)
    assert lesson.steps == 220
    at = open_app()
    at.selectbox(key="lesson_pick").set_value("masks")
    at.button(key="start_lesson").click().run()
    train(at, 200)
    assert "(now at 200)" in text_of(at.info)
    assert not at.success
    train(at, 10)
    train(at, 10)
    assert live(at).trainer.step_count == lesson.steps
    seen = text_of(at.success)
    assert seen.startswith("Seen in your run"), text_of(at.info)
    assert "noise in the padding" in seen  # the run's own numbers

    # "Try the control": read each answer at its own last step. The trained run is not thrown
    # away unasked; once confirmed, the control trains and the claim is not seen.
    at.button(key="control_read_at_end").click().run()
    assert live(at).trainer.step_count == lesson.steps
    at.button(key="confirm_guide").click().run()  # asked beside the guide's buttons
    assert live(at).cfg.readout == "last_real" and live(at).trainer.step_count == 0
    assert at.query_params == {"lesson": "masks", "control": "read_at_end"}
    train(at, 200)
    train(at, 10)
    train(at, 10)
    assert text_of(at.info).startswith("Not seen in your run") and not at.success
    assert "moved by 0 when the padding changed" in text_of(at.info)
    at.button(key="control_lesson").click().run()  # back to the lesson's own setup
    at.button(key="confirm_guide").click().run()
    assert live(at).cfg == lesson.config and at.query_params == {"lesson": "masks"}


def test_jump_to_a_trained_run_opens_the_lesson_on_its_shipped_run_asking_first():
    lesson = LESSONS["forget"]
    at = open_app(lesson="forget")
    train(at, 1)
    train(at, 1)
    at.button(key="jump_to_trained").click().run()
    question = text_of(at.warning)
    assert "Jumping to the trained run of" in question, question
    assert "replaces your run: the 2 steps trained so far would be lost" in question
    at.button(key="cancel_guide").click().run()
    assert live(at).trainer.step_count == 2  # "Keep my run" kept it

    at.button(key="jump_to_trained").click().run()
    at.button(key="confirm_guide").click().run()
    run = live(at).trainer
    assert run.step_count == lesson.steps and live(at).cfg == lesson.config
    for slot in run.slots.values():  # its whole history, from step 1
        assert len(slot.history.array("loss")) == lesson.steps
    assert "trained for 260 steps (seed 0), shipped with the app" in text_of(at.success)
    assert text_of(at.success).count("Seen in your run") == 1  # the claim, on the shipped run
    assert at.sidebar.slider(key="cfg_seq_len").value == lesson.config.seq_len  # the setup shows
    train(at, 1)  # it goes on training: its optimizer state came with it
    assert live(at).trainer.step_count == lesson.steps + 1


# -- 2. the step inspector ------------------------------------------------------------------
NUM = r"(-?\d+\.\d+)"
SIGNED = r"([+-] \d+\.\d+)"  # '+ 0.339' or '- 0.339', never '+ -0.339'
GRU_LATEX = re.compile(
    rf"r &= \\sigma\({NUM} {SIGNED}\) = {NUM}.*?"
    rf"z &= \\sigma\({NUM} {SIGNED}\) = {NUM}.*?"
    rf"n &= \\tanh\({NUM} \+ {NUM} \\times \({NUM}\)\) = {NUM}.*?"
    rf"h_t &= \(1 - {NUM}\) \\times {NUM} \+ {NUM} \\times {NUM} = {NUM}",
    re.S,
)
RNN_LATEX = re.compile(rf"h_t = \\tanh\({NUM} {SIGNED}\) = \\tanh\({NUM}\) = {NUM}")


def numbers(match: re.Match) -> list[float]:
    return [float(text.replace(" ", "")) for text in match.groups()]


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def test_inspector_numbers_are_the_probe_traces_and_satisfy_the_equations():
    at = open_app(**SMALL)
    train(at, 10)
    train(at, 10)  # a probe step (probe_every = 20): the probe and the weights are the same
    trainer = live(at).trainer
    sample, t, unit = 3, 5, 2
    at.selectbox(key="sample").set_value(sample)
    at.slider(key="cursor").set_value(t)
    at.toggle(key="show_inspector").set_value(True).run()
    at.number_input(key="inspect_unit").set_value(unit).run()
    assert not at.exception
    heading = f"**Step inspector: sequence {sample}, time step {t}**"
    assert heading in [m.value for m in at.markdown]
    x = trainer.probe_batch.x

    gru = trainer.slots["gru"]
    assert gru.latest.step == trainer.step_count == 20
    trace = {k: v[-1, sample, :, unit] for k, v in gru.latest.traces.items()}
    body = next(e.body for e in at.latex if "h_t &= (1 -" in e.body)
    ir, hr, r, iz, hz, z, i_n, r2, h_n, n, z2, n2, z3, h_prev, h = numbers(GRU_LATEX.search(body))
    close = {"abs": 5.1e-4}  # printed to 3 decimals
    assert (r, z, n, h) == pytest.approx(
        [trace["r"][t], trace["z"][t], trace["n"][t], trace["h"][t]], **close
    )
    assert h_prev == pytest.approx(trace["h"][t - 1], **close)
    assert (r2, z2, z3, n2) == (r, z, z, n)
    # the substituted equations hold on the printed numbers (rounding allowed for)
    assert sigmoid(ir + hr) == pytest.approx(r, abs=2e-3)
    assert sigmoid(iz + hz) == pytest.approx(z, abs=2e-3)
    assert math.tanh(i_n + r * h_n) == pytest.approx(n, abs=3e-3)
    assert (1 - z) * n + z * h_prev == pytest.approx(h, abs=3e-3)
    with torch.no_grad():  # PyTorch's fused GRU is the oracle for h_t
        fused = gru.model.rnn(x)[0][sample, t, unit].item()
    assert h == pytest.approx(fused, **close)

    rnn = trainer.slots["rnn"]
    body = next(e.body for e in at.latex if e.body.strip("$\n").startswith(r"h_t = \tanh("))
    pi, ph, pre, h = numbers(RNN_LATEX.search(body))
    assert pre == pytest.approx(rnn.latest.traces["pre"][-1, sample, t, unit], **close)
    assert h == pytest.approx(rnn.latest.traces["h"][-1, sample, t, unit], **close)
    assert pi + ph == pytest.approx(pre, abs=2e-3)
    assert math.tanh(pre) == pytest.approx(h, abs=1e-3)

    # the same view straight from the engine, at full precision, for every unit
    for step in (0, t):
        view = step_view(gru.model, gru.latest, x.numpy(), sample, step, unit)
        full = {k: v[-1, sample] for k, v in gru.latest.traces.items()}
        previous = full["h"][step - 1] if step else np.zeros(8, dtype=np.float32)
        np.testing.assert_array_equal(view.vectors["x_t"], x[sample, step].numpy())
        np.testing.assert_array_equal(view.vectors["h_{t-1}"], previous)
        for name in ("r", "z", "n", "h"):
            np.testing.assert_array_equal(view.vectors[f"{name}_t"], full[name][step])
        z_t, n_t = view.vectors["z_t"], view.vectors["n_t"]
        np.testing.assert_allclose(view.vectors["h_t"], (1 - z_t) * n_t + z_t * previous, atol=1e-6)


def test_inspector_equations_hold_between_probes():
    # The probe keeps the weights it ran with, so training since then cannot skew the numbers.
    trainer = Trainer(SMALL_CFG)
    trainer.step(10)  # probe_every = 20: the last probe is from step 0
    gru = trainer.slots["gru"]
    view = step_view(gru.model, gru.latest, trainer.probe_batch.x.numpy(), 3, 5, 2)
    ir, hr, r = numbers(GRU_LATEX.search(view.equation))[:3]
    assert sigmoid(ir + hr) == pytest.approx(r, abs=2e-3)


# -- 3. interventions -----------------------------------------------------------------------
def banner(at: AppTest) -> str:
    return text_of(w for w in at.warning if w.value.startswith("Intervention active"))


def test_interventions_reshape_the_probe_and_clear():
    at = open_app(**SMALL)
    train(at, 10)
    slots = live(at).trainer.slots
    assert not banner(at)
    assert "iv_z_on" not in [t.key for t in at.toggle]  # the panel is shut: nothing built
    at.toggle(key="iv_panel").set_value(True).run()  # open it, under the gate heatmaps

    at.toggle(key="iv_z_on").set_value(True).run()  # the slider starts at z = 1: freeze
    gru = slots["gru"].latest.traces
    assert np.all(gru["z"] == 1.0)
    np.testing.assert_array_equal(gru["h"], 0.0)  # h_t = h_{t-1} = ... = h_0 = 0
    assert "z clamped to 1.00" in banner(at)

    # z = 0: h_t = n_t, and n_t still reads h_{t-1} through r (tests/test_lessons.py shows the
    # output then depends on earlier inputs): only the direct copy of the old state is gone.
    at.slider(key="iv_z").set_value(0.0).run()
    gru = slots["gru"].latest.traces
    np.testing.assert_array_equal(gru["h"], gru["n"])
    assert np.abs(gru["h"]).max() > 0.01
    assert "z clamped to 0.00" in banner(at)
    # Beside the controls: each model's probe loss with and without the intervention.
    shown = {m.label: (m.value, m.delta) for m in at.metric if m.label.endswith("probe loss")}
    with_it = float(np.mean(slots["gru"].latest.loss))
    without = live(at).trainer.probe_loss_without_intervention("gru")
    assert shown["GRU probe loss"][0] == format_loss(with_it) and with_it != without
    assert shown["GRU probe loss"][1].startswith(f"without the intervention {format_loss(without)}")

    at.toggle(key="iv_z_on").set_value(False)
    at.multiselect(key="iv_units").set_value([0, 3]).run()
    for kind in ("gru", "rnn"):
        h = slots[kind].latest.traces["h"]
        np.testing.assert_array_equal(h[..., [0, 3]], 0.0)
        assert np.abs(h[..., [1, 2]]).min() > 0, kind  # the other units still work
    assert "units 0, 3 zeroed" in banner(at)
    assert not live(at).intervene_in_training
    assert live(at).trainer.step_count == 10  # a probe-only change trains nothing

    at.button(key="iv_clear").click().run()
    assert not at.exception
    assert not banner(at)
    assert not live(at).intervention.active
    assert not at.toggle(key="iv_z_on").value and at.multiselect(key="iv_units").value == []
    assert np.abs(slots["rnn"].latest.traces["h"][..., 0]).max() > 0


def test_intervention_in_training_uses_the_unrolled_path_only_when_asked():
    at = open_app(**SMALL)
    train(at, 10)
    plain = losses(at)

    at.toggle(key="iv_panel").set_value(True).run()
    at.multiselect(key="iv_units").set_value([0, 1]).run()
    at.button(key="reset").click().run()
    train(at, 10)
    for kind, values in losses(at).items():  # in the probe only: training is untouched
        np.testing.assert_array_equal(values, plain[kind])

    at.toggle(key="iv_train").set_value(True).run()
    assert "in the probe and in training" in banner(at)
    at.button(key="reset").click().run()  # the intervention survives a reset
    train(at, 10)
    slots = live(at).trainer.slots
    assert all(s.intervene_in_training for s in slots.values())
    changed = losses(at)
    for kind in slots:
        assert not np.allclose(changed[kind], plain[kind]), kind
    # the same numbers as a headless run trained through the same intervention
    oracle = Trainer(SMALL_CFG)
    for kind in oracle.slots:
        oracle.set_intervention(kind, Intervention(ablate_units=(0, 1)), in_training=True)
    oracle.step(10)
    for kind, slot in oracle.slots.items():
        np.testing.assert_array_equal(changed[kind], slot.history.array("loss"))


# -- 4. links -------------------------------------------------------------------------------
def test_a_link_opens_its_settings_and_the_address_bar_holds_the_same_link():
    query = {"task": "copy", "seq_len": "15", "lr": "0.003", "seed": "4", "models": "gru,rnn,lstm"}
    wanted = RunConfig(task="copy", seq_len=15, lr=0.003, seed=4, models=("gru", "rnn", "lstm"))
    at = open_app(**query)
    assert live(at).cfg == wanted
    assert not link_warnings(at)
    assert at.query_params == write_link(wanted) == query
    assert at.sidebar.selectbox(key="cfg_task").value == "copy"
    assert at.sidebar.multiselect(key="cfg_models").value == ["gru", "rnn", "lstm"]
    assert at.sidebar.number_input(key="cfg_lr").value == pytest.approx(0.003)
    assert len([m for m in at.metric if m.label.endswith("loss")]) == 3

    at.sidebar.number_input(key="cfg_seed").set_value(9).run()  # a change goes into the URL
    assert at.query_params == {**query, "seed": "9"}
    again = open_app(**at.query_params)  # and that URL opens the same setup
    assert live(again).cfg == wanted.replace(seed=9)


def test_a_lesson_link_opens_the_lesson_with_its_changes():
    lesson = LESSONS["reset_gate"]
    at = open_app(lesson="reset_gate", noise="0.3")
    assert live(at).cfg == lesson.config.replace(noise=0.3)
    assert f"Lesson: {lesson.title}" in [h.value for h in at.subheader]
    assert lesson.predict in text_of(at.markdown)
    assert at.sidebar.selectbox(key="lesson_pick").value == "reset_gate"
    assert at.query_params == {"lesson": "reset_gate", "noise": "0.3"}


def test_a_classroom_link_hides_settings_but_keeps_their_values():
    at = open_app(hide="task,training", task="copy", lr="0.003", **SMALL)
    wanted = SMALL_CFG.replace(task="copy", lr=0.003)
    assert live(at).cfg == wanted
    keys = sidebar_keys(at)
    assert not keys & {"cfg_task", "cfg_seq_len", "cfg_lr", "cfg_batch_size", "cfg_seed"}
    assert {"cfg_hidden_size", "cfg_models"} <= keys
    assert [e.label for e in at.sidebar.expander] == ["Models"]
    assert "This classroom link hides: Task, Training." in text_of(at.sidebar.caption)
    train(at, 10)
    at.sidebar.slider(key="cfg_hidden_size").set_value(6).run()  # a visible setting changes
    at.sidebar.button(key="confirm_hidden_size").click().run()  # yes, lose the 10 steps
    assert live(at).cfg == wanted.replace(hidden_size=6)
    assert at.query_params["hide"] == "task,training"
    assert at.query_params["task"] == "copy"

    at.session_state["show_share"] = True  # open the lazy "Share and download" panel
    at.run()
    at.multiselect(key="share_hide").set_value(["Models"]).run()  # the link to hand out
    assert "hide=models" in at.code[0].value and "task=copy" in at.code[0].value


def test_junk_in_a_link_is_reported_and_falls_back():
    at = open_app(
        seq_len="abc", lr="nan", models="foo", lesson="nope", noise="1" * 80, seed="5", bogus="1"
    )
    problems = link_warnings(at)
    assert len(problems) == 5, problems
    for words in ("Sequence length", "Learning rate", "Models", "No lesson called", "too long"):
        assert any(words in p for p in problems), (words, problems)
    assert live(at).cfg == RunConfig(seed=5)  # every bad value fell back; the good one stayed
    assert at.query_params == {"seed": "5"}  # the address bar is rewritten to a clean link
    assert not [h for h in at.subheader if h.value.startswith("Lesson:")]
    train(at, 1)
    assert live(at).trainer.step_count == 1

    at = open_app(batch_size="256", seq_len="200", hidden_size="128", hide="task,nothing")
    problems = link_warnings(at)
    assert any("too much work" in p for p in problems), problems
    assert any("Can only hide" in p for p in problems), problems
    assert live(at).cfg == RunConfig()
    assert at.query_params == {"hide": "task"}


HOSTILE_LINK = {
    "lesson": "[Reset password](//ev.il/r)",
    "task": "![x](http://ev.il/b.png)",
    "seq_len": "\n\n# Class cancelled",
}


def markdown_bodies(at: AppTest) -> list[str]:
    """Every text the page renders as Markdown (where a link, image or heading would come alive)."""
    kinds = ("markdown", "caption", "warning", "error", "info", "success", "subheader", "title")
    return [e.value for kind in kinds for e in at.get(kind)] + [
        e.value for kind in kinds for e in at.sidebar.get(kind)
    ]


def test_untrusted_link_text_is_shown_as_written_never_as_markdown():
    at = open_app(**HOSTILE_LINK)
    rendered = "\n".join(markdown_bodies(at))
    for needle in ("ev.il", "](", "Class cancelled", "Reset password"):
        assert needle not in rendered, needle
    shown = "\n".join(link_warnings(at))  # the code block: literal text, never parsed
    assert "[Reset password](//ev.il/r)" in shown and "![x](http://ev.il/b.png)" in shown
    assert live(at).cfg == RunConfig()


def test_the_same_link_gives_the_same_numbers():
    query = {**SMALL, "seed": "3"}
    runs = []
    for _ in range(2):
        at = open_app(**query)
        train(at, 10)
        runs.append(losses(at))
    oracle = Trainer(SMALL_CFG.replace(seed=3))
    oracle.step(10)
    for kind, slot in oracle.slots.items():
        assert len(runs[0][kind]) == 10
        np.testing.assert_array_equal(runs[0][kind], runs[1][kind])
        np.testing.assert_array_equal(runs[0][kind], slot.history.array("loss"))


# -- 5. downloads ---------------------------------------------------------------------------
def test_downloads_build_files_that_plain_tools_can_read(monkeypatch):
    built = {}  # file name -> the callable the app hands its download button
    add_deferred = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        built[file_name] = data_callable
        return add_deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    at = open_app(**SMALL)
    train(at, 10)
    assert not at.get("download_button")  # the panel is closed: nothing built or sent
    at.session_state["show_share"] = True  # open it, as a click on its header does
    at.run()
    trainer = live(at).trainer
    keys = sorted(b.key for b in at.get("download_button"))
    # The export catalogue's files: 4, a checkpoint per model, the script.
    wanted = [item.id for item in export.export_files(live(at).trainer)]
    assert keys == sorted(f"download_{i}" for i in wanted) and len(wanted) == 7
    name = "gru-viz-adding-step10"
    files = {f: build() for f, build in built.items() if f.startswith(name) or f.endswith(".py")}
    assert len(files) == 7, sorted(built)

    table = files[f"{name}-metrics.csv"].splitlines()
    assert table[0] == ",".join((*export.METRIC_COLUMNS, *export.HEAD_COLUMNS, export.EVENT_COLUMN))
    assert len(table) == 1 + 10 * 2
    assert files[f"{name}-metrics.csv"] == export.metrics_csv(trainer)

    payload = json.loads(files[f"{name}-probe.json"])
    assert payload["step"] == 10 and payload["config"]["seq_len"] == 12
    arrays = np.load(io.BytesIO(files[f"{name}-probe.npz"]))
    np.testing.assert_array_equal(arrays["gru_z"], trainer.slots["gru"].latest.traces["z"][-1])

    report = files[f"{name}-report.html"]
    assert report.lstrip().lower().startswith("<!doctype html") and "plotly" in report.lower()

    x = trainer.probe_batch.x
    for kind, cls in (("gru", torch.nn.GRU), ("rnn", torch.nn.RNN)):
        saved = torch.load(io.BytesIO(files[f"{name}-{kind}.pt"]), weights_only=True)
        assert saved["step"] == 10 and saved["kind"] == kind
        plain = cls(
            saved["input_size"], saved["hidden_size"], saved["num_layers"], batch_first=True
        )
        plain.load_state_dict(saved["rnn"])
        readout = torch.nn.Linear(saved["hidden_size"], saved["output_size"])
        readout.load_state_dict(saved["readout"])
        with torch.no_grad():
            theirs = readout(plain(x)[0])
            ours = trainer.slots[kind].model(x)
        torch.testing.assert_close(theirs, ours)

    script = next(text for f, text in files.items() if f.endswith(".py"))
    ast.parse(script)
    assert "seed" in script


# -- 6. more views --------------------------------------------------------------------------
def test_parameter_matched_sizes_and_the_history_scrubber():
    # At 16 GRU units one more LSTM unit is under 5% of the count (at 8 it would be 6%).
    at = open_app(models="gru,rnn,lstm", **{**SMALL, "hidden_size": "16"})
    at.sidebar.radio(key="cfg_size_by").set_value("params").run()
    assert not at.exception
    slots = live(at).trainer.slots
    size = {k: s.model.hidden_size for k, s in slots.items()}
    count = {k: s.parameter_count() for k, s in slots.items()}
    assert size["gru"] == 16 and size["rnn"] > 16 > size["lstm"]
    for kind in ("rnn", "lstm"):
        assert abs(count[kind] - count["gru"]) <= 0.05 * count["gru"], count
    caption = next(c.value for c in at.caption if c.value.startswith("Parameters:"))
    for kind, title in (("gru", "GRU"), ("rnn", "RNN (tanh)"), ("lstm", "LSTM")):
        assert f"{title} {count[kind]:,} ({size[kind]} units)" in caption, caption

    at.toggle(key="show_more").set_value(True).run()
    assert "history_step" not in {e.key for e in at.select_slider}  # one probe: nothing to scrub
    train(at, 50)  # probes at steps 0, 20 and 40
    scrubber = at.select_slider(key="history_step")
    assert list(scrubber.options) == ["0", "20", "40"] and scrubber.value == 40
    latest_z = decoded(chart(at, "gates_then")["data"][0]["z"])
    scrubber.set_value(0).run()
    assert not at.exception
    shown = chart(at, "gates_then")["data"]
    assert chart(at, "saturation_then")["data"]  # saturation replayed at that step too
    first = {k: s.snapshots.results[0] for k, s in slots.items()}
    assert all(r.step == 0 for r in first.values())
    expected = plots.gate_figure(first, 0).data
    assert len(shown) == len(expected)
    for drawn, wanted in zip(shown, expected, strict=True):
        np.testing.assert_allclose(decoded(drawn["z"]), np.asarray(wanted.z, dtype=float))
    assert not np.allclose(decoded(shown[0]["z"]), latest_z)  # it is not the step-40 picture
