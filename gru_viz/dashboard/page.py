"""The whole page, composed from one module per panel (loads torch: import after boot)."""

from __future__ import annotations

import streamlit as st
from streamlit.logger import get_logger

from gru_viz.classroom import STUDENT_TICK_SECONDS
from gru_viz.dashboard import classroom, student
from gru_viz.dashboard.capacity import admit
from gru_viz.dashboard.charts import live_charts
from gru_viz.dashboard.controls import controls
from gru_viz.dashboard.downloads import sharing_and_downloads
from gru_viz.dashboard.equations import equations_panel
from gru_viz.dashboard.lesson import lesson_guide
from gru_viz.dashboard.memory_span import memory_span
from gru_viz.dashboard.probe_panels import inspector, more_views
from gru_viz.dashboard.settings import sidebar, student_sidebar
from gru_viz.dashboard.state import PAGE
from gru_viz.dashboard.status import status
from gru_viz.session import TICK_SECONDS, TICK_TURN, LiveSession, warm_up_in_background

LOG = get_logger(__name__)


def ticking(live: LiveSession) -> bool:
    """Whether the live panel needs its timer: playing, a Step × N under way, or a lesson's
    claim waiting for its comparison run; in a class, while the class is on (its run trains in
    the class's worker, and a student's page must notice the teacher's Play)."""
    run = PAGE.class_run
    if run is not None:
        return run.ended is None or PAGE.claim_pending
    return live.playing or live.stepping or PAGE.claim_pending


def live_panel(live: LiveSession) -> None:
    """One tick: train for this tick's budget, then draw everything that changes with it; a
    student's page draws the class's shared frame instead (gru_viz.dashboard.student)."""
    was_ticking = ticking(live)
    run = PAGE.class_run
    if run is not None and not PAGE.is_teacher:
        student.live_panel(run, live)
    else:
        own_live_panel(live)
    # Start or stop the timer (it only changes on a full rerun), or show what a widget in this
    # fragment changed outside it (a lesson's control rebuilds the setup the sidebar shows).
    if PAGE.full_rerun_wanted() or was_ticking != ticking(live):
        st.rerun()


def own_live_panel(live: LiveSession) -> None:
    """A private page's tick, or the teacher's (whose run the class's worker trains)."""
    fault_box = st.container()  # always there: see main's notice_box
    progress_box = st.container()  # a Step × N's progress bar, while it trains
    run = PAGE.class_run
    if run is not None:  # the teacher's page: the class's worker trains, this page only draws
        run.teacher_here()
        run.poke()
    with TICK_TURN:  # one session's tick at a time: see gru_viz.session
        try:
            if run is None:
                live.tick()
        except Exception as err:  # a fault in training must never take the page down
            live.playing = False
            # The message only: details go to the server log (students see no internals).
            LOG.exception("training tick failed")
            fault_box.error(
                f"Training paused after an error ({type(err).__name__}). Press Play to try "
                "again, or Reset."
            )
        if live.stepping:
            done, asked = live.step_progress
            progress_box.progress(done / asked, text=f"Stepping: {done} / {asked}")
        PAGE.claim_pending = lesson_guide(live)
        if run is not None:
            run.teacher_drew()  # what the teacher changed reaches the students' frames
        status(live)
        sel = live_charts(live)
        if not PAGE.projector:  # the projector view keeps to the story's four charts
            inspector(live, sel)
            more_views(live, sel)


def link_problems() -> None:
    """What a link asked for and could not have. Its text is untrusted: shown as code, never as
    Markdown (a link could otherwise draw headings, links, or images fetched from anywhere)."""
    if not PAGE.link_problems:
        return
    st.warning(
        "From the link: some values could not be used, so the defaults stand in for them "
        "(the link's own words are shown as written):",
        icon=":material/link_off:",
    )
    st.code("\n".join(PAGE.link_problems), language=None, wrap_lines=True)


def main(boot_slot) -> None:
    # A place on this server first (a reload takes over its old session's); a full server
    # gets a short page instead of slowing every student down.
    if not admit(boot_slot, replacing=PAGE.reload_of()):
        st.stop()
    PAGE.count_full_run()
    if not PAGE.started:
        params = st.query_params.to_dict()
        if not classroom.watch_from_link(params):  # a student: the class's run, at once
            PAGE.start(params)  # boot_slot says what is happening meanwhile
            PAGE.link_problems.extend(classroom.open_from_link(params))
    else:
        PAGE.remember()
    live = PAGE.live
    run = PAGE.class_run
    boot_slot.empty()  # the models exist: the real charts take the placeholder's turn
    if PAGE.is_student:
        student_sidebar(live)
    else:
        sidebar(live)
        classroom.teacher_panel(run) if run is not None else classroom.start_panel()
    view_switch()
    if run is not None:  # the address bar: the class's join link, nothing of anyone's run
        wanted = {classroom.CLASS_KEY: run.code} | ({"view": "projector"} if PAGE.projector else {})
        if st.query_params.to_dict() != wanted:
            st.query_params.from_dict(wanted)
    link_problems()
    task = live.trainer.task
    st.markdown(f"**{task.title}.** {task.description}")
    if PAGE.is_student:
        classroom.student_banner(run)
        student.choices(live)
    else:
        if run is not None:
            run.teacher_here()
        controls(live)
    # Optional messages go into containers that exist on every run: an element that comes and
    # goes would shift everything below it, and while a run is in progress the browser shows
    # the old and the new copy of a shifted element side by side (two step counters).
    notice_box = st.container()
    if notice := PAGE.pop_notice():
        st.toast(
            notice.text,
            icon=":material/sync:" if notice.kind == "warning" else ":material/check_circle:",
        )
        getattr(notice_box, notice.kind)(notice.text)
    # A fragment redraws on its timer without rerunning the page around it. Paused, the panel is
    # still the same fragment, only without a timer: its elements keep their places in the page
    # tree, so pressing Play remounts only the charts whose figures changed (loss and gradient
    # norm), not all six (Play to first updated chart, median of 4: 0.55 vs 0.80 s at 1920x1080).
    # While a Step × N trains, or a lesson's comparison does (off the tick), the panel checks
    # back every tick too.
    PAGE.full_rerun_wanted()  # this run draws everything: nothing is left to ask a rerun for
    every = STUDENT_TICK_SECONDS if PAGE.is_student else TICK_SECONDS
    st.fragment(live_panel, run_every=every if ticking(live) else None)(live)
    if run is not None and PAGE.is_teacher:
        run.poke()  # Play or Step pressed: the class's worker trains
    if PAGE.projector:
        warm_up_in_background()
        return
    if not PAGE.is_student:
        memory_span(live)  # its own fragment: sweeps in budgeted slices, even while paused
    # Outside the timer: their widgets change nothing per tick, and a change reruns the page.
    sharing_and_downloads(live)
    equations_panel(live.cfg.models)
    warm_up_in_background()


def view_switch() -> None:
    """The projector view: on from the sidebar (or ?view=projector), off from a button beside
    the title (gru_viz.dashboard.boot: the projector view hides the sidebar)."""
    if not PAGE.projector:
        st.sidebar.toggle(
            "Projector view",
            key="projector_switch",
            on_change=lambda: setattr(PAGE, "projector", st.session_state.projector_switch),
            help="Large text, thick lines and four charts, readable from the back of a room; "
            "the sidebar hides (a button at the top brings it back).",
        )
