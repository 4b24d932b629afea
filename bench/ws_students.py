"""Students as websocket clients: what a browser tab sends and receives, without the browser.

A headless Chromium spends about a quarter of a core on each dashboard update here, even with
the charts not drawn (``bench.load_test --clients browser --sessions 1`` prints it), so twenty
tabs on this 2-core machine cannot keep up with the server they are meant to load. These
clients speak Streamlit's own protocol instead, protobuf ``BackMsg``/``ForwardMsg`` over
``/_stcore/stream``, as the frontend does: ask for the page, press Play (a trigger for the
button's widget id), then ask for a rerun of each live fragment every ``interval`` seconds the
server names in its ``auto_rerun`` message, whether or not the last one has finished.

Per session: the time of every change of the "Training step" metric (the update a student
sees), each tick's latency (fragment rerun requested -> its step metric received), bytes received,
and errors (exception elements, error alerts, failed runs, a closed socket).
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlparse

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

FINISHED = ForwardMsg.ScriptFinishedStatus
STEP_METRIC = "Training step"
PLAY_LABEL = "Play"


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
    query_string: str = ""
    full_runs: int = 0
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
        if kind == "metric" and element.metric.label == STEP_METRIC:
            if self._asked:  # the live panel's answer: a student sees this tick now
                now = time.time()
                self.latencies.append((now * 1000, now - self._asked[0]))
                self._asked.clear()  # the server runs queued requests for one fragment once
            digits = "".join(c for c in element.metric.body if c.isdigit())
            if digits and (not self.ticks or self.ticks[-1][1] != int(digits)):
                self.ticks.append((time.time() * 1000, int(digits)))
        elif kind == "button" and PLAY_LABEL in element.button.label:
            self.play_id = element.button.id
        elif kind == "exception":
            self.errors.append(f"exception: {element.exception.message[:120]}")
        elif kind == "alert" and any(t in element.alert.body for t in self.error_texts):
            self.errors.append(f"alert: {element.alert.body[:120]}")

    def _finished(self, status: int) -> None:
        if status == FINISHED.FINISHED_SUCCESSFULLY:
            # A full run sets up the page's fragments afresh: only the ones it announced live on.
            self.fragments, self._announced = self._announced, {}
            self.full_runs += 1
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


def _page_cookies(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as reply:
        reply.read()
        return "; ".join(c.split(";", 1)[0] for c in reply.headers.get_all("Set-Cookie") or [])


class Classroom:
    """Open ``count`` sessions on a Streamlit server and drive them from one event loop."""

    def __init__(self, url: str, count: int, error_texts: tuple[str, ...] = ()):
        parsed = urlparse(url)
        self.url = url
        self.ws_url = f"ws://{parsed.netloc}{parsed.path.rstrip('/')}/_stcore/stream"
        self.students = [Student(i, error_texts) for i in range(count)]
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
        # The page first, as a browser loads it: a proxy in front (bench/nginx) answers with the
        # cookie that keeps this student on one app process, and the socket must carry it.
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
        while not (student.full_runs and student.play_id):
            await asyncio.sleep(0.05)

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
