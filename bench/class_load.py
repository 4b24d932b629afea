"""Class-mode load: one class watched by N students, beside P private sessions, on one server.

One ``streamlit run app.py`` process (the app's session cap lifted), then, in one run, so that
both meet the same machine (this one is noisy):

(a) a class: a teacher (a websocket client, bench.ws_students) opens the page, clicks
    "Start a class" (widget key ``start_class``) and Play (``play``), and reads the class code
    from the query string its page sets (``class=CODE``). Its run trains alone for
    ``--solo`` seconds first (the server's cost of the class with nobody watching). Then
    ``--students`` clients open ``/?class=CODE`` at once and let their live fragment's timer
    run, as the browser does. Measured over ``--duration`` seconds: the updates each student
    received (changes of the step counter), the updates it missed (steps any viewer saw that
    it never did), the intervals between its updates, the server's CPU (/proc) per student
    update received, and the bytes per update. Then ``--late`` students join one at a time
    while the class watches (open -> step counter -> first live chart), and the teacher
    pauses and presses Play ``--plays`` times (Play sent -> each student's first new step).
(b) ``--private`` private sessions that each press Play and train (bench.load_test's
    websocket run), for comparison.

Targets (issue 14): every student receives every update, p95 update interval < 2 s, server
CPU per student update < 5 ms: what each watching student adds, the server's CPU less its CPU
with the class training and nobody watching (the class's one training is the same for one
student or a hundred; the table also prints the all-in figure). ``--profile`` runs py-spy
(--gil) on the server during each measured window and prints where its time goes.
Run: python -m bench.class_load [--students 100] [--private 20] [--duration 60] [--pin]
All traffic stays on 127.0.0.1; a watchdog ends everything after ``--hard-timeout`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import ROOT, free_port, wait_healthy
from bench.load_test import (
    ERROR_TEXTS,
    TARGET_P95_SECONDS,
    announcer,
    percentile,
    run_ws_sessions,
)
from bench.processes import (
    CLASS_PROFILE_GROUPS,
    cpu_seconds,
    rss_mb,
    server_log_errors,
    start_profiler,
    stop_group,
    streamlit_app,
    summarise_profile,
    watchdog,
)
from bench.ws_students import Classroom, Student

TARGET_MISSED = 0  # every student receives every update
TARGET_CPU_MS = 5.0  # server CPU per student update
QUIET_SECONDS = 2.5  # paused: no student saw a new step for this long


@dataclass
class ClassFigures:
    """What one class phase measured (seconds unless named otherwise)."""

    code: str = ""
    students: int = 0
    window_s: float = 0.0
    updates: list[int] = field(default_factory=list)  # per student, in the window
    missed: list[int] = field(default_factory=list)  # per student
    expected: int = 0  # distinct updates of the class in the window
    intervals: list[float] = field(default_factory=list)  # pooled
    fragment_answers: int = 0  # live-panel reruns answered in the window (all students)
    kb: float = 0.0  # received by the students in the window
    solo_cores: float = math.nan  # server, class playing, nobody watching
    server_cores: float = math.nan  # server, in the window
    client_cores: float = math.nan  # this process (every client)
    join_step: list[float] = field(default_factory=list)  # open -> step counter, all at once
    join_chart: list[float] = field(default_factory=list)  # open -> first live chart
    join_page: list[float] = field(default_factory=list)  # open -> first full run finished
    late_step: list[float] = field(default_factory=list)  # one joining a watching class
    late_chart: list[float] = field(default_factory=list)
    play_to_update: list[float] = field(default_factory=list)  # Play sent -> student's update
    play_unseen: int = 0  # students that saw no update within the wait after a Play
    banners: int = 0  # students whose page said "You are watching class CODE"
    paused_ms_per_rerun: float = math.nan  # server CPU per student rerun, class paused
    paused_reruns_per_s: float = math.nan  # students' reruns answered per second, paused
    errors: list[str] = field(default_factory=list)
    rss_mb: float = 0.0

    @property
    def total_updates(self) -> int:
        return sum(self.updates)

    @property
    def cpu_ms_per_update(self) -> float:
        return 1000 * self.server_cores * self.window_s / max(1, self.total_updates)

    @property
    def marginal_ms_per_update(self) -> float:
        """Less the class's own training (and teacher's page), measured with nobody watching."""
        extra = (self.server_cores - self.solo_cores) * self.window_s
        return 1000 * extra / max(1, self.total_updates)


def _steps_between(student: Student, start_ms: float, end_ms: float) -> list[tuple[float, int]]:
    return [(t, n) for t, n in student.ticks if start_ms <= t <= end_ms]


def _first_past(student: Student, moment_s: float, step: int) -> float:
    """Seconds from ``moment_s`` to the first step past ``step`` this student saw."""
    for t, n in student.ticks:
        if t >= moment_s * 1000 and n > step:
            return t / 1000 - moment_s
    return math.nan


def _last_step(student: Student) -> int:
    return student.ticks[-1][1] if student.ticks else -1


async def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def start_class(url: str, say) -> tuple[Classroom, str]:
    """A teacher opens the page and clicks "Start a class": returns its client and the code."""
    teacher = Classroom(url, 1, ERROR_TEXTS, ready="page")
    await teacher.open_all()
    me = teacher.students[0]
    if me.errors:
        raise RuntimeError(f"the teacher's page failed: {me.errors}")
    await teacher.press(0, "start_class")
    await _wait(lambda: me.class_code is not None, 60, "the class code in the query string")
    # The class page's first full run finished (its controls are drawn again, Play included).
    runs = me.full_runs
    await _wait(lambda: me.full_runs > runs or "play" in me.buttons, 60, "the class page")
    teacher.start_timers()  # the teacher's live panel ticks too (and tells the class it is here)
    say(f"class {me.class_code} started by the teacher")
    return teacher, me.class_code


async def class_phase(
    url: str,
    students: int,
    duration: float,
    warmup: float,
    solo: float,
    late: int,
    plays: int,
    server_pids: tuple[int, ...],
    say,
    profile: Path | None = None,
    join_url: str | None = None,
    paused_s: float = 0.0,
) -> ClassFigures:
    """The teacher opens ``url``; students open ``join_url`` (default ``url``) + ?class=CODE."""
    figures = ClassFigures(students=students)
    teacher, code = await start_class(url, say)
    figures.code = code
    lead = teacher.students[0]
    rooms: list[Classroom] = [teacher]
    try:
        await teacher.press(0, "play")
        await _wait(lambda: _last_step(lead) > 0, 60, "the class to train (teacher's counter)")
        me = [os.getpid()]
        started = (cpu_seconds(list(server_pids)), time.time())
        await asyncio.sleep(solo)
        figures.solo_cores = (cpu_seconds(list(server_pids)) - started[0]) / (
            time.time() - started[1]
        )
        say(f"the class trains, nobody watching: server {figures.solo_cores:.2f} cores")

        # The whole class opens the join link at once, while the class trains.
        link = f"{(join_url or url).rstrip('/')}/?class={code}"
        room = Classroom(link, students, ERROR_TEXTS, ready="charts", timers_when_ready=True)
        rooms.append(room)
        say(f"{students} students open /?class={code} at once")
        await room.open_all()
        banner = f"You are watching class {code}"
        figures.banners = sum(any(banner in a for a in s.alerts) for s in room.students)
        for s in room.students:
            figures.join_step.append(s.seconds_to(s.first_step_at))
            figures.join_chart.append(s.seconds_to(s.first_chart_at))
            figures.join_page.append(s.seconds_to(s.first_full_at))
        say(
            f"all {students} watching after {max(room.ready_s):.1f} s "
            f"(open -> first live chart p50 {percentile(figures.join_chart, 50):.2f} s)"
        )
        await asyncio.sleep(warmup)

        spy = start_profiler(server_pids[0], duration, profile) if profile else None
        bytes_start = [s.bytes_received for s in room.students]
        answers_start = sum(len(s.latencies) for s in room.students)
        start = (cpu_seconds(list(server_pids)), cpu_seconds(me), time.time())
        while (left := start[2] + duration - time.time()) > 0:
            await asyncio.sleep(min(5.0, left))
            say(
                f"watching… {time.time() - start[2]:4.0f} s, step {_last_step(lead):,}, "
                f"server RSS {sum(rss_mb(p) for p in server_pids):,.0f} MB"
            )
        end = (cpu_seconds(list(server_pids)), cpu_seconds(me), time.time())
        if spy:
            await asyncio.to_thread(spy.wait, 60)
        figures.window_s = end[2] - start[2]
        figures.server_cores = (end[0] - start[0]) / figures.window_s
        figures.client_cores = (end[1] - start[1]) / figures.window_s
        figures.rss_mb = sum(rss_mb(p) for p in server_pids)
        figures.kb = (
            sum(s.bytes_received - b for s, b in zip(room.students, bytes_start, strict=True))
            / 1000
        )
        figures.fragment_answers = sum(len(s.latencies) for s in room.students) - answers_start
        _count_updates(figures, room.students + teacher.students, room.students, start, end)

        # Late joiners, one at a time, while the class trains and everyone watches.
        for i in range(late):
            one = Classroom(link, 1, ERROR_TEXTS, ready="charts", timers_when_ready=True)
            rooms.append(one)
            await one.open_all()
            s = one.students[0]
            figures.late_step.append(s.seconds_to(s.first_step_at))
            figures.late_chart.append(s.seconds_to(s.first_chart_at))
            say(f"late student {i + 1}: first live chart after {figures.late_chart[-1]:.2f} s")
            await asyncio.sleep(1.0)

        # Play -> each student's first new step, from a paused class.
        for i in range(plays):
            await teacher.press(0, "play")  # pause
            await _quiet(room.students, QUIET_SECONDS, 30)
            # Where the class paused: the latest step any viewer saw (some may lag behind it).
            paused = max(_last_step(s) for s in [*room.students, lead])
            pressed = await teacher.press(0, "play")
            with contextlib.suppress(TimeoutError):
                await _wait(
                    lambda paused=paused: all(_last_step(s) > paused for s in room.students),
                    20,
                    "every student's first update after Play",
                )
            seen = [_first_past(s, pressed, paused) for s in room.students]
            figures.play_to_update += [x for x in seen if not math.isnan(x)]
            figures.play_unseen += sum(math.isnan(x) for x in seen)
            say(
                f"Play {i + 1}: students' first update after p50 {percentile(seen, 50):.2f} s, "
                f"max {max(seen):.2f} s"
            )
        await teacher.press(0, "play")  # pause: the class's worker stops
        await _quiet(room.students, QUIET_SECONDS, 30)
        if paused_s > 0:
            # Paused, nothing trains and no figure changes: the server's CPU is the students'
            # reruns alone (steadier than less a 'nobody watching' figure on a busy machine).
            answered = sum(len(s.latencies) for s in room.students)
            spy = None
            if profile:
                spy = start_profiler(server_pids[0], paused_s, profile.with_name("paused.txt"))
            start = (cpu_seconds(list(server_pids)), time.time())
            await asyncio.sleep(paused_s)
            cpu = cpu_seconds(list(server_pids)) - start[0]
            if spy:
                await asyncio.to_thread(spy.wait, 60)
            reruns = sum(len(s.latencies) for s in room.students) - answered
            figures.paused_ms_per_rerun = 1000 * cpu / max(1, reruns)
            figures.paused_reruns_per_s = reruns / (time.time() - start[1])
            say(
                f"paused: {figures.paused_reruns_per_s:.1f} student reruns/s, server CPU "
                f"{figures.paused_ms_per_rerun:.1f} ms each"
            )
    finally:
        for r in rooms:
            figures.errors += [f"#{s.index}: {e}" for s in r.students for e in s.errors]
        for r in reversed(rooms):
            await r.close()
    return figures


async def _quiet(students: list[Student], quiet: float, most: float) -> None:
    """Until no student has seen a new step for ``quiet`` seconds (at most ``most``)."""
    deadline = time.time() + most
    while time.time() < deadline:
        latest = max((s.ticks[-1][0] / 1000 for s in students if s.ticks), default=0.0)
        if time.time() - latest >= quiet:
            return
        await asyncio.sleep(0.2)


def _count_updates(
    figures: ClassFigures,
    viewers: list[Student],
    students: list[Student],
    start: tuple[float, ...],
    end: tuple[float, ...],
) -> None:
    """Per student: updates received and missed. The class's updates are the step values any
    viewer (teacher included) first saw inside the window, less its last 2 s, in which a
    student may not have polled yet; a student missed those it never saw."""
    start_ms, end_ms = start[-1] * 1000, end[-1] * 1000
    first_seen: dict[int, float] = {}
    for viewer in viewers:
        for t, n in viewer.ticks:
            first_seen[n] = min(first_seen.get(n, math.inf), t)
    expected = {n for n, t in first_seen.items() if start_ms <= t <= end_ms - 2000}
    figures.expected = len(expected)
    for s in students:
        inside = _steps_between(s, start_ms, end_ms)
        figures.updates.append(len(inside))
        times = [t for t, _ in inside]
        figures.intervals += [(b - a) / 1000 for a, b in zip(times, times[1:], strict=False)]
        figures.missed.append(len(expected - {n for _, n in s.ticks}))


def private_phase(url: str, sessions: int, duration: float, warmup: float, pids, profile, say):
    say(f"(b) {sessions} private sessions, each training its own run")
    outcome = run_ws_sessions(
        url, sessions, duration, warmup, pids, progress=False, profile=profile, settle=1
    )
    results = outcome["results"]
    updates = sum(len(r.intervals) + 1 for r in results if r.intervals)
    return {
        "sessions": sessions,
        "window_s": outcome["window_s"],
        "updates": updates,
        "intervals": [x for r in results for x in r.intervals],
        "server_cores": outcome["cpu"]["server_cores"],
        "client_cores": outcome["cpu"]["chromium_cores"],
        "kb": sum(r.kb_per_s for r in results) * outcome["window_s"],
        "ready": [r.ready_s for r in results],
        "progressing": sum(r.progressing for r in results),
        "errors": [e for r in results for e in r.errors],
        "steps_per_s": [r.steps_per_s for r in results],
    }


# -- the table ----------------------------------------------------------------------------------
def _dist(values: list[float]) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "-"
    return f"{percentile(values, 50):.2f} / {percentile(values, 95):.2f} / {max(values):.2f}"


def table(c: ClassFigures, p: dict | None) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    missing = "-" if p is None else None

    def row(name: str, cls: str, private: str | None = None) -> None:
        rows.append((name, cls, missing or private or "-"))

    pooled_p = p["intervals"] if p else []
    row("sessions measured", f"{c.students} students (+ teacher)", p and f"{p['sessions']}")
    row("measured window (s)", f"{c.window_s:.0f}", p and f"{p['window_s']:.0f}")
    row(
        "updates received per session (min/mean)",
        f"{min(c.updates, default=0)} / {statistics.fmean(c.updates or [0]):.1f}",
        p and f"{p['updates'] / max(1, p['sessions']):.1f} (mean)",
    )
    row(
        "missed updates per student (max/total)",
        f"{max(c.missed, default=0)} / {sum(c.missed)} of {c.expected} each",
        "n/a (own runs)",
    )
    row(
        "update interval p50 / p95 / max (s)",
        _dist(c.intervals),
        p and _dist(pooled_p),
    )
    row(
        "server CPU (cores)",
        f"{c.server_cores:.2f} (nobody watching: {c.solo_cores:.2f})",
        p and f"{p['server_cores']:.2f}",
    )
    row(
        "server CPU per update received (ms)",
        f"{c.cpu_ms_per_update:.1f}",
        p and f"{1000 * p['server_cores'] * p['window_s'] / max(1, p['updates']):.1f}",
    )
    row(
        "  less the class's own training (ms)",
        f"{c.marginal_ms_per_update:.1f}",
        "n/a (training is per session)",
    )
    row(
        "server CPU per live-panel rerun (ms)",
        f"{1000 * c.server_cores * c.window_s / max(1, c.fragment_answers):.1f}",
        "-",
    )
    row(
        "server CPU per student rerun, paused (ms)",
        f"{c.paused_ms_per_rerun:.1f} ({c.paused_reruns_per_s:.0f} reruns/s)",
        "-",
    )
    row(
        "KB sent per update",
        f"{c.kb / max(1, c.total_updates):.0f}",
        p and f"{p['kb'] / max(1, p['updates']):.0f}",
    )
    row("load generator CPU (cores)", f"{c.client_cores:.2f}", p and f"{p['client_cores']:.2f}")
    row(
        "open -> step counter p50/p95/max (s)",
        _dist(c.join_step) + " (all at once)",
        p and (_dist(p["ready"]) + " (Play button)"),
    )
    row("open -> first live chart p50/p95/max (s)", _dist(c.join_chart) + " (all at once)")
    row("late student: open -> first live chart (s)", _dist(c.late_chart))
    row(
        "teacher's Play -> students' 1st update (s)",
        _dist(c.play_to_update) + (f" ({c.play_unseen} unseen)" if c.play_unseen else ""),
    )
    row("server RSS (MB)", f"{c.rss_mb:,.0f}")
    row("errors", str(len(c.errors)), p and str(len(p["errors"])))
    return rows


def print_table(rows: list[tuple[str, str, str]], students: int, private: int) -> None:
    heads = ("", f"(a) class, {students} watching", f"(b) {private} private runs")
    widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(3)]
    print()
    for r in [heads, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))


def checks(c: ClassFigures) -> list[tuple[str, bool, str]]:
    p95 = percentile(c.intervals, 95)
    every = all(u > 0 for u in c.updates) and len(c.updates) == c.students
    return [
        ("every student receives updates", every, f"min {min(c.updates, default=0)}"),
        (
            "every student receives every update",
            max(c.missed, default=0) <= TARGET_MISSED,
            f"worst missed {max(c.missed, default=0)} of {c.expected}",
        ),
        (f"p95 update interval < {TARGET_P95_SECONDS:g} s", p95 < TARGET_P95_SECONDS, f"{p95:.2f}"),
        # Per student: what one more watching student costs, i.e. less the class's one
        # training, which is the same for 1 student or 100 (its all-in share is in the table).
        (
            f"server CPU per student update < {TARGET_CPU_MS:g} ms",
            c.marginal_ms_per_update < TARGET_CPU_MS,
            f"{c.marginal_ms_per_update:.1f} ms less the class's training, "
            f"{c.cpu_ms_per_update:.1f} ms all in",
        ),
        ("no errors", not c.errors, f"{len(c.errors)}"),
    ]


def run_class(url: str, students: int, duration: float, **kw) -> ClassFigures:
    """A class phase on a running server (tests use this with a few students): warmup, solo,
    late, plays, server_pids, progress, profile, join_url as in ``class_phase``."""
    say = kw.pop("say", announcer(kw.pop("progress", False)))
    return asyncio.run(
        class_phase(
            url,
            students,
            duration,
            kw.pop("warmup", 2.0),
            kw.pop("solo", 3.0),
            kw.pop("late", 0),
            kw.pop("plays", 0),
            kw.pop("server_pids", ()),
            say,
            **kw,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--private", type=int, default=20, help="0: no comparison phase")
    parser.add_argument("--duration", type=float, default=60, help="seconds measured, each")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--solo", type=float, default=10, help="class alone, nobody watching")
    parser.add_argument("--late", type=int, default=3, help="students joining one at a time")
    parser.add_argument("--plays", type=int, default=3, help="pause + Play, timed")
    parser.add_argument(
        "--paused", type=float, default=15, help="then seconds measured with the class paused"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy --gil on the server")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="server on CPU 0, the clients on the others (the clients' work cannot slow it)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--hard-timeout", type=float, default=0)
    parser.add_argument(
        "--option", action="append", default=[], metavar="NAME=VALUE", help="Streamlit option"
    )
    args = parser.parse_args()
    say = announcer(True)
    hard = args.hard_timeout or 2 * args.duration + args.solo + 600 + 2 * args.students
    folder = Path(tempfile.mkdtemp(prefix="gru-viz-class-load-"))
    log_path, port = folder / "server.log", free_port()
    say(
        f"class of {args.students} and {args.private} private runs on one server, "
        f"{args.duration:g} s each{'; server pinned to CPU 0' if args.pin else ''}; load "
        f"average {Path('/proc/loadavg').read_text().strip()}"
    )
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(
            streamlit_app(
                port,
                log_path,
                *[f"--{o}" for o in args.option],
                cpus={0} if args.pin else None,
                env={"GRU_VIZ_MAX_SESSIONS": "0"},
                app=ROOT / "app.py",
            )
        )
        if args.pin:
            os.sched_setaffinity(0, (os.sched_getaffinity(0) - {0}) or {0})
        watchdog(hard, lambda: stop_group(server))
        url, pids = f"http://127.0.0.1:{port}", (server.pid,)
        wait_healthy(url, server)
        # One session first: the server imports torch, plotly and pandas on its first run.
        run_ws_sessions(url, 1, 0, 0, progress=False, settle=0)
        say("(a) the class")
        figures = asyncio.run(
            class_phase(
                url,
                args.students,
                args.duration,
                args.warmup,
                args.solo,
                args.late,
                args.plays,
                pids,
                say,
                profile=folder / "class-profile.txt" if args.profile else None,
                paused_s=args.paused,
            )
        )
        if figures.errors:
            print("class errors:", *figures.errors[:10], sep="\n  ")
        class_profile = folder / "class-profile.txt"
        private = None
        if args.private:
            time.sleep(3)
            private_profile = folder / "private-profile.txt" if args.profile else None
            private = private_phase(
                url, args.private, args.duration, args.warmup, pids, private_profile, say
            )
        log_errors = server_log_errors(log_path)
    rows = table(figures, private)
    print_table(rows, args.students, args.private)
    print()
    for name, ok, seen in checks(figures):
        print(f"target {name:<42} {'OK' if ok else 'MISSED'} ({seen})")
    if log_errors:
        print("server log:", *log_errors[:5], sep="\n  ")
    if args.profile:
        profiles = {
            "(a) the class": (class_profile, CLASS_PROFILE_GROUPS, 30),
            "(a) the class, paused": (folder / "paused.txt", CLASS_PROFILE_GROUPS, 30),
            "(b) private runs": (folder / "private-profile.txt", None, 0),
        }
        for name, (path, groups, functions) in profiles.items():
            if path.exists():
                print(f"\n== {name}")
                summarise_profile(path, groups=groups, functions=functions)
    print(f"[class] logs and profiles in {folder}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"class": figures.__dict__, "private": private, "table": rows},
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
