"""A cap on browser sessions per server process, and a short "server full" page past it.

One Streamlit process runs every session's training under one interpreter lock, so each
session added slows all the others down: at 20 sessions training on one core the p95 update
interval is 1.3-1.8 s (target < 2 s, README "Measured capacity"), at 20 per process on a busy
2-core machine 2.5 s. Past the cap a new visitor gets a friendly full page at once instead of
everyone's page slowing to a crawl.

The page calls ``admit(slot)`` first thing on every full run and stops when it returns False:

    if not admit(boot_slot):
        st.stop()

Rules:

* The cap comes from ``GRU_VIZ_MAX_SESSIONS`` (default 20; 0 or less: no cap), read when the
  process starts.
* A session admitted once keeps its place for as long as Streamlit keeps the session: later
  arrivals never throw it out, and a browser that reconnects within
  ``server.disconnectedSessionTTL`` (a Wi-Fi blip) finds its run still there.
* A closed or reloaded tab gives its place back once its session has been disconnected for
  ``server.disconnectedSessionTTL`` seconds: that is when Streamlit drops the session (and its
  models) too. A watcher thread notes, once a second, when each admitted session was first
  seen disconnected.
* Which sessions are connected comes from ``Runtime.instance().is_active_session``, a
  Streamlit internal documented as safe from any thread. If that API is missing or changes,
  the cap turns itself off with one warning in the server log (the app works, uncapped), and
  ``tests/test_capacity.py`` fails. Without a Streamlit server at all (AppTest, bare
  ``python``), there is nothing to count and every session is admitted.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping

import streamlit as st
from streamlit.logger import get_logger

LOG = get_logger(__name__)

ENV_VAR = "GRU_VIZ_MAX_SESSIONS"
# 20 sessions training at once on one process: p95 update interval 1.33-1.77 s in the load
# tests (target < 2 s). Most classes have some sessions paused, which cost no CPU.
DEFAULT_MAX_SESSIONS = 20
WATCH_SECONDS = 1.0  # how often the watcher looks for disconnected sessions
TTL_OPTION = "server.disconnectedSessionTTL"
RETRY_KEY = "gru_viz_capacity_retry"


def full_message(count: int) -> str:
    students = "1 student" if count == 1 else f"{count} students"
    return (
        f"**This server is full ({students}).** Try again in a minute, "
        "or ask your teacher for the other address."
    )


def max_sessions_from_env(environ: Mapping[str, str] = os.environ) -> int | None:
    """The cap an operator set in ``GRU_VIZ_MAX_SESSIONS``; None for no cap."""
    raw = environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_MAX_SESSIONS
    try:
        value = int(raw)
    except ValueError:
        LOG.warning("%s=%r is not a whole number: using %d", ENV_VAR, raw, DEFAULT_MAX_SESSIONS)
        return DEFAULT_MAX_SESSIONS
    return value if value > 0 else None


def _disconnected_ttl() -> float:
    return float(st.get_option(TTL_OPTION))


def streamlit_liveness() -> Callable[[str], bool] | None:
    """This server's "is this session still connected?", or None where no server runs.

    The Streamlit internal the cap relies on (besides ``get_script_run_ctx`` for the session's
    id); raises if its API has changed. AppTest installs a mock Runtime while a script runs:
    that is no server either.
    """
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    runtime = Runtime.instance()
    if not issubclass(type(runtime), Runtime):  # AppTest's MagicMock(spec=Runtime)
        return None
    return runtime.is_active_session


def current_session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return None if ctx is None else ctx.session_id


class Admission:
    """Places on one server process: which sessions hold one, and when each was last connected.

    ``liveness`` answers whether a session id is connected now (None: ask the Streamlit server
    this process runs, if any); ``ttl`` is how long a disconnected session keeps its place.
    """

    def __init__(
        self,
        cap: int | None,
        liveness: Callable[[str], bool] | None = None,
        ttl: Callable[[], float] = _disconnected_ttl,
        clock: Callable[[], float] = time.monotonic,
        watch: bool = True,
    ):
        self.cap, self.ttl, self.clock, self.watch = cap, ttl, clock, watch
        self._liveness = liveness  # None: ask the running Streamlit server each time
        self._lock = threading.Lock()
        # session id -> when it was first seen disconnected (None: connected at the last look)
        self._places: dict[str, float | None] = {}
        self._disabled = cap is None
        self._watcher: threading.Thread | None = None

    @property
    def in_use(self) -> int:
        with self._lock:
            return len(self._places)

    def admit(self, session_id: str, replacing: str | None = None) -> tuple[bool, int]:
        """(may this session go on, places in use): admitted sessions always may, and so does a
        reload, which takes over its old session's place (``replacing``) with its run."""
        with self._lock:
            if self._disabled or session_id in self._places:
                return True, len(self._places)
            if replacing is not None and replacing in self._places:
                del self._places[replacing]
                self._places[session_id] = None
                return True, len(self._places)
            liveness = self._resolve_liveness()
            if liveness is None:  # no server to ask (AppTest) or a changed API: no cap
                return True, len(self._places)
            self._sweep(liveness)
            if self._disabled:
                return True, 0
            if len(self._places) >= self.cap:
                LOG.info(
                    "Server full: refused a session (%d of %d places)", len(self._places), self.cap
                )
                return False, len(self._places)
            self._places[session_id] = None
            self._start_watcher()
            return True, len(self._places)

    def sweep(self) -> None:
        """Note sessions seen disconnected; free places disconnected for longer than the TTL."""
        with self._lock:
            liveness = None if self._disabled else self._resolve_liveness()
            if liveness is not None:
                self._sweep(liveness)

    # -- under self._lock ------------------------------------------------------------------
    def _resolve_liveness(self) -> Callable[[str], bool] | None:
        if self._liveness is not None:
            return self._liveness
        try:
            return streamlit_liveness()
        except Exception as err:  # noqa: BLE001 (an internal API changed: degrade)
            self._give_up(err)
            return None

    def _sweep(self, liveness: Callable[[str], bool]) -> None:
        now = self.clock()
        try:
            ttl = self.ttl()
            for session_id, gone_since in list(self._places.items()):
                connected = liveness(session_id)
                if not isinstance(connected, bool):
                    raise TypeError(f"is_active_session returned {type(connected).__name__}")
                if connected:
                    self._places[session_id] = None
                elif gone_since is None:
                    self._places[session_id] = now
                elif now - gone_since >= ttl:
                    del self._places[session_id]
        except Exception as err:  # noqa: BLE001 (an internal API changed: degrade)
            self._give_up(err)

    def _give_up(self, err: Exception) -> None:
        LOG.warning(
            "Session cap (%s) turned off: cannot tell which sessions are connected with this "
            "Streamlit version (%s: %s). Every session is admitted.",
            ENV_VAR,
            type(err).__name__,
            err,
        )
        self._disabled = True
        self._places.clear()

    def _start_watcher(self) -> None:
        if not self.watch or (self._watcher is not None and self._watcher.is_alive()):
            return
        self._watcher = threading.Thread(target=self._watch, name="gru-viz-capacity", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        """Look once a second while any place is taken, so a disconnect is timed from when it
        happened, not from the next visitor's arrival."""
        while True:
            time.sleep(WATCH_SECONDS)
            self.sweep()
            with self._lock:
                if not self._places or self._disabled:
                    self._watcher = None
                    return


ADMISSION = Admission(max_sessions_from_env())  # one per server process


def admit(
    slot: st.delta_generator.DeltaGenerator | None = None, replacing: str | None = None
) -> bool:
    """True: this session has a place, go on. False: the server is full and the full page has
    been drawn (into ``slot`` if given); the caller must ``st.stop()``. ``replacing``: the old
    session of a reload, whose place this one takes over."""
    session_id = current_session_id()
    if session_id is None:  # not a Streamlit script run: nothing to count
        return True
    admitted, in_use = ADMISSION.admit(session_id, replacing)
    if not admitted:
        with slot.container() if slot is not None else contextlib.nullcontext():
            st.warning(full_message(in_use), icon=":material/groups:")
            st.button("Try again", key=RETRY_KEY, type="primary")
    return admitted
