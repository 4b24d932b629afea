"""The sidebar: the lesson picker and one widget per row of the config field table.

Everything about a setting (its widget, step, group, which tasks show it, its limits and help)
comes from ``gru_viz.config.FIELDS``: adding a setting is one row there, nothing here.
"""

from __future__ import annotations

import streamlit as st

from gru_viz.config import FIELD_BY_NAME, FIELDS, SETTING_GROUPS, ConfigError, Field, RunConfig
from gru_viz.dashboard.state import PAGE, set_setting_widgets, widget_key, widget_value
from gru_viz.kinds import title as kind_title
from gru_viz.lessons import LESSONS
from gru_viz.session import LiveSession, SessionBusy
from gru_viz.sharing import write_link
from gru_viz.tasks import TASKS

FREE = "free"  # the lesson picker's "no lesson" entry
# How a choice reads in a widget; plain values read as themselves.
CHOICE_TITLES = {"task": lambda t: TASKS[t].title, "models": kind_title}
COLLAPSED_GROUPS = ("Training",)  # opened on demand: most lessons never need them


def setting_widget(field: Field, live: LiveSession) -> None:
    key = widget_key(field.name)
    if key not in st.session_state:  # Streamlit forgets a widget's value while it is hidden
        st.session_state[key] = widget_value(getattr(live.cfg, field.name))
    common = {"key": key, "help": field.help}
    titles = CHOICE_TITLES.get(field.name, str)
    if field.widget == "select":
        st.selectbox(field.label, field.choices, format_func=titles, **common)
    elif field.widget == "multiselect":
        st.multiselect(field.label, field.choices, format_func=titles, **common)
    elif field.widget == "radio":
        st.radio(field.label, field.choices, horizontal=True, format_func=titles, **common)
    elif field.widget == "number":
        st.number_input(
            field.label,
            min_value=field.kind(field.lo),
            max_value=field.kind(field.hi),
            step=field.kind(field.step),
            format="%.5g" if field.kind is float else "%d",
            **common,
        )
    else:
        st.slider(
            field.label,
            min_value=field.kind(field.lo),
            max_value=field.kind(field.hi),
            step=field.kind(field.step),
            **common,
        )


def start_lesson() -> None:
    key = st.session_state.lesson_pick
    PAGE.lesson = None if key == FREE else key
    if key != FREE:
        set_setting_widgets(LESSONS[key].config)  # the sidebar's apply() then rebuilds
        PAGE.live.playing = False


def lesson_picker() -> None:
    st.sidebar.title("Lessons")
    st.session_state.setdefault("lesson_pick", PAGE.lesson or FREE)
    st.sidebar.selectbox(
        "Guided lesson",
        [FREE, *LESSONS],
        key="lesson_pick",
        format_func=lambda k: "Free exploration" if k == FREE else LESSONS[k].title,
    )
    st.sidebar.button(
        "Start this lesson",
        on_click=start_lesson,
        key="start_lesson",
        type="primary",
        width="stretch",
        help="Sets every control to the lesson's setup and shows its guide.",
    )


def sidebar(live: LiveSession) -> None:
    lesson_picker()
    st.sidebar.title("Settings")
    task = st.session_state.get(widget_key("task"), live.cfg.task)
    for group in SETTING_GROUPS:
        if group in PAGE.hidden:
            continue
        with st.sidebar.expander(group, expanded=group not in COLLAPSED_GROUPS):
            for field in FIELDS:
                if field.group == group and field.used_by(task):
                    setting_widget(field, live)
    if PAGE.hidden:
        st.sidebar.caption(f"This classroom link hides: {', '.join(PAGE.hidden)}.")
    apply_settings(live)


def apply_settings(live: LiveSession) -> None:
    """Run what the widgets say, and keep the address bar a link to it."""
    values = {n: st.session_state.get(widget_key(n), getattr(live.cfg, n)) for n in FIELD_BY_NAME}
    try:
        notice = live.apply(RunConfig(**values))
    except (ConfigError, SessionBusy) as err:
        st.sidebar.error(f"Not applied: {err}")
        return
    if notice:
        PAGE.set_notice(notice)
    query = write_link(live.cfg, PAGE.lesson, PAGE.hidden)
    if query != st.query_params.to_dict():
        st.query_params.from_dict(query)
