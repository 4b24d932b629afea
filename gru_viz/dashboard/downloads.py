"""Share and download: the classroom link and every file the run can be saved as."""

from __future__ import annotations

import io

import streamlit as st
import torch

from gru_viz import export
from gru_viz.checkpoint import checkpoint_dict
from gru_viz.dashboard.interventions import describe
from gru_viz.dashboard.state import PAGE
from gru_viz.kinds import title
from gru_viz.report import build_report
from gru_viz.session import LiveSession
from gru_viz.sharing import SETTING_GROUPS, write_link
from gru_viz.standalone import script_filename, standalone_script


def checkpoint_bytes(trainer, kind: str) -> bytes:
    buffer = io.BytesIO()
    torch.save(checkpoint_dict(trainer.slots[kind].model, trainer.cfg, trainer.step_count), buffer)
    return buffer.getvalue()


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
        query = write_link(live.cfg, PAGE.lesson, tuple(hide))
        url = st.context.url.split("?")[0] if st.context.url else ""
        st.code(f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}", language=None)
        st.caption(
            "Anyone opening this link gets the same setup; with the same seed, the same "
            "numbers. The address bar always holds the link to the current setup."
        )
        name = f"gru-viz-{live.cfg.task}-step{live.trainer.step_count}"
        files = [
            ("Metrics (CSV)", export.metrics_csv, f"{name}-metrics.csv", "text/csv"),
            ("Probe traces (JSON)", export.probe_json, f"{name}-probe.json", "application/json"),
            (
                "Probe traces (NumPy .npz)",
                export.probe_npz_bytes,
                f"{name}-probe.npz",
                "application/octet-stream",
            ),
            ("Report (HTML)", build_report, f"{name}-report.html", "text/html"),
        ]
        files += [
            (
                f"{title(k)} checkpoint (.pt)",
                lambda t, k=k: checkpoint_bytes(t, k),
                f"{name}-{k}.pt",
                "application/octet-stream",
            )
            for k in live.trainer.slots
        ]
        note = (
            f"The app had an intervention active: {describe(live.intervention)}."
            if live.intervention.active
            else ""
        )
        files.append(
            (
                "Standalone PyTorch script (.py)",
                lambda t: standalone_script(t.cfg, max(t.step_count, 100), note),
                script_filename(live.cfg),
                "text/x-python",
            )
        )
        cols = st.columns(3)
        for i, (label, build, file_name, mime) in enumerate(files):
            cols[i % 3].download_button(
                label,
                lambda b=build: live.export(b),
                file_name,
                mime,
                key=f"download_{i}",
                on_click="ignore",
                width="stretch",
            )
        st.caption(
            "Checkpoints load into plain PyTorch: torch.nn.GRU(..., batch_first=True)"
            ".load_state_dict(torch.load(f, weights_only=True)['rnn'])."
        )
