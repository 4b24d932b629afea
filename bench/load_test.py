"""Load test: N students open the dashboard at once, press Play, and watch it train.

Starts ``streamlit run app.py`` on a free loopback port (or uses ``--url``), opens ``--sessions``
browser contexts in one headless Chromium (``--browsers`` to spread them over more), presses
Play in each and lets them train for ``--duration`` seconds. An init script in every page
samples the "Training step" metric every 50 ms and keeps the time of each change, so per
session we get steps/s and the intervals between successive updates (what a student sees as
the tick). Also measured: the server's RSS (process and children, /proc/<pid>/status) before
the sessions open, while they train and after they close; CPU seconds used by the server and by
Chromium; errors (exception boxes, "Training paused after an error", "Not applied", console
errors, page errors, tracebacks in the server log).

Targets (issue: classroom-grade robustness): 20 sessions with no errors, every session
progressing, p95 update interval < 2 s; memory per session is reported.
All traffic stays on 127.0.0.1; a watchdog ends everything after ``--hard-timeout`` seconds.
Run: python -m bench.load_test [--sessions 20] [--duration 60] [--json out.json]
Class mode (one run that a class of students watches) has its own: python -m bench.class_load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.harness import CHROMIUM_ARGS, ROOT, free_port, launch_chromium, wait_healthy
from bench.processes import (
    chromium_pids,
    cpu_seconds,
    rss_mb,
    server_log_errors,
    start_profiler,
    stop_group,
    streamlit_app,
    summarise_profile,
    watchdog,
)

# Every student's tab is in front of them: keep background pages ticking at full rate.
LOAD_ARGS = [
    *CHROMIUM_ARGS,
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
TARGET_P95_SECONDS = 2.0
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PLAY = '[data-testid="stButton"] button:visible'
# Sampled in the page: the time (ms since the epoch) of every change of the step counter.
RECORDER = """
window.__gv = {ticks: [], visibility: document.visibilityState};
setInterval(() => {
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    if (!m.textContent.includes('Training step')) continue;
    const v = m.querySelector('[data-testid="stMetricValue"]');
    if (!v) return;
    const n = parseInt(v.textContent.replace(/[^0-9]/g, ''), 10);
    const t = window.__gv.ticks;
    if (!Number.isNaN(n) && (!t.length || t[t.length - 1][1] !== n)) t.push([Date.now(), n]);
    window.__gv.visibility = document.visibilityState;
    return;
  }
}, 50);
"""
# The server still builds and sends every figure; only this client skips drawing them (the
# lazily loaded chart component is replaced by one that renders nothing), so that one machine
# can play 20 students without its browser taking the cores the server needs.
NO_PLOTLY = "export function PlotlyChart() { return null; }\nexport default PlotlyChart;\n"
# Also no animations (stale-element fades, the running indicator) and nothing laid out or
# painted but the metrics: React still receives and applies every update.
LEAN = """
document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = `*, *::before, *::after { animation: none !important;
      transition: none !important; }
    [data-testid="stSidebar"], [data-testid="stExpander"], [data-testid="stPlotlyChart"],
    .katex, [data-testid="stCaptionContainer"] { display: none !important; }`;
  document.head.appendChild(style);
});
"""
ERROR_TEXTS = ("Training paused after an error", "Not applied", "busy")


# -- measuring -------------------------------------------------------------------------------
@dataclass
class SessionResult:
    index: int
    ready_s: float = float("nan")  # page open -> first full render, under the crowd's load
    steps_start: int = 0
    steps_end: int = 0
    steps_per_s: float = 0.0
    intervals: list[float] = field(default_factory=list)  # seconds between counter updates
    latencies: list[float] = field(default_factory=list)  # tick asked -> done (websocket only)
    errors: list[str] = field(default_factory=list)
    visibility: str = ""
    ws_bytes: list[int] = field(default_factory=lambda: [0, 0])  # [bytes received, sockets]
    kb_per_s: float = 0.0

    @property
    def progressing(self) -> bool:
        return self.steps_end > self.steps_start and len(self.intervals) >= 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def analyse(ticks: list[list[float]], start_ms: float, end_ms: float) -> tuple[int, int, list]:
    """(steps at start, steps at end, intervals in s) over the window [start_ms, end_ms]."""
    inside = [(t, n) for t, n in ticks if start_ms <= t <= end_ms]
    before = [n for t, n in ticks if t < start_ms]
    first = before[-1] if before else (inside[0][1] if inside else 0)
    last = inside[-1][1] if inside else first
    times = [t for t, _ in inside]
    return first, last, [(b - a) / 1000 for a, b in zip(times, times[1:], strict=False)]


def announcer(progress: bool):
    """A timestamped progress printer, or one that stays quiet."""

    def say(text: str) -> None:
        if progress:
            print(f"[load] {time.strftime('%H:%M:%S')} {text}", flush=True)

    return say


def run_sessions(
    url: str,
    sessions: int,
    duration: float,
    warmup: float,
    browsers: int = 1,
    server_pids: tuple[int, ...] = (),
    progress: bool = True,
    draw_charts: bool = False,
    profile: Path | None = None,
    settle: float = 5.0,
) -> dict:
    """Open the sessions, press Play, train for ``duration`` s; returns every measurement."""
    from playwright.sync_api import sync_playwright

    say = announcer(progress)
    results = [SessionResult(i) for i in range(sessions)]
    memory: dict[str, float] = {}
    cpu: dict[str, float] = {}
    with sync_playwright() as p:
        launched = [launch_chromium(p, LOAD_ARGS) for _ in range(max(1, min(browsers, sessions)))]
        pages = []
        for i in range(sessions):
            context = launched[i % len(launched)].new_context(
                viewport={"width": 1400, "height": 1000}
                if draw_charts
                else {"width": 900, "height": 700}
            )
            context.add_init_script(RECORDER)
            if not draw_charts:
                context.add_init_script(LEAN)
                context.route(
                    "**/PlotlyChart.*.js",
                    lambda route: route.fulfill(body=NO_PLOTLY, content_type="text/javascript"),
                )
            page = context.new_page()
            page.on("pageerror", lambda err, r=results[i]: r.errors.append(f"pageerror: {err}"))
            page.on("websocket", lambda ws, r=results[i]: count_frames(ws, r.ws_bytes))
            page.on(
                "console",
                lambda msg, r=results[i]: (
                    r.errors.append(f"console: {msg.text[:200]}") if msg.type == "error" else None
                ),
            )
            pages.append(page)
        say(f"opening {sessions} sessions at once on {url}")
        opened = time.perf_counter()
        for page in pages:
            page.goto(url, wait_until="commit", timeout=120_000)
        for result, page in zip(results, pages, strict=True):
            try:
                page.wait_for_selector(READY, timeout=180_000)
                page.locator(PLAY, has_text="Play").wait_for(timeout=60_000)
                result.ready_s = time.perf_counter() - opened
            except Exception as err:  # noqa: BLE001 (recorded, the rest carry on)
                result.errors.append(f"never ready: {str(err).splitlines()[0]}")
        say(f"all pages rendered after {time.perf_counter() - opened:.1f} s; pressing Play")
        memory["before_play"] = sum(rss_mb(pid) for pid in server_pids)
        browser_pids = chromium_pids()  # now: a navigation can move a page to a new process
        for result, page in zip(results, pages, strict=True):
            try:
                page.locator(PLAY, has_text="Play").click(timeout=60_000)
            except Exception as err:  # noqa: BLE001
                result.errors.append(f"play: {str(err).splitlines()[0]}")
        played = time.time()
        while time.time() < played + warmup:
            pages[0].wait_for_timeout(200)  # Playwright delivers page events while it waits
        bytes_start = [r.ws_bytes[0] for r in results]
        spy = start_profiler(server_pids[0], duration, profile) if profile and server_pids else None
        cpu_start = (cpu_seconds(list(server_pids)), cpu_seconds(browser_pids), time.time())
        peak = 0.0
        while time.time() < played + warmup + duration:
            pages[0].wait_for_timeout(1000 * min(5.0, played + warmup + duration - time.time()))
            now = sum(rss_mb(pid) for pid in server_pids)
            peak = max(peak, now)
            say(f"training… {time.time() - played:5.0f} s, server RSS {now:,.0f} MB")
        ended = time.time()
        if spy:
            spy.wait(timeout=60)
        for r, before in zip(results, bytes_start, strict=True):
            r.kb_per_s = (r.ws_bytes[0] - before) / 1000 / (ended - played - warmup)
        cpu_end = (cpu_seconds(list(server_pids)), cpu_seconds(browser_pids), time.time())
        wall = cpu_end[2] - cpu_start[2]
        cpu["server_cores"] = (cpu_end[0] - cpu_start[0]) / wall
        cpu["chromium_cores"] = (cpu_end[1] - cpu_start[1]) / wall
        memory["training"] = sum(rss_mb(pid) for pid in server_pids)
        memory["peak"] = max(peak, memory["training"])
        for result, page in zip(results, pages, strict=True):
            try:
                data = page.evaluate("window.__gv")
            except Exception as err:  # noqa: BLE001
                result.errors.append(f"read: {str(err).splitlines()[0]}")
                continue
            result.visibility = data["visibility"]
            start_ms, end_ms = (played + warmup) * 1000, ended * 1000
            result.steps_start, result.steps_end, result.intervals = analyse(
                data["ticks"], start_ms, end_ms
            )
            seconds = (end_ms - start_ms) / 1000
            result.steps_per_s = (result.steps_end - result.steps_start) / seconds
            if result.ws_bytes[1] > 1:
                result.errors.append(f"websocket reconnected {result.ws_bytes[1] - 1}×")
            if page.locator('[data-testid="stException"]').count():
                result.errors.append("exception box on the page")
            alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
            result.errors += [
                f"alert: {a[:120]}" for a in alerts if any(e in a for e in ERROR_TEXTS)
            ]
        for browser in launched:
            browser.close()
    say("sessions closed")
    time.sleep(settle)
    memory["closed"] = sum(rss_mb(pid) for pid in server_pids)
    return {"results": results, "memory": memory, "cpu": cpu, "window_s": ended - played - warmup}


def run_ws_sessions(
    url: str,
    sessions: int,
    duration: float,
    warmup: float,
    server_pids: tuple[int, ...] = (),
    progress: bool = True,
    profile: Path | None = None,
    settle: float = 5.0,
) -> dict:
    """As ``run_sessions``, with websocket clients (bench.ws_students) instead of browsers."""
    import asyncio

    from bench.ws_students import Classroom

    say = announcer(progress)

    async def lesson() -> tuple[Classroom, dict, dict, float, float]:
        room = Classroom(url, sessions, ERROR_TEXTS)
        say(f"opening {sessions} websocket sessions at once on {url}")
        await room.open_all()
        say(f"all sessions rendered after {max(room.ready_s):.1f} s; pressing Play")
        memory = {"before_play": sum(rss_mb(pid) for pid in server_pids)}
        await room.press_play()
        played = time.time()
        await asyncio.sleep(warmup)
        spy = start_profiler(server_pids[0], duration, profile) if profile and server_pids else None
        room.bytes_at_start = [s.bytes_received for s in room.students]
        me = [os.getpid()]
        start = (cpu_seconds(list(server_pids)), cpu_seconds(me), time.time())
        peak = 0.0
        while (left := played + warmup + duration - time.time()) > 0:
            await asyncio.sleep(min(5.0, left))
            now = sum(rss_mb(pid) for pid in server_pids)
            peak = max(peak, now)
            say(f"training… {time.time() - played:5.0f} s, server RSS {now:,.0f} MB")
        end = (cpu_seconds(list(server_pids)), cpu_seconds(me), time.time())
        memory["training"] = sum(rss_mb(pid) for pid in server_pids)
        memory["peak"] = max(peak, memory["training"])
        wall = end[2] - start[2]
        cpu = {
            "server_cores": (end[0] - start[0]) / wall,
            "chromium_cores": (end[1] - start[1]) / wall,  # the clients: this process
        }
        await room.close()
        if spy:
            spy.wait(timeout=60)
        return room, memory, cpu, played + warmup, end[2]

    room, memory, cpu, start_s, end_s = asyncio.run(lesson())
    results = []
    for student, ready in zip(room.students, room.ready_s, strict=True):
        result = SessionResult(student.index, ready_s=ready, errors=student.errors)
        ticks = [[t, n] for t, n in student.ticks]
        result.steps_start, result.steps_end, result.intervals = analyse(
            ticks, start_s * 1000, end_s * 1000
        )
        result.steps_per_s = (result.steps_end - result.steps_start) / (end_s - start_s)
        result.latencies = [s for t, s in student.latencies if start_s * 1000 <= t <= end_s * 1000]
        received = student.bytes_received - room.bytes_at_start[student.index]
        result.kb_per_s = received / 1000 / (end_s - start_s)
        results.append(result)
    say("sessions closed")
    time.sleep(settle)
    memory["closed"] = sum(rss_mb(pid) for pid in server_pids)
    return {"results": results, "memory": memory, "cpu": cpu, "window_s": end_s - start_s}


def count_frames(ws, total: list[int]) -> None:
    total[1] += 1  # a second socket means the page lost its connection and reconnected

    def add(payload) -> None:
        total[0] += len(payload)

    ws.on("framereceived", add)


def report(
    sessions: int,
    outcome: dict,
    baseline_mb: float,
    log_errors: list[str],
    processes: int = 1,
    clients: str = "browser",
) -> dict:
    results: list[SessionResult] = outcome["results"]
    memory, cpu = outcome["memory"], outcome["cpu"]
    print(
        f"\n{'#':>3}{'ready s':>9}{'steps':>15}{'steps/s':>9}{'updates':>9}"
        f"{'p50 s':>7}{'p95 s':>7}{'max s':>7}{'KB/s':>7}  errors"
    )
    for r in results:
        iv = r.intervals
        print(
            f"{r.index:>3}{r.ready_s:>9.1f}{f'{r.steps_start}→{r.steps_end}':>15}"
            f"{r.steps_per_s:>9.1f}{len(iv):>9}{percentile(iv, 50):>7.2f}"
            f"{percentile(iv, 95):>7.2f}{max(iv, default=float('nan')):>7.2f}{r.kb_per_s:>7.0f}  "
            f"{'; '.join(r.errors[:2]) or '-'}"
        )
    pooled = [x for r in results for x in r.intervals]
    p95 = percentile(pooled, 95)
    latencies = [x for r in results for x in r.latencies]
    who = "Chromium" if clients == "browser" else "websocket clients"
    errors = sum(len(r.errors) for r in results) + len(log_errors)
    progressing = sum(r.progressing for r in results)
    per_session = (memory["training"] - baseline_mb) / sessions
    summary = {
        "sessions": sessions,
        "processes": processes,
        "progressing": progressing,
        "errors": errors,
        "p50_interval_s": percentile(pooled, 50),
        "p95_interval_s": p95,
        "max_interval_s": max(pooled, default=float("nan")),
        "clients": clients,
        "p50_tick_latency_s": percentile(latencies, 50),
        "p95_tick_latency_s": percentile(latencies, 95),
        "mean_steps_per_s": statistics.fmean(r.steps_per_s for r in results),
        "min_steps_per_s": min(r.steps_per_s for r in results),
        "max_ready_s": max(r.ready_s for r in results),
        "ws_kb_per_s": statistics.fmean(r.kb_per_s for r in results),
        "ws_kb_per_update": sum(r.kb_per_s for r in results)
        * outcome["window_s"]
        / max(1, len(pooled) + len(results)),
        "rss_baseline_mb": baseline_mb,
        "rss_training_mb": memory["training"],
        "rss_peak_mb": memory["peak"],
        "rss_closed_mb": memory["closed"],
        "mb_per_session": per_session,
        "server_cores": cpu["server_cores"],
        "chromium_cores": cpu["chromium_cores"],
        # What one update of one session costs the server, whatever limits the rate: with the
        # GIL, one process delivers at most about 1 / this many updates per second.
        "server_cpu_s_per_update": cpu["server_cores"]
        * outcome["window_s"]
        / max(1, len(pooled) + len(results)),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    client_cpus = len(os.sched_getaffinity(0))
    pinned = client_cpus < (os.cpu_count() or 1)
    busy = cpu["chromium_cores"] + (0 if pinned else cpu["server_cores"])
    summary["client_saturated"] = busy > 0.85 * client_cpus
    print(
        f"\nupdate interval over all sessions: p50 {summary['p50_interval_s']:.2f} s, "
        f"p95 {p95:.2f} s, max {summary['max_interval_s']:.2f} s ({len(pooled)} updates); "
        f"steps/s per session: mean {summary['mean_steps_per_s']:.1f}, "
        f"min {summary['min_steps_per_s']:.1f}; slowest first render {summary['max_ready_s']:.1f} s"
    )
    print(
        f"websocket to each session: {summary['ws_kb_per_s']:.0f} KB/s, about "
        f"{summary['ws_kb_per_update']:.0f} KB per update"
    )
    print(
        f"server RSS: {baseline_mb:,.0f} MB after one warm-up session, "
        f"{memory['before_play']:,.0f} MB with {sessions} open, {memory['training']:,.0f} MB "
        f"training (peak {memory['peak']:,.0f}), {memory['closed']:,.0f} MB just after "
        f"closing (Streamlit keeps closed sessions up to server.disconnectedSessionTTL)"
    )
    print(
        f"CPU while training: server {cpu['server_cores']:.2f} cores, {who} "
        f"{cpu['chromium_cores']:.2f} cores, of {os.cpu_count()}; load average "
        f"{' '.join(summary['loadavg'])}"
    )
    print(
        f"server CPU per update: {summary['server_cpu_s_per_update'] * 1000:.0f} ms "
        f"(one process can deliver about {1 / summary['server_cpu_s_per_update']:.1f} "
        "updates/s)"
    )
    if summary["client_saturated"]:
        print(
            f"WARNING: the {who}{'' if pinned else ' and the server together'} used "
            f"{busy:.2f} of the {client_cpus} cores they could have: the "
            f"{'load generator' if pinned else 'machine'}, not only the server, limited these "
            "numbers"
        )
    if latencies:
        print(
            f"tick latency (live panel rerun asked -> its update received): p50 "
            f"{summary['p50_tick_latency_s']:.2f} s, p95 {summary['p95_tick_latency_s']:.2f} s "
            f"({len(latencies)} ticks)"
        )
    if log_errors:
        print("server log:", *log_errors[:5], sep="\n  ")
    checks = [
        (f"{sessions} sessions with no errors", errors == 0, f"{errors} errors"),
        (
            "every session progressing",
            progressing == sessions,
            f"{progressing}/{sessions}",
        ),
        (
            f"p95 update interval < {TARGET_P95_SECONDS:g} s",
            p95 < TARGET_P95_SECONDS,
            f"{p95:.2f} s",
        ),
    ]
    for name, ok, seen in checks:
        print(f"target {name:<36} {'OK' if ok else 'MISSED'} ({seen})")
    print(f"memory per session: {per_session:.1f} MB (server RSS while training − baseline) / N")
    summary["targets_met"] = all(ok for _, ok, _ in checks)
    return summary


def warm_up(url: str) -> None:
    """One session first: the server imports torch and plotly on its first script run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p, LOAD_ARGS)
        page = browser.new_page()
        page.goto(url, timeout=120_000)
        page.wait_for_selector(READY, timeout=120_000)
        page.locator(PLAY, has_text="Play").wait_for(timeout=60_000)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=5, help="seconds after Play not measured")
    parser.add_argument(
        "--clients",
        choices=("websocket", "browser"),
        default="websocket",
        help="websocket: light clients speaking Streamlit's protocol (bench.ws_students); "
        "browser: headless Chromium tabs (about a quarter core per update here: they, not the "
        "server, run out first)",
    )
    parser.add_argument("--browsers", type=int, default=1, help="Chromium processes")
    parser.add_argument("--url", help="use a running server (loopback) instead of starting one")
    parser.add_argument("--server-pid", type=int, nargs="*", default=[], help="with --url")
    parser.add_argument(
        "--hard-timeout", type=float, default=0, help="default: duration + 300 + 20 per session"
    )
    parser.add_argument("--json", type=Path, help="write the summary here")
    parser.add_argument(
        "--draw-charts",
        action="store_true",
        help="let Chromium draw the charts (costs about a core per busy page on this machine)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the server while it trains (--gil)"
    )
    parser.add_argument(
        "--app",
        type=Path,
        default=ROOT / "app.py",
        help="the script to serve (a variant of app.py, to compare a fix); run from the root",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="server on CPU 0, this script and Chromium on the others: the server gets a "
        "whole core of its own, whatever the browsers do",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Streamlit option for the server, e.g. runner.postScriptGC=false (repeatable)",
    )
    args = parser.parse_args()
    if args.url and not re.match(r"^https?://(127\.0\.0\.1|localhost)(:\d+)?(/|$)", args.url):
        raise SystemExit("--url must be a loopback address")
    hard = args.hard_timeout or args.duration + args.warmup + 300 + 20 * args.sessions
    folder = Path(tempfile.mkdtemp(prefix="gru-viz-load-"))
    print(
        f"[load] {args.sessions} sessions, {args.duration:g} s; options {args.option or 'none'}"
        f"{'; server pinned to CPU 0' if args.pin else ''}; clients: {args.clients}"
        f"{f'; charts drawn: {args.draw_charts}' if args.clients == 'browser' else ''}; "
        f"load average before: {Path('/proc/loadavg').read_text().strip()}"
    )
    with contextlib.ExitStack() as stack:
        if args.url:
            url, pids, log_path = args.url.rstrip("/"), tuple(args.server_pid), None
            watchdog(hard, lambda: None)
        else:
            log_path, port = folder / "server.log", free_port()
            options = [f"--{o}" for o in args.option]
            cpus = {0} if args.pin else None
            server = stack.enter_context(
                streamlit_app(
                    port,
                    log_path,
                    *options,
                    cpus=cpus,
                    app=args.app.resolve(),
                    # The load test measures what a process does past any cap: no cap.
                    env={"GRU_VIZ_MAX_SESSIONS": "0"},
                )
            )
            if args.pin:
                os.sched_setaffinity(0, (os.sched_getaffinity(0) - {0}) or {0})
            watchdog(hard, lambda: stop_group(server))
            url, pids = f"http://127.0.0.1:{port}", (server.pid,)
            wait_healthy(url, server)
        warm_up(url) if args.clients == "browser" else run_ws_sessions(url, 1, 0, 0, settle=0)
        time.sleep(2)
        baseline = sum(rss_mb(pid) for pid in pids)
        profile = folder / "profile.txt" if args.profile else None
        if args.clients == "websocket":
            outcome = run_ws_sessions(
                url, args.sessions, args.duration, args.warmup, pids, profile=profile
            )
        else:
            outcome = run_sessions(
                url,
                args.sessions,
                args.duration,
                args.warmup,
                args.browsers,
                pids,
                draw_charts=args.draw_charts,
                profile=profile,
            )
        log_errors = server_log_errors(log_path) if log_path else []
        summary = report(args.sessions, outcome, baseline, log_errors, clients=args.clients)
        summary["options"] = args.option + (["pinned: server CPU 0"] if args.pin else [])
        if profile and profile.exists():
            summary["profile"] = summarise_profile(profile)
        print(f"[load] logs and profile in {folder}")
    if args.json:
        summary["per_session"] = [asdict(r) for r in outcome["results"]]
        args.json.write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
