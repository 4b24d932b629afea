"""Interventions: clamp a GRU gate or silence units, and see the probe change at once."""

from __future__ import annotations

import streamlit as st

from gru_viz.dashboard.state import PAGE
from gru_viz.models import Intervention
from gru_viz.session import LiveSession


def interventions(live: LiveSession) -> None:
    with st.expander("Interventions: poke at the gates", expanded=live.intervention.active):
        st.markdown(
            "Clamp a GRU gate to a constant or silence hidden units, and watch the probe change "
            "at once. z = 1 freezes h. z = 0 removes only the direct copy of h_{t−1}: the "
            "candidate still reads it through r ⊙ (W_hn h_{t−1} + b_hn), so the unit becomes a "
            "reset-gated tanh RNN that still carries memory. r = 0 makes the candidate ignore "
            "the old state."
        )
        a, b, c = st.columns(3)
        # Applied in on_change, before this run draws the banner and the figures above.
        changed = {"on_change": intervention_changed}
        clamp_z = a.toggle("Clamp update gate z", key="iv_z_on", **changed)
        a.slider("z =", 0.0, 1.0, 1.0, 0.05, key="iv_z", disabled=not clamp_z, **changed)
        clamp_r = b.toggle("Clamp reset gate r", key="iv_r_on", **changed)
        b.slider("r =", 0.0, 1.0, 0.0, 0.05, key="iv_r", disabled=not clamp_r, **changed)
        width = max(s.model.hidden_size for s in live.trainer.slots.values())
        c.multiselect("Zero (ablate) units", range(width), key="iv_units", **changed)
        st.toggle("Apply while training too (unrolled path, slower)", key="iv_train", **changed)
        intervention_changed()  # a no-op unless the widgets and the run disagree
        st.button("Clear all interventions", key="iv_clear", on_click=clear_interventions)


def intervention_changed() -> None:
    state, live = st.session_state, PAGE.live
    wanted = Intervention(
        state.get("iv_z", 1.0) if state.get("iv_z_on") else None,
        state.get("iv_r", 0.0) if state.get("iv_r_on") else None,
        tuple(sorted(state.get("iv_units") or ())),
    )
    in_training = bool(state.get("iv_train")) and wanted.active
    if (wanted, in_training) != (live.intervention, live.intervene_in_training):
        live.set_intervention(wanted, in_training)


def show_intervention(iv: Intervention, in_training: bool) -> None:
    """Set the widgets to ``iv`` and apply it (a lesson's control clamps a gate in training)."""
    st.session_state.update(
        iv_z_on=iv.clamp_update is not None,
        iv_z=iv.clamp_update if iv.clamp_update is not None else 1.0,
        iv_r_on=iv.clamp_reset is not None,
        iv_r=iv.clamp_reset if iv.clamp_reset is not None else 0.0,
        iv_units=list(iv.ablate_units),
        iv_train=in_training and iv.active,
    )
    PAGE.live.set_intervention(iv, in_training and iv.active)


def clear_interventions() -> None:
    st.session_state.update(iv_z_on=False, iv_r_on=False, iv_units=[], iv_train=False)
    PAGE.live.set_intervention(Intervention(), False)
