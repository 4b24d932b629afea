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
        # One stage at a time, in tabs: the guide stays short enough to keep the charts on a
        # 1080p screen, and "Predict first" comes before the answer is on show.
        for tab, (_, name) in zip(st.tabs([h for h, _ in STAGES]), STAGES, strict=True):
            tab.markdown(getattr(lesson, name))
        claim = check_claim(lesson, live.trainer)
        shown = st.success if claim.holds else st.info
        # Too early to check: the summary says so itself ("Not checked yet: ...").
        early = "steps_needed" in claim.figures
        label = "Seen in your run: " if claim.holds else "" if early else "Not shown yet: "
        shown(
            label + claim.summary,
            icon=":material/check_circle:" if claim.holds else ":material/hourglass_top:",
        )
