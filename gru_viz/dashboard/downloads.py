"""Share and download: the classroom link and every file the run can be saved as."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from gru_viz import export
from gru_viz.dashboard.state import PAGE
from gru_viz.session import LiveSession
from gru_viz.sharing import SETTING_GROUPS, write_link


def share_url(base: str, query: dict[str, str]) -> str:
    """The address to hand out: no trailing "?" when the setup is the defaults."""
    return f"{base}?{urlencode(query, safe=',')}" if query else base


def sharing_and_downloads(live: LiveSession) -> None:
    # Lazy (on_change="rerun"): its contents are built and sent only while it is open, which
    # keeps a code block and seven buttons off every first page.
    panel = st.expander("Share and download", key="show_share", on_change="rerun")
    if not panel.open:
        return
    with panel:
        hide = st.multiselect(
            "Classroom link: hide these settings", SETTING_GROUPS, key="share_hide"
        )
        query = write_link(live.cfg, PAGE.lesson, tuple(hide), PAGE.control)
        url = st.context.url.split("?")[0] if st.context.url else ""
        st.code(share_url(url, query), language=None)
        st.caption(
            "Anyone opening this link gets the same setup; with the same seed, the same "
            "numbers. The address bar always holds the link to the current setup."
        )
        note = (
            f"The app had an intervention active: {live.intervention.describe()}."
            if live.intervention.active
            else ""
        )
        run = export.run_name(live.trainer)
        cols = st.columns(3)
        for i, item in enumerate(export.export_files(live.trainer, note)):
            cols[i % 3].download_button(
                item.label,
                lambda build=item.build: live.export(build),
                item.file_name(run),
                item.mime,
                key=f"download_{item.id}",
                on_click="ignore",
                width="stretch",
            )
        st.caption(
            "Checkpoints load into plain PyTorch: torch.nn.GRU(..., batch_first=True)"
            ".load_state_dict(torch.load(f, weights_only=True)['rnn'])."
        )
