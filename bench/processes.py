"""Processes the benchmarks start and watch: a Streamlit server in its own process group, its
memory and CPU from /proc, a watchdog, and a py-spy profile of where its GIL time goes.

Shared by ``bench.load_test`` and ``bench.nginx.run_cluster``; Linux only (/proc).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from bench.harness import ROOT, streamlit_command


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (0 if it is gone)."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    return total


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                kids = [int(k) for k in task.read_text().split()]
                found += kids
                todo += kids
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (not their descendants)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


@contextlib.contextmanager
def streamlit_app(
    port: int,
    log_path: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    cpus: set[int] | None = None,
    app: Path = ROOT / "app.py",
) -> Iterator[subprocess.Popen]:
    """``streamlit run app.py`` on 127.0.0.1:port, headless, in its own process group."""
    log = open(log_path, "w")  # noqa: SIM115 (kept open for the process)
    process = subprocess.Popen(
        streamlit_command(port, *extra, app=app),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    try:
        yield process
    finally:
        stop_group(process)
        log.close()


def stop_group(process: subprocess.Popen) -> None:
    """Stop a process we started and everything it started (its own process group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def watchdog(seconds: float, cleanup) -> threading.Timer:
    """After ``seconds``, run ``cleanup`` and end this process, whatever it is doing."""

    def fire() -> None:
        print(f"\n[load] hard timeout after {seconds:.0f} s: stopping everything", flush=True)
        with contextlib.suppress(Exception):
            cleanup()
        os._exit(3)  # Playwright's driver sees its pipe close and takes Chromium down with it

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


def chromium_pids() -> list[int]:
    """Chromium processes started by this Python process (via Playwright's driver)."""
    return [
        pid
        for pid in descendants(os.getpid())
        if "chrom" in Path(f"/proc/{pid}/comm").read_text(errors="ignore").lower()
    ]


def server_log_errors(log_path: Path) -> list[str]:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    lines = text.splitlines()
    return [
        line[:200]
        for line in lines
        if "Traceback" in line or re.search(r"\b(ERROR|Exception)\b", line)
    ]


# -- profiling -----------------------------------------------------------------------------
def start_profiler(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    """py-spy on the server while the sessions train: samples only the thread holding the GIL,
    since the GIL is what every session of one process shares."""
    if not shutil.which("py-spy"):
        print("[load] py-spy not installed (pip install py-spy): no profile")
        return None
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(seconds) - 2)),
            "--rate",
            "50",
            "--gil",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# Where the GIL goes, by frames on the stack (a sample can count in several rows).
PROFILE_GROUPS = {
    "training: Trainer.step (incl. probes)": "gru_viz/trainer.py",
    "  probes (unrolled replay + gradients)": "gru_viz/probe.py",
    "figures: gru_viz.plots / inspector": ("gru_viz/plots.py", "gru_viz/inspector.py"),
    "plotly (figure objects, validation)": "plotly/",
    "figure JSON (to_json / orjson / json)": ("to_json", "orjson", "json/encoder"),
    "st.plotly_chart": "elements/plotly_chart.py",
    "other streamlit elements and runtime": "streamlit/",
    "app.py script itself": "app.py",
}


# A class's viewers: where one student's live-panel rerun goes (bench.class_load). Inclusive, so
# rows overlap: indented rows are parts of the row above them.
CLASS_PROFILE_GROUPS = {
    "the class's training (ClassRun._train)": "ClassRun._train",
    "viewers' script runs (ScriptRunner)": "ScriptRunner._run_script",
    "  live panel (gru_viz page.live_panel)": "live_panel (gru_viz/dashboard/page.py",
    "    a student's: the class's frame (student.live_panel)": (
        "live_panel (gru_viz/dashboard/student.py"
    ),
    "      frame built (once per update and view)": "class_frame.py",
    "    lesson guide": "lesson_guide (",
    "    status row (metrics)": "status (gru_viz/dashboard/status.py",
    "    live charts (gru_viz charts.live_charts)": "live_charts (",
    "      probe sample / cursor widgets": "selection_widgets (",
    "      st.columns / containers": ("LayoutsMixin.columns", "DeltaGenerator._block"),
    "      figure cache (build or reuse)": ("FigureCache.get", "figure_for ("),
    "      chart component (plot -> bidi)": "_mount_component (",
    "        its data as JSON (json.dumps)": (
        "serialize_mixed_data",
        "_build_bidi_identity_kwargs",
    ),
    "        widget registration": "register_widget (",
    "    inspector / more views (toggles)": ("inspector (", "more_views ("),
    "  messages queued (enqueue_message)": "enqueue_message (",
    "  widget ids (compute_and_register_element_id)": "compute_and_register_element_id",
    "protobuf SerializeToString": "SerializeToString",
    "server event loop (asyncio: sends, sockets)": "BaseEventLoop._run_once",
    "  AppSession handling script events": "AppSession._handle_scriptrunner_event_on_event_loop",
    "  websocket send": ("websocket", "starlette", "uvicorn"),
}


def summarise_profile(
    path: Path, top: int = 12, groups: dict | None = None, functions: int = 0
) -> dict[str, float]:
    """Inclusive share of GIL samples per group, and the hottest leaf functions; with
    ``functions``, also that many functions by inclusive share (where the time goes down)."""
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    total = sum(c for _, c in stacks) or 1
    shares = {}
    print(f"\nserver profile (py-spy --gil, {total} samples): share of GIL time")
    for name, marks in (groups or PROFILE_GROUPS).items():
        marks = (marks,) if isinstance(marks, str) else marks
        hits = sum(c for f, c in stacks if any(m in fr for fr in f for m in marks))
        shares[name] = hits / total
        print(f"  {name:<42}{hits / total:>7.0%}")
    leaves: dict[str, int] = {}
    for frames, count in stacks:
        leaves[frames[-1]] = leaves.get(frames[-1], 0) + count
    print("  hottest functions (self time):")
    for leaf, count in sorted(leaves.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {count / total:>5.1%}  {leaf[:110]}")
    if functions:
        inclusive: dict[str, int] = {}
        for frames, count in stacks:
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + count
        skip = ("threading.py", "runpy", "click/", "asyncio/runners", "bootstrap.py", "cli.py")
        print("  functions by inclusive share:")
        ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])
        for frame, count in [(f, c) for f, c in ranked if not any(s in f for s in skip)][
            :functions
        ]:
            print(f"    {count / total:>5.1%}  {frame[:110]}")
    return shares
