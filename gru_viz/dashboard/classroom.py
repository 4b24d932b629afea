"""Class mode on the page: start a class, the join link and its QR code, who is watching, and a
student's view of the teacher's run (read-only), with "Continue on my own".

The run itself lives in ``gru_viz.classroom``; this module only draws and routes clicks. A
student's page never wires a control to the class's run: Play, Step, Reset, settings, lessons
and interventions are not drawn for students, and the run's own methods check the teacher key.
"""

from __future__ import annotations

import io

import segno
import streamlit as st

from gru_viz.classroom import CLASSES, ClassRun, normalise_code
from gru_viz.dashboard.state import PAGE, browser_key, set_setting_widgets
from gru_viz.session import LiveSession, Notice

CLASS_KEY, VIEW_KEY = "class", "view"


def join_link(code: str) -> str:
    base = st.context.url.split("?")[0] if st.context.url else ""
    return f"{base}?{CLASS_KEY}={code}"


def qr_svg(text: str) -> str:
    """A QR code of ``text`` as SVG, drawn here (no outside request, no image service)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(
        buffer, kind="svg", scale=5, border=2, dark="#000000", light="#ffffff", xmldecl=False
    )
    return buffer.getvalue().decode("ascii")


# -- entering and leaving a class ---------------------------------------------------------------
def _wanted(params: dict) -> str | None:
    wanted = params.get(CLASS_KEY)
    if isinstance(wanted, list):
        wanted = wanted[-1] if wanted else None
    return None if wanted is None else str(wanted)


def watch_from_link(params: dict) -> bool:
    """Called once per new session, first: a join link of a running class that this browser
    does not teach opens the class straight away, without a run of the page's own (its
    models would only be thrown away). False: ``open_from_link`` decides, after the page's
    own run is built."""
    wanted = _wanted(params)
    run = CLASSES.find(wanted) if wanted is not None else None
    if run is None or run.ended or run.teacher_key_for(browser_key()) is not None:
        return False
    PAGE.start_watching(run, params)
    run.watch(PAGE.viewer_id)
    return True


def open_from_link(params: dict) -> list[str]:
    """Called once per new session: ``?class=new`` starts a class from the link's setup,
    ``?class=CODE`` joins one (as its teacher, if this browser started it). Returns problems."""
    wanted = _wanted(params)
    if wanted is None:
        return []
    if wanted.strip().lower() == "new":
        start_class()
        return []
    run = CLASSES.find(wanted)
    if run is None:
        shown = normalise_code(wanted) or "that"
        return [f"No class {shown} on this server (it may have ended); opened your own run."]
    key = run.teacher_key_for(browser_key())
    PAGE.join_class(run.code, key)
    if key is None:
        run.watch(PAGE.viewer_id)
    return []


def start_class() -> None:
    """The current run becomes a class run; this page is its teacher."""
    try:
        run = CLASSES.start(PAGE.live, browser_key())
    except RuntimeError as err:
        PAGE.set_notice(Notice("error", f"Could not start a class: {err}"))
        return
    PAGE.join_class(run.code, run.teacher_key_for(browser_key()) or run._teacher_key)


def end_class() -> None:
    run = PAGE.class_run
    if run is not None and PAGE.is_teacher:
        run.end(PAGE.teacher_key)
    PAGE.leave_class()


def continue_on_my_own() -> None:
    """Fork the class's run at its current step into a private run: weights, optimizer state,
    history and setup, all copied; the class goes on without this student."""
    from gru_viz.snapshot import copy_run

    run = PAGE.class_run
    if run is None:
        return
    with run.live.lock:  # not mid-step
        trainer = copy_run(run.live.trainer)
    run.leave(PAGE.viewer_id)
    live = LiveSession.from_trainer(trainer)
    live.lesson, live.control = run.live.lesson, run.live.control
    PAGE.leave_class(live)
    set_setting_widgets(live.cfg)
    PAGE.set_notice(
        Notice(
            "success",
            f"This is now your own run, copied at step {trainer.step_count:,}: change anything, "
            "the class goes on without you.",
        )
    )


# -- what each role sees ----------------------------------------------------------------------
WATCHING_REFRESH_SECONDS = 3


def watching_line(run: ClassRun) -> None:
    st.markdown(f"**Class {run.code}** · {run.watching} watching")


def teacher_panel(run: ClassRun) -> None:
    with st.sidebar.container(border=True):
        # Its own fragment on a timer: the count grows as students join, even while the teacher's
        # page is paused (a paused page does not rerun, so a plain line would keep its old count).
        st.fragment(watching_line, run_every=WATCHING_REFRESH_SECONDS)(run)
        st.caption("Students open this link (or scan the code); they see your run live.")
        st.code(join_link(run.code), language=None)
        st.image(qr_svg(join_link(run.code)), width=180)
        st.button(
            "End class",
            key="end_class",
            on_click=end_class,
            icon=":material/stop_circle:",
            help="Stops the class run; students keep what they see and can continue on their own.",
        )


def start_panel() -> None:
    with st.sidebar.container(border=True):
        st.button(
            "Start a class",
            key="start_class",
            on_click=start_class,
            icon=":material/co_present:",
            help="Turns this run into a class run: one training, every student's screen.",
            width="stretch",
        )


def student_banner(run: ClassRun) -> None:
    if run.ended:
        text = f"{run.ended} What you see is its last state."
    elif PAGE.projector:  # the first screen is kept for the charts
        text = f"Class {run.code}: the teacher's run, live."
    else:
        # No "paused" or "training" here: the banner is drawn on full reruns only, and the
        # teacher's Play does not cause one (the step counter and steps/second say it live).
        text = (
            f"You are watching class {run.code}: the teacher's run, live. The probe "
            "sequence, time step, zoom and the extra views are yours; the training controls "
            "and settings are the teacher's."
        )
    # 3:1, not 4:1: at 1280 px the button read "Continue on my…" in a fifth of the width.
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.info(text, icon=":material/co_present:")
    right.button(
        "Continue on my own",
        key="fork",
        on_click=continue_on_my_own,
        type="primary",
        icon=":material/call_split:",
        help="Copies the class run as it is now into a run of your own, to change freely.",
        width="stretch",
    )
