"""A shared lesson link in a real browser: ``streamlit run app.py`` driven by headless Chromium.

Opens ``/?lesson=forget&seed=0`` as a student would, trains for a while, and saves
``lesson-forget.png`` and ``inspector.png`` to ``$GRU_VIZ_SCREENSHOTS`` (default: a pytest
temp folder).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gru_viz.lessons import LESSONS
from gru_viz.tasks import TASKS
from tests.conftest_browser import (
    BROWSER_MARKS,
    CHART,
    COUNTER,
    RUNNING_DONE,
    button,
    launch_chromium,
    step_counter,
    streamlit_server,
)

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS
STEPS_TO_WATCH = 60


def test_a_shared_lesson_link_opens_the_lesson_and_trains(shots: Path, capsys):
    expect = playwright_api.expect
    lesson = LESSONS["forget"]
    with streamlit_server() as (url, server_seconds), playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1600, "height": 2900})
        started = time.perf_counter()
        page.goto(f"{url}/?lesson=forget&seed=0")
        page.locator(CHART).first.wait_for(state="visible", timeout=60_000)
        page.wait_for_selector(RUNNING_DONE, timeout=30_000)

        expect(page.get_by_text(f"Lesson: {lesson.title}")).to_be_visible()
        task = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Task")
        expect(task).to_have_value(TASKS[lesson.config.task].title)  # "Adding problem"
        expect(page.get_by_text("Not checked yet", exact=False)).to_be_visible()
        assert page.url.endswith("/?lesson=forget")  # seed 0 is the lesson's own: not repeated
        assert step_counter(page) == 0

        opened = time.perf_counter() - started
        button(page, "Play").click()
        played = time.perf_counter()
        seen, deadline = [], time.time() + 60
        while (not seen or seen[-1] < STEPS_TO_WATCH) and time.time() < deadline:
            page.wait_for_timeout(1000)
            seen.append(step_counter(page))
        assert seen[-1] >= STEPS_TO_WATCH, seen
        played = time.perf_counter() - played

        # A click that lands during a timer tick reaches its callback twice; Pause must hold.
        button(page, "Pause").click()
        try:
            expect(button(page, "Play")).to_be_visible(timeout=20_000)
        except AssertionError:
            page.screenshot(path=shots / "lesson-pause-failed.png", full_page=True)
            raise
        page.wait_for_selector(RUNNING_DONE, timeout=30_000)
        paused_at = step_counter(page)
        expect(page.get_by_text(f"(now at {paused_at})", exact=False)).to_be_visible()
        assert page.locator('[data-testid="stException"]').count() == 0
        page.mouse.move(800, 5)  # no tooltip in the picture
        page.wait_for_timeout(500)
        page.screenshot(path=shots / "lesson-forget.png", full_page=True)

        page.locator('[data-testid="stCheckbox"]', has_text="Step inspector").click()
        heading = page.get_by_text("Step inspector: sequence", exact=False)
        expect(heading).to_be_visible(timeout=15_000)
        expect(page.locator(CHART)).to_have_count(8, timeout=15_000)  # + GRU and RNN steps
        expect(page.locator(".katex:visible").first).to_be_visible()
        page.mouse.move(800, 5)
        page.wait_for_timeout(500)
        # The bordered box around the inspector (Streamlit scrolls its main area itself, so a
        # page clip would stop at the viewport): an element shot scrolls it into view.
        panel = page.locator('[data-testid="stVerticalBlock"]', has=heading).last
        panel.screenshot(path=shots / "inspector.png")
        assert panel.bounding_box()["height"] > 300  # the step rows and equations, not a sliver

        # The guide's "Jump to a trained run": asked beside it, then the shipped run, with the
        # notice and the claim (drawn outside the live panel: the button's rerun reaches them).
        button(page, "Jump to a trained run").click()
        expect(page.get_by_text("replaces your run", exact=False)).to_be_visible()
        button(page, "Load the trained run").click()
        expect(page.get_by_text("shipped with the app", exact=False).first).to_be_visible()
        expect(page.locator(COUNTER)).to_have_text(f"{lesson.steps:,}")
        expect(page.get_by_text("Seen in your run", exact=False)).to_be_visible()
        browser.close()
    with capsys.disabled():
        print(
            f"\n[browser lesson] server {server_seconds:.1f} s, page {opened:.1f} s, "
            f"{seen[-1]} steps in {played:.1f} s of Play; shots in {shots}"
        )
