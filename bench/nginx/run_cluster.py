"""K Streamlit processes behind nginx (bench/nginx/gru-viz.conf) on loopback, then check it.

Starts ``--processes`` ``streamlit run app.py`` on free 127.0.0.1 ports (one shared cookie
secret; each its own letter, GRU_VIZ_PROCESS=A, B, ..., which starts the codes of the classes
it holds), writes nginx's config from gru-viz.conf with those ports and letters and a free
listen port into a temporary prefix, runs ``nginx -p PREFIX -c CONF`` in the foreground (never
as a service), and checks through the proxy: the health endpoint, the page, and ``--sessions``
sessions (websocket clients that load the page first, as bench.load_test; ``--clients
browser`` for Chromium) that press Play and must train; then that every browser stayed on one
process (nginx's log of upstream addresses) and, with several sessions, that they were spread
over the processes. Then a class (``class_check``): a teacher on the last process (its own
port) starts one, and students open its join link ``/?class=CODE`` through nginx: they must land
on that process and watch it train.
``--capacity`` then raises the number of sessions per process until the p95 update interval
passes 2 s (bench/load_test.py's measurements), to size a classroom server; it lifts the app's
own cap (GRU_VIZ_MAX_SESSIONS=0) to measure past it. ``proxy`` alone puts nginx with this
config in front of any loopback ports (tests/test_nginx.py uses stand-in backends).
Run: python -m bench.nginx.run_cluster [--processes 2] [--sessions 4] [--capacity --step 5]
Needs nginx (apt-get install -y nginx-light) and Chromium; all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.harness import free_port, wait_healthy
from bench.load_test import (
    TARGET_P95_SECONDS,
    percentile,
    report,
    run_sessions,
    run_ws_sessions,
    warm_up,
)
from bench.processes import rss_mb, stop_group, streamlit_app, watchdog

CONF = Path(__file__).resolve().parent / "gru-viz.conf"
# Each process's letter (GRU_VIZ_PROCESS), in order: the letters of the class-code alphabet
# (gru_viz.classroom.CODE_ALPHABET, which has no I or O), so a code's first letter names its
# process. At most this many processes.
PROCESS_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_CHARACTERS = "A-HJ-NP-Z2-9"  # the alphabet as a regex class (case-insensitive match)
BEGIN, END = "# BEGIN per-process", "# END per-process"


@dataclass
class Cluster:
    url: str
    ports: list[int]
    servers: list[subprocess.Popen]
    nginx: subprocess.Popen
    prefix: Path

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(s.pid for s in self.servers)

    @property
    def letters(self) -> dict[str, int]:
        """Each process's letter (GRU_VIZ_PROCESS) -> its port."""
        return dict(zip(PROCESS_LETTERS, self.ports, strict=False))


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def per_process_block(ports: list[int], indent: str = "    ") -> str:
    """The conf's per-process block: an upstream per process (process i has letter
    PROCESS_LETTERS[i]) and the maps that know exactly these letters (see gru-viz.conf)."""
    if len(ports) > len(PROCESS_LETTERS):
        raise ValueError(f"at most {len(PROCESS_LETTERS)} processes: one letter each")
    pairs = list(zip(PROCESS_LETTERS, ports, strict=False))
    lines = [f"upstream gru_viz_{k} {{ server 127.0.0.1:{port}; }}" for k, port in pairs]
    lines += ["map $arg_class $class_from_link {", '    default "";']
    lines += [f'    "~*^{k}[{CODE_CHARACTERS}]{{3}}" {k};' for k, _ in pairs]
    lines += ["}", "map $cookie_gru_viz_class $class_from_cookie {", '    default "";']
    lines += [f"    {k} {k};" for k, _ in pairs]
    lines += ["}", "map $class_process $gru_upstream {", "    default gru_viz;"]
    lines += [f"    {k} gru_viz_{k};" for k, _ in pairs]
    lines += ["}"]
    return "".join(f"{indent}{line}\n" for line in lines)


def render_conf(template: str, listen: int, ports: list[int]) -> str:
    """gru-viz.conf with this run's listen port, upstream servers and per-process block."""
    conf, found = re.subn(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{listen};", template)
    assert found == 1, "gru-viz.conf must have exactly one `listen 127.0.0.1:PORT;` line"
    servers = re.findall(r"^([ \t]*)server 127\.0\.0\.1:\d+;\n", conf, flags=re.MULTILINE)
    assert servers, "gru-viz.conf must list its upstream servers as `server 127.0.0.1:PORT;`"
    indent = servers[0]
    block = "".join(f"{indent}server 127.0.0.1:{port};\n" for port in ports)
    conf = re.sub(r"(^[ \t]*server 127\.0\.0\.1:\d+;\n)+", block, conf, flags=re.MULTILINE)
    found = re.search(rf"^([ \t]*){BEGIN}[^\n]*\n(.*?)^[ \t]*{END}", conf, re.MULTILINE | re.DOTALL)
    assert found, f"gru-viz.conf must hold its per-process block between {BEGIN!r} and {END!r}"
    start, end = found.span(2)
    return conf[:start] + per_process_block(ports, found.group(1)) + conf[end:]


@contextlib.contextmanager
def proxy(ports: list[int], prefix: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """nginx with gru-viz.conf in front of whatever listens on ``ports`` (Streamlit processes,
    or a test's stand-ins), on a free loopback port; logs in ``prefix/logs``. Yields its URL."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx not found: apt-get install -y nginx-light")
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    listen = free_port()
    conf = prefix / "gru-viz.conf"
    conf.write_text(render_conf(CONF.read_text(), listen, ports))
    command = [binary, "-p", str(prefix), "-e", "stderr", "-c", str(conf)]
    subprocess.run([*command, "-t", "-q"], check=True, timeout=30)
    nginx = subprocess.Popen(
        [*command, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=open(prefix / "logs" / "nginx.stderr", "w"),  # noqa: SIM115
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{listen}"
        wait_healthy(url, nginx, timeout=30)
        yield url, nginx
    finally:
        stop_group(nginx)


@contextlib.contextmanager
def cluster(
    processes: int, hard_timeout: float = 900, max_sessions: int | None = None
) -> Iterator[Cluster]:
    """``processes`` Streamlit processes behind nginx. ``max_sessions`` sets each process's
    GRU_VIZ_MAX_SESSIONS (0: no cap; None: the app's default)."""
    if nginx_binary() is None:
        raise RuntimeError("nginx not found: apt-get install -y nginx-light")
    prefix = Path(tempfile.mkdtemp(prefix="gru-viz-nginx-"))
    (prefix / "logs").mkdir()
    if processes > len(PROCESS_LETTERS):
        raise ValueError(f"at most {len(PROCESS_LETTERS)} processes: one letter each")
    ports = [free_port() for _ in range(processes)]
    secret = secrets.token_hex(16)  # one secret: any process accepts the others' XSRF cookies
    env = {"STREAMLIT_SERVER_COOKIE_SECRET": secret}
    if max_sessions is not None:
        env["GRU_VIZ_MAX_SESSIONS"] = str(max_sessions)
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                streamlit_app(
                    port,
                    prefix / "logs" / f"streamlit-{port}.log",
                    env={**env, "GRU_VIZ_PROCESS": letter},  # its classes' codes start so
                )
            )
            for letter, port in zip(PROCESS_LETTERS, ports, strict=False)
        ]
        started = list(servers)  # nginx joins once it runs
        timer = watchdog(hard_timeout, lambda: [stop_group(p) for p in started])
        # Off once the cluster is gone: a watchdog left armed would end the whole process
        # (a test run) hard_timeout seconds later, whatever it was doing by then.
        stack.callback(timer.cancel)
        for port, server in zip(ports, servers, strict=True):
            wait_healthy(f"http://127.0.0.1:{port}", server)
        url, nginx = stack.enter_context(proxy(ports, prefix))
        started.append(nginx)
        yield Cluster(url, ports, servers, nginx, prefix)


def routes(prefix: Path) -> dict[str, set[str]]:
    """Browser cookie -> upstream processes that served it, from nginx's access log."""
    served: dict[str, set[str]] = defaultdict(set)
    for line in (prefix / "logs" / "access.log").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] != "-" and parts[2] != "-":
            cookie = parts[1].split("=", 1)[-1].strip("-")  # "-" marks the unset one
            served[cookie].update(parts[2].split(","))
    return served


def class_routes(prefix: Path) -> dict[str, dict[str, set[str]]]:
    """Class letter asked for -> request path -> upstreams that served it (nginx's log)."""
    served: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for line in (prefix / "logs" / "access.log").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 7 and parts[3].startswith("class=") and parts[3] != "class=":
            path = parts[6].split("?", 1)[0]
            served[parts[3].removeprefix("class=")][path].update(parts[2].split(","))
    return served


def class_check(c: Cluster, students: int = 2, duration: float = 5.0, progress: bool = True):
    """A teacher on the last process (straight to its port) starts a class and presses Play;
    ``students`` open its join link through nginx. Returns what they saw and where nginx sent
    them: every request of theirs that named the class's letter must reach its process."""
    from bench.class_load import run_class

    letter, port = list(c.letters.items())[-1]
    figures = run_class(
        f"http://127.0.0.1:{port}",
        students,
        duration,
        join_url=c.url,
        solo=1.0,
        warmup=1.0,
        progress=progress,
    )
    time.sleep(1)  # nginx logs a websocket when it closes
    served = class_routes(c.prefix).get(letter, {})
    return {
        "code": figures.code,
        "letter": letter,
        "process": f"127.0.0.1:{port}",
        "updates": figures.updates,
        "banners": figures.banners,
        "errors": figures.errors,
        "served": {path: sorted(ups) for path, ups in served.items()},
        "routed": bool(served) and all(ups == {f"127.0.0.1:{port}"} for ups in served.values()),
        "figures": figures,
    }


def students(clients: str, url: str, count: int, duration: float, warmup: float, **kw) -> dict:
    """``count`` sessions train for ``duration`` s: browsers, or websocket clients that load
    the page first and keep nginx's cookie, as a browser does."""
    run = run_ws_sessions if clients == "websocket" else run_sessions
    return run(url, count, duration, warmup, **kw)


def check(
    c: Cluster, sessions: int, duration: float, progress: bool = True, clients: str = "browser"
) -> dict:
    """Health and page through nginx, then ``sessions`` students train; returns the findings."""
    with urllib.request.urlopen(f"{c.url}/_stcore/health", timeout=10) as reply:
        health = reply.read().decode()
    with urllib.request.urlopen(c.url, timeout=10) as reply:
        page = reply.read().decode(errors="replace")
    outcome = students(
        clients, c.url, sessions, duration, 3, server_pids=c.pids, progress=progress, settle=1
    )  # nginx logs a websocket when it closes: the settle second lets it write
    served = routes(c.prefix)
    results = outcome["results"]
    return {
        "health": health,
        "page_ok": "<title>" in page and "streamlit" in page.lower(),
        "sessions": sessions,
        "progressing": sum(r.progressing for r in results),
        "errors": [e for r in results for e in r.errors],
        "steps": [(r.steps_start, r.steps_end) for r in results],
        "p95_interval_s": percentile([x for r in results for x in r.intervals], 95),
        "browsers_seen": len(served),
        "sticky": all(len(ups) == 1 for ups in served.values()),
        "processes_used": len({u for ups in served.values() for u in ups}),
        "rss_mb": [round(rss_mb(pid)) for pid in c.pids],
        "outcome": outcome,
    }


def capacity(
    c: Cluster, processes: int, duration: float, most: int, clients: str, step: int = 1
) -> None:
    """Sessions per process until the p95 update interval passes the target."""
    print(f"\ncapacity: {processes} processes, {duration:.0f} s per level")
    print(f"{'per process':>12}{'sessions':>10}{'p95 s':>8}{'steps/s':>9}{'errors':>8}")
    held = 0
    for per in range(step, most + 1, step):
        n = per * processes
        outcome = students(clients, c.url, n, duration, 5, server_pids=c.pids, progress=False)
        results = outcome["results"]
        p95 = percentile([x for r in results for x in r.intervals], 95)
        errors = sum(len(r.errors) for r in results)
        rate = sum(r.steps_per_s for r in results) / n
        print(f"{per:>12}{n:>10}{p95:>8.2f}{rate:>9.1f}{errors:>8}", flush=True)
        if p95 >= TARGET_P95_SECONDS or errors or not all(r.progressing for r in results):
            break
        held = per
    print(f"sessions per process with p95 < {TARGET_P95_SECONDS:g} s and no errors: {held}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=4, help="browsers in the check")
    parser.add_argument("--duration", type=float, default=20, help="seconds of training")
    parser.add_argument("--capacity", action="store_true", help="then find sessions/process")
    parser.add_argument("--most", type=int, default=10, help="capacity: most per process")
    parser.add_argument("--step", type=int, default=1, help="capacity: sessions per process added")
    parser.add_argument("--capacity-duration", type=float, default=30)
    parser.add_argument(
        "--clients",
        choices=("websocket", "browser"),
        default="websocket",
        help="as in bench.load_test: browsers run out of CPU here before the servers do",
    )
    args = parser.parse_args()
    # --capacity measures past the app's own cap (GRU_VIZ_MAX_SESSIONS): lift it there.
    with cluster(args.processes, max_sessions=0 if args.capacity else None) as c:
        print(f"nginx on {c.url} -> {args.processes} Streamlit processes; prefix {c.prefix}")
        for port in c.ports:  # each process imports torch and plotly on its first session
            warm_up(f"http://127.0.0.1:{port}")
        time.sleep(2)
        baseline = sum(rss_mb(pid) for pid in c.pids)
        result = check(c, args.sessions, args.duration, clients=args.clients)
        report(args.sessions, result["outcome"], baseline, [], args.processes, args.clients)
        print(
            f"\nthrough nginx: health {result['health']!r}, page {result['page_ok']}, "
            f"{result['progressing']}/{args.sessions} sessions trained, "
            f"{result['browsers_seen']} clients each on one process: {result['sticky']}, "
            f"processes used {result['processes_used']}/{args.processes}, "
            f"RSS per process {result['rss_mb']} MB"
        )
        lesson = class_check(c)
        print(
            f"class {lesson['code']} on process {lesson['letter']} ({lesson['process']}): "
            f"students joined through nginx, updates {lesson['updates']}, banner shown to "
            f"{lesson['banners']}, errors {len(lesson['errors'])}; nginx sent their requests to "
            f"{lesson['served']}: all on the class's process: {lesson['routed']}"
        )
        ok = (
            result["page_ok"]
            and result["progressing"] == args.sessions
            and not result["errors"]
            and result["sticky"]
            and lesson["routed"]
            and all(lesson["updates"])
            and not lesson["errors"]
        )
        print(f"cluster check: {'OK' if ok else 'FAILED'}")
        if args.capacity:
            capacity(c, args.processes, args.capacity_duration, args.most, args.clients, args.step)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
