"""Server settings for a classroom: what students see of an error, and a cap on sessions.

* The repository's ``.streamlit/config.toml`` keeps tracebacks and server paths out of the
  page (a real ``streamlit run`` of a tiny app that raises, read by Chromium and by a
  websocket client) and in the server's log.
* ``gru_viz.dashboard.capacity``: the rules on a fake clock, the page through AppTest, and a
  real server with GRU_VIZ_MAX_SESSIONS=2 driven by websocket tabs: the third tab gets the full
  page, an admitted tab is never turned away, a reconnecting tab keeps its place, and a closed
  tab's place goes to the next visitor once ``server.disconnectedSessionTTL`` has passed.
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
import threading
import time

import pytest
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.testing.v1 import AppTest

from bench.harness import ROOT, free_port, launch_chromium, wait_healthy
from bench.processes import streamlit_app
from gru_viz.dashboard import capacity
from gru_viz.dashboard.capacity import Admission, full_message, max_sessions_from_env
from tests.conftest_browser import BROWSER_MARKS

CONFIG = ROOT / ".streamlit" / "config.toml"
SECRET = "hunter2-do-not-show"  # in the exception's message: must stay on the server
RAISING_APP = f"""
import streamlit as st

st.title("before the error")
raise RuntimeError("{SECRET} in " + __file__)
"""
CAPPED_APP = """
import streamlit as st

from gru_viz.dashboard.capacity import admit

if not admit():
    st.stop()
st.write("admitted")
"""
FULL = "This server is full"


# -- the rules, on a fake clock -------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def admission(cap: int | None, connected: set[str], clock: Clock, ttl: float = 60) -> Admission:
    return Admission(
        cap, liveness=lambda s: s in connected, ttl=lambda: ttl, clock=clock, watch=False
    )


def test_a_full_process_refuses_newcomers_and_never_turns_an_admitted_session_away():
    clock, connected = Clock(), {"a", "b", "c"}
    places = admission(2, connected, clock)
    assert places.admit("a") == (True, 1)
    assert places.admit("b") == (True, 2)
    assert places.admit("c") == (False, 2)
    assert places.admit("a") == (True, 2) and places.admit("b") == (True, 2)
    assert places.admit("c") == (False, 2)  # asking again does not help while both are here


def test_a_closed_tab_frees_its_place_only_after_the_disconnected_ttl():
    clock, connected = Clock(), {"a", "b", "c"}
    places = admission(2, connected, clock, ttl=60)
    places.admit("a"), places.admit("b")
    connected.discard("a")  # tab closed: Streamlit keeps the session for the TTL
    places.sweep()  # the watcher notes when it went
    clock.now = 59.9
    assert places.admit("c") == (False, 2)
    clock.now = 60.0
    assert places.admit("c") == (True, 2)
    assert places.in_use == 2


def test_a_tab_that_reconnects_within_the_ttl_keeps_its_place_and_its_clock_restarts():
    clock, connected = Clock(), {"a", "b", "c"}
    places = admission(2, connected, clock, ttl=60)
    places.admit("a"), places.admit("b")
    connected.discard("a")
    places.sweep()
    clock.now = 50
    connected.add("a")  # a Wi-Fi blip: the browser came back with its session id
    places.sweep()
    clock.now = 100  # 100 s after the first disconnect, but connected since 50
    assert places.admit("c") == (False, 2)
    assert places.admit("a") == (True, 2)


def test_sessions_arriving_together_on_many_threads_get_exactly_the_places_there_are():
    places = Admission(5, liveness=lambda s: True, ttl=lambda: 60, watch=False)
    start, results = threading.Barrier(40), []

    def arrive(i: int) -> None:
        start.wait()
        results.append(places.admit(f"session {i}")[0])

    threads = [threading.Thread(target=arrive, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 5 and places.in_use == 5


def test_the_cap_comes_from_the_environment():
    assert max_sessions_from_env({}) == capacity.DEFAULT_MAX_SESSIONS == 20
    assert max_sessions_from_env({"GRU_VIZ_MAX_SESSIONS": " 35 "}) == 35
    assert max_sessions_from_env({"GRU_VIZ_MAX_SESSIONS": "0"}) is None  # no cap
    assert max_sessions_from_env({"GRU_VIZ_MAX_SESSIONS": "-3"}) is None
    assert max_sessions_from_env({"GRU_VIZ_MAX_SESSIONS": "many"}) == 20
    places = Admission(None, liveness=lambda s: True, watch=False)
    assert all(places.admit(str(i))[0] for i in range(500))
    assert full_message(1).count("1 student)") == 1 and "(20 students)" in full_message(20)


def test_a_changed_streamlit_api_turns_the_cap_off_with_a_warning(monkeypatch):
    warnings = []
    monkeypatch.setattr(capacity.LOG, "warning", lambda *a: warnings.append(a[0] % a[1:]))

    def gone(session_id: str) -> bool:
        raise AttributeError("'Runtime' object has no attribute 'is_active_session'")

    places = Admission(1, liveness=gone, watch=False)
    places.admit("a")
    assert places.admit("b") == (True, 0) and places.admit("c")[0]
    assert len(warnings) == 1 and "turned off" in warnings[0] and "is_active_session" in warnings[0]

    def odd(session_id: str):
        return object()  # not a bool: not the API this module was written for

    places = Admission(1, liveness=odd, watch=False)
    places.admit("a")
    assert places.admit("b")[0] and len(warnings) == 2

    def broken() -> None:
        raise ImportError("cannot import name 'Runtime'")

    monkeypatch.setattr(capacity, "streamlit_liveness", broken)
    places = Admission(1, watch=False)
    assert places.admit("a")[0] and places.admit("b")[0] and len(warnings) == 3


def test_the_streamlit_internals_the_cap_relies_on_are_still_there():
    """If this fails, Streamlit changed: capacity.streamlit_liveness needs a new way to ask."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import ScriptRunContext, get_script_run_ctx

    assert callable(Runtime.exists) and callable(Runtime.instance)
    assert list(inspect.signature(Runtime.is_active_session).parameters) == ["self", "session_id"]
    assert "session_id" in {f.name for f in __import__("dataclasses").fields(ScriptRunContext)}
    assert get_script_run_ctx(suppress_warning=True) is None  # no script runs here
    assert capacity.streamlit_liveness() is None  # and no server: nothing to count


# -- the page, through AppTest --------------------------------------------------------------
def test_the_full_page_is_short_and_friendly_and_try_again_gets_in_once_a_place_frees(
    monkeypatch,
):
    clock, connected = Clock(), {"another student", "test session id"}  # AppTest's session id
    places = admission(1, connected, clock, ttl=60)
    places.admit("another student")
    monkeypatch.setattr(capacity, "ADMISSION", places)
    at = AppTest.from_string(CAPPED_APP, default_timeout=30).run()
    assert not at.exception
    assert [w.value for w in at.warning] == [full_message(1)]
    assert [b.label for b in at.button] == ["Try again"]
    assert not at.markdown  # st.stop(): nothing of the page behind it

    connected.discard("another student")
    places.sweep()
    clock.now = 61
    at.button[0].click().run()
    assert not at.warning and [m.value for m in at.markdown] == ["admitted"]


def test_without_a_streamlit_server_every_session_is_admitted():
    """AppTest (and so every other app test) has no server to count sessions on."""
    at = AppTest.from_string(CAPPED_APP, default_timeout=30).run()
    assert [m.value for m in at.markdown] == ["admitted"]


# -- a real server --------------------------------------------------------------------------
class Tab:
    """One browser tab as Streamlit's protocol sees it: what its last script run drew."""

    def __init__(self, url: str):
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.session_id = ""
        self.texts: list[str] = []
        self.buttons: dict[str, str] = {}  # label -> widget id
        self.exceptions: list = []  # Exception protos
        self._finished = asyncio.Event()
        self._socket = None
        self._reader: asyncio.Task | None = None

    async def open(self, resume: str = "") -> Tab:
        protocols = ["streamlit", "PLACEHOLDER_AUTH_TOKEN", resume] if resume else ["streamlit"]
        self._socket = await websockets.connect(self.ws_url, subprotocols=protocols, max_size=None)
        self._reader = asyncio.create_task(self._read())
        return await self.run()

    async def run(self, press: str = "") -> Tab:
        states = WidgetStates()
        if press:  # a button of the last run
            states.widgets.append(WidgetState(id=self.buttons[press], trigger_value=True))
        self.texts, self.buttons, self.exceptions = [], {}, []
        self._finished.clear()
        state = ClientState(query_string="", page_script_hash="", widget_states=states)
        await self._socket.send(BackMsg(rerun_script=state).SerializeToString())
        await asyncio.wait_for(self._finished.wait(), 60)
        return self

    async def _read(self) -> None:
        async for data in self._socket:
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id
            elif kind == "script_finished":
                self._finished.set()
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                which = element.WhichOneof("type")
                if which == "markdown":
                    self.texts.append(element.markdown.body)
                elif which == "alert":
                    self.texts.append(element.alert.body)
                elif which == "button":
                    self.buttons[element.button.label] = element.button.id
                elif which == "exception":
                    self.exceptions.append(element.exception)
                elif which == "heading":
                    self.texts.append(element.heading.body)

    @property
    def admitted(self) -> bool:
        return "admitted" in self.texts and not self.full

    @property
    def full(self) -> bool:
        return any(FULL in t for t in self.texts)

    async def close(self) -> None:
        await self._socket.close()
        await asyncio.gather(self._reader, return_exceptions=True)


TTL = 3  # seconds a disconnected session keeps its place on the test server


async def classroom(url: str) -> None:
    a, b = await Tab(url).open(), await Tab(url).open()
    assert a.admitted and b.admitted
    c = await Tab(url).open()
    assert c.full and full_message(2) in c.texts and "Try again" in c.buttons, c.texts
    assert "admitted" not in c.texts
    assert (await a.run()).admitted  # a later arrival never turns an admitted tab away
    assert (await c.run(press="Try again")).full

    closed = time.monotonic()
    await a.close()  # a tab closed: its session waits TTL seconds for the browser to return
    d = await Tab(url).open()
    if time.monotonic() - closed < TTL:  # (on a stalled machine the TTL may be over already)
        assert d.full, d.texts
    while not (await c.run(press="Try again")).admitted:  # the state, not a sleep
        assert c.full, c.texts
        assert time.monotonic() - closed < 60, "a closed tab's place was never freed"
        await asyncio.sleep(0.3)
    assert time.monotonic() - closed >= TTL  # and never before Streamlit dropped the session
    assert (await d.run(press="Try again")).full  # b and c hold both places now

    old = b.session_id
    await b.close()  # a Wi-Fi blip: the browser comes back with its session id
    b = await Tab(url).open(resume=old)
    if b.session_id == old:  # resumed (within the TTL): its place is still its own
        assert b.admitted, b.texts
        assert (await d.run(press="Try again")).full
    for tab in (b, c, d):
        await tab.close()


def test_a_real_server_caps_sessions_and_frees_a_closed_tabs_place_after_the_ttl(tmp_path):
    app = tmp_path / "capped.py"
    app.write_text(CAPPED_APP)
    port, log = free_port(), tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}"
    env = {"GRU_VIZ_MAX_SESSIONS": "2", "PYTHONPATH": str(ROOT)}
    ttl = ("--server.disconnectedSessionTTL", str(TTL))
    with streamlit_app(port, log, *ttl, env=env, app=app) as server:
        wait_healthy(url, server, log_path=log)
        asyncio.run(classroom(url))
    text = log.read_text()
    assert "Server full: refused a session (2 of 2 places)" in text
    assert "Traceback" not in text and "turned off" not in text, text


# -- error details --------------------------------------------------------------------------
def test_the_repo_config_hides_error_details():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the browser test proves it anyway
    settings = tomllib.loads(CONFIG.read_text())
    assert settings["client"]["showErrorDetails"] in ("type", "none")


async def fetch_exception(url: str) -> Tab:
    tab = await Tab(url).open()
    await tab.close()
    return tab


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_students_see_no_traceback_and_the_server_log_has_it(tmp_path):
    """The repository's config (copied beside a tiny app that raises), not a command-line flag."""
    from playwright.sync_api import sync_playwright

    (tmp_path / ".streamlit").mkdir()
    shutil.copy(CONFIG, tmp_path / ".streamlit" / "config.toml")
    app = tmp_path / "raises.py"
    app.write_text(RAISING_APP)
    port, log = free_port(), tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}"
    with streamlit_app(port, log, app=app) as server:
        wait_healthy(url, server, log_path=log)
        sent = asyncio.run(fetch_exception(url))  # everything the server sends, shown or not
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector('[data-testid="stException"]', timeout=60_000)
            shown, html = page.inner_text("body"), page.content()
            browser.close()
    assert "before the error" in shown
    assert "This app has encountered an error" in shown
    assert "RuntimeError" in shown  # "type": the kind of error, to quote to the teacher
    for leak in (SECRET, str(tmp_path), "raises.py", "Traceback", 'File "'):
        assert leak not in shown and leak not in html, leak
    [exception] = sent.exceptions
    assert exception.type == "RuntimeError" and not exception.stack_trace
    assert SECRET not in exception.message and str(tmp_path) not in exception.message
    text = log.read_text()
    assert "Uncaught app execution" in text and "Traceback" in text
    assert f"RuntimeError: {SECRET} in {app}" in text and str(app) in text
