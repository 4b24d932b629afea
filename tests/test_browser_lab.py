"""The GRU lab in a real Chromium: the variants beside PyTorch's GRU, the Jacobian figure on a
trained lesson run, the memory-span panel opening on a shipped sweep, and the lab's two lessons
(the blog formula; the LSTM's forget-gate bias) showing their claims on their trained runs.

Saves ``variants-gates.png``, ``variants-equations.png``, ``jacobian.png``,
``memory-span.png``, ``lesson-blog.png`` and ``lesson-lstm-bias.png`` to
``$GRU_VIZ_SCREENSHOTS`` (default: a pytest temp folder).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest_browser import (
    BROWSER_MARKS,
    CHART,
    COUNTER,
    PROJECTOR,
    button,
    launch_chromium,
    open_page,
    streamlit_server,
    wait_until_settled,
)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = BROWSER_MARKS
VARIANTS = "gru,gru_cho,blog,mgu"
WIDE = {"width": 1600, "height": 1400}


def box_around(page, text: str, exact: bool = False):
    """The innermost block holding ``text`` (a panel, for an element screenshot)."""
    return page.locator(
        '[data-testid="stVerticalBlock"]', has=page.get_by_text(text, exact=exact)
    ).last


def switch(page, label: str):
    return page.locator('[data-testid="stCheckbox"]', has_text=label)


def test_the_variants_train_beside_the_gru_with_their_gates_and_equations(shots: Path):
    with streamlit_server() as (url, _), playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        page = open_page(browser, f"{url}/?models={VARIANTS}&seq_len=30&probe_every=10", WIDE)
        models = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]')
        for name in ("GRU (Cho 2014)", "Blog GRU (r outside tanh)", "MGU"):
            expect(models.get_by_text(name, exact=False).first).to_be_visible()
        page.get_by_role("combobox", name="Steps per click").click()
        page.get_by_role("option", name="50", exact=True).click()
        button(page, "Step").click()
        expect(page.locator(COUNTER)).to_have_text("50", timeout=120_000)
        wait_until_settled(page)
        page.mouse.move(800, 5)
        box_around(page, "Gates", exact=True).screenshot(path=shots / "variants-gates.png")

        page.set_viewport_size({"width": 1600, "height": 2800})  # the whole panel drawn
        page.get_by_text("Equations: exactly what the code computes").click()
        expect(page.get_by_text("differs from PyTorch's GRU", exact=False).first).to_be_visible()
        expect(page.locator(".katex:visible").nth(4)).to_be_visible()  # one block per model
        panel = page.locator('[data-testid="stExpander"]', has_text="Equations: exactly")
        panel.screenshot(path=shots / "variants-equations.png")
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()


def test_the_jacobian_figure_and_the_memory_span_panel_on_a_lesson(shots: Path):
    with streamlit_server() as (url, _), playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        page = open_page(browser, f"{url}/?lesson=forget", WIDE)
        button(page, "Jump to a trained run").click()  # nothing trained: no question
        expect(page.locator(COUNTER)).to_have_text("260")
        wait_until_settled(page)

        charts = page.locator(CHART).count()
        switch(page, "Why the gradient vanishes").click()
        expect(page.locator(CHART)).to_have_count(charts + 1)
        reading = page.get_by_text("Why the gradient vanishes, step by step", exact=False)
        expect(reading).to_be_visible()  # its reading, under the figure
        wait_until_settled(page)
        page.mouse.move(800, 5)
        # From its switch to the end of its reading: the figure as a reader meets it.
        figure = page.locator(f'{CHART}[data-name="jacobian_chart"]')
        switch(page, "Why the gradient vanishes").evaluate("e => e.scrollIntoView(true)")
        page.mouse.wheel(0, -120)  # clear of the page's sticky header
        expect(page.locator('[data-testid="stToast"]')).to_have_count(0)  # the notice's toast
        top = switch(page, "Why the gradient vanishes").bounding_box()
        bottom = reading.bounding_box()
        page.screenshot(
            path=shots / "jacobian.png",
            clip={
                "x": top["x"] - 8,
                "y": top["y"] - 8,
                "width": figure.bounding_box()["width"] + 16,
                "height": bottom["y"] + bottom["height"] - top["y"] + 16,
            },
        )

        switch(page, "Memory span: how long").click()
        expect(page.get_by_text("shipped with the app", exact=False).first).to_be_visible()
        expect(page.locator(CHART)).to_have_count(charts + 2)  # its figure, at once
        wait_until_settled(page)
        page.mouse.move(800, 5)
        box_around(page, "How long can it remember?").screenshot(path=shots / "memory-span.png")
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()


@pytest.mark.parametrize(
    ("lesson", "steps", "shot"),
    [("blog_formula", "140", "lesson-blog.png"), ("lstm_bias", "300", "lesson-lstm-bias.png")],
)
def test_a_lab_lesson_shows_its_claim_on_its_trained_run(shots: Path, lesson, steps, shot):
    with streamlit_server() as (url, _), playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        page = open_page(browser, f"{url}/?lesson={lesson}", PROJECTOR)
        button(page, "Jump to a trained run").click()  # nothing trained: no question
        expect(page.locator(COUNTER)).to_have_text(steps)
        # lstm_bias compares with your LSTM trained again without the bias (in the background,
        # "Comparing…" meanwhile); the blog lesson reads its own run.
        seen = page.get_by_text("Seen in your run", exact=False)
        expect(seen).to_be_visible(timeout=240_000)
        wait_until_settled(page)
        page.mouse.move(800, 5)
        # The clicked button keeps focus, and with it its tooltip over the guide: let it go.
        page.evaluate("document.activeElement && document.activeElement.blur()")
        expect(page.locator('[data-testid="stTooltipContent"]')).to_have_count(0)
        page.screenshot(path=shots / shot)
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
