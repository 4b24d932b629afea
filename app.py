"""gru-viz dashboard: a GRU and a vanilla RNN learn the same task, live, side by side.

A thin Streamlit layer over the headless ``gru_viz`` library: widgets come from the config
table, training and probing live in ``gru_viz.session``, figures in ``gru_viz.plots``, links
in ``gru_viz.sharing``. Run: streamlit run app.py
"""

from __future__ import annotations

import streamlit as st

from gru_viz.plots import loading_figure  # plotly and numpy only: torch is not loaded yet

# An emoji favicon is drawn in the browser; a Material one would be fetched from fonts.gstatic.com,
# which an offline classroom cannot reach.
st.set_page_config(page_title="gru-viz: why gates help", page_icon="🧠", layout="wide")
# A new session's first run imports torch (about 2 s) before anything else can be drawn. Show the
# title and a placeholder chart first: the page is visibly alive, and the browser fetches and
# parses plotly.js (about 2 s here) while the server is still importing.
st.title("Why gates help: GRU vs vanilla RNN, live")
BOOT_SLOT = st.empty()  # on every run, so later elements keep their place in the page
if "live" not in st.session_state:
    BOOT_SLOT.plotly_chart(loading_figure(), width="stretch", key="loading")

# The imports below wait for the placeholder above (hence noqa: E402).
import io  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gru_viz import explain, export, plots  # noqa: E402
from gru_viz.checkpoint import checkpoint_dict  # noqa: E402
from gru_viz.config import FIELD_BY_NAME, ConfigError, RunConfig  # noqa: E402
from gru_viz.figure_cache import FigureCache  # noqa: E402
from gru_viz.inspector import step_figure, step_view  # noqa: E402
from gru_viz.lessons import LESSONS, check_claim  # noqa: E402
from gru_viz.models import MODEL_TITLES, Intervention  # noqa: E402
from gru_viz.report import build_report  # noqa: E402
from gru_viz.session import (  # noqa: E402
    SPEEDS,
    TICK_SECONDS,
    TICK_TURN,
    LiveSession,
    SessionBusy,
    warm_up_in_background,
)
from gru_viz.sharing import SETTING_GROUPS, read_link, write_link  # noqa: E402
from gru_viz.standalone import script_filename, standalone_script  # noqa: E402
from gru_viz.tasks import TASKS  # noqa: E402

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
    "Models": ("models", "hidden_size", "size_by", "z_bias", "num_layers"),
    "Training": ("optimizer", "lr", "batch_size", "clip", "seed", "probe_every", "probe_samples"),
}
STEP_CHOICES = (1, 10, 50, 200)
FREE = "free"  # the lesson picker's "no lesson" entry


def widget_key(name: str) -> str:
    return f"cfg_{name}"  # widgets share session_state's namespace: never clash with state


def set_widgets(cfg: RunConfig) -> None:
    for name, value in cfg.as_dict().items():
        st.session_state[widget_key(name)] = list(value) if isinstance(value, tuple) else value


def live_session() -> LiveSession:
    """This browser session's run, created once from the link it was opened with."""
    if "live" not in st.session_state:
        link = read_link(st.query_params.to_dict())
        st.session_state.live = LiveSession(link.config)  # BOOT_SLOT says what is happening
        set_widgets(link.config)
        st.session_state.update(
            lesson=link.lesson,
            hidden=link.hidden,
            link_problems=link.problems,
            speed=st.session_state.live.speed,
        )
    return st.session_state.live


# -- settings ------------------------------------------------------------------------------
def config_widget(name: str, live: LiveSession) -> None:
    field, key = FIELD_BY_NAME[name], widget_key(name)
    if key not in st.session_state:  # Streamlit forgets a widget's value while it is hidden
        value = getattr(live.cfg, name)
        st.session_state[key] = list(value) if isinstance(value, tuple) else value
    common = {"key": key, "help": field.help}
    if name == "task":
        st.selectbox(field.label, field.choices, format_func=lambda t: TASKS[t].title, **common)
    elif name == "models":
        st.multiselect(field.label, field.choices, format_func=MODEL_TITLES.get, **common)
    elif field.choices:
        st.radio(field.label, field.choices, horizontal=True, **common)
    elif name in ("lr", "seed", "clip", "z_bias"):
        step = {"lr": 0.001, "clip": 0.5, "z_bias": 0.5, "seed": 1}[name]
        st.number_input(
            field.label,
            min_value=field.kind(field.lo),
            step=field.kind(step),
            max_value=field.kind(field.hi),
            format="%.5g" if field.kind is float else "%d",
            **common,
        )
    else:
        st.slider(
            field.label,
            min_value=field.kind(field.lo),
            max_value=field.kind(field.hi),
            step=field.kind(1) if field.kind is int else 0.05,
            **common,
        )


def start_lesson() -> None:
    key = st.session_state.lesson_pick
    st.session_state.lesson = None if key == FREE else key
    if key != FREE:
        set_widgets(LESSONS[key].config)  # the sidebar's apply() then rebuilds with a notice
        st.session_state.live.playing = False


def sidebar(live: LiveSession) -> None:
    st.sidebar.title("Lessons")
    st.session_state.setdefault("lesson_pick", st.session_state.lesson or FREE)
    st.sidebar.selectbox(
        "Guided lesson",
        [FREE, *LESSONS],
        key="lesson_pick",
        format_func=lambda k: "Free exploration" if k == FREE else LESSONS[k].title,
    )
    st.sidebar.button(
        "Start this lesson",
        on_click=start_lesson,
        key="start_lesson",
        type="primary",
        width="stretch",
        help="Sets every control to the lesson's setup and shows its guide.",
    )
    st.sidebar.title("Settings")
    task = st.session_state.get(widget_key("task"), live.cfg.task)
    for group, names in LAYOUT.items():
        if group in st.session_state.hidden:
            continue
        with st.sidebar.expander(group, expanded=group != "Training"):
            for name in names:
                if task in TASK_ONLY.get(name, (task,)):
                    config_widget(name, live)
    if st.session_state.hidden:
        st.sidebar.caption(f"This classroom link hides: {', '.join(st.session_state.hidden)}.")
    values = {n: st.session_state.get(widget_key(n), getattr(live.cfg, n)) for n in FIELD_BY_NAME}
    try:
        notice = live.apply(RunConfig(**values))
    except (ConfigError, SessionBusy) as err:
        st.sidebar.error(f"Not applied: {err}")
        return
    if notice:
        st.session_state.notice = notice
    query = write_link(live.cfg, st.session_state.lesson, st.session_state.hidden)
    if query != st.query_params.to_dict():
        st.query_params.from_dict(query)  # the address bar is always a link to this setup


# -- controls ------------------------------------------------------------------------------
def set_playing(value: bool) -> None:
    # Not a toggle: a click that lands during a timer tick can reach this callback twice
    # (once with the fragment's rerun, once with the full one), and a toggle would undo itself.
    live: LiveSession = st.session_state.live
    live.playing = value and bool(live.trainer.active)


def step_clicked(full_run: int) -> None:
    live: LiveSession = st.session_state.live
    if st.session_state.get("stepped_in_run") == full_run:
        return  # the same click delivered twice (see set_playing): step only once
    st.session_state.stepped_in_run = full_run
    live.playing = False
    live.step(int(st.session_state.steps_per_click))


def reset_clicked() -> None:
    st.session_state.live.reset()
    st.session_state.live.playing = False


def speed_changed() -> None:
    st.session_state.live.speed = st.session_state.speed


# Icons are Material Symbols, a font Streamlit ships, so they look the same on every machine;
# emoji need an emoji font, and Debian's Chromium without one drew empty boxes.
def controls(live: LiveSession) -> None:
    play, step, count, reset, speed = st.columns([1.2, 1, 1, 1, 2], vertical_alignment="bottom")
    play.button(
        "Pause" if live.playing else "Play",
        icon=":material/pause:" if live.playing else ":material/play_arrow:",
        key="play",
        type="primary",
        on_click=set_playing,
        args=(not live.playing,),
        width="stretch",
        help="Train both models continuously; the charts update about once a second.",
    )
    step.button(
        "Step",
        icon=":material/skip_next:",
        key="step",
        on_click=step_clicked,
        args=(st.session_state.full_runs,),  # names this click: no two clicks share a full run
        width="stretch",
        help="Pause, then train exactly the chosen number of steps.",
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


def lesson_guide(live: LiveSession) -> None:
    if not st.session_state.lesson:
        return
    lesson = LESSONS[st.session_state.lesson]
    with st.container(border=True):
        st.subheader(f"Lesson: {lesson.title}")
        cols = st.columns(4)
        for col, (head, text) in zip(
            cols,
            (
                ("1 · Predict first", lesson.predict),
                ("2 · Look at", lesson.look_at),
                ("3 · What it means", lesson.meaning),
                ("4 · Then try", lesson.try_next),
            ),
            strict=True,
        ):
            col.markdown(f"**{head}**\n\n{text}")
        claim = check_claim(lesson, live.trainer)
        shown = st.success if claim.holds else st.info
        # Too early to check: the summary says so itself ("Not checked yet: ...").
        early = "steps_needed" in claim.figures
        label = "Seen in your run: " if claim.holds else "" if early else "Not shown yet: "
        shown(
            label + claim.summary,
            icon=":material/check_circle:" if claim.holds else ":material/hourglass_top:",
        )


LEVEL_NOT_CHANGE = {"delta_color": "off", "delta_arrow": "off"}


def status(live: LiveSession) -> None:
    trainer = live.trainer
    baseline = trainer.task.baseline(live.cfg)
    cells = st.columns(2 + len(trainer.slots))
    cells[0].metric("Training step", f"{trainer.step_count:,}")
    cells[1].metric("Steps / second", f"{live.steps_per_second():.1f}" if live.playing else "—")
    for cell, (kind, slot) in zip(cells[2:], trainer.slots.items(), strict=True):
        losses = slot.history.array("loss")[-20:]
        label = f"{MODEL_TITLES[kind]} loss"
        if len(losses):
            loss = float(np.mean(losses))
            share = f"{loss / baseline:.{1 if loss < 0.1 * baseline else 0}%}"
            # No arrow: the share is a level, not a change (an ↑ read as "the loss went up").
            cell.metric(label, f"{loss:.4f}", f"{share} of baseline", **LEVEL_NOT_CHANGE)
        else:
            cell.metric(label, "—", "not trained yet", **LEVEL_NOT_CHANGE)
    st.caption(
        "Parameters: "
        + " · ".join(
            f"{MODEL_TITLES[k]} {s.parameter_count():,} ({s.model.hidden_size} units)"
            for k, s in trainer.slots.items()
        )
        + f" · trivial baseline loss {baseline:.4g}"
        + sharing_note(live)
    )
    alerts = st.container()  # always there, so the charts below keep their places
    if live.intervention.active:
        where = "in the probe and in training" if live.intervene_in_training else "in the probe"
        alerts.warning(
            f"Intervention active ({where}): {describe(live.intervention)}. "
            "Clear it under Interventions.",
            icon=":material/science:",
        )
    for kind, slot in trainer.slots.items():
        if slot.stopped:
            left, right = alerts.columns([5, 1], vertical_alignment="center")
            left.error(slot.stopped, icon=":material/block:")
            right.button(
                f"Restore {MODEL_TITLES[kind]}",
                key=f"restore_{kind}",
                on_click=live.restore,
                args=(kind,),
            )


def sharing_note(live: LiveSession) -> str:
    others = live.sessions_training - 1
    if not live.playing or others < 1:
        return ""
    who = "1 other session is" if others == 1 else f"{others} other sessions are"
    return f" · {who} training on this server: each trains a fair share of every tick"


def describe(iv: Intervention) -> str:
    parts = []
    if iv.clamp_update is not None:
        parts.append(f"GRU update gate z clamped to {iv.clamp_update:.2f}")
    if iv.clamp_reset is not None:
        parts.append(f"GRU reset gate r clamped to {iv.clamp_reset:.2f}")
    if iv.ablate_units:
        parts.append(f"units {', '.join(map(str, iv.ablate_units))} zeroed in every model")
    return "; ".join(parts)


# -- figures -------------------------------------------------------------------------------
def chart(fig, reading: str, name: str, step: int, **kwargs) -> None:
    # The toolbar's camera button saves a PNG named after the figure and the training step.
    png = {"filename": f"gru-viz-{name}-step{step}", "format": "png", "scale": 2}
    st.plotly_chart(
        fig, width="stretch", config={"displaylogo": False, "toImageButtonOptions": png}, **kwargs
    )
    st.caption(reading)


def pick_time_from_chart(steps: int) -> None:
    """A click on a point of the gradient chart moves the time cursor there."""
    selection = st.session_state.get("grad_h_chart") or {}
    points = (selection.get("selection") or {}).get("points") or []
    if points:
        picked = int(np.clip(round(float(points[0]["x"])), 0, steps - 1))
        if picked != st.session_state.get("picked_step"):
            st.session_state.picked_step = st.session_state.cursor = picked


def cached(name: str, inputs: tuple, build):
    """The probe charts change only with a new probe, sample or cursor: see figure_cache."""
    if "figure_cache" not in st.session_state:
        st.session_state.figure_cache = FigureCache()
    return st.session_state.figure_cache.get(name, inputs, build)


def figures(live: LiveSession) -> tuple[int, int]:
    trainer, slots, batch = live.trainer, live.trainer.slots, live.trainer.probe_batch
    probes = {k: s.latest for k, s in slots.items()}
    histories = {k: s.history for k, s in slots.items()}
    samples, steps = batch.x.shape[:2]
    # A shorter task or fewer probe samples can leave a stored choice out of range: clamp it.
    for key, size, default in (("sample", samples, 0), ("cursor", steps, steps - 1)):
        st.session_state[key] = min(int(st.session_state.get(key, default)), size - 1)
    pick_time_from_chart(steps)
    st.session_state.setdefault("log_loss", True)  # early losses would squash the lesson
    pick, cursor_col, scale = st.columns([1, 3, 1], vertical_alignment="bottom")
    sample = pick.selectbox(
        "Probe sequence",
        range(samples),
        key="sample",
        help="Which of the fixed probe sequences the heatmaps show.",
    )
    cursor = cursor_col.slider(
        "Time step (cursor)",
        0,
        steps - 1,
        key="cursor",
        help="Marks one time step on every figure; clicking a point of "
        "the gradient chart moves it there.",
    )
    log_loss = scale.toggle("Log-scale loss", key="log_loss")
    at, note = trainer.step_count, trainer.task.baseline_note
    # The probe charts are named after their probe's step, not the training step: a chart whose
    # figure and options are unchanged stays mounted in the browser (no redraw, zoom kept).
    probed_at = max(p.step for p in probes.values())
    left, right = st.columns(2)
    with left:
        chart(
            plots.loss_figure(histories, trainer.task.baseline(live.cfg), note, log_y=log_loss),
            explain.figure_reading("loss", note),
            "loss",
            at,
        )
    with right:
        chart(
            plots.grad_norm_figure(histories, live.cfg.clip_norm),
            explain.figure_reading("grad_norm"),
            "gradient-norm",
            at,
        )
    zoom_note = st.container()  # always there: see notice_box
    if live.playing:
        zoom_note.caption(
            "While training, a chart is redrawn whenever its numbers change, which resets its "
            "zoom; the probe charts below change only at each probe. Pause to zoom in."
        )
    left, right = st.columns(2)
    with left:
        chart(
            cached(
                "grad_h",
                (*probes.values(), cursor),
                lambda: plots.grad_h_figure(
                    probes, {k: s.snapshots for k, s in slots.items()}, None, cursor
                ),
            ),
            explain.figure_reading("grad_h"),
            "grad-over-time",
            probed_at,
            key="grad_h_chart",
            on_select="rerun",
            selection_mode="points",
        )
    with right:
        chart(
            cached(
                "prediction",
                (*probes.values(), batch, sample, cursor),
                lambda: plots.prediction_figure(
                    {k: p.prediction for k, p in probes.items()},
                    batch.target.numpy(),
                    batch.loss_mask.numpy(),
                    batch.valid.numpy(),
                    trainer.task.loss_kind,
                    sample,
                    cursor,
                ),
            ),
            explain.figure_reading("prediction"),
            "prediction",
            probed_at,
        )
    chart(
        cached(
            "hidden",
            (*probes.values(), sample, cursor),
            lambda: plots.hidden_state_figure(probes, sample, cursor=cursor),
        ),
        explain.figure_reading("hidden"),
        "hidden-states",
        probed_at,
    )
    chart(
        cached(
            "gates",
            (*probes.values(), sample, cursor),
            lambda: plots.gate_figure(probes, sample, cursor=cursor),
        ),
        explain.figure_reading("gates"),
        "gates",
        probed_at,
    )
    if st.toggle("Show the input of this probe sequence", key="show_input"):
        chart(
            plots.input_figure(
                batch.x.numpy(),
                trainer.task.input_names(live.cfg),
                sample,
                batch.valid.numpy(),
                cursor,
            ),
            explain.figure_reading("input"),
            "input",
            at,
        )
    return sample, cursor


def inspector(live: LiveSession, sample: int, cursor: int) -> None:
    # Switches, not expanders: a collapsed expander still builds and ships its figures on every
    # tick, and each chart costs the server and every browser time.
    if not st.toggle(
        "Step inspector",
        key="show_inspector",
        help="The computation of one time step, with the real numbers.",
    ):
        return
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
            st.plotly_chart(
                step_figure(view, MODEL_TITLES[kind]), width="stretch", key=f"inspect_{kind}"
            )
            st.latex(view.equation)
        st.caption(
            "Rows are the vectors of this one step, colour = value; the dotted line marks "
            "the unit whose numbers are substituted. Values are the probe's own."
        )


def interventions(live: LiveSession) -> None:
    with st.expander("Interventions: poke at the gates", expanded=live.intervention.active):
        st.markdown(
            "Clamp a GRU gate to a constant or silence hidden units, and watch the "
            "probe change at once. z = 0 makes h_t = n_t (no memory kept); z = 1 freezes "
            "h; r = 0 makes the candidate ignore the old state."
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
    state, live = st.session_state, st.session_state.live
    wanted = Intervention(
        state.get("iv_z", 1.0) if state.get("iv_z_on") else None,
        state.get("iv_r", 0.0) if state.get("iv_r_on") else None,
        tuple(sorted(state.get("iv_units") or ())),
    )
    in_training = bool(state.get("iv_train")) and wanted.active
    if (wanted, in_training) != (live.intervention, live.intervene_in_training):
        live.set_intervention(wanted, in_training)


def clear_interventions() -> None:
    st.session_state.update(iv_z_on=False, iv_r_on=False, iv_units=[], iv_train=False)
    st.session_state.live.set_intervention(Intervention(), False)


def more_views(live: LiveSession, sample: int) -> None:
    slots = live.trainer.slots
    if not st.toggle("More views: gate saturation, singular values, history", key="show_more"):
        return
    with st.container(border=True):
        left, right = st.columns(2)
        with left:
            st.plotly_chart(
                plots.saturation_figure({k: s.latest for k, s in slots.items()}),
                width="stretch",
                key="saturation",
            )
            st.caption(
                "Per unit: how often each gate is nearly closed (< 0.1) against nearly "
                "open (> 0.9) on the probe (Karpathy et al., 2015)."
            )
        with right:
            st.plotly_chart(
                plots.sigma_figure({k: s.probe_series for k, s in slots.items()}),
                width="stretch",
                key="sigma",
            )
            st.caption(
                "Largest singular value of the recurrent matrix (RNN: W_hh; GRU: W_hn; "
                "LSTM: W_hg). For the RNN, σ < 1 means gradients must shrink step by "
                "step; σ > 1 allows them to grow. Gated cells are not bound by it."
            )
        history = {k: [r for r in s.snapshots.results if r.traces] for k, s in slots.items()}
        shared = sorted(set.intersection(*(set(r.step for r in v) for v in history.values())))
        if len(shared) > 1:
            when = st.select_slider(
                "Replay the probe at training step", shared, value=shared[-1], key="history_step"
            )
            then = {k: next(r for r in v if r.step == when) for k, v in history.items()}
            st.plotly_chart(plots.gate_figure(then, sample), width="stretch", key="gates_then")
            left, right = st.columns(2)
            left.plotly_chart(
                plots.grad_h_figure(then, {k: s.snapshots for k, s in slots.items()}, None),
                width="stretch",
                key="grad_then",
            )
            # Saturation over training: slide back to see units drift from mid-range to 0 or 1.
            right.plotly_chart(
                plots.saturation_figure(then), width="stretch", key="saturation_then"
            )
            st.caption(
                "Slide to replay how the gates, their saturation and the gradient reach "
                "changed during training (snapshots are thinned as training goes on)."
            )


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
        query = write_link(live.cfg, st.session_state.lesson, tuple(hide))
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
                f"{MODEL_TITLES[k]} checkpoint (.pt)",
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


def equations_panel() -> None:
    # Lazy like the sharing panel: the LaTeX is typeset only once someone opens it.
    panel = st.expander(
        "Equations: exactly what the code computes",
        icon=":material/functions:",
        key="show_equations",
        on_change="rerun",
    )
    if not panel.open:
        return
    with panel:
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
        # A Markdown table, not st.table: st.table imports pandas (about 2 s on a first page).
        rows = "".join(f"| `{s}` | {f} |\n" for s, f in explain.SYMBOL_TO_FIGURE)
        st.markdown(f"**Where each symbol is drawn**\n\n| symbol | figure |\n|---|---|\n{rows}")


def main() -> None:
    st.session_state.full_runs = st.session_state.get("full_runs", 0) + 1
    live = live_session()
    BOOT_SLOT.empty()  # the models exist: the real charts take the placeholder's turn
    sidebar(live)
    for problem in st.session_state.link_problems:
        st.warning(f"From the link: {problem}")
    task = live.trainer.task
    st.markdown(f"**{task.title}.** {task.description}")
    controls(live)
    # Optional messages go into containers that exist on every run: an element that comes and
    # goes would shift everything below it, and while a run is in progress the browser shows
    # the old and the new copy of a shifted element side by side (two step counters).
    notice_box = st.container()
    if notice := st.session_state.pop("notice", None):
        st.toast(
            notice.text,
            icon=":material/sync:" if notice.kind == "warning" else ":material/check_circle:",
        )
        getattr(notice_box, notice.kind)(notice.text)

    def live_panel() -> None:
        was_playing = live.playing
        fault_box = st.container()  # always there: see notice_box
        with TICK_TURN:  # one session's tick at a time: see gru_viz.session
            try:
                live.tick()
            except Exception as err:  # a fault in training must never take the page down
                live.playing = False
                fault_box.error(f"Training paused after an error: {err}")
            lesson_guide(live)
            status(live)
            sample, cursor = figures(live)
            inspector(live, sample, cursor)
            more_views(live, sample)
        if was_playing and not live.playing:
            st.rerun()  # stop the timer: it only changes on a full rerun

    # A fragment redraws on its timer without rerunning the page around it. Paused, the panel is
    # still the same fragment, only without a timer: its elements keep their places in the page
    # tree, so pressing Play remounts only the charts whose figures changed (loss and gradient
    # norm), not all six (Play to first updated chart, median of 4: 0.55 vs 0.80 s at 1920x1080).
    st.fragment(live_panel, run_every=TICK_SECONDS if live.playing else None)()
    # Outside the timer: its widgets change nothing per tick, and a change reruns the page.
    interventions(live)
    sharing_and_downloads(live)
    equations_panel()
    warm_up_in_background()


main()
