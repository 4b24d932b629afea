"""Panels that look closer at the probe: the step inspector and the "more views" history.

Switches, not expanders: a collapsed expander still builds and ships its figures on every tick,
and each chart costs the server and every browser time.
"""

from __future__ import annotations

import streamlit as st

from gru_viz import plots
from gru_viz.dashboard.plot import plot
from gru_viz.figures import FIGURES, Selection, run_view
from gru_viz.inspector import step_figure, step_view
from gru_viz.kinds import title
from gru_viz.session import LiveSession

INSPECTOR_SWITCH = ("Step inspector", "show_inspector")
INSPECTOR_HELP = "The computation of one time step, with the real numbers."
MORE_SWITCH = ("More views: gate saturation, singular values, history", "show_more")


def switches() -> None:
    """Both panels' switches, on their own (a student's page draws them outside its live
    panel, which then draws only the panels switched on)."""
    left, right = st.columns(2)
    left.toggle(INSPECTOR_SWITCH[0], key=INSPECTOR_SWITCH[1], help=INSPECTOR_HELP)
    right.toggle(MORE_SWITCH[0], key=MORE_SWITCH[1])


def _on(switch: tuple[str, str], draw_switch: bool, **kwargs) -> bool:
    if draw_switch:
        return st.toggle(switch[0], key=switch[1], **kwargs)
    return bool(st.session_state.get(switch[1], False))


def inspector(live: LiveSession, sel: Selection, draw_switch: bool = True) -> None:
    if not _on(INSPECTOR_SWITCH, draw_switch, help=INSPECTOR_HELP):
        return
    sample, cursor = sel.sample, sel.cursor
    with st.container(border=True):
        st.markdown(f"**Step inspector: sequence {sample}, time step {cursor}**")
        width = max(s.model.hidden_size for s in live.trainer.slots.values())
        unit = st.number_input(
            "Unit to substitute into the equations", 0, width - 1, 0, key="inspect_unit"
        )
        x = live.trainer.probe_batch.x.numpy()
        for kind, slot in live.trainer.slots.items():
            view = step_view(
                slot.model, slot.latest, x, sample, cursor, min(unit, slot.model.hidden_size - 1)
            )
            plot(step_figure(view, title(kind)), key=f"inspect_{kind}")
            st.latex(view.equation)
        st.caption(
            "Rows are the vectors of this one step, colour = value; the dotted line marks "
            "the unit whose numbers are substituted. Values are the probe's own."
        )


def more_views(live: LiveSession, sel: Selection, draw_switch: bool = True) -> None:
    if not _on(MORE_SWITCH, draw_switch):
        return
    slots, view = live.trainer.slots, run_view(live.trainer)
    with st.container(border=True):
        for column, figure_id in zip(st.columns(2), ("saturation", "sigma"), strict=True):
            spec = FIGURES[figure_id]
            with column:
                st.markdown(f"**{spec.heading}**")
                plot(spec.build(view, sel), key=figure_id)
                st.caption(spec.caption(view))
        history = {k: [r for r in s.snapshots.results if r.traces] for k, s in slots.items()}
        shared = sorted(set.intersection(*(set(r.step for r in v) for v in history.values())))
        if len(shared) > 1:
            when = st.select_slider(
                "Replay the probe at training step", shared, value=shared[-1], key="history_step"
            )
            then = {k: next(r for r in v if r.step == when) for k, v in history.items()}
            plot(plots.gate_figure(then, sel.sample), key="gates_then")
            left, right = st.columns(2)
            with left:
                snapshots = {k: s.snapshots for k, s in slots.items()}
                plot(plots.grad_h_figure(then, snapshots, None), key="grad_then")
            # Saturation over training: slide back to see units drift from mid-range to 0 or 1.
            with right:
                plot(plots.saturation_figure(then), key="saturation_then")
            st.caption(
                "Slide to replay how the gates, their saturation and the gradient reach "
                "changed during training (snapshots are thinned as training goes on)."
            )
