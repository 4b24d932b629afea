"""gru-viz behind nginx: two Streamlit processes, sticky sessions, a session trains through it.

A short version of ``python -m bench.nginx.run_cluster``. Skipped unless nginx is installed
(apt-get install -y nginx-light) or GRU_VIZ_REQUIRE_NGINX is set (then a missing nginx fails).
"""

from __future__ import annotations

import os
import re

import pytest

from bench.nginx.run_cluster import cluster, nginx_binary, render_conf
from tests.conftest_browser import chromium_available

pytest.importorskip("playwright.sync_api")

REQUIRED = bool(os.environ.get("GRU_VIZ_REQUIRE_NGINX"))


def test_config_template_takes_any_ports():
    from bench.nginx.run_cluster import CONF

    conf = render_conf(CONF.read_text(), 9000, [9001, 9002, 9003])
    assert "listen 127.0.0.1:9000;" in conf
    servers = re.findall(r"^\s*server 127\.0\.0\.1:(\d+);", conf, flags=re.MULTILINE)
    assert servers == ["9001", "9002", "9003"]
    assert "proxy_http_version 1.1;" in conf and "$connection_upgrade" in conf


@pytest.mark.browser
@pytest.mark.skipif(
    not REQUIRED and (nginx_binary() is None or not chromium_available()),
    reason="needs nginx (apt-get install -y nginx-light) and Chromium",
)
def test_sessions_train_through_nginx_and_stay_on_one_process(capsys):
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
