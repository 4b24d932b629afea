"""The real thing: ``streamlit run app.py`` on loopback, driven by headless Chromium.

Saves screenshots to ``$GRU_VIZ_SCREENSHOTS`` (default: a pytest temp folder); the README's come
from ``GRU_VIZ_SCREENSHOTS=assets python -m pytest tests/test_browser.py``.
Prints the cold-start and Play-to-update times it measured (targets: 5 s and 1 s).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest_browser import (
    BROWSER_MARKS,
    CHART,
    PLACEHOLDER_CHART,
    RUNNING_DONE,
    launch_chromium,
    step_counter,
    streamlit_server,
    wait_until_settled,
)

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS
# Plotly keeps the drawn figure on the chart's element: count the loss chart's points.
LOSS_POINTS = f"""() => {{
    const charts = document.querySelectorAll('{CHART}');
    if (!charts.length || !charts[0].data) return 0;
    return Math.max(0, ...charts[0]._fullData
        .filter(t => (t.name || '').endsWith('(each step)')).map(t => (t.x || []).length));
}}"""


def test_play_trains_and_every_chart_draws(shots: Path, capsys):
    expect = playwright_api.expect
    with streamlit_server() as (url, server_seconds), playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1600, "height": 2900})
        # A classroom may be offline: the page must need nothing from outside this server.
        outside = []

        def note_outside(request) -> None:
            if not request.url.startswith((url, "data:", "blob:")):
                outside.append(request.url)

        page.on("request", note_outside)
        started = time.perf_counter()
        page.goto(url)
        page.locator(CHART).first.wait_for(state="visible", timeout=60_000)
        cold_start = time.perf_counter() - started
        # the six main figures; the input, inspector and extra views wait behind switches
        expect(page.locator(CHART)).to_have_count(6, timeout=30_000)
        # the "Building the models…" placeholder has made way for the real charts
        expect(page.locator(PLACEHOLDER_CHART)).to_have_count(0)
        page.wait_for_selector(RUNNING_DONE, timeout=30_000)
        assert step_counter(page) == 0
        page.screenshot(path=shots / "dashboard-initial.png", full_page=True)

        play = page.locator('[data-testid="stButton"] button:visible', has_text="Play")
        clicked = time.perf_counter()
        play.click()
        page.wait_for_function(f"({LOSS_POINTS})() > 0", timeout=30_000)
        play_to_update = time.perf_counter() - clicked

        # Let the class watch for a while: the counter must keep growing tick after tick.
        seen = [step_counter(page)]
        deadline = time.time() + 100
        while (len(seen) < 4 or seen[-1] < 300) and time.time() < deadline:
            page.wait_for_timeout(1500)
            seen.append(step_counter(page))
        assert seen[-1] > seen[0] > 0, seen
        page.mouse.move(800, 5)
        page.wait_for_timeout(500)
        page.screenshot(path=shots / "dashboard-training.png", full_page=True)

        page.locator('[data-testid="stButton"] button:visible', has_text="Pause").click()
        expect(
            page.locator('[data-testid="stButton"] button:visible', has_text="Play")
        ).to_be_visible(timeout=15_000)
        page.wait_for_selector(RUNNING_DONE, timeout=30_000)
        paused_at = step_counter(page)
        page.wait_for_timeout(2500)
        assert step_counter(page) == paused_at  # paused really stops training
        assert page.locator('[data-testid="stException"]').count() == 0
        for index in range(page.locator(CHART).count()):  # every chart has drawn data
            count = page.evaluate(
                f"() => document.querySelectorAll('{CHART}')[{index}].data.length"
            )
            assert count > 0, f"chart {index} drew nothing"
        page.mouse.move(800, 5)  # no tooltip in the pictures
        page.wait_for_timeout(500)
        page.screenshot(path=shots / "dashboard-paused.png", full_page=True)
        page.locator(CHART).nth(4).screenshot(path=shots / "hidden-states.png")
        page.locator(CHART).nth(5).screenshot(path=shots / "gates.png")
        assert not outside, f"requests beyond the server: {outside[:5]}"
        # Two more students on the now running server, each in a fresh browser context: one in
        # this tall window, one on a projector (1920x1080). The first visit above also paid for
        # importing torch (about 2.5 s) and for a first Play that may wait for torch._dynamo.
        tall = new_visitor(browser, url, {"width": 1600, "height": 2900})
        projector = new_visitor(browser, url, {"width": 1920, "height": 1080})
        browser.close()
    with capsys.disabled():
        print(
            f"\n[browser] server ready in {server_seconds:.1f} s; cold start to first chart "
            f"(target < 5 s): {cold_start:.2f} s on the server's first visit, then new visitors "
            f"{tall[0]:.2f} s (1600x2900) and {projector[0]:.2f} s (1920x1080); Play to first "
            f"updated chart (target < 1 s): {play_to_update:.2f} s, {tall[1]:.2f} s, "
            f"{projector[1]:.2f} s; steps seen {seen}; shots in {shots}"
        )


def new_visitor(browser, url: str, viewport: dict) -> tuple[float, float]:
    """(seconds to the first chart, seconds from Play to the first updated chart)."""
    page = browser.new_context(viewport=viewport).new_page()
    started = time.perf_counter()
    page.goto(url)
    page.locator(CHART).first.wait_for(state="visible", timeout=60_000)
    first_chart = time.perf_counter() - started
    wait_until_settled(page)
    clicked = time.perf_counter()
    page.locator('[data-testid="stButton"] button:visible', has_text="Play").click()
    page.wait_for_function(f"({LOSS_POINTS})() > 0", timeout=30_000)
    play_to_update = time.perf_counter() - clicked
    page.context.close()
    return first_chart, play_to_update


def test_a_zoomed_probe_chart_stays_mounted_and_zoomed_while_training_until_the_next_probe():
    # Streamlit remounts a chart whose figure or options changed, which resets its zoom; a probe
    # chart must therefore stay byte-identical between probes (no training step in its options).
    with streamlit_server() as (url, _), playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1600, "height": 2900})
        page.goto(f"{url}/?probe_every=1000")  # no probe after step 0 in this test
        page.locator(CHART).nth(4).wait_for(state="visible", timeout=60_000)
        wait_until_settled(page)
        heatmap = page.locator(CHART).nth(4)  # hidden states
        box = heatmap.locator(".draglayer .nsewdrag").first.bounding_box()
        x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 120, y + 80, steps=10)  # drag a zoom box
        page.mouse.up()
        x_range = f"() => document.querySelectorAll('{CHART}')[4]._fullLayout.xaxis.range"
        zoomed = page.evaluate(x_range)
        assert zoomed[1] - zoomed[0] < 40  # zoomed in from the 50 time steps
        # The same element afterwards, not a new one: pressing Play redraws only the charts whose
        # figures changed (a remount would also cost the browser two Plotly draws per chart).
        page.evaluate(f"() => {{ document.querySelectorAll('{CHART}')[4].__kept = true; }}")
        page.locator('[data-testid="stButton"] button:visible', has_text="Play").click()
        first = step_counter(page)
        deadline = time.time() + 30
        while step_counter(page) < first + 20 and time.time() < deadline:
            page.wait_for_timeout(500)  # several ticks, each redrawing the loss chart
        assert step_counter(page) >= first + 20
        assert page.evaluate(x_range) == zoomed
        assert page.evaluate(f"() => document.querySelectorAll('{CHART}')[4].__kept === true")
        browser.close()
