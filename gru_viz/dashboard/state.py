"""This browser session's state, typed: every key the page keeps beyond its widgets, named once.

Widget keys share ``st.session_state``'s namespace, so a widget is never named after a state
variable (settings widgets are ``cfg_<field>``, see ``widget_key``).
"""

from __future__ import annotations

import binascii
import hashlib
import secrets
import time
from typing import Any

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from gru_viz.config import RunConfig
from gru_viz.figure_cache import FigureCache
from gru_viz.lessons import LESSONS
from gru_viz.runs import KEEP_SECONDS, RUNS
from gru_viz.session import LiveSession, Notice
from gru_viz.sharing import read_link

# Streamlit's XSRF cookie: a random token per browser, kept across reloads, sent with every
# request, never part of an address. Its masked form changes; the token inside does not.
XSRF_COOKIE = "_streamlit_xsrf"
RELOAD_WAIT_SECONDS = 1.5  # for a reload's old session to be marked gone


def browser_key() -> str | None:
    """A stable secret of this browser (a hash of its XSRF token), or None without one."""
    cookie = (st.context.cookies or {}).get(XSRF_COOKIE, "").strip("\"'")
    try:
        version, mask, masked, _ = cookie.split("|")
        mask, masked = binascii.a2b_hex(mask), binascii.a2b_hex(masked)
    except ValueError:
        return None
    if version != "2" or not mask or not masked:
        return None
    token = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked))
    return hashlib.sha256(b"gru-viz run owner:" + token).hexdigest()


def _session_id() -> str | None:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def _is_active(session_id: str) -> bool:
    try:
        return Runtime.instance().is_active_session(session_id)
    except Exception:  # no runtime (tests) or an API change: treat it as still open
        return True


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
        """This session's run: the one this browser left a moment ago (a reload), else a new
        one from the link it was opened with."""
        link = read_link(params)
        live = self._reclaim()
        if live is not None:
            lesson = live.lesson
            self.set_notice(
                Notice(
                    "success",
                    f"Welcome back: your run (step {live.trainer.step_count:,}) was kept on the "
                    f"server and is here again. A closed page's run is kept for "
                    f"{KEEP_SECONDS // 60} minutes.",
                )
            )
            link_problems: list[str] = []
        else:
            live, lesson, link_problems = LiveSession(link.config), link.lesson, link.problems
            live.control = link.control
            setup = LESSONS[lesson].control(link.control) if lesson in LESSONS else None
            if setup is not None and setup.intervention.active:  # a control clamping a gate
                live.set_intervention(setup.intervention, True)
        st.session_state["live"] = live
        set_setting_widgets(live.cfg)
        st.session_state.update(
            projector=params.get("view") == "projector",
            lesson=lesson,
            control=live.control,
            hidden=link.hidden,
            link_problems=link_problems,
            speed=live.speed,
        )
        self.remember()

    def start_watching(self, run, params: dict[str, Any]) -> None:
        """A student's page: the class's run (a ``gru_viz.classroom.ClassRun``) and nothing
        of its own: no models built, no setting widgets (it has none) until it forks."""
        st.session_state.update(
            live=run.live,
            projector=params.get("view") == "projector",
            lesson=None,
            control=None,
            hidden=(),
            link_problems=[],
        )
        self.join_class(run.code, None)

    def reload_of(self) -> str | None:
        """If this new session is a reload, the session it replaces (its run comes back)."""
        browser, session = browser_key(), _session_id()
        if browser is None or session is None or self.started:
            return None
        deadline = time.monotonic() + RELOAD_WAIT_SECONDS
        while RUNS.waiting_for(browser, session, _is_active) and time.monotonic() < deadline:
            time.sleep(0.1)
        return RUNS.reloaded_from(browser, session, _is_active)

    def _reclaim(self) -> LiveSession | None:
        browser, session = browser_key(), _session_id()
        if browser is None or session is None:
            return None
        return RUNS.reclaim(browser, session, _is_active)

    def remember(self) -> None:
        """File this run under the browser, so a reload finds it (every full run). A student's
        page shows a class's run: that is never filed as the student's own."""
        browser, session = browser_key(), _session_id()
        if self.is_student:
            return
        if browser is not None and session is not None and self.started:
            self.live.lesson, self.live.control = self.lesson, self.control  # back with the run
            RUNS.remember(browser, session, self.live)

    @property
    def lesson(self) -> str | None:
        return st.session_state.get("lesson")

    @lesson.setter
    def lesson(self, key: str | None) -> None:
        st.session_state["lesson"] = key

    @property
    def projector(self) -> bool:
        """Projector view: large text, thick lines, fewer panels, no sidebar."""
        return bool(st.session_state.get("projector", False))

    @projector.setter
    def projector(self, value: bool) -> None:
        st.session_state["projector"] = value

    # -- class mode ------------------------------------------------------------------------
    @property
    def class_run(self):  # -> gru_viz.classroom.ClassRun | None
        """The class this page is in (as teacher or student), if any."""
        from gru_viz.classroom import CLASSES

        code = st.session_state.get("class_code")
        return CLASSES.find(code) if code else None

    @property
    def teacher_key(self) -> str | None:
        """The class's teacher key: only the teacher's page holds it (on the server)."""
        return st.session_state.get("teacher_key")

    @property
    def is_teacher(self) -> bool:
        run = self.class_run
        return run is not None and run.is_teacher(self.teacher_key)

    @property
    def is_student(self) -> bool:
        return self.class_run is not None and not self.is_teacher

    @property
    def viewer_id(self) -> str:
        """This page among a class's viewers (a random name of its own, kept for its life)."""
        return st.session_state.setdefault("viewer_id", secrets.token_hex(8))

    def join_class(self, code: str, teacher_key: str | None) -> None:
        from gru_viz.classroom import CLASSES

        run = CLASSES.find(code)
        st.session_state.update(class_code=code, teacher_key=teacher_key)
        if run is not None:
            st.session_state["live"] = run.live  # the page draws the class's run

    def leave_class(self, live: LiveSession | None = None) -> None:
        """Back to a run of this page's own (``live``, or a fork made just now)."""
        run = self.class_run
        own = live or (run.live if run is not None and self.is_teacher else None)
        st.session_state.update(class_code=None, teacher_key=None)
        if own is not None:
            st.session_state["live"] = own

    @property
    def claim_pending(self) -> bool:
        """The open lesson's claim waits for a comparison run."""
        return st.session_state.get("claim_pending", False)

    @claim_pending.setter
    def claim_pending(self, value: bool) -> None:
        st.session_state["claim_pending"] = value

    @property
    def control(self) -> str | None:
        """Which of the open lesson's controls runs (None: the lesson's own setup)."""
        return st.session_state.get("control")

    @control.setter
    def control(self, key: str | None) -> None:
        st.session_state["control"] = key

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
        self.want_full_rerun()  # notices are drawn outside the live panel

    # -- reruns ----------------------------------------------------------------------------
    def want_full_rerun(self) -> None:
        """Something drawn outside the live panel changed (a notice, the setup, the sidebar's
        widgets). A widget inside the panel's fragment reruns the fragment only, so the
        fragment then asks for the whole page (``full_rerun_wanted``)."""
        st.session_state["full_rerun_wanted"] = True

    def full_rerun_wanted(self) -> bool:
        """Whether a full rerun was asked for since the last call (and forget the ask)."""
        return bool(st.session_state.pop("full_rerun_wanted", False))

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
