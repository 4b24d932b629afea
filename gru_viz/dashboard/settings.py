"""The sidebar: the lesson picker and one widget per row of the config field table.

Everything about a setting (its widget, step, group, which tasks show it, its limits and help)
comes from ``gru_viz.config.FIELDS``: adding a setting is one row there, nothing here.

A widget always shows what runs. A change is applied in the widget's callback, before the page
is drawn: a refused value snaps back with the reason right under the widget, and a change that
would rebuild a trained run waits for the user to confirm it (the run is not lost unasked).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from gru_viz.config import (
    FIELD_BY_NAME,
    FIELDS,
    SETTING_GROUPS,
    ConfigError,
    Field,
    RunConfig,
    describe_changes,
)
from gru_viz.dashboard.state import PAGE, set_setting_widgets, widget_key, widget_value
from gru_viz.kinds import title as kind_title
from gru_viz.lessons import LESSONS
from gru_viz.models import NO_INTERVENTION
from gru_viz.session import LiveSession, Notice, SessionBusy
from gru_viz.sharing import write_link
from gru_viz.snapshot import SnapshotError, load_lesson_run
from gru_viz.tasks import TASKS

FREE = "free"  # the lesson picker's "no lesson" entry
# How a choice reads in a widget; plain values read as themselves.
CHOICE_TITLES = {
    "task": lambda t: TASKS[t].title,
    "models": kind_title,
    "readout": {"last_real": "its last real step", "last_padded": "the last padded step"}.get,
}
COLLAPSED_GROUPS = ("Training",)  # opened on demand: most lessons never need them
REFUSED, PENDING = "settings_refused", "settings_pending"


@dataclass(frozen=True)
class PendingChange:
    """A change that would discard a trained run, waiting for the user's yes."""

    cfg: RunConfig
    what: str  # "hidden units 32 → 33", or "start the lesson ..."
    anchor: str  # the field (or "lesson") beside which the question is asked
    lesson: str | None = None  # a lesson to open once it is applied
    control: str | None = None  # and which of its controls
    trained_run: bool = False  # the lesson opens on its shipped trained run, not from scratch


def _refusals() -> dict[str, str]:
    return st.session_state.setdefault(REFUSED, {})


def _show(cfg: RunConfig, anchor: str) -> None:
    """Set the widgets to what runs: only the one that changed, or all for a lesson. (Several
    widgets can change in one rerun, each with its own callback still to come: resetting the
    others here would undo their changes before those callbacks read them.)"""
    if anchor in FIELD_BY_NAME:
        st.session_state[widget_key(anchor)] = widget_value(getattr(cfg, anchor))
    else:
        set_setting_widgets(cfg)


def _apply(cfg: RunConfig, anchor: str) -> None:
    """Run ``cfg`` now (rebuild or on the fly); refuse with the reason beside ``anchor``."""
    live = PAGE.live
    try:
        notice = live.apply(cfg)
    except SessionBusy as err:
        _refusals()[anchor] = str(err)
    else:
        if notice:
            PAGE.set_notice(notice)
    _show(live.cfg, anchor)
    PAGE.want_full_rerun()  # the widgets (or their refusal) are drawn outside the live panel


def _ask_or_apply(
    cfg: RunConfig,
    what: str,
    anchor: str,
    lesson: str | None = None,
    control: str | None = None,
) -> None:
    live = PAGE.live
    rebuilds = bool(cfg.structural_changes(live.cfg)) or lesson is not None
    if rebuilds and live.trainer.step_count > 0:
        st.session_state[PENDING] = PendingChange(cfg, what, anchor, lesson, control)
        _show(live.cfg, anchor)  # the widgets go on showing what runs until a yes
        return
    _open_lesson(lesson, control)
    _apply(cfg, anchor)
    if lesson is not None:
        _set_intervention(lesson, control)
        live.reset()  # a lesson (or its control) starts from scratch, even on the same setup


def _open_lesson(lesson: str | None, control: str | None = None) -> None:
    if lesson is not None:
        PAGE.lesson = None if lesson == FREE else lesson
        PAGE.control = control
        st.session_state["lesson_pick"] = lesson
        st.session_state.pop("cursor", None)  # a new setup: the cursor starts at its end
        PAGE.live.playing = False
        PAGE.want_full_rerun()  # the sidebar and the task's description show the new setup


def _set_intervention(lesson: str, control: str | None) -> None:
    """A control that clamps a gate in training sets the intervention widgets to say so."""
    from gru_viz.dashboard.interventions import show_intervention

    setup = LESSONS[lesson].control(control) if lesson in LESSONS else None
    show_intervention(setup.intervention if setup else NO_INTERVENTION, in_training=True)


def setting_changed(name: str) -> None:
    """A widget's callback: check the new value, then apply it, ask first, or refuse it."""
    live, field = PAGE.live, FIELD_BY_NAME[name]
    _refusals().pop(name, None)
    st.session_state.pop(PENDING, None)
    value = st.session_state[widget_key(name)]
    try:
        cfg = live.cfg.replace(**{name: value})
    except ConfigError as err:
        _refusals()[name] = f"Not applied, kept {_shown(field, live.cfg)}: {err}"
        _show(live.cfg, name)
        return
    _ask_or_apply(cfg, describe_changes(live.cfg, cfg), name)


def _shown(field: Field, cfg: RunConfig) -> str:
    value = getattr(cfg, field.name)
    titles = CHOICE_TITLES.get(field.name, str)
    return ", ".join(map(titles, value)) if isinstance(value, tuple) else str(titles(value))


def confirm_pending() -> None:
    pending = st.session_state.pop(PENDING, None)
    if pending is not None and pending.trained_run:
        _adopt_trained_run(pending.lesson)
    elif pending is not None:
        _open_lesson(pending.lesson, pending.control)
        _apply(pending.cfg, pending.anchor)
        if pending.lesson is not None:
            _set_intervention(pending.lesson, pending.control)
            PAGE.live.reset()


def cancel_pending() -> None:
    st.session_state.pop(PENDING, None)
    st.session_state["lesson_pick"] = PAGE.lesson or FREE


def pending_question(anchor: str) -> None:
    """Beside the widget that asked: what would be lost, and the two ways out."""
    pending: PendingChange | None = st.session_state.get(PENDING)
    if pending is None or pending.anchor != anchor:
        return
    steps = PAGE.live.trainer.step_count
    does = "replaces your run" if pending.trained_run else "rebuilds the models from scratch"
    st.warning(
        f"{pending.what[0].upper()}{pending.what[1:]} {does}: the {steps:,} "
        f"step{'' if steps == 1 else 's'} trained so far would be lost.",
        icon=":material/warning:",
    )
    yes, no = st.columns(2)
    yes.button(
        "Load the trained run" if pending.trained_run else "Rebuild",
        key=f"confirm_{anchor}",
        on_click=confirm_pending,
        type="primary",
    )
    no.button("Keep my run", key=f"cancel_{anchor}", on_click=cancel_pending)


def setting_widget(field: Field, live: LiveSession) -> None:
    key = widget_key(field.name)
    if key not in st.session_state:  # Streamlit forgets a widget's value while it is hidden
        st.session_state[key] = widget_value(getattr(live.cfg, field.name))
    common = {
        "key": key,
        "help": field.help,
        "on_change": setting_changed,
        "args": (field.name,),
    }
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
    if refusal := _refusals().get(field.name):
        st.error(refusal, icon=":material/block:")
    pending_question(field.name)


def start_lesson() -> None:
    start_setup(st.session_state.lesson_pick, None)


def start_setup(key: str, control: str | None, anchor: str = "lesson") -> None:
    """Open a lesson with its own setup, or with one of its controls (``control``); a question
    before discarding a trained run is asked beside ``anchor`` (the sidebar's lesson picker, or
    the lesson guide's buttons)."""
    _refusals().clear()
    st.session_state.pop(PENDING, None)
    if key == FREE or key not in LESSONS:
        _open_lesson(FREE)
        return
    lesson = LESSONS[key]
    setup = lesson.control(control)
    what = (
        f"trying the control “{setup.title}”" if setup else f"starting the lesson “{lesson.title}”"
    )
    _ask_or_apply((setup or lesson).config, what, anchor, key, control)


def jump_to_trained_run(key: str, anchor: str) -> None:
    """Open lesson ``key`` on the trained run shipped with the app: its end state at once,
    with its whole history (asks first if this page's run has trained)."""
    _refusals().clear()
    st.session_state.pop(PENDING, None)
    lesson = LESSONS[key]
    if PAGE.live.trainer.step_count > 0:
        what = f"jumping to the trained run of “{lesson.title}”"
        st.session_state[PENDING] = PendingChange(
            lesson.config, what, anchor, key, None, trained_run=True
        )
        return
    _adopt_trained_run(key)


def _adopt_trained_run(key: str) -> None:
    try:
        trainer = load_lesson_run(key)
    except SnapshotError as err:  # a damaged install: say so, keep the run
        PAGE.set_notice(Notice("error", f"The lesson's trained run could not be loaded: {err}"))
        return
    _open_lesson(key, None)
    PAGE.live.adopt(trainer)
    set_setting_widgets(trainer.cfg)
    _set_intervention(key, None)
    PAGE.set_notice(
        Notice(
            "success",
            f"This is the lesson's run trained for {trainer.step_count:,} steps (seed "
            f"{trainer.cfg.seed}), shipped with the app: the charts show its whole training. "
            "Press Play to go on training it, or Reset to train it yourself from step 0.",
        )
    )


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
    with st.sidebar:
        pending_question("lesson")


def _fields_the_lesson_asks_for(live: LiveSession) -> list[Field]:
    """Settings the open lesson's "Then try" names that a classroom link has hidden: a link
    must not hide what the lesson asks the student to change."""
    lesson = LESSONS.get(PAGE.lesson or "")
    names = lesson.try_fields if lesson else ()
    return [
        FIELD_BY_NAME[n]
        for n in names
        if FIELD_BY_NAME[n].group in PAGE.hidden and FIELD_BY_NAME[n].used_by(live.cfg.task)
    ]


def student_sidebar(live: LiveSession) -> None:
    """A student in a class sees the teacher's setup, read-only: the teacher drives the run."""
    st.sidebar.title("The teacher's setup")
    st.sidebar.caption(
        "Read-only: the teacher sets these. Press “Continue on my own” to change them in a "
        "copy of your own."
    )
    lines = [
        f"- **{field.label}**: {_shown(field, live.cfg)}"
        for field in FIELDS
        if field.used_by(live.cfg.task)
    ]
    st.sidebar.markdown("\n".join(lines))


def sidebar(live: LiveSession) -> None:
    lesson_picker()
    st.sidebar.title("Settings")
    for group in SETTING_GROUPS:
        if group in PAGE.hidden:
            continue
        with st.sidebar.expander(group, expanded=group not in COLLAPSED_GROUPS):
            for field in FIELDS:
                if field.group == group and field.used_by(live.cfg.task):
                    setting_widget(field, live)
    needed = _fields_the_lesson_asks_for(live)
    if needed:
        with st.sidebar.expander("For this lesson's next step", expanded=True):
            for field in needed:
                setting_widget(field, live)
    if PAGE.hidden:
        st.sidebar.caption(f"This classroom link hides: {', '.join(PAGE.hidden)}.")
    query = write_link(live.cfg, PAGE.lesson, PAGE.hidden, PAGE.control)
    if query != st.query_params.to_dict():
        st.query_params.from_dict(query)  # the address bar is always a link to this setup
