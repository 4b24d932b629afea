"""The page as a lecturer meets it, in a real Chromium: a projector, a laptop, a reload, a
hostile link, and charts that never go blank while training.

One server for the module; every test opens its own browser context (its own cookies), and
waits on page state, never on time.
"""

from __future__ import annotations

import pytest

from tests.conftest_browser import (
    BROWSER_MARKS,
    CHART,
    COUNTER,
    PROJECTOR,
    RUNNING_DONE,
    button,
    launch_chromium,
    open_page,
    streamlit_server,
)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = BROWSER_MARKS
LAPTOP = {"width": 800, "height": 900}


@pytest.fixture(scope="module")
def server():
    with streamlit_server() as (url, _), playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        yield url, browser
        browser.close()


def open_path(server, path: str = "/", viewport: dict = PROJECTOR):
    url, browser = server
    return open_page(browser, url + path, viewport)


def test_a_lesson_guide_leaves_the_first_charts_on_a_1080p_screen(server, shots):
    page = open_path(server, "/?lesson=forget")
    expect(page.get_by_text("Lesson: Why plain RNNs forget")).to_be_visible()
    loss_chart = page.locator(CHART).first.bounding_box()
    assert loss_chart["y"] + 0.5 * loss_chart["height"] < PROJECTOR["height"], loss_chart
    page.screenshot(path=shots / "lesson-1080p.png")
    page.context.close()


def test_a_reload_keeps_the_run_but_another_browser_gets_its_own(server):
    page = open_path(server)
    page.get_by_label("Steps per click").click()
    page.get_by_role("option", name="10", exact=True).click()
    button(page, "Step").click()
    expect(page.locator(COUNTER)).to_have_text("10")
    page.reload()
    expect(page.get_by_text("Welcome back: your run (step 10)")).to_be_visible(timeout=90_000)
    expect(page.locator(COUNTER)).to_have_text("10")
    # The same address in another browser (its own cookies): a fresh run, nobody's old one.
    other = open_path(server, page.url.removeprefix(server[0]))
    expect(other.locator(COUNTER)).to_have_text("0")
    assert other.get_by_text("Welcome back").count() == 0
    for p in (page, other):
        p.context.close()


def test_a_laptop_window_starts_with_the_sidebar_tucked_away_and_whole_buttons(server, shots):
    page = open_path(server, viewport=LAPTOP)
    expect(page.locator('[data-testid="stSidebar"]')).to_have_attribute("data-collapsed", "true")
    for label in ("Play", "Step", "Reset"):
        cut = button(page, label).evaluate(
            "b => [...b.querySelectorAll('p, span, div')].some(e => e.scrollWidth > e.clientWidth)"
        )
        assert not cut, f"the {label} button's label is cut"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the window"
    page.screenshot(path=shots / "laptop-800.png", full_page=True)
    page.context.close()


def test_no_chart_is_blank_or_remounted_while_training(server):
    # Streamlit's own chart remounted on every new figure: blank for a moment (4 of 31
    # screenshots caught one) and zoom lost. Each chart must stay the same element, drawn.
    page = open_path(server, "/?probe_every=5", {"width": 1600, "height": 2900})
    charts = page.locator(CHART)
    expect(charts).to_have_count(6)
    page.evaluate(f"() => document.querySelectorAll('{CHART}').forEach(c => c.__kept = 1)")
    button(page, "Play").click()
    expect(button(page, "Pause")).to_be_visible()
    expect(page.locator(COUNTER)).not_to_have_text("0")  # the first update has landed
    check = f"""() => [...document.querySelectorAll('{CHART}')].map(c => ({{
        kept: c.__kept === 1,
        drawn: c.querySelectorAll('.scatterlayer .trace, .heatmaplayer image').length > 0}}))"""
    start = int(page.locator(COUNTER).inner_text().replace(",", ""))
    samples = []
    while len(samples) < 400:
        samples.append(page.evaluate(check))
        if len(samples) >= 40 and int(page.locator(COUNTER).inner_text().replace(",", "")) >= (
            start + 40
        ):
            break
        page.wait_for_timeout(100)
    button(page, "Pause").click()
    assert int(page.locator(COUNTER).inner_text().replace(",", "")) >= start + 40
    assert all(len(s) == 6 for s in samples), "a chart left the page while training"
    blank = sum(not c["drawn"] for s in samples for c in s)
    remounted = sum(not c["kept"] for s in samples for c in s)
    assert blank == remounted == 0, f"{blank} blank and {remounted} remounted chart samples"
    page.context.close()


def test_a_hostile_link_shows_its_words_and_brings_in_nothing(server):
    url, browser = server
    page = browser.new_context(viewport=PROJECTOR).new_page()
    outside = []
    local = (url, "data:", "blob:")  # the components' code arrives as blob: URLs
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(local) else None)
    page.goto(
        url + "/?lesson=[Reset password](//ev.il/r)&task=![x](http://ev.il/b.png)"
        "&seq_len=%0A%0A%23 Class cancelled"
    )
    page.wait_for_selector(RUNNING_DONE, timeout=90_000)
    expect(page.get_by_text("From the link:")).to_be_visible()
    assert page.locator('a[href*="ev.il"], img[src*="ev.il"]').count() == 0
    assert page.locator("h1, h2, h3", has_text="Class cancelled").count() == 0
    expect(page.locator('[data-testid="stCode"]')).to_contain_text("[Reset password](//ev.il/r)")
    assert not outside
    page.context.close()
