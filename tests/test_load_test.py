"""The load test's websocket students really drive the app, so its figures mean something.

Short ``bench.load_test`` and ``bench.class_load`` runs on a real ``streamlit run`` server: two
sessions open the page, press Play and must be seen training through the protocol alone (no
browser); and a class: a teacher clicks "Start a class" and Play, three students open its join
link, let their live panel's timer run and must all see it train, a late one joins, and the
teacher's Play after a pause reaches every student.
"""

from __future__ import annotations

import math

from bench.class_load import run_class
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


def test_a_class_of_three_websocket_students_watches_the_teachers_run():
    with streamlit_server() as (url, _):
        figures = run_class(url, 3, duration=8, warmup=1, solo=1, late=1, plays=1)
    assert figures.errors == []
    assert figures.code and figures.banners == 3  # "You are watching class CODE"
    assert len(figures.updates) == 3 and min(figures.updates) >= 3, figures.updates
    assert all(x < 30 for x in figures.join_chart)  # every student's live charts arrived
    assert len(figures.late_chart) == 1 and figures.late_chart[0] < 30
    # The teacher's Play after a pause reached every student (its time: bench.class_load).
    assert figures.play_unseen == 0 and len(figures.play_to_update) == 3
    assert all(not math.isnan(x) for x in figures.play_to_update)
