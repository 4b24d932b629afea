"""The load test's websocket students really drive the app, so its figures mean something.

A short ``bench.load_test`` run: two sessions on a real ``streamlit run`` server open the page,
press Play and must be seen training through the protocol alone (no browser).
"""

from __future__ import annotations

from bench.load_test import run_ws_sessions
from tests.conftest_browser import streamlit_server


def test_websocket_students_open_the_page_press_play_and_see_it_train():
    with streamlit_server() as (url, _):
        outcome = run_ws_sessions(url, 2, duration=6, warmup=2, progress=False, settle=0)
    results = outcome["results"]
    assert [r.errors for r in results] == [[], []]
    for result in results:
        assert result.ready_s < 60
        assert result.steps_end > result.steps_start  # the step counter grew while measured
        assert len(result.intervals) >= 2  # several ticks reached this student
        assert result.latencies and max(result.latencies) < 30
        assert result.kb_per_s > 0
