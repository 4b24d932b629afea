"""Students as websocket clients: what a browser tab sends and receives, without the browser.

A headless Chromium spends about a quarter of a core on each dashboard update here, even with
the charts not drawn (``bench.load_test --clients browser --sessions 1`` prints it), so twenty
tabs on this 2-core machine cannot keep up with the server they are meant to load. These
clients speak Streamlit's own protocol instead, protobuf ``BackMsg``/``ForwardMsg`` over
``/_stcore/stream``, as the frontend does: ask for the page, press Play (a trigger for the
button's widget id), then ask for a rerun of each live fragment every ``interval`` seconds the
server names in its ``auto_rerun`` message, whether or not the last one has finished.

Class mode (bench.class_load): a teacher presses any button by its widget key ("start_class",
"play") and reads the class code from the query string its page sets; students open
``/?class=CODE`` (the page's query string goes with every rerun, as a browser sends it) and,
with ``timers_when_ready``, start their fragment timers as soon as the page announced them,
with no Play of their own.

Per session: the time of every change of the "Training step" metric (the update a student
sees), each tick's latency (fragment rerun requested -> its step metric received), bytes received,
when the page was opened and when its step counter and its first live chart arrived, and errors
(exception elements, error alerts, failed runs, a closed socket).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, urlparse

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

from gru_viz.status_row import STEP_LABEL

FINISHED = ForwardMsg.ScriptFinishedStatus
STEP_METRIC = STEP_LABEL  # the status row's step counter (gru_viz.status_row)
PLAY_LABEL = "Play"
CHART_COMPONENT = "gru_viz_plot"  # gru_viz.dashboard.plot's chart component (a grid of charts)
# A class's frame (gru_viz.class_frame) carries its status row, the step counter first.
FRAME_STEP = re.compile(rb'"label": "' + STEP_METRIC.encode() + rb'", "value": "([0-9,]+)"')
WIDGET_ID_PREFIX = "$$ID-"  # Streamlit's widget ids: "$$ID-<hash>-<key>"
NAN = float("nan")


@dataclass
class Student:
    """One websocket session's view of the app and what it measured."""

    index: int
    error_texts: tuple[str, ...] = ()
    ticks: list[tuple[float, int]] = field(default_factory=list)  # (ms since epoch, step)
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (ms, seconds)
    errors: list[str] = field(default_factory=list)
    bytes_received: int = 0
    play_id: str = ""
    query_string: str = ""  # the page's, sent with every rerun (a join link's ?class=CODE)
    full_runs: int = 0
    buttons: dict[str, str] = field(default_factory=dict)  # widget key -> widget id
    alerts: set[str] = field(default_factory=set)  # texts of info/warning/error boxes seen
    opened_at: float = NAN  # time.time(): the page asked for
    first_step_at: float = NAN  # the step counter arrived (the live panel has drawn)
    first_chart_at: float = NAN  # ... and the first live chart after it
    first_full_at: float = NAN  # the first full run finished: the whole page is there
    fragments: dict[str, float] = field(default_factory=dict)  # live fragment id -> interval
    _announced: dict[str, float] = field(default_factory=dict)  # fragments of the current run
    _asked: list[float] = field(default_factory=list)  # fragment reruns not yet answered

    def handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element)
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self._announced[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "script_finished":
            self._finished(msg.script_finished)

    def _element(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind == "bidi_component":
            component = element.bidi_component
            if CHART_COMPONENT not in component.component_name:
                return
            # A class's frame: its status row (step counter first) leads the payload.
            found = FRAME_STEP.search(component.bytes[:4096])
            if found:
                self._step(found.group(1).decode())
            # The boot placeholder chart comes before the step counter; live charts after it.
            if not math.isnan(self.first_step_at) and math.isnan(self.first_chart_at):
                self.first_chart_at = time.time()
            return
        if kind == "metric" and element.metric.label == STEP_METRIC:
            self._step(element.metric.body)
        elif kind == "button":
            widget = element.button.id
            if widget.startswith(WIDGET_ID_PREFIX) and widget.count("-") >= 2:
                self.buttons[widget.split("-", 2)[2]] = widget
            if PLAY_LABEL in element.button.label:
                self.play_id = widget
        elif kind == "exception":
            self.errors.append(f"exception: {element.exception.message[:120]}")
        elif kind == "alert":
            if any(t in element.alert.body for t in self.error_texts):
                self.errors.append(f"alert: {element.alert.body[:120]}")
            if len(self.alerts) < 50:
                self.alerts.add(element.alert.body[:300])

    def _step(self, counter: str) -> None:
        """The step counter arrived (a metric, or a class frame's status row)."""
        if math.isnan(self.first_step_at):
            self.first_step_at = time.time()
        if self._asked:  # the live panel's answer: a student sees this tick now
            now = time.time()
            self.latencies.append((now * 1000, now - self._asked[0]))
            self._asked.clear()  # the server runs queued requests for one fragment once
        digits = "".join(c for c in counter if c.isdigit())
        if digits and (not self.ticks or self.ticks[-1][1] != int(digits)):
            self.ticks.append((time.time() * 1000, int(digits)))

    def _finished(self, status: int) -> None:
        if status == FINISHED.FINISHED_SUCCESSFULLY:
            # A full run sets up the page's fragments afresh: only the ones it announced live on.
            self.fragments, self._announced = self._announced, {}
            self.full_runs += 1
            if math.isnan(self.first_full_at):
                self.first_full_at = time.time()
        elif status == FINISHED.FINISHED_WITH_COMPILE_ERROR:
            self.errors.append("script failed to run")

    def rerun(self, fragment_id: str = "", trigger: str = "") -> bytes:
        states = WidgetStates()
        if trigger:
            states.widgets.append(WidgetState(id=trigger, trigger_value=True))
        client = ClientState(
            query_string=self.query_string,
            widget_states=states,
            page_script_hash="",
            fragment_id=fragment_id,
            is_auto_rerun=bool(fragment_id),
        )
        if fragment_id:
            self._asked.append(time.time())
        return BackMsg(rerun_script=client).SerializeToString()

    @property
    def class_code(self) -> str | None:
        """The class this page is in, from the query string it set (``class=CODE``)."""
        codes = parse_qs(self.query_string).get("class")
        return codes[-1] if codes else None

    def seconds_to(self, moment: float) -> float:
        """Seconds from opening the page to ``moment`` (a ``first_*_at``); NaN if not yet."""
        return moment - self.opened_at


def _page_cookies(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as reply:
        reply.read()
        return "; ".join(c.split(";", 1)[0] for c in reply.headers.get_all("Set-Cookie") or [])


Ready = Literal["play", "charts", "page"]


class Classroom:
    """Open ``count`` sessions on a Streamlit server and drive them from one event loop.

    ``ready``: what a session waits for before it counts as open: its Play button (a private
    run), its step counter and first live chart (a class's student), or any full run.
    ``timers_when_ready``: start each session's fragment timers as soon as it is ready (a
    student's page in a class, whose live panel ticks without a Play of its own).
    """

    def __init__(
        self,
        url: str,
        count: int,
        error_texts: tuple[str, ...] = (),
        ready: Ready = "play",
        timers_when_ready: bool = False,
    ):
        parsed = urlparse(url)
        self.url = url
        self.ws_url = f"ws://{parsed.netloc}{parsed.path.rstrip('/')}/_stcore/stream"
        self.ready = ready
        self.timers_when_ready = timers_when_ready
        self.students = [Student(i, error_texts, query_string=parsed.query) for i in range(count)]
        self.ready_s = [float("nan")] * count
        self.bytes_at_start = [0] * count  # set when the measured window opens
        self._sockets: list = [None] * count
        self._tasks: list[asyncio.Task] = []

    async def open_all(self, timeout: float = 180) -> None:
        opened = time.perf_counter()

        async def one(i: int) -> None:
            try:
                await asyncio.wait_for(self._open(i), timeout)
                self.ready_s[i] = time.perf_counter() - opened
            except Exception as err:  # noqa: BLE001 (recorded, the others carry on)
                self.students[i].errors.append(f"never ready: {type(err).__name__}: {err}")

        await asyncio.gather(*(one(i) for i in range(len(self.students))))

    async def _open(self, i: int) -> None:
        student = self.students[i]
        student.opened_at = time.time()
        # The page first, as a browser loads it: a proxy in front (bench/nginx) answers with the
        # cookies that keep this student on one app process (and, for a join link, on the
        # class's), and the socket must carry them.
        cookies = await asyncio.to_thread(_page_cookies, self.url)
        socket = await websockets.connect(
            self.ws_url,
            subprotocols=["streamlit"],
            max_size=None,
            open_timeout=60,
            additional_headers={"Cookie": cookies} if cookies else None,
        )
        self._sockets[i] = socket
        self._tasks.append(asyncio.create_task(self._receive(i)))
        await socket.send(student.rerun())
        while not self._is_ready(student):
            await asyncio.sleep(0.02)
        if self.timers_when_ready:
            self._tasks.append(asyncio.create_task(self._timers(student, socket)))

    def _is_ready(self, student: Student) -> bool:
        if not student.full_runs:
            return False
        if self.ready == "play":
            return bool(student.play_id)
        if self.ready == "charts":
            return not math.isnan(student.first_chart_at)
        return True

    async def _receive(self, i: int) -> None:
        student, socket = self.students[i], self._sockets[i]
        try:
            async for data in socket:
                student.bytes_received += len(data)
                msg = ForwardMsg()
                msg.ParseFromString(data)
                student.handle(msg)
        except websockets.ConnectionClosed as err:
            if err.rcvd is None or err.rcvd.code != 1000:
                student.errors.append(f"websocket closed: {err}")

    async def press_play(self) -> None:
        for student, socket in zip(self.students, self._sockets, strict=True):
            if socket is not None and student.play_id:
                await socket.send(student.rerun(trigger=student.play_id))
                self._tasks.append(asyncio.create_task(self._timers(student, socket)))

    async def press(self, i: int, key: str) -> float:
        """Session ``i`` clicks the button with widget key ``key``; returns when (time.time())."""
        student, socket = self.students[i], self._sockets[i]
        widget = student.buttons.get(key)
        if socket is None or widget is None:
            raise LookupError(f"session {i} has no button {key!r} (has {sorted(student.buttons)})")
        pressed = time.time()
        await socket.send(student.rerun(trigger=widget))
        return pressed

    def start_timers(self) -> None:
        """Every open session's fragment timers, without pressing anything."""
        for student, socket in zip(self.students, self._sockets, strict=True):
            if socket is not None:
                self._tasks.append(asyncio.create_task(self._timers(student, socket)))

    async def _timers(self, student: Student, socket) -> None:
        """The frontend's fragment timers: one rerun request per fragment per interval."""
        due: dict[str, float] = {}
        while True:
            now = time.monotonic()
            for fragment, interval in list(student.fragments.items()):
                if now >= due.setdefault(fragment, now + interval):
                    due[fragment] = now + interval
                    try:
                        await socket.send(student.rerun(fragment_id=fragment))
                    except websockets.ConnectionClosed:
                        return
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for socket in self._sockets:
            if socket is not None:
                await socket.close()
