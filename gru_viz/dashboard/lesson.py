"""The open lesson's guide (predict, look at, meaning, then try), its live claim check, and its
controls: setups where the phenomenon is absent, offered one click away."""

from __future__ import annotations

import streamlit as st

from gru_viz.dashboard.settings import jump_to_trained_run, pending_question, start_setup
from gru_viz.dashboard.state import PAGE
from gru_viz.lessons import LESSONS, STAGES, check_claim
from gru_viz.session import LiveSession

GUIDE = "guide"  # where the guide's buttons ask before discarding a trained run
STAGE_TITLES = {
    "predict": "1 · Predict first",
    "look_at": "2 · Look at",
    "meaning": "3 · What it means",
    "try_next": "4 · Then try",
}


def lesson_guide(live: LiveSession) -> bool:
    """Draw the guide; True while its claim waits for a comparison run (check back soon)."""
    if not PAGE.lesson:
        return False
    lesson = LESSONS[PAGE.lesson]
    control = lesson.control(PAGE.control)
    with st.container(border=True):
        st.subheader(f"Lesson: {lesson.title}")
        # One stage at a time, in tabs: the guide stays short enough to keep the charts on a
        # 1080p screen, and "Predict first" comes before the answer is on show.
        for tab, name in zip(st.tabs([STAGE_TITLES[s] for s in STAGES]), STAGES, strict=True):
            tab.markdown(getattr(lesson, name))
        claim = check_claim(lesson, live.trainer)
        early = "steps_needed" in claim.figures  # the summary says so itself
        if claim.pending:
            st.info(claim.summary, icon=":material/hourglass_top:")
        elif claim.holds:
            st.success("Seen in your run: " + claim.summary, icon=":material/check_circle:")
        else:
            label = "" if early else "Not seen in your run: "
            st.info(label + claim.summary, icon=":material/hourglass_top:")
        if not PAGE.is_student:  # the teacher picks the setup the class watches
            controls(lesson, control)
    return claim.pending


def controls(lesson, control) -> None:
    if control is not None:
        st.caption(
            f"Running the control “{control.title}”: {control.why}, so the claim should not be "
            "seen here."
        )
    buttons = [(c.key, f"Try the control: {c.title}") for c in lesson.controls if c != control]
    if control is not None:
        buttons.insert(0, (None, "Back to the lesson's setup"))
    columns = st.columns(len(buttons) + 1)
    for column, (key, label) in zip(columns, buttons, strict=False):
        column.button(
            label,
            key=f"control_{key or 'lesson'}",
            on_click=start_setup,
            args=(lesson.key, key, GUIDE),
            icon=":material/science:" if key else ":material/undo:",
            help="Rebuilds the models with that setup (asks first if your run has trained).",
        )
    columns[-1].button(
        "Jump to a trained run",
        key="jump_to_trained",
        on_click=jump_to_trained_run,
        args=(lesson.key, GUIDE),
        icon=":material/fast_forward:",
        help=f"The lesson's setup trained for up to {lesson.steps:,} steps, shipped with the "
        "app: the end state and its whole history at once, without waiting (asks first if your "
        "run has trained).",
    )
    pending_question(GUIDE)  # here, not in the sidebar: it may be hidden (a laptop, a projector)
