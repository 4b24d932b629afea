"""Shareable links: the whole setup (lesson and control, settings, hidden groups) in the URL.

A link is untrusted text: ``read_link`` never raises, drops what it cannot use with one
message each, and falls back to the lesson's or the default settings. ``write_link`` gives
the query that reproduces a run, so the same seed gives the same numbers in another browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gru_viz.config import SETTING_GROUPS, RunConfig, config_from_strings, config_to_strings
from gru_viz.lessons import LESSONS

LESSON_KEY, CONTROL_KEY, HIDE_KEY = "lesson", "control", "hide"


@dataclass
class Link:
    config: RunConfig
    lesson: str | None = None
    control: str | None = None  # one of the lesson's controls
    hidden: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)


def lesson_config(lesson: str | None, control: str | None = None) -> RunConfig:
    """The setup a link's settings are relative to: the lesson's (or its control's), or the
    defaults."""
    if lesson not in LESSONS:
        return RunConfig()
    setup = LESSONS[lesson].control(control) or LESSONS[lesson]
    return setup.config


def _last(value: object) -> str | None:
    """A repeated parameter (``?lesson=a&lesson=b`` read as a list) counts by its last value,
    as a browser's address bar and ``st.query_params`` do."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    return None if value is None else str(value)


def read_link(params: Mapping[str, object]) -> Link:
    """Settings, lesson and hidden groups from untrusted query parameters; never raises."""
    problems: list[str] = []
    lesson = _last(params.get(LESSON_KEY))
    if lesson is not None and lesson not in LESSONS:
        problems.append(f"No lesson called '{lesson[:30]}'; opened free exploration.")
        lesson = None
    control = _last(params.get(CONTROL_KEY))
    if control is not None and (lesson is None or LESSONS[lesson].control(control) is None):
        problems.append(f"No control called '{control[:30]}' for this lesson; opened its setup.")
        control = None
    hidden_text = (_last(params.get(HIDE_KEY)) or "")[:100]
    wanted = [g.strip().capitalize() for g in hidden_text.split(",") if g.strip()]
    hidden = tuple(g for g in SETTING_GROUPS if g in wanted)
    if len(hidden) != len(set(wanted)):
        problems.append(f"Can only hide {', '.join(SETTING_GROUPS)}; ignored the rest.")
    cfg, more = config_from_strings(params, lesson_config(lesson, control))
    return Link(cfg, lesson, control, hidden, problems + more)


def write_link(
    cfg: RunConfig,
    lesson: str | None = None,
    hidden: tuple[str, ...] = (),
    control: str | None = None,
) -> dict:
    """Query parameters for this setup: only what differs from the lesson (or the defaults)."""
    query = {}
    if lesson in LESSONS:
        query[LESSON_KEY] = lesson
        if LESSONS[lesson].control(control) is not None:
            query[CONTROL_KEY] = control
    query.update(config_to_strings(cfg, lesson_config(lesson, control)))
    if hidden:
        query[HIDE_KEY] = ",".join(g.lower() for g in hidden)
    return query
