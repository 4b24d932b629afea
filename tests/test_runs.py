"""Runs outlive a reload: a browser's new session takes back its run, nobody else's."""

from __future__ import annotations

from gru_viz.runs import RunRegistry


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_reload_takes_back_the_run_whose_session_is_gone():
    runs, open_sessions = RunRegistry(), {"s1"}
    runs.remember("browser", "s1", "run A")
    # The same browser reloads: s1 closes, s2 opens and finds run A.
    open_sessions = {"s2"}
    assert runs.reclaim("browser", "s2", open_sessions.__contains__) == "run A"
    runs.remember("browser", "s2", "run A")
    assert len(runs) == 1


def test_another_browser_or_an_open_sibling_tab_gets_nothing():
    runs = RunRegistry()
    runs.remember("browser", "s1", "run A")
    assert runs.reclaim("someone else", "s9", lambda s: False) is None
    # A second tab of the same browser while the first is still open: its own new run.
    assert runs.reclaim("browser", "s2", lambda s: s == "s1") is None
    assert runs.waiting_for("browser", "s2", lambda s: s == "s1")


def test_two_tabs_each_reload_into_their_own_run():
    runs = RunRegistry()
    runs.remember("browser", "tab1", "run A")
    runs.remember("browser", "tab2", "run B")
    # Tab 1 reloads while tab 2 stays open: it gets run A, not the more recent run B.
    assert runs.reclaim("browser", "tab1'", lambda s: s == "tab2") == "run A"


def test_runs_expire_and_are_capped():
    clock = Clock()
    runs = RunRegistry(keep_seconds=60, per_browser=2, most=3, clock=clock)
    runs.remember("b", "s1", "old")
    clock.now = 61
    assert runs.reclaim("b", "s2", lambda s: False) is None and len(runs) == 0
    for i in range(3):
        runs.remember("b", f"t{i}", f"run {i}")  # a third tab pushes out the least recent
        clock.now += 1
    assert len(runs) == 2
    for i in range(3):
        runs.remember(f"other {i}", "s", f"x {i}")
        clock.now += 1
    assert len(runs) == 3  # the whole registry stays within its cap
