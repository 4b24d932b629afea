"""gru-viz dashboard: a GRU and a vanilla RNN learn the same task, live, side by side.

A thin Streamlit layer over the headless ``gru_viz`` library: widgets come from the config
table, training and probing live in ``gru_viz.session``, figures in ``gru_viz.plots``.
Run: streamlit run app.py
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from gru_viz import explain, plots
from gru_viz.config import FIELD_BY_NAME, ConfigError, RunConfig
from gru_viz.models import MODEL_TITLES
from gru_viz.session import SPEEDS, TICK_SECONDS, LiveSession, SessionBusy
from gru_viz.tasks import TASKS

st.set_page_config(page_title="gru-viz: why gates help", page_icon="🧠", layout="wide")

SIGNAL_TASKS = ("forecast", "missing", "irregular")
# Fields shown only for the tasks that use them; the rest are shown for every task.
TASK_ONLY = {
    "n_symbols": ("copy",),
    "recall_len": ("copy",),
    "trend": SIGNAL_TASKS,
    "season": SIGNAL_TASKS,
    "missing_rate": ("missing",),
}
LAYOUT = {
    "Task": (
        "task",
        "seq_len",
        "noise",
        "n_symbols",
        "recall_len",
        "trend",
        "season",
        "missing_rate",
    ),
    "Models": ("models", "hidden_size", "num_layers"),
    "Training": ("optimizer", "lr", "batch_size", "clip", "seed", "probe_every", "probe_samples"),
}
STEP_CHOICES = (1, 10, 50, 200)


def widget_key(name: str) -> str:
    return f"cfg_{name}"  # widgets share session_state's namespace: never clash with state


def live_session() -> LiveSession:
    if "live" not in st.session_state:
        with st.spinner("Building the models and the first probe…"):
            st.session_state.live = LiveSession(RunConfig())
        for name, value in st.session_state.live.cfg.as_dict().items():
            st.session_state[widget_key(name)] = list(value) if isinstance(value, tuple) else value
        st.session_state.speed = st.session_state.live.speed
    return st.session_state.live


def config_widget(name: str) -> None:
    field = FIELD_BY_NAME[name]
    key, common = widget_key(name), {"help": field.help}
    if name == "task":
        st.selectbox(
            field.label, field.choices, key=key, format_func=lambda t: TASKS[t].title, **common
        )
    elif name == "models":
        st.multiselect(
            field.label, field.choices, key=key, format_func=lambda k: MODEL_TITLES[k], **common
        )
    elif field.choices:
        st.radio(
            field.label, field.choices, key=key, horizontal=True, format_func=str.upper, **common
        )
    elif name in ("lr", "seed", "clip"):
        st.number_input(
            field.label,
            min_value=field.kind(field.lo),
            max_value=field.kind(field.hi),
            key=key,
            format="%.5g" if field.kind is float else "%d",
            step=field.kind(0.001 if name == "lr" else (0.5 if name == "clip" else 1)),
            **common,
        )
    else:
        st.slider(
            field.label,
            min_value=field.kind(field.lo),
            max_value=field.kind(field.hi),
            key=key,
            step=field.kind(1) if field.kind is int else 0.05,
            **common,
        )


def sidebar(live: LiveSession) -> None:
    st.sidebar.title("Settings")
    task = st.session_state[widget_key("task")]
    for group, names in LAYOUT.items():
        with st.sidebar.expander(group, expanded=group != "Training"):
            for name in names:
                if task in TASK_ONLY.get(name, (task,)):
                    config_widget(name)
    values = {name: st.session_state[widget_key(name)] for name in FIELD_BY_NAME}
    try:
        notice = live.apply(RunConfig(**values))
    except (ConfigError, SessionBusy) as err:
        st.sidebar.error(f"Not applied: {err}")
        return
    if notice:
        st.session_state.notice = notice


def toggle_play() -> None:
    live: LiveSession = st.session_state.live
    live.playing = not live.playing and bool(live.trainer.active)


def step_clicked() -> None:
    live: LiveSession = st.session_state.live
    live.playing = False
    live.step(int(st.session_state.steps_per_click))


def reset_clicked() -> None:
    st.session_state.live.reset()
    st.session_state.live.playing = False


def speed_changed() -> None:
    st.session_state.live.speed = st.session_state.speed


def controls(live: LiveSession) -> None:
    play, step, count, reset, speed = st.columns([1.2, 1, 1, 1, 2], vertical_alignment="bottom")
    play.button(
        "⏸ Pause" if live.playing else "▶ Play",
        key="play",
        type="primary",
        on_click=toggle_play,
        width="stretch",
        help="Train both models continuously; the charts update about once a second.",
    )
    step.button(
        "Step",
        key="step",
        on_click=step_clicked,
        width="stretch",
        help="Pause, then train exactly the chosen number of steps.",
    )
    count.selectbox("Steps per click", STEP_CHOICES, key="steps_per_click")
    reset.button(
        "↺ Reset",
        key="reset",
        on_click=reset_clicked,
        width="stretch",
        help="Re-initialise both models from the seed: same seed, same numbers.",
    )
    speed.select_slider(
        "Speed",
        list(SPEEDS),
        key="speed",
        on_change=speed_changed,
        help="How much of each one-second tick is spent training.",
    )


def status(live: LiveSession) -> None:
    trainer = live.trainer
    baseline = trainer.task.baseline(live.cfg)
    cells = st.columns(2 + len(trainer.slots))
    cells[0].metric("Training step", f"{trainer.step_count:,}")
    cells[1].metric("Steps / second", f"{live.steps_per_second():.1f}" if live.playing else "—")
    for cell, (kind, slot) in zip(cells[2:], trainer.slots.items(), strict=True):
        losses = slot.history.array("loss")[-20:]
        if len(losses):
            loss = float(np.mean(losses))
            cell.metric(
                f"{MODEL_TITLES[kind]} loss",
                f"{loss:.4f}",
                f"{loss / baseline:.0%} of baseline",
                delta_color="off",
            )
        else:
            cell.metric(f"{MODEL_TITLES[kind]} loss", "—", "not trained yet", delta_color="off")
    for kind, slot in trainer.slots.items():
        if slot.stopped:
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.error(slot.stopped, icon="🛑")
            right.button(
                f"Restore {MODEL_TITLES[kind]}",
                key=f"restore_{kind}",
                on_click=live.restore,
                args=(kind,),
            )


def chart(fig, reading: str) -> None:
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False})
    st.caption(reading)


def figures(live: LiveSession) -> None:
    trainer = live.trainer
    slots = trainer.slots
    probes = {k: s.latest for k, s in slots.items()}
    histories = {k: s.history for k, s in slots.items()}
    batch = trainer.probe_batch
    steps = batch.x.shape[1]
    # A shorter task or fewer probe samples can leave a stored choice out of range: clamp it.
    for key, size, default in (("sample", batch.x.shape[0], 0), ("cursor", steps, steps - 1)):
        st.session_state[key] = min(int(st.session_state.get(key, default)), size - 1)
    pick, cursor_col, scale = st.columns([1, 3, 1], vertical_alignment="bottom")
    sample = pick.selectbox(
        "Probe sequence",
        range(batch.x.shape[0]),
        key="sample",
        help="Which of the fixed probe sequences the heatmaps show.",
    )
    cursor = cursor_col.slider(
        "Time step (cursor)",
        0,
        steps - 1,
        key="cursor",
        help="Marks one time step on every figure.",
    )
    log_loss = scale.toggle("Log-scale loss", key="log_loss")

    left, right = st.columns(2)
    with left:
        chart(
            plots.loss_figure(
                histories,
                trainer.task.baseline(live.cfg),
                trainer.task.baseline_note,
                log_y=log_loss,
            ),
            explain.figure_reading("loss", trainer.task.baseline_note),
        )
    with right:
        chart(
            plots.grad_norm_figure(histories, live.cfg.clip_norm),
            explain.figure_reading("grad_norm"),
        )
    left, right = st.columns(2)
    with left:
        chart(
            plots.grad_h_figure(probes, {k: s.snapshots for k, s in slots.items()}, None, cursor),
            explain.figure_reading("grad_h"),
        )
    with right:
        chart(
            plots.prediction_figure(
                {k: p.prediction for k, p in probes.items()},
                batch.target.numpy(),
                batch.loss_mask.numpy(),
                batch.valid.numpy(),
                trainer.task.loss_kind,
                sample,
                cursor,
            ),
            explain.figure_reading("prediction"),
        )
    chart(
        plots.hidden_state_figure(probes, sample, cursor=cursor), explain.figure_reading("hidden")
    )
    chart(plots.gate_figure(probes, sample, cursor=cursor), explain.figure_reading("gates"))
    with st.expander("Input of this probe sequence"):
        chart(
            plots.input_figure(
                batch.x.numpy(),
                trainer.task.input_names(live.cfg),
                sample,
                batch.valid.numpy(),
                cursor,
            ),
            explain.figure_reading("input"),
        )


def equations_panel() -> None:
    with st.expander("Equations: exactly what the code computes", icon=":material/functions:"):
        st.markdown(
            "**GRU** (PyTorch's convention; σ is the logistic sigmoid, ⊙ is "
            "element-wise multiplication)"
        )
        st.latex(explain.GRU_EQUATIONS)
        st.markdown("**Vanilla RNN**")
        st.latex(explain.RNN_EQUATIONS)
        st.markdown("**LSTM** (optional third model)")
        st.latex(explain.LSTM_EQUATIONS)
        st.latex(explain.READOUT_EQUATION)
        for note in explain.EQUATION_NOTES:
            st.markdown(f"- {note}")
        st.markdown("**Where each symbol is drawn**")
        st.table(
            {
                "symbol": [s for s, _ in explain.SYMBOL_TO_FIGURE],
                "figure": [f for _, f in explain.SYMBOL_TO_FIGURE],
            }
        )


def main() -> None:
    live = live_session()
    sidebar(live)
    st.title("Why gates help: GRU vs vanilla RNN, live")
    task = live.trainer.task
    st.markdown(f"**{task.title}.** {task.description}")
    controls(live)
    if notice := st.session_state.pop("notice", None):
        st.toast(notice.text, icon="🔁" if notice.kind == "warning" else "✅")
        getattr(st, notice.kind)(notice.text)

    @st.fragment(run_every=TICK_SECONDS if live.playing else None)
    def live_panel() -> None:
        was_playing = live.playing
        try:
            live.tick()
        except Exception as err:  # a fault in training must never take the page down
            live.playing = False
            st.error(f"Training paused after an error: {err}")
        status(live)
        figures(live)
        if was_playing and not live.playing:
            st.rerun()  # stop the timer: it only changes on a full rerun

    live_panel()
    equations_panel()


main()
