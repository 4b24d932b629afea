"""The open lesson's guide (predict, look at, meaning, then try) and its live claim check."""

from __future__ import annotations

import streamlit as st

from gru_viz.dashboard.state import PAGE
from gru_viz.lessons import LESSONS, check_claim
from gru_viz.session import LiveSession

STAGES = (
    ("1 · Predict first", "predict"),
    ("2 · Look at", "look_at"),
    ("3 · What it means", "meaning"),
    ("4 · Then try", "try_next"),
)


def lesson_guide(live: LiveSession) -> None:
    if not PAGE.lesson:
        return
    lesson = LESSONS[PAGE.lesson]
    with st.container(border=True):
        st.subheader(f"Lesson: {lesson.title}")
        for col, (head, name) in zip(st.columns(len(STAGES)), STAGES, strict=True):
            col.markdown(f"**{head}**\n\n{getattr(lesson, name)}")
        claim = check_claim(lesson, live.trainer)
        shown = st.success if claim.holds else st.info
        # Too early to check: the summary says so itself ("Not checked yet: ...").
        early = "steps_needed" in claim.figures
        label = "Seen in your run: " if claim.holds else "" if early else "Not shown yet: "
        shown(
            label + claim.summary,
            icon=":material/check_circle:" if claim.holds else ":material/hourglass_top:",
        )
