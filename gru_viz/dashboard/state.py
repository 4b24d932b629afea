"""This browser session's state, typed: every key the page keeps beyond its widgets, named once.

Widget keys share ``st.session_state``'s namespace, so a widget is never named after a state
variable (settings widgets are ``cfg_<field>``, see ``widget_key``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from gru_viz.config import RunConfig
from gru_viz.figure_cache import FigureCache
from gru_viz.session import LiveSession, Notice
from gru_viz.sharing import read_link


def widget_key(field_name: str) -> str:
    return f"cfg_{field_name}"


def widget_value(value: Any) -> Any:
    """A config value as its widget holds it (multiselects want lists)."""
    return list(value) if isinstance(value, tuple) else value


def set_setting_widgets(cfg: RunConfig) -> None:
    for name, value in cfg.as_dict().items():
        st.session_state[widget_key(name)] = widget_value(value)


class PageState:
    """Typed properties over ``st.session_state`` for what the page remembers between runs."""

    @property
    def live(self) -> LiveSession:
        return st.session_state["live"]

    @property
    def started(self) -> bool:
        return "live" in st.session_state

    def start(self, params: dict[str, Any]) -> None:
        """This session's run, created once from the link it was opened with."""
        link = read_link(params)
        st.session_state["live"] = LiveSession(link.config)
        set_setting_widgets(link.config)
        st.session_state.update(
            lesson=link.lesson,
            hidden=link.hidden,
            link_problems=link.problems,
            speed=st.session_state["live"].speed,
        )

    @property
    def lesson(self) -> str | None:
        return st.session_state.get("lesson")

    @lesson.setter
    def lesson(self, key: str | None) -> None:
        st.session_state["lesson"] = key

    @property
    def hidden(self) -> tuple[str, ...]:
        """Setting groups a classroom link hides."""
        return st.session_state.get("hidden", ())

    @property
    def link_problems(self) -> list[str]:
        return st.session_state.get("link_problems", [])

    def pop_notice(self) -> Notice | None:
        return st.session_state.pop("notice", None)

    def set_notice(self, notice: Notice) -> None:
        st.session_state["notice"] = notice

    @property
    def figure_cache(self) -> FigureCache:
        if "figure_cache" not in st.session_state:
            st.session_state["figure_cache"] = FigureCache()
        return st.session_state["figure_cache"]

    def count_full_run(self) -> int:
        """Numbers each full run, so a click delivered twice in one run is recognised."""
        st.session_state["full_runs"] = st.session_state.get("full_runs", 0) + 1
        return st.session_state["full_runs"]

    @property
    def full_runs(self) -> int:
        return st.session_state.get("full_runs", 0)

    def first_click_in_run(self, action: str, run: int) -> bool:
        """True once per (action, full run): see controls.set_playing for why."""
        key = f"{action}_in_run"
        if st.session_state.get(key) == run:
            return False
        st.session_state[key] = run
        return True


PAGE = PageState()
