"""Class mode as its users meet it (AppTest: each session a page of the same server process).

A teacher starts a class; students open its link and watch the teacher's run, read-only, with
their own view choices; one continues on their own (a fork) and diverges while the others keep
following; nothing a student does drives or ends the class.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gru_viz import chart_payload
from gru_viz.classroom import CLASSES, NotTeacher
from gru_viz.status_row import STEP_LABEL

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SMALL = {"seq_len": "12", "hidden_size": "8", "batch_size": "16", "probe_every": "5"}


def page(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def step_counter(at: AppTest) -> int:
    """The page's step counter: a metric, or on a student's page the class frame's status row
    (drawn inside the chart component)."""
    values = [m.value for m in at.metric if m.label == STEP_LABEL]
    for component in at.get("bidi_component"):
        status = chart_payload.status(component.proto.bytes)
        if status:
            values += [cell["value"] for cell in status["cells"] if cell["label"] == STEP_LABEL]
    (value,) = values
    return int(value.replace(",", ""))


def wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def teacher():
    at = page(**SMALL)
    at.sidebar.button(key="start_class").click().run()
    assert not at.exception
    yield at
    run = CLASSES.find(at.session_state["class_code"])
    if run is not None and not run.ended:
        run.end(at.session_state["teacher_key"])


def code_of(teacher: AppTest) -> str:
    return teacher.session_state["class_code"]


def test_a_teacher_starts_a_class_and_gets_its_link_code_and_qr(teacher):
    code = code_of(teacher)
    assert teacher.query_params == {"class": code}  # the address bar holds the join link
    assert any(code in c.value for c in teacher.sidebar.code)  # the link to hand out
    assert teacher.sidebar.get("image")  # the QR code, drawn on the server as SVG
    assert any(f"Class {code}" in m.value for m in teacher.sidebar.markdown)
    assert teacher.button(key="play")  # the teacher keeps every control


def test_students_watch_read_only_and_see_the_teachers_run_live(teacher):
    code = code_of(teacher)
    students = [page(**{"class": code}) for _ in range(2)]
    for student in students:
        assert not [b for b in student.button if b.key in ("play", "step", "reset")]
        assert not student.sidebar.slider and not student.sidebar.number_input  # read-only
        assert any("You are watching class" in i.value for i in student.info)
    run = CLASSES.find(code)
    assert run.watching == 2
    teacher.button(key="play").click().run()
    wait_for(lambda: run.live.trainer.step_count >= 10)  # the class's worker trains
    for student in students:  # within a tick: what a student sees is the last whole update
        wait_for(lambda student=student: step_counter(student.run()) >= 10)
    # Their own view choices: one student looks at another probe sequence and time step.
    students[0].selectbox(key="sample").set_value(3).run()
    students[0].slider(key="cursor").set_value(4).run()
    assert students[0].session_state["sample"] == 3
    assert students[1].session_state["sample"] == 0  # nobody else's view moved
    teacher.button(key="play").click().run()  # pause


def frame_charts(at: AppTest) -> dict:
    """The charts of a student's class frame, by element name."""
    (component,) = [c for c in at.get("bidi_component") if c.key == "class_charts"]
    return chart_payload.figures(component.proto.bytes)


def test_a_students_extra_views_are_their_own(teacher):
    code = code_of(teacher)
    a, b = page(**{"class": code}), page(**{"class": code})
    assert "jacobian_chart" not in frame_charts(a) and not a.latex
    a.toggle(key="show_jacobian").set_value(True).run()
    a.toggle(key="show_inspector").set_value(True).run()
    assert not a.exception
    assert "jacobian_chart" in frame_charts(a)  # their frame gains the chart
    assert a.latex  # the step inspector's equations, with this run's numbers
    b.run()
    assert "jacobian_chart" not in frame_charts(b) and not b.latex  # nobody else's did


def test_a_fork_continues_on_its_own_and_the_class_goes_on(teacher):
    code = code_of(teacher)
    run = CLASSES.find(code)
    teacher.button(key="step").click().run()
    a, b = page(**{"class": code}), page(**{"class": code})
    at_fork = run.live.trainer.step_count
    a.button(key="fork").click().run()
    assert not a.exception
    own = a.session_state["live"]
    assert own is not run.live and own.trainer.step_count == at_fork
    assert a.session_state["class_code"] is None and "class" not in a.query_params
    # The fork trains alone: the class run does not move, the other student still follows it.
    a.selectbox(key="steps_per_click").set_value(10).run()
    a.button(key="step").click().run()
    wait_for(lambda: not own.stepping)
    assert own.trainer.step_count == at_fork + 10
    assert run.live.trainer.step_count == at_fork
    teacher.button(key="step").click().run()
    wait_for(lambda: run.live.trainer.step_count > at_fork)
    b.run()
    assert step_counter(b) == run.live.trainer.step_count
    assert own.trainer.step_count == at_fork + 10  # the class's step did not touch the fork


def test_only_the_teacher_drives_or_ends_the_class(teacher):
    code = code_of(teacher)
    run = CLASSES.find(code)
    student = page(**{"class": code})
    # The student's page has no key to the class; the run refuses everything without one.
    assert student.session_state["teacher_key"] is None
    for forged in (None, code, "", student.session_state.get("teacher_key")):
        with pytest.raises(NotTeacher):
            run.set_playing(forged, True)
        with pytest.raises(NotTeacher):
            run.end(forged)
    # An edited link (?class=new from a student's browser) starts the student's own class,
    # never takes over this one.
    other = page(**{"class": "new"})
    assert other.session_state["class_code"] != code and run.ended is None
    CLASSES.find(other.session_state["class_code"]).end(other.session_state["teacher_key"])


def test_an_unknown_or_ended_class_opens_a_run_of_your_own(teacher):
    student = page(**{"class": "ZZZZ-ZZZZ"})
    assert "class_code" not in student.session_state or not student.session_state["class_code"]
    assert student.button(key="play")  # an ordinary page
    assert any("No class ZZZZ-ZZZZ" in c.value for c in student.code)  # and says why
    code = code_of(teacher)
    teacher.sidebar.button(key="end_class").click().run()
    late = page(**{"class": code})
    assert any("ended" in i.value for i in late.info)  # the last state, still forkable
    assert late.button(key="fork")


def test_a_teachers_jump_to_a_trained_run_reaches_the_class():
    teacher = page(lesson="masks")
    teacher.sidebar.button(key="start_class").click().run()
    student = page(**{"class": code_of(teacher)})
    try:
        teacher.button(key="jump_to_trained").click().run()  # nothing trained yet: no question
        steps = teacher.session_state["live"].trainer.step_count
        assert steps > 0 and step_counter(teacher) == steps
        student.run()
        assert step_counter(student) == steps  # the class's run is the shipped one now
        assert not [b for b in student.button if b.key == "jump_to_trained"]  # teacher's only
    finally:
        CLASSES.find(code_of(teacher)).end(teacher.session_state["teacher_key"])
