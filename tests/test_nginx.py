"""gru-viz behind nginx: two Streamlit processes, sticky sessions, a session trains through it.

A short version of ``python -m bench.nginx.run_cluster``, and the config's defences checked
against stand-in backends (a few lines of Python each, so these run in seconds): a forged
route cookie reaches only servers of the pool, and the per-address limits answer 429 past
their bursts while a classroom's worth of traffic from one address still gets through.
Class routing: a join link (/?class=CODE) goes to the process its code's first letter names and
sets a cookie that takes the page's websocket and other requests there too; a forged class
cookie or a code of another letter is routed as if there were none (stand-ins), and, on two
real app processes, students who open a class's link through nginx land on its process and
watch it.
Skipped unless nginx is installed (apt-get install -y nginx-light) or GRU_VIZ_REQUIRE_NGINX is
set (then a missing nginx fails).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.nginx.run_cluster import (
    PROCESS_LETTERS,
    class_check,
    cluster,
    nginx_binary,
    proxy,
    render_conf,
)
from tests.conftest_browser import chromium_available

REQUIRED = bool(os.environ.get("GRU_VIZ_REQUIRE_NGINX"))
NEEDS_NGINX = pytest.mark.skipif(
    not REQUIRED and nginx_binary() is None,
    reason="needs nginx (apt-get install -y nginx-light)",
)


def test_config_template_takes_any_ports():
    from bench.nginx.run_cluster import CONF

    conf = render_conf(CONF.read_text(), 9000, [9001, 9002, 9003])
    assert "listen 127.0.0.1:9000;" in conf
    servers = re.findall(r"^\s*server 127\.0\.0\.1:(\d+);", conf, flags=re.MULTILINE)
    assert servers == ["9001", "9002", "9003"]
    assert "proxy_http_version 1.1;" in conf and "$connection_upgrade" in conf
    # Every location goes to the class's process or else the pool, by a map of known names.
    assert conf.count("proxy_pass http://$gru_upstream;") == 4
    assert "proxy_pass http://gru_viz" not in conf
    assert "limit_req_status 429;" in conf and "limit_conn gru_tabs 60;" in conf
    # One upstream and one map entry per process, by letter, and no others.
    upstreams = re.findall(r"upstream gru_viz_(\w) \{ server 127\.0\.0\.1:(\d+); \}", conf)
    assert upstreams == [("A", "9001"), ("B", "9002"), ("C", "9003")]
    assert re.findall(r"^\s+(\w) gru_viz_\w;", conf, flags=re.MULTILINE) == ["A", "B", "C"]
    assert "~*^C[A-HJ-NP-Z2-9]{3}" in conf and "~*^D" not in conf
    # The checked-in file is what render_conf writes for its own ports: the two agree.
    assert render_conf(CONF.read_text(), 8080, [8501, 8502]) == CONF.read_text()


def test_process_letters_are_the_code_alphabets_letters():
    from gru_viz.classroom import CODE_ALPHABET

    assert "".join(ch for ch in CODE_ALPHABET if ch.isalpha()) == PROCESS_LETTERS


@pytest.mark.browser
@pytest.mark.skipif(
    not REQUIRED and (nginx_binary() is None or not chromium_available()),
    reason="needs nginx (apt-get install -y nginx-light) and Chromium",
)
def test_sessions_train_through_nginx_and_stay_on_one_process(capsys):
    pytest.importorskip("playwright.sync_api")
    from bench.nginx.run_cluster import check

    with cluster(processes=2, hard_timeout=400) as c:
        result = check(c, sessions=3, duration=8, progress=False)
    assert result["health"] == "ok" and result["page_ok"]
    assert result["errors"] == []
    assert result["progressing"] == 3, result["steps"]
    assert result["sticky"] and result["browsers_seen"] >= 3
    with capsys.disabled():
        print(
            f"\n[nginx] 3 sessions through nginx -> 2 processes: steps {result['steps']}, "
            f"p95 update interval {result['p95_interval_s']:.2f} s, processes used "
            f"{result['processes_used']}, RSS per process {result['rss_mb']} MB"
        )


# -- the config's defences, against stand-in backends ---------------------------------------
class Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops sixty connections arriving at once
    daemon_threads = True


class Backend:
    """A loopback HTTP server that names itself in every answer; requests to the websocket
    path are held open (like a tab's websocket) until ``release``."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.held = 0
        self._release = threading.Event()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                backend.hits[path] += 1
                if path == "/_stcore/stream":
                    backend.held += 1
                    backend._release.wait(60)
                body = f"backend {backend.port}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


class Canary:
    """A loopback port outside the pool that counts every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()


@contextlib.contextmanager
def pool(tmp_path: Path, size: int = 2) -> Iterator[tuple[str, list[Backend]]]:
    backends = [Backend() for _ in range(size)]
    try:
        with proxy([b.port for b in backends], tmp_path) as (url, _nginx):
            yield url, backends
    finally:
        for backend in backends:
            backend.close()


def get(url: str, path: str = "/", cookie: str | None = None) -> tuple[int, str, str]:
    """(status, body, the route cookie nginx set or "")."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        reply = conn.getresponse()
        body = reply.read().decode(errors="replace")
        set_cookie = reply.getheader("Set-Cookie") or ""
        return reply.status, body, set_cookie.split(";", 1)[0]
    finally:
        conn.close()


def visit(url: str, path: str = "/", cookies: dict[str, str] | None = None):
    """(status, body, {cookie name: its whole Set-Cookie header}) for one request."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        header = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
        conn.request("GET", path, headers={"Cookie": header} if header else {})
        reply = conn.getresponse()
        body = reply.read().decode(errors="replace")
        set_cookies = {
            h.split("=", 1)[0]: h for name, h in reply.getheaders() if name == "Set-Cookie"
        }
        return reply.status, body, set_cookies
    finally:
        conn.close()


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


# What a page's later requests are: its websocket, static files, endpoints, downloads, a reload.
# (Call each backend's release() first: it holds the websocket path open until then.)
LATER = ["/_stcore/stream", "/static/js/main.js", "/_stcore/health", "/media/a.csv", "/"]


def upstreams(tmp_path: Path) -> set[str]:
    """Every upstream address nginx used, from its access log (``-``: none, e.g. a 429)."""
    lines = (tmp_path / "logs" / "access.log").read_text().splitlines()
    return {u for line in lines for u in line.split()[2].split(",") if u != "-"}


@NEEDS_NGINX
def test_a_forged_route_cookie_reaches_only_backends_of_the_pool(tmp_path):
    canary = Canary()
    # 16 bytes in the userid module's own format: accepted, hashed, still only onto the pool.
    address = f"127.0.0.1:{canary.port}".ljust(16, "/").encode()[:16]
    valid_looking = base64.b64encode(address).decode()[:22]
    forged = [
        "127.0.0.1:22",
        f"127.0.0.1:{canary.port}",
        f"localhost:{canary.port}",
        "../",
        "../../etc/passwd",
        "%2e%2e%2f",
        "unix:/var/run/docker.sock",
        "gru_viz",
        valid_looking,
        "A" * 300,
    ]
    with pool(tmp_path) as (url, backends):
        names = {f"backend {b.port}" for b in backends}
        status, body, cookie = get(url)  # the normal path: a cookie, then always one backend
        assert status == 200 and body in names and cookie.startswith("gru_viz_route=")
        assert {get(url, cookie=cookie)[1] for _ in range(5)} == {body}
        for value in forged:
            for _ in range(3):
                status, body, _set = get(url, cookie=f"gru_viz_route={value}")
                assert status == 200 and body in names, (value, status, body)
        answered = {get(url, cookie=f"gru_viz_route={valid_looking}")[1] for _ in range(5)}
        assert len(answered) == 1  # a well-formed cookie is sticky, wherever it came from
        served = upstreams(tmp_path)
    assert served == {f"127.0.0.1:{b.port}" for b in backends}
    assert canary.connections == 0
    assert "userid cookie" in (tmp_path / "logs" / "error.log").read_text()  # ignored, logged


@NEEDS_NGINX
def test_the_page_rate_limit_answers_429_past_its_burst_and_a_class_still_gets_in(tmp_path):
    with pool(tmp_path, size=1) as (url, [backend]):
        # A class of 40 behind one NAT address opens the page (and its websocket) at once.
        assert [get(url)[0] for _ in range(80)] == [200] * 80
        answers = []
        while not answers or answers[-1][0] != 429:  # a runaway client: more than any class
            answers.append(get(url)[:2])
            assert len(answers) < 2000, "the page rate limit never answered 429"
        assert "429 Too Many Requests" in answers[-1][1]  # from nginx itself...
        assert backend.hits["/"] == 80 + len(answers) - 1  # ...never reaching Streamlit
        assert get(url, "/static/js/main.js")[0] == 200  # other zones are not affected
        assert get(url, "/_stcore/health")[0] == 200
        while get(url)[0] != 200:  # and the page comes back once the client slows down
            time.sleep(0.2)


@NEEDS_NGINX
def test_one_address_may_open_60_tabs_and_the_61st_is_refused(tmp_path):
    with pool(tmp_path, size=1) as (url, [backend]):
        port = int(url.rsplit(":", 1)[1])
        tabs = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(60)]
        for tab in tabs:  # held open by the backend, as a tab holds its websocket
            tab.request("GET", "/_stcore/stream")
        while backend.held < 60:
            time.sleep(0.05)
        status, body, _ = get(url, "/_stcore/stream")
        assert status == 429 and "429 Too Many Requests" in body
        assert get(url)[0] == 200 and get(url, "/_stcore/health")[0] == 200
        backend.release()
        assert {tab.getresponse().status for tab in tabs} == {200}
        for tab in tabs:
            tab.close()
    assert backend.held == 60


@NEEDS_NGINX
def test_a_join_link_and_its_cookie_take_a_browser_to_the_class_process(tmp_path):
    with pool(tmp_path) as (url, backends):
        for backend in backends:
            backend.release()  # websocket requests answered at once
        for letter, backend in zip("AB", backends, strict=True):
            name = f"backend {backend.port}"
            for code in (f"{letter}B7K-Q2MX", f"{letter.lower()}b7kq2mx"):  # as typed, too
                for _ in range(8):  # fresh browsers: the hash alone would spread them
                    status, body, set_cookies = visit(url, f"/?class={code}")
                    assert (status, body) == (200, name), (code, body)
                    header = set_cookies["gru_viz_class"]
                    assert cookie_value(header) == letter
                    assert {"Path=/", "HttpOnly", "SameSite=Lax"} <= {
                        part.strip() for part in header.split(";")
                    }
                    assert "Expires" not in header and "Max-Age" not in header  # session only
                    browser = {
                        "gru_viz_route": cookie_value(set_cookies["gru_viz_route"]),
                        "gru_viz_class": letter,
                    }
                    for path in LATER:  # carry no ?class: the cookie takes them there
                        status, body, later = visit(url, path, browser)
                        assert (status, body) == (200, name), (path, body)
                        assert "gru_viz_class" not in later  # set by a join link's load only
        # A join link wins over an older class's cookie (a student moving to another class).
        status, body, set_cookies = visit(url, "/?class=BB7K-Q2MX", {"gru_viz_class": "A"})
        assert body == f"backend {backends[1].port}"
        assert cookie_value(set_cookies["gru_viz_class"]) == "B"
    assert upstreams(tmp_path) == {f"127.0.0.1:{b.port}" for b in backends}


@NEEDS_NGINX
def test_a_forged_class_cookie_or_a_code_of_another_letter_is_routed_as_if_none(tmp_path):
    canary = Canary()
    forged = [
        "Z",
        "C",  # a letter of the code alphabet, but no process of this pool
        "AB",
        "gru_viz_A",
        "gru_viz",
        f"127.0.0.1:{canary.port}",
        f"localhost:{canary.port}",
        "../",
        "%41",
        "A" * 300,
    ]
    links = [
        "ZB7K-Q2MX",
        "CB7K-Q2MX",  # the code of a process this pool does not have
        "IB7K-Q2MX",  # no code starts with I or O
        "new",  # ?class=new starts a class wherever the browser is
        "A",  # too short for a code
        "%41B7K-Q2MX",  # nginx matches the raw query: an encoded letter is no letter
        f"127.0.0.1:{canary.port}",
        "gru_viz_B",
        "",
    ]
    with pool(tmp_path) as (url, backends):
        for backend in backends:
            backend.release()  # websocket requests answered at once
        names = {f"backend {b.port}" for b in backends}
        status, home, set_cookies = visit(url)  # an ordinary browser and its hashed process
        assert status == 200 and home in names and "gru_viz_class" not in set_cookies
        browser = {"gru_viz_route": cookie_value(set_cookies["gru_viz_route"])}
        for value in forged:
            for path in LATER:
                status, body, _ = visit(url, path, {**browser, "gru_viz_class": value})
                assert (status, body) == (200, home), (value, path, body)
            status, body, _ = visit(url, cookies={"gru_viz_class": value})  # no route cookie
            assert status == 200 and body in names, (value, body)
        for code in links:
            status, body, set_cookies = visit(url, f"/?class={code}", browser)
            assert (status, body) == (200, home), (code, body)
            assert "gru_viz_class" not in set_cookies, code
        served = upstreams(tmp_path)
    assert served <= {f"127.0.0.1:{b.port}" for b in backends}
    assert canary.connections == 0


@NEEDS_NGINX
def test_students_opening_a_join_link_through_nginx_land_on_the_class_process(capsys):
    """Two real app processes: a teacher on process B (its own port) starts a class and
    presses Play; two websocket students open /?class=CODE through nginx, as browsers do."""
    with cluster(processes=2, hard_timeout=400) as c:
        result = class_check(c, students=2, duration=4, progress=False)
    assert result["code"].startswith("B") and result["letter"] == "B"
    assert result["errors"] == []
    assert result["banners"] == 2  # "You are watching class CODE": they found the class
    assert all(n > 0 for n in result["updates"]), result["updates"]  # and watch it train
    assert "/_stcore/stream" in result["served"] and "/" in result["served"]
    assert result["routed"], result["served"]  # every request of theirs reached process B
    with capsys.disabled():
        print(
            f"\n[nginx] class {result['code']}: 2 students through nginx, updates "
            f"{result['updates']}, requests {result['served']}"
        )
