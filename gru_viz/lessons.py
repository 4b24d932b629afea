"""One-click guided lessons: a run to start, what to predict, where to look, and what it means.

Each claim was measured on its lesson's seeded config (and other seeds); ``check_claim`` measures
it again on the user's run, so the page says what *this* run shows, not what it ought to.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from gru_viz.config import FIELDS, RunConfig
from gru_viz.figures import CATALOGUE
from gru_viz.models import unroll
from gru_viz.numbers import RECENT, recent_loss, share_of
from gru_viz.records import ProbeResult
from gru_viz.trainer import ModelSlot, Trainer

# The figures' headings, so every "look at" can be checked against what is on the page.
FIGURES = tuple(spec.heading for spec in CATALOGUE)
COUNTERPART_CLIP = 1.0  # the exploding lesson's claim compares with this clipped rerun


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    config: RunConfig
    steps: int  # training steps the claim needs; a multiple of probe_every, so a probe ends it
    predict: str  # what to predict before pressing Play
    look_at: str  # which figures, and what to see in them
    meaning: str
    try_next: str

    @property
    def update_gate_bias(self) -> float | None:
        """The GRU's update-gate bias at init, part of the config so links reproduce it."""
        return self.config.z_bias or None


@dataclass(frozen=True)
class ClaimResult:
    holds: bool
    summary: str  # plain language with the run's own numbers
    figures: dict[str, float]  # the numbers behind it; "*_loss" are fractions of the baseline


# -- measuring a run ------------------------------------------------------------------------
def _recent(slot: ModelSlot, baseline: float) -> float:
    """Mean loss of the last RECENT steps as a fraction of the trivial baseline."""
    return share_of(recent_loss(slot.history.array("loss")), baseline)


def _losses(trainer: Trainer) -> dict[str, float]:
    return {k: _recent(s, trainer.task.baseline(trainer.cfg)) for k, s in trainer.slots.items()}


def _reach(result: ProbeResult) -> float:
    """‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖ averaged over the probe samples: how much of the gradient at
    the last step reaches the first (the vanishing-gradient ratio)."""
    grad = result.grad_h_norm[-1][:, [0, -1]]
    with np.errstate(divide="ignore", invalid="ignore"):  # NaN, not a warning, when undefined
        first, last = np.nansum(grad, axis=0) / np.sum(~np.isnan(grad), axis=0)
        return float(np.float64(first) / last)


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.1f}%" if fraction < 0.1 else f"{100 * fraction:.0f}%"


def _num(value: float) -> str:
    return f"{value:.2g}" if 0.01 <= abs(value) < 1000 else f"{value:.0e}"


def _each(values: dict[str, float]) -> str:
    return ", ".join(f"{kind.upper()} {_pct(v)}" for kind, v in values.items())


# A few numbers from a rerun: all a comparison needs, small enough to cache.
@dataclass(frozen=True)
class RunSummary:
    trained: int  # steps with a finite loss; fewer than asked means the model was stopped
    recent: float  # last-RECENT-step loss / baseline
    reach_at_init: float
    z_at_init: float  # GRU only; NaN for other kinds


@functools.lru_cache(maxsize=8)
def rerun(cfg: RunConfig, steps: int) -> dict[str, RunSummary]:
    """Train ``cfg`` headless and summarise each model. Deterministic, so one cached result
    (do not mutate it) serves every user: a comparison trains once per server, not per check."""
    trainer = Trainer(cfg.replace(probe_every=1000))  # only the initial probe is read
    trainer.step(steps)
    loss = _losses(trainer)
    summary = {}
    for kind, slot in trainer.slots.items():
        first = slot.snapshots.results[0]
        z = float(np.mean(first.traces.get("z", np.nan)))
        summary[kind] = RunSummary(len(slot.history), loss[kind], _reach(first), z)
    return summary


# -- the claims: each reads the trainer and says what it saw --------------------------------
def _check_forgetting(lesson: Lesson, trainer: Trainer) -> ClaimResult:
    loss = _losses(trainer)
    init = {k: _reach(trainer.slots[k].snapshots.results[0]) for k in ("gru", "rnn")}
    now = {k: _reach(trainer.slots[k].latest) for k in ("gru", "rnn")}
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = float(np.log10(np.float64(now["gru"]) / now["rnn"]))
    learned = loss["rnn"] > 0.8 and loss["gru"] < 0.5
    holds = learned and max(init.values()) < 1e-3 and gap >= 2 and now["gru"] > 1e3 * init["gru"]
    summary = (
        f"Loss over the last {RECENT} steps: {_each(loss)} of the baseline. At initialisation "
        f"the gradient reaching t = 0 was {_num(init['gru'])} (GRU) and {_num(init['rnn'])} "
        f"(RNN) of the gradient at the last step: vanished for both. At step "
        f"{trainer.slots['gru'].latest.step} it is {_num(now['gru'])} for the GRU but "
        f"{_num(now['rnn'])} for the RNN, {gap:.0f} orders of magnitude apart."
    )
    named = {"loss": loss, "reach_init": init, "reach_now": now}
    figures = {f"{kind}_{name}": v for name, d in named.items() for kind, v in d.items()}
    return ClaimResult(holds, summary, figures)


def _check_update_gate(lesson: Lesson, trainer: Trainer) -> ClaimResult:
    gru, k, lag = trainer.slots["gru"], trainer.cfg.recall_len, trainer.cfg.seq_len
    z = gru.latest.traces["z"][-1]  # (samples, T, H)
    z_write, z_lag = z[:, :k].mean(axis=(0, 1)), z[:, k : k + lag].mean(axis=(0, 1))  # per unit
    keep = z_lag > 0.9
    keep_write = float(z_write[keep].mean()) if keep.any() else math.nan
    loss, units = _losses(trainer)["gru"], z.shape[-1]
    switch = z_lag.mean() - z_write.mean() >= 0.2 and keep_write < 0.7
    holds = bool(loss < 0.2 and switch and keep.sum() >= units / 4)
    summary = (
        f"GRU loss {_pct(loss)} of chance. Update gate z at step {gru.latest.step}: "
        f"{z_lag.mean():.2f} on average through the {lag} lag steps, {z_write.mean():.2f} on "
        f"the {k} steps where the symbols arrive. {int(keep.sum())} of {units} units kept "
        "z above 0.9 through the lag (they hold the memory); on the symbol steps those same "
        f"units had z = {keep_write:.2f}, letting the symbols in."
    )
    figures = {"z_lag": float(z_lag.mean()), "z_write": float(z_write.mean())}
    figures |= {"keeper_units": float(keep.sum()), "keepers_z_write": keep_write}
    return ClaimResult(holds, summary, {"gru_loss": loss, **figures})


def _marker_split(trainer: Trainer, result: ProbeResult, gate: str) -> tuple[float, ...]:
    """Mean gate on marker steps, elsewhere, and the fraction of units lower at markers.
    Step 0 is left out: with h_{-1} = 0 there is no old state to keep or reset."""
    marker = trainer.probe_batch.x[..., 1].numpy() > 0.5
    other = ~marker
    marker[:, 0] = other[:, 0] = False
    values = result.traces[gate][-1]
    at_marker, elsewhere = values[marker].mean(0), values[other].mean(0)
    return float(at_marker.mean()), float(elsewhere.mean()), float(np.mean(at_marker < elsewhere))


def _check_reset_gate(lesson: Lesson, trainer: Trainer) -> ClaimResult:
    gru = trainer.slots["gru"]
    r_mark, r_other, r_units = _marker_split(trainer, gru.latest, "r")
    z_mark, z_other, _ = _marker_split(trainer, gru.latest, "z")
    r0_mark, r0_other, _ = _marker_split(trainer, gru.snapshots.results[0], "r")
    loss = _losses(trainer)["gru"]
    learned_r = r_other - r_mark >= 0.08 and r_units >= 0.75 and abs(r0_other - r0_mark) < 0.05
    holds = loss < 0.2 and learned_r and z_other - z_mark >= 0.03
    summary = (
        f"GRU loss {_pct(loss)} of the baseline. At step {gru.latest.step} the reset gate r "
        f"averages {r_mark:.2f} on marker steps against {r_other:.2f} elsewhere, lower at the "
        f"markers in {_pct(r_units)} of the units; at initialisation it made no difference "
        f"({r0_mark:.2f} vs {r0_other:.2f}). The update gate z dips at the markers too "
        f"({z_mark:.2f} vs {z_other:.2f}), letting the new value in."
    )
    figures = {"r_marker": r_mark, "r_other": r_other, "r_marker_init": r0_mark, "r_units": r_units}
    figures |= {"r_other_init": r0_other, "z_marker": z_mark, "z_other": z_other, "gru_loss": loss}
    return ClaimResult(holds, summary, figures)


def _check_exploding(lesson: Lesson, trainer: Trainer) -> ClaimResult:
    base = trainer.task.baseline(trainer.cfg)
    figures, parts, blew_up = {}, [], True
    for kind, slot in trainer.slots.items():
        sigma, stopped = slot.probe_series.array("sigma_max"), slot.stopped is not None
        peak_grad = float(np.max(slot.history.array("grad_norm"), initial=0.0))
        peak_loss = share_of(float(np.max(slot.history.array("loss"), initial=0.0)), base)
        blew_up &= (stopped or peak_loss > 100) and peak_grad > 1e3
        figures |= {f"{kind}_peak_grad": peak_grad, f"{kind}_peak_loss": peak_loss}
        stop = int(np.append(0, slot.history.array("step"))[-1]) + 1  # the step that failed
        parts.append(
            f"{kind.upper()} {f'stopped at step {stop}' if stopped else 'ran on'}, gradient "
            f"norm up to {_num(peak_grad)}, loss up to {_num(peak_loss)} × baseline, largest "
            f"singular value of its recurrent weights {_num(sigma[0])} → {_num(sigma[-1])}"
        )
    clipped = rerun(lesson.config.replace(clip=COUNTERPART_CLIP), lesson.steps)
    calm = all(s.trained == lesson.steps and s.recent < 1 for s in clipped.values())
    figures |= {f"{k}_clipped_loss": s.recent for k, s in clipped.items()}
    losses = _each({k: s.recent for k, s in clipped.items()})
    outcome = f"all {lesson.steps} steps trained, nothing stopped, loss ended at {losses}"
    outcome = outcome if calm else f"did not train cleanly either ({losses})"
    summary = f"Without clipping: {'; '.join(parts)}. The same settings with clipping at "
    summary += f"{COUNTERPART_CLIP:g}: {outcome} of the baseline."
    return ClaimResult(blew_up and calm, summary, figures)


def _check_masks(lesson: Lesson, trainer: Trainer) -> ClaimResult:
    batch, task = trainer.probe_batch, trainer.task
    pad = ~batch.valid
    # Fill every padded input with loud noise: if padding leaked, the loss would move.
    noisy, gen = batch.x.clone(), torch.Generator().manual_seed(0)
    noisy[pad] = 5 * torch.randn(int(pad.sum()), batch.x.shape[-1], generator=gen)
    loss_change, grad_on_pad, hidden = 0.0, 0.0, True
    for slot in trainer.slots.values():
        with torch.no_grad():
            clean = task.loss_per_sample(slot.model(batch.x), batch)
            altered = task.loss_per_sample(slot.model(noisy), batch)
        loss_change = max(loss_change, float((clean - altered).abs().max()))
        # The probe hides padding as NaN, so recompute the raw gradient to see it is exactly 0.
        out = unroll(slot.model, batch.x, slot.intervention)
        loss = task.loss_per_sample(out.output, batch).sum()
        norms = torch.stack(torch.autograd.grad(loss, out.states[-1]), dim=1).norm(dim=-1)
        grad_on_pad = max(grad_on_pad, float(norms[pad].max()) if pad.any() else 0.0)
        shown = [slot.latest.grad_h_norm[-1]] + [v[-1] for v in slot.latest.traces.values()]
        for values in shown:  # gaps exactly on padding: all NaN there, none elsewhere
            nan = np.isnan(values) if values.ndim == 2 else np.isnan(values).any(-1)
            hidden &= np.array_equal(nan, pad.numpy())
    losses, padded = _losses(trainer), int(pad.sum())
    holds = padded > 0 and loss_change == grad_on_pad == 0 and hidden and losses["gru"] < 0.5
    gradient = "exactly 0" if grad_on_pad == 0 else f"up to {_num(grad_on_pad)}"
    blank = "leaves those steps blank" if hidden else "does not blank all padded steps"
    summary = (
        f"Filling all {padded} padded steps of the probe sequences with random noise changed "
        f"the loss by {loss_change:g}. ∂L/∂h_t after each sequence's end is {gradient}; the "
        f"app {blank} in every trace. Loss over the last {RECENT} steps: {_each(losses)} of "
        "the baseline."
    )
    figures = {"padded_steps": float(padded), "loss_change": loss_change, "hidden": float(hidden)}
    figures |= {"grad_on_padding": grad_on_pad, **{f"{k}_loss": v for k, v in losses.items()}}
    return ClaimResult(bool(holds), summary, figures)


def _check_gate_bias(lesson: Lesson, trainer: Trainer) -> ClaimResult:
    gru, losses = trainer.slots["gru"], _losses(trainer)
    first = gru.snapshots.results[0]
    z0, reach0 = float(np.mean(first.traces["z"])), _reach(first)
    plain_cfg = lesson.config.replace(models=("gru",), z_bias=0.0)  # same batches, no bias
    plain = rerun(plain_cfg, lesson.steps)["gru"]
    holds = losses["gru"] < 0.8 and plain.recent > 0.95 and reach0 > 1e3 * plain.reach_at_init
    summary = (
        f"With the bias, z started at {z0:.2f} on average and {_num(reach0)} of the last "
        f"step's gradient reached t = 0; by step {trainer.step_count} the GRU's loss is "
        f"{_pct(losses['gru'])} of chance. The same GRU started without it (z ≈ "
        f"{plain.z_at_init:.2f}, {_num(plain.reach_at_init)} of the gradient reaching t = 0) "
        f"is still at {_pct(plain.recent)} of chance after the same batches (the RNN: "
        f"{_pct(losses.get('rnn', math.nan))})."
    )
    figures = {"gru_loss": losses["gru"], "z_init": z0, "reach_init": reach0}
    figures |= {"plain_gru_loss": plain.recent, "plain_reach_init": plain.reach_at_init}
    return ClaimResult(bool(holds), summary, figures)


# -- the lessons ----------------------------------------------------------------------------
# Prose kept as prose: per lesson "key | title", then the four texts; each claim was measured.
_GUIDES = """
forget | Why plain RNNs forget
predict: Both models must add the two marked values of a 50-step sequence; the first can lie 49
steps before the answer. Which model gets below the dashed baseline, and which stays on it?
look_at: Loss: the RNN stays on the baseline while the GRU drops far below it after about 150–200
steps. ‖∂L/∂h_t‖ over time: at initialisation (dotted) both lines fall by many orders of magnitude
towards t = 0; as the GRU learns, its line lifts at the early steps, the RNN's stays down.
meaning: The loss is read only at the last step, so the only signal for remembering the first value
is the gradient that travels back through every step. In the RNN each step back multiplies it by
tanh′(·) W_hh, which here shrinks it: almost nothing reaches the early steps. Where the GRU's update
gate is near 1, h_t ≈ h_{t−1}: that step passes the gradient back without shrinking it.
try_next: Set the sequence length to 100 and train again: the GRU still gets below half the
baseline (in our run by about step 220); the RNN stays on it.

update_gate | The update gate as a memory switch
predict: The models see 3 symbols, 20 blank steps, then must recall the symbols. Where will the
GRU's update gate z sit near 1 (keep the old state), and where lower (take in something new)?
look_at: Gates: many units of the GRU's z are bright (z ≈ 1, keep) through the blank lag and darker
on the first 3 steps, where the symbols arrive. Loss: the GRU falls far below chance (log 4) after
about 250 steps. Prediction vs target: on the recall steps P(right symbol) climbs towards 1.
meaning: h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}: where z ≈ 1 a unit carries its value forward
untouched; where z is lower it takes in the candidate n_t. The trained GRU uses z as a switch:
write on the symbol steps, hold through the lag.
try_next: Raise the lag (sequence length) to 40 and train again: this GRU now stays at chance for
hundreds of steps. Then try the lesson 'A positive update-gate bias for long memory'.

reset_gate | What the reset gate is for
predict: The output must be the value shown at the latest marker, so each marker makes the
remembered value worthless. Should the candidate n_t then listen to the old state or ignore it?
look_at: Gates: the GRU's reset gate r turns darker (lower) at the marker steps in most units; z
dips there too (markers: 'Input of this probe sequence'). Prediction vs target: the GRU's output
jumps to the new value at each marker. Loss: the GRU ends near 0.
meaning: n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn)): the lower r, the less the
candidate depends on the old state. At a marker the old value must be overwritten, not blended:
the trained GRU lowers r there (not to 0: it damps the old state rather than cutting it off), and
lowers z so that the new candidate is written into h.
try_next: Set the noise to 0.3 and train again: do r and z still dip at the markers?

exploding | Exploding gradients and clipping
predict: Plain SGD, a large learning rate (1.0) and no gradient clipping. Will the GRU's gates
protect it where the RNN fails?
look_at: Gradient norm per step: within a few steps it climbs from about 1 to 10⁷ and beyond for
both models, then both are stopped (in red). Loss (log scale): it soars by orders of magnitude.
meaning: A large gradient times a large learning rate throws the weights far away; the recurrent
weights grow, and each next gradient is larger still. Gates shape how gradients flow back through
time but do not bound their size: the GRU blows up too. Clipping scales any gradient whose norm
exceeds the threshold down to it. The check reruns these settings with clipping at 1.
try_next: Set 'Gradient clipping' to 1, press Reset, then Play: the gradient norm still spikes
above the clip line at times, but the updates stay small and both models learn.

masks | Masks and missing data
predict: Sequences now have different lengths (15 to 30 steps), padded with zeros to 30. Can
whatever sits in the padding change the loss or the learning?
look_at: ‖∂L/∂h_t‖ over time, Hidden states and Gates: nothing is drawn after each sequence's end
(pick other probe sequences to see other lengths). Prediction vs target: each sequence is scored
on its own last step. Loss: the GRU still drops below the baseline; the RNN stays on it.
meaning: The loss mask scores each sequence only at its own last step, and a recurrent model only
looks backwards, so steps after the end cannot reach the loss: their gradient is exactly 0. The app
leaves them blank (NaN) rather than drawing zeros that would look like a vanishing gradient.
try_next: Switch the task to 'Missing values': nothing is padded there; instead a second input
channel says whether each value was observed (1) or not (0).

gate_bias | A positive update-gate bias for long memory
predict: The copy task with a 40-step lag, and the GRU's update-gate bias set to +2: z ≈ σ(2) ≈ 0.88
everywhere, so it starts out keeping most of its state. Will it leave chance sooner than at z ≈ 0.5?
look_at: Gates: z starts bright everywhere. ‖∂L/∂h_t‖ over time: at initialisation (dotted) about
2% of the last step's gradient already reaches the first symbol step. Loss: the GRU leaves chance
(log 4) within about 150 steps and settles a little above half of it.
meaning: With z ≈ 0.88 each step keeps 88% of the old state, so from the start memory and gradient
fade far more slowly across the lag than with z ≈ 0.5: the GRU gets a learning signal from the
distant symbols at once. (An LSTM's positive forget-gate bias does the same.) The check trains
the same GRU without the bias, on the same batches, to compare.
try_next: Keep training past step 200: the loss sits a little above half of chance, then falls
again as the GRU learns to recall all three symbols (in our run by about step 800).
"""


def _guides(text: str) -> dict[str, dict[str, str]]:
    """{key: {"title": ..., "predict": ..., ...}} from the blocks above, lines rejoined."""
    guides = {}
    for block in text.strip().split("\n\n"):
        head, body = block.split("\n", 1)
        key, title = (part.strip() for part in head.split("|"))
        parts = re.split(r"^(predict|look_at|meaning|try_next): ", body, flags=re.MULTILINE)
        texts = zip(parts[1::2], parts[2::2], strict=True)
        guides[key] = {"title": title, **{name: " ".join(t.split()) for name, t in texts}}
    return guides


_GUIDE = _guides(_GUIDES)
# Configs are as cheap as each claim allows (measured on seeds 0-3): the tests train every one.
_SGD = RunConfig(task="forecast", seq_len=30, batch_size=32, optimizer="sgd", lr=1.0, clip=0.0)
_PLAN = (  # key, config, training steps, the claim's check
    ("forget", RunConfig(task="adding", seq_len=50), 260, _check_forgetting),
    ("update_gate", RunConfig(task="copy", seq_len=20), 300, _check_update_gate),
    ("reset_gate", RunConfig(task="reset", seq_len=30), 200, _check_reset_gate),
    ("exploding", _SGD, 100, _check_exploding),
    ("masks", RunConfig(task="varlen", seq_len=30), 220, _check_masks),
    ("gate_bias", RunConfig(task="copy", seq_len=40, z_bias=2.0), 200, _check_gate_bias),
)
LESSONS: dict[str, Lesson] = {
    key: Lesson(key, config=cfg, steps=steps, **_GUIDE[key]) for key, cfg, steps, _ in _PLAN
}
_CHECKS: dict[str, Callable[[Lesson, Trainer], ClaimResult]] = {p[0]: p[3] for p in _PLAN}


def check_claim(lesson: Lesson, trainer: Trainer) -> ClaimResult:
    """Evaluate the lesson's claim on the trainer's own numbers (read-only; cheap, but for the
    first check of a lesson that compares with a rerun: that trains once, then is cached)."""
    kinds = " and ".join(kind.upper() for kind in lesson.config.models)
    if trainer.cfg.task != lesson.config.task or set(lesson.config.models) - set(trainer.slots):
        text = f"This lesson's claim is about {kinds} on the {lesson.config.task} task; "
        return ClaimResult(False, text + "this run is different.", {})
    step = trainer.step_count
    if step < lesson.steps and trainer.active:
        text = f"Not checked yet: the claim needs {lesson.steps} training steps (now at {step})."
        return ClaimResult(False, text, {"step": float(step), "steps_needed": float(lesson.steps)})
    result = _CHECKS[lesson.key](lesson, trainer)
    theirs = trainer.cfg.as_dict()  # how often it probes never changes training: ignore it
    diff = {k for k, v in lesson.config.as_dict().items() if v != theirs[k]} - {"probe_every"}
    changed = [f.label for f in FIELDS if f.name in diff]
    note = f" (Settings changed from the lesson's: {', '.join(changed)}.)" if changed else ""
    return ClaimResult(result.holds, result.summary + note, {"step": float(step), **result.figures})


def apply_lesson(lesson: Lesson) -> Trainer:
    """A fresh Trainer for the lesson (its config carries any update-gate bias)."""
    return Trainer(lesson.config)
