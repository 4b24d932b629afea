"""The equations panel: exactly what the code computes, from ``gru_viz.explain``."""

from __future__ import annotations

import streamlit as st

from gru_viz import explain
from gru_viz.figures import CATALOGUE


def equations_panel(kinds: tuple[str, ...]) -> None:
    """The equations of the models in this run (``kinds``), and how each variant differs."""
    # Lazy (on_change="rerun"): the LaTeX is typeset only once someone opens it.
    panel = st.expander(
        "Equations: exactly what the code computes",
        icon=":material/functions:",
        key="show_equations",
        on_change="rerun",
    )
    if not panel.open:
        return
    with panel:
        st.markdown("σ is the logistic sigmoid, ⊙ is element-wise multiplication.")
        for kind in dict.fromkeys(("gru", *kinds)):  # PyTorch's GRU is the reference
            st.markdown(f"**{explain.EQUATION_TITLES[kind]}**")
            st.latex(explain.equations_latex(kind))
            for note in explain.VARIANT_NOTES.get(kind, ()):
                st.markdown(f"- {note}")
        st.latex(explain.equations_latex("readout"))
        for note in explain.EQUATION_NOTES:
            st.markdown(f"- {note}")
        # A Markdown table, not st.table: st.table imports pandas (about 2 s on a first page).
        rows = "".join(f"| `{spec.symbols}` | {spec.heading} |\n" for spec in CATALOGUE)
        st.markdown(f"**Where each symbol is drawn**\n\n| symbol | figure |\n|---|---|\n{rows}")
