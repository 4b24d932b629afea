"""Class mode's core: one run trained once by its own worker, driven only by its teacher."""

from __future__ import annotations

import json
import re
import time

import pytest

from gru_viz import chart_payload, chart_rows, classroom
from gru_viz.class_frame import View
from gru_viz.classroom import (
    CODE_ALPHABET,
    ClassEnded,
    ClassRegistry,
    NotTeacher,
    new_code,
    normalise_code,
)
from gru_viz.config import RunConfig
from gru_viz.figures import FIGURES, Selection, run_view
from gru_viz.session import TICK_TURN, LiveSession
from gru_viz.status_row import STEP_LABEL

TINY = RunConfig(seq_len=8, hidden_size=4, batch_size=4, probe_every=5)


def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_codes_are_readable_random_and_carry_the_process_letter():
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000  # 35 random bits: no collision in a few thousand
    for code in list(codes)[:50]:
        assert re.fullmatch(rf"[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}", code)
        assert code[0] == classroom.PROCESS_LETTER
        assert normalise_code(code.lower().replace("-", " ")) == code
    for junk in ("", "new", "AB7K-Q2M", "AB7K-Q2MX9", "AB0K-Q2MX", "<script>", None, 12345678):
        assert normalise_code(junk) is None, junk


def test_only_the_teacher_key_drives_or_ends_a_class():
    registry = ClassRegistry()
    run = registry.start(LiveSession(TINY), teacher_browser="browser-T")
    teacher = run.teacher_key_for("browser-T")
    assert teacher and run.is_teacher(teacher)
    assert run.teacher_key_for("browser-S") is None and run.teacher_key_for(None) is None
    for forged in (None, "", run.code, teacher[:-1] + "x", "browser-T"):
        with pytest.raises(NotTeacher):
            run.set_playing(forged, True)
        with pytest.raises(NotTeacher):
            run.end(forged)
    assert not run.live.playing and run.ended is None
    # Guessing codes finds nothing: a few thousand tries against a 40-bit code space.
    assert not any(registry.find(new_code()) for _ in range(3000))
    assert registry.find(run.code.lower()) is run
    run.end(teacher)
    assert run.ended
    with pytest.raises(ClassEnded):
        run.set_playing(teacher, True)


def test_the_class_trains_once_in_its_own_worker_and_stops_when_paused():
    registry = ClassRegistry()
    run = registry.start(LiveSession(TINY), teacher_browser="T")
    key = run.teacher_key_for("T")
    run.set_playing(key, True)
    assert wait_for(lambda: run.live.trainer.step_count >= 5)
    run.set_playing(key, False)
    assert wait_for(lambda: run._worker is None)
    paused_at = run.live.trainer.step_count
    time.sleep(1.5)
    assert run.live.trainer.step_count == paused_at
    run.end(key)


def test_a_class_ends_once_its_teacher_is_gone(monkeypatch):
    monkeypatch.setattr(classroom, "TEACHER_GONE_SECONDS", 0.5)
    registry = ClassRegistry()
    run = registry.start(LiveSession(TINY), teacher_browser="T")
    run.set_playing(run.teacher_key_for("T"), True)
    assert wait_for(lambda: run.ended is not None, 10)
    assert "away too long" in run.ended and not run.live.playing
    # A reload within the time finds its class again; a gone teacher's class is not "theirs".
    assert registry.of_teacher("T") is None


def test_viewers_count_while_their_pages_ask_for_updates(monkeypatch):
    run = ClassRegistry().start(LiveSession(TINY), teacher_browser="T")
    for student in ("s1", "s2", "s3"):
        run.watch(student)
    run.leave("s3")
    assert run.watching == 2
    monkeypatch.setattr(classroom, "VIEWER_SEEN_SECONDS", 0.0)
    time.sleep(0.01)
    assert run.watching == 0


def test_one_viewer_builds_a_figure_every_other_viewer_reuses():
    run = ClassRegistry().start(LiveSession(TINY), teacher_browser="T")
    built = []
    for _ in range(100):  # a class of a hundred, one update
        run.figures.get(("loss", True), (run.live.trainer, 0), lambda: built.append(1) or _fig())
    assert len(built) == 1 and run.figures.reused == 99


def test_a_hundred_students_share_one_frame_per_update_and_view():
    run = ClassRegistry().start(LiveSession(TINY), teacher_browser="T")
    key = run.teacher_key_for("T")
    default, other = View(cursor=7), View(sample=2, cursor=3, log_y=False)
    frames = [run.frame(default) for _ in range(100)]  # a class of a hundred, one update
    assert all(f is frames[0] for f in frames)  # one build, the same bytes for everyone
    assert run.frame(other) is not frames[0]  # another view: its own frame
    # What a frame draws is the catalogue's figure for that view (the page's oracle).
    trainer, sel = run.live.trainer, Selection(sample=2, cursor=3, log_y=False)
    sent = chart_payload.figures(run.frame(other).payload)
    for figure_id in ("loss", "grad_h", "gates"):
        built = json.loads(FIGURES[figure_id].build(run_view(trainer), sel).to_json())
        assert sent[chart_rows.chart_key(figure_id)] == built, figure_id
    # A teacher's Step is an update (their page draws it): a new frame, at the new step.
    run.act(key, lambda live: live.request_steps(3))
    with TICK_TURN:
        run.refresh()
    after = run.frame(default)
    assert after is not frames[0] and after.version > frames[0].version
    status = chart_payload.status(after.payload)
    assert status["cells"][0] == {"label": STEP_LABEL, "value": "3", "note": None}
    with TICK_TURN:
        run.refresh()  # nothing changed since: no update, the same frame
    assert run.frame(default) is after
    # Out-of-range choices (the teacher shortened the sequences) are clamped, not an error.
    far = run.frame(View(sample=99, cursor=999))
    assert chart_payload.figures(far.payload)


def test_an_update_is_drawn_as_published_even_if_the_run_trains_on_before_a_student_asks():
    # The worker publishes a tick, then may train the next one before a student asks: the
    # frame of the published update must show that update (a frame built late showed the
    # next step instead, and 3-7 of 100 students never saw the update; bench.class_load).
    run = ClassRegistry().start(LiveSession(TINY), teacher_browser="T")
    view = View()
    run.frame(view)  # a student watches this view
    with TICK_TURN:
        run.live.trainer.step(3)
        run.refresh()  # published: step 3
    with TICK_TURN:
        run.live.trainer.step(2)  # the next tick trains, not yet published
    status = chart_payload.status(run.frame(view).payload)
    assert status["cells"][0]["value"] == "3"


def _fig():
    import plotly.graph_objects as go

    return go.Figure()


def test_a_server_holds_a_bounded_number_of_classes():
    registry = ClassRegistry(most=2)
    for _ in range(2):
        registry.start(LiveSession(TINY), teacher_browser=None)
    with pytest.raises(RuntimeError, match="already holds 2 classes"):
        registry.start(LiveSession(TINY), teacher_browser=None)
