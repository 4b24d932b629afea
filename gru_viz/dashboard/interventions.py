"""Interventions: clamp a GRU gate or silence units, and see the probe change at once."""

from __future__ import annotations

import numpy as np
import streamlit as st

from gru_viz.dashboard.state import PAGE
from gru_viz.kinds import title
from gru_viz.models import Intervention
from gru_viz.numbers import describe_share, format_loss
from gru_viz.session import LiveSession, Notice


def interventions(live: LiveSession) -> None:
    """Beside the gate heatmaps it changes: a switch (nothing is built while it is off), the
    controls, and each model's probe loss with and without the intervention."""
    st.session_state.setdefault("iv_panel", live.intervention.active)
    if not st.toggle(
        "Interventions: poke at the gates",
        key="iv_panel",
        help="Clamp a gate or silence units and see the probe change at once.",
    ):
        return
    with st.container(border=True):
        st.markdown(
            "Clamp a GRU gate to a constant or silence hidden units, and watch the probe change "
            "at once. z = 1 freezes h. z = 0 removes only the direct copy of h_{t−1}: the "
            "candidate still reads it through r ⊙ (W_hn h_{t−1} + b_hn), so the unit becomes a "
            "reset-gated tanh RNN that still carries memory. r = 0 makes the candidate ignore "
            "the old state. (The blog GRUs use z the other way round; the MGU has no z or r, so "
            "only ablation reaches it.)"
        )
        a, b, c = st.columns(3)
        # Applied in on_change, before this run draws the banner and the figures.
        changed = {"on_change": intervention_changed}
        clamp_z = a.toggle("Clamp update gate z", key="iv_z_on", **changed)
        a.slider("z =", 0.0, 1.0, 1.0, 0.05, key="iv_z", disabled=not clamp_z, **changed)
        clamp_r = b.toggle("Clamp reset gate r", key="iv_r_on", **changed)
        b.slider("r =", 0.0, 1.0, 0.0, 0.05, key="iv_r", disabled=not clamp_r, **changed)
        width = max(s.model.hidden_size for s in live.trainer.slots.values())
        c.multiselect("Zero (ablate) units", range(width), key="iv_units", **changed)
        too_costly = live.training_intervention_problem()
        st.toggle(
            "Apply while training too (unrolled path, slower)",
            key="iv_train",
            disabled=too_costly is not None,
            help=(
                f"Not on this setup: {too_costly}"
                if too_costly
                else "Training then runs through the intervention too, and the weights change "
                "for good: clearing the intervention later does not undo what was learned "
                "meanwhile."
            ),
            **changed,
        )
        intervention_changed()  # a no-op unless the widgets and the run disagree
        if live.intervention.active:
            probe_losses(live)
        st.button(
            "Clear all interventions",
            key="iv_clear",
            on_click=clear_interventions,
            help="Switches every intervention off. Weights trained with one stay as trained.",
        )


def probe_losses(live: LiveSession) -> None:
    """What the intervention does to each model, in one number: the probe loss with and
    without it (same weights, same probe sequences)."""
    trainer = live.trainer
    baseline = trainer.task.baseline(trainer.cfg)
    for column, (kind, slot) in zip(
        st.columns(len(trainer.slots)), trainer.slots.items(), strict=True
    ):
        if slot.latest is None:
            continue
        with_it = float(np.asarray(slot.latest.loss, dtype=np.float64).mean())
        without = trainer.probe_loss_without_intervention(kind)
        column.metric(
            f"{title(kind)} probe loss",
            format_loss(with_it),
            f"without the intervention {format_loss(without)} "
            f"({describe_share(without, baseline)})",
            delta_color="off",
            delta_arrow="off",
        )


def intervention_changed() -> None:
    state, live = st.session_state, PAGE.live
    wanted = Intervention(
        state.get("iv_z", 1.0) if state.get("iv_z_on") else None,
        state.get("iv_r", 0.0) if state.get("iv_r_on") else None,
        tuple(sorted(state.get("iv_units") or ())),
    )
    in_training = bool(state.get("iv_train")) and wanted.active
    notice = live.set_intervention(wanted, in_training)  # a no-op when nothing changed
    if notice is not None:
        PAGE.set_notice(notice)


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
    notice = PAGE.live.set_intervention(iv, in_training and iv.active)
    if notice is not None:
        PAGE.set_notice(notice)


def clear_interventions() -> None:
    st.session_state.update(iv_z_on=False, iv_r_on=False, iv_units=[], iv_train=False)
    if PAGE.live.intervene_in_training:
        PAGE.set_notice(
            Notice(
                "info",
                "Interventions cleared. The weights trained while one was on stay as they were "
                "trained (the marks on the loss chart show when it was on).",
            )
        )
    PAGE.live.set_intervention(Intervention(), False)
