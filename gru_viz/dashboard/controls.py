"""Play, Pause, Step, Reset and the speed: on_click callbacks, outside the live fragment."""

from __future__ import annotations

import streamlit as st

from gru_viz.dashboard.state import PAGE
from gru_viz.session import SPEEDS, LiveSession, Notice

STEP_CHOICES = (1, 10, 50, 200)


def set_playing(value: bool) -> None:
    # Not a toggle: a click that lands during a timer tick can reach this callback twice
    # (once with the fragment's rerun, once with the full one), and a toggle would undo itself.
    # Pause also cancels what is left of a Step × N (the setter does).
    live = PAGE.live
    live.playing = value and bool(live.trainer.active)
    if value and not live.trainer.active:
        nothing_to_train()
    run = PAGE.class_run
    if run is not None and PAGE.is_teacher:
        run.poke()  # the class's worker starts now, not after this page has redrawn


def nothing_to_train() -> None:
    """Play or Step with every model stopped: say why nothing happens, and the ways on."""
    PAGE.set_notice(
        Notice(
            "warning",
            "Nothing to train: every model has stopped (see why above the charts). Restore a "
            "model there to go on from its last healthy probe, or Reset to start again.",
        )
    )


def step_clicked(full_run: int) -> None:
    if not PAGE.first_click_in_run("stepped", full_run):
        return  # the same click delivered twice (see set_playing): step only once
    if not PAGE.live.trainer.active:
        nothing_to_train()
        return
    # At once when cheap (Step × 1, × 10); else the live panel trains toward it tick by tick,
    # with a progress bar, and Pause cancels the rest (LiveSession.request_steps).
    PAGE.live.request_steps(int(st.session_state.steps_per_click))


def reset_clicked() -> None:
    PAGE.live.reset()
    PAGE.live.playing = False


def speed_changed() -> None:
    PAGE.live.speed = st.session_state.speed


# Icons are Material Symbols, a font Streamlit ships, so they look the same on every machine;
# emoji need an emoji font, and Debian's Chromium without one drew empty boxes.
def controls(live: LiveSession) -> None:
    play, step, count, reset, speed = st.columns([1.2, 1, 1, 1, 2], vertical_alignment="bottom")
    busy = live.playing or live.stepping  # Pause also stops a Step × N part-way
    play.button(
        "Pause" if busy else "Play",
        icon=":material/pause:" if busy else ":material/play_arrow:",
        key="play",
        type="primary",
        on_click=set_playing,
        args=(not busy,),
        width="stretch",
        help="Train both models continuously; the charts update about once a second.",
    )
    step.button(
        "Step",
        icon=":material/skip_next:",
        key="step",
        on_click=step_clicked,
        args=(PAGE.full_runs,),  # names this click: no two clicks share a full run
        width="stretch",
        help="Pause, then train exactly the chosen number of steps. Many steps of a large "
        "setup train a share of every tick, with a progress bar; Pause stops them.",
    )
    count.selectbox("Steps per click", STEP_CHOICES, key="steps_per_click")
    reset.button(
        "Reset",
        icon=":material/restart_alt:",
        key="reset",
        on_click=reset_clicked,
        width="stretch",
        help="Re-initialise the models from the seed: same seed, same numbers.",
    )
    speed.select_slider(
        "Speed",
        list(SPEEDS),
        key="speed",
        on_change=speed_changed,
        help="How much of each one-second tick is spent training.",
    )
