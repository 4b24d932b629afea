"""Each lesson's claim, measured on the user's own run: holds or not, with the run's numbers.

A check reads the trainer (and, where the claim is a comparison, a rerun of the user's own setup
with one setting changed, on the same batches). It returns ``ClaimResult(pending=True)`` while
that rerun is still training. Thresholds were set from the phenomenon, not fitted to runs; the
tests hold every claim on its lesson's setup for seeds 0–7 and refute it on the controls.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from gru_viz.lessons.comparisons import Pending
from gru_viz.lessons.measure import (
    RECENT_STEPS,
    compare,
    each,
    losses,
    marker_split,
    marker_units,
    num,
    pct,
    reach,
    recent_share,
    waiting_text,
)
from gru_viz.models import NO_INTERVENTION
from gru_viz.numbers import share_of
from gru_viz.trainer import Trainer


@dataclass(frozen=True)
class ClaimResult:
    holds: bool
    summary: str  # plain language with the run's own numbers
    figures: dict[str, float] = field(default_factory=dict)  # "*_loss": shares of the baseline
    pending: bool = False  # a comparison is still training: check again shortly


def _pending(pending: Pending | Exception, what: str) -> ClaimResult:
    if isinstance(pending, Exception):
        return ClaimResult(False, f"The comparison run failed ({type(pending).__name__}).")
    return ClaimResult(False, waiting_text(pending, what), pending=True)


# -- why plain RNNs forget ----------------------------------------------------------------------
VANISHED = 1e-3  # at most this share of the last step's gradient reaches t = 0 at init
APART = 2.0  # decades between the GRU's and the RNN's reach after training


def forgetting(trainer: Trainer, steps: int, wait: bool) -> ClaimResult:
    loss = losses(trainer)
    init = {k: reach(trainer.slots[k].snapshots.results[0]) for k in ("gru", "rnn")}
    now = {k: reach(trainer.slots[k].latest) for k in ("gru", "rnn")}
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = float(np.log10(np.float64(now["gru"]) / now["rnn"]))
    learned = loss["rnn"] > 0.8 and loss["gru"] < 0.5
    vanished = max(init.values()) < VANISHED
    holds = learned and vanished and gap >= APART and now["gru"] > 1e3 * init["gru"]
    at_init = "vanished for both" if vanished else "not vanished: the sequence is short enough"
    apart = (
        f"{gap:.0f} orders of magnitude apart"
        if gap >= 1
        else "no order of magnitude apart"
        if gap > -1
        else f"the RNN's {-gap:.0f} orders of magnitude above the GRU's"
    )
    summary = (
        f"Loss over the last {RECENT_STEPS} steps: {each(loss)} of the baseline. At "
        f"initialisation the gradient reaching t = 0 was {num(init['gru'])} (GRU) and "
        f"{num(init['rnn'])} (RNN) of the gradient at the last step: {at_init}. At step "
        f"{trainer.slots['gru'].latest.step} it is {num(now['gru'])} for the GRU and "
        f"{num(now['rnn'])} for the RNN, {apart}."
    )
    named = {"loss": loss, "reach_init": init, "reach_now": now}
    figures = {f"{kind}_{name}": v for name, d in named.items() for kind, v in d.items()}
    return ClaimResult(bool(holds), summary, figures)


# -- the update gate as a memory switch ---------------------------------------------------------
KEEP_Z = 0.9  # z above this keeps ≥ 0.9^20 ≈ 12 % of a value across a 20-step lag


def update_gate(trainer: Trainer, steps: int, wait: bool) -> ClaimResult:
    gru, k, lag = trainer.slots["gru"], trainer.cfg.recall_len, trainer.cfg.seq_len
    z = gru.latest.traces["z"][-1]  # (samples, T, H)
    z_write, z_lag = z[:, :k].mean(axis=(0, 1)), z[:, k : k + lag].mean(axis=(0, 1))  # per unit
    keep = z_lag > KEEP_Z
    keep_write = float(z_write[keep].mean()) if keep.any() else math.nan
    loss, units = losses(trainer)["gru"], z.shape[-1]
    switch = z_lag.mean() - z_write.mean() >= 0.2 and keep_write < 0.7
    holds = bool(loss < 0.2 and switch and keep.sum() >= units / 4)
    summary = (
        f"GRU loss {pct(loss)} of chance. Update gate z at step {gru.latest.step}: "
        f"{z_lag.mean():.2f} on average through the {lag} lag steps, {z_write.mean():.2f} on "
        f"the {k} steps where the symbols arrive. {int(keep.sum())} of {units} units kept z "
        f"above {KEEP_Z} through the lag (such a unit keeps at least {KEEP_Z}^{lag} ≈ "
        f"{pct(KEEP_Z**lag)} of its value across it); on the symbol steps those units had "
        f"z = {keep_write:.2f}, letting the symbols in."
    )
    figures = {"z_lag": float(z_lag.mean()), "z_write": float(z_write.mean())}
    figures |= {"keeper_units": float(keep.sum()), "keepers_z_write": keep_write}
    return ClaimResult(holds, summary, {"gru_loss": loss, **figures})


# -- exploding gradients and clipping -----------------------------------------------------------
GROWTH = 10.0  # "grows back through time": at init ‖∂L/∂h_0‖ ≥ 10 × ‖∂L/∂h_{T−1}‖
HUGE_GRAD = 1e3  # a gradient norm this large somewhere in the unclipped run
BLOWN_UP = 100.0  # a loss above 100 × the baseline (or a stopped model) counts as blown up
COUNTERPART_CLIP = 1.0  # the comparison turns clipping on at this norm


def exploding(trainer: Trainer, steps: int, wait: bool) -> ClaimResult:
    base = trainer.task.baseline(trainer.cfg)
    figures, parts, grew, blew_up = {}, [], True, True
    for kind, slot in trainer.slots.items():
        reach0 = reach(slot.snapshots.results[0])
        grads, stopped = slot.history.array("grad_norm"), slot.stopped is not None
        first_grad = float(grads[0]) if len(grads) else math.nan
        peak_grad = float(np.max(grads, initial=0.0))
        peak_loss = share_of(float(np.max(slot.history.array("loss"), initial=0.0)), base)
        grew &= reach0 >= GROWTH
        blew_up &= (stopped or peak_loss > BLOWN_UP) and peak_grad >= HUGE_GRAD
        stop = int(np.append(0, slot.history.array("step"))[-1]) + 1  # the step that failed
        figures |= {f"{kind}_reach_init": reach0, f"{kind}_first_grad": first_grad}
        figures |= {f"{kind}_peak_grad": peak_grad, f"{kind}_peak_loss": peak_loss}
        parts.append(
            f"{kind.upper()}: at initialisation the gradient reaching t = 0 was {num(reach0)} × "
            f"the one at the last step; gradient norm {num(first_grad)} at step 1, up to "
            f"{num(peak_grad)}; {f'stopped at step {stop}' if stopped else 'ran on'}, loss up "
            f"to {num(peak_loss)} × baseline"
        )
    # The comparison: *these* settings (seed, scale, length) with only clipping turned on.
    clipped = compare(trainer.cfg.replace(clip=COUNTERPART_CLIP), steps, wait=wait)
    if not isinstance(clipped, dict):
        return _pending(clipped, f"your settings with clipping at {COUNTERPART_CLIP:g}")
    calm = all(
        s.trained == steps
        and not s.stopped
        and s.peak_loss <= BLOWN_UP
        and s.peak_grad >= 10 * COUNTERPART_CLIP
        for s in clipped.values()
    )
    figures |= {f"{k}_clipped_peak_loss": s.peak_loss for k, s in clipped.items()}
    figures |= {f"{k}_clipped_peak_grad": s.peak_grad for k, s in clipped.items()}
    figures |= {f"{k}_clipped_above_clip": s.above_clip for k, s in clipped.items()}
    unclipped = trainer.cfg.clip_norm is None
    each_clipped = "; ".join(
        f"{k.upper()} gradient above the line on {pct(s.above_clip)} of steps (up to "
        f"{num(s.peak_grad)}), loss at most {num(s.peak_loss)} × baseline, "
        f"{'stopped' if s.stopped else f'all {s.trained} steps trained'}"
        for k, s in clipped.items()
    )
    summary = ("Without clipping: " if unclipped else "This run is clipped: ") + "; ".join(parts)
    summary += f". Your settings with clipping at {COUNTERPART_CLIP:g}: {each_clipped}."
    if not grew:
        summary += (
            " The gradient did not grow back through time here, so a blow-up is the step "
            "size, not an exploding gradient."
        )
    return ClaimResult(bool(unclipped and grew and blew_up and calm), summary, figures)


# -- a positive update-gate bias for long memory ------------------------------------------------
BIAS_COMPARE_STEPS = 400  # the comparison trains at most this many steps (seconds, not minutes)


def gate_bias(trainer: Trainer, steps: int, wait: bool) -> ClaimResult:
    gru, base = trainer.slots["gru"], trainer.task.baseline(trainer.cfg)
    first = gru.snapshots.results[0]
    z0, reach0 = float(np.mean(first.traces["z"])), reach(first)
    figures = {"z_init": z0, "reach_init": reach0}
    if trainer.cfg.z_bias == 0:  # nothing to compare: the unbiased twin *is* this run
        loss = losses(trainer)["gru"]
        text = (
            f"This GRU has no update-gate bias (z started at {z0:.2f}), so there is no unbiased "
            f"twin to compare it with; its loss is {pct(loss)} of chance."
        )
        return ClaimResult(False, text, figures | {"gru_loss": loss})
    at = min(trainer.step_count, BIAS_COMPARE_STEPS)
    loss = recent_share(gru.history, base, at_step=at)
    # Your setup with only the bias removed: same seed, batches and other initial weights.
    plain = compare(trainer.cfg.replace(models=("gru",), z_bias=0.0), at, wait=wait)
    if not isinstance(plain, dict):
        return _pending(plain, f"your setup without the bias, trained {at} steps")
    plain_gru = plain["gru"]
    holds = loss < 0.8 and plain_gru.recent > 0.95 and reach0 > 1e3 * plain_gru.reach_at_init
    summary = (
        f"With the bias ({trainer.cfg.z_bias:g}), z started at {z0:.2f} on average and "
        f"{num(reach0)} of the last step's gradient reached t = 0; by step {at} the GRU's loss "
        f"was {pct(loss)} of chance. The same GRU without the bias (z ≈ "
        f"{plain_gru.z_at_init:.2f}, {num(plain_gru.reach_at_init)} reaching t = 0), trained "
        f"on the same batches, was at {pct(plain_gru.recent)} of chance."
    )
    figures |= {"gru_loss": loss, "plain_gru_loss": plain_gru.recent}
    figures |= {"plain_reach_init": plain_gru.reach_at_init, "compared_at": float(at)}
    return ClaimResult(bool(holds), summary, figures)


# -- padding: where the answer is read ----------------------------------------------------------
CHECK_SAMPLES, CHECK_SEED = 256, 2024  # held-out sequences: 8 probe sequences are too few
PAD_NOISE_RISE = 1.0  # noise in the padding must raise the GRU's loss by ≥ 1 × the baseline


def padding(trainer: Trainer, steps: int, wait: bool) -> ClaimResult:
    cfg, task = trainer.cfg, trainer.task
    batch = task.generate(cfg, CHECK_SAMPLES, torch.Generator().manual_seed(CHECK_SEED))
    pad = batch.padded if batch.padded is not None else torch.zeros_like(batch.valid)
    noisy = batch.x.clone()
    noise = torch.Generator().manual_seed(0)
    noisy[pad] = torch.randn(int(pad.sum()), batch.x.shape[-1], generator=noise)
    rows, last_real = torch.arange(len(pad)), (~pad).sum(1) - 1
    base = task.baseline(cfg)
    clean, altered, real_moved = {}, {}, 0.0
    for kind, slot in trainer.slots.items():
        with torch.no_grad():
            out, out_noisy = slot.model(batch.x), slot.model(noisy)
        clean[kind] = share_of(float(task.loss(out, batch)), base)
        altered[kind] = share_of(float(task.loss(out_noisy, batch)), base)
        moved = (out[rows, last_real] - out_noisy[rows, last_real]).abs().max()
        real_moved = max(real_moved, float(moved))  # always exactly 0: nothing reads ahead
    rise = altered["gru"] - clean["gru"]
    holds = bool(pad.any()) and clean["gru"] < 0.5 and rise >= PAD_NOISE_RISE
    where = (
        "the last (padded) step"
        if cfg.readout == "last_padded"
        else "each sequence's own last step"
    )
    summary = (
        f"This run reads the answer at {where}. On {CHECK_SAMPLES} held-out sequences with zero "
        f"padding the loss is {each(clean)} of the baseline; with random noise in the padding it "
        f"is {each(altered)}. Read at each sequence's own last step, the same models' answers "
        f"moved by {real_moved:g} when the padding changed."
    )
    figures = {f"{k}_loss_zero_pad": v for k, v in clean.items()}
    figures |= {f"{k}_loss_noise_pad": v for k, v in altered.items()}
    figures |= {"gru_noise_rise": rise, "real_step_change": real_moved}
    return ClaimResult(holds, summary, figures | {"padded_steps": float(pad.sum())})


# -- missing values need a mask -----------------------------------------------------------------
MASK_HELPS = 1.5  # without the mask channel the GRU's loss must be ≥ 1.5 × higher


def missing_mask(trainer: Trainer, steps: int, wait: bool) -> ClaimResult:
    cfg, loss = trainer.cfg, losses(trainer)
    flipped = "off" if cfg.observed_mask == "on" else "on"
    # Your setup with only the mask channel flipped, the GRU alone, the same batches.
    other = compare(cfg.replace(observed_mask=flipped, models=("gru",)), steps, wait=wait)
    if not isinstance(other, dict):
        return _pending(other, f"your setup with the mask channel {flipped}")
    with_mask = loss["gru"] if cfg.observed_mask == "on" else other["gru"].recent
    without = other["gru"].recent if cfg.observed_mask == "on" else loss["gru"]
    ratio = without / with_mask if with_mask > 0 else math.nan
    holds = with_mask < 0.5 and ratio >= MASK_HELPS
    summary = (
        f"{pct(cfg.missing_rate)} of the inputs are missing. With the observed-mask channel the "
        f"GRU's loss over the last {RECENT_STEPS} steps is {pct(with_mask)} of the baseline; the "
        f"same GRU on the same batches without it: {pct(without)} ({num(ratio)}×)."
    )
    if cfg.missing_rate > 0:
        summary += (
            " Without the mask a missing value arrives as a plain 0, a value the signal also "
            "takes: the mask channel is what tells the two apart."
        )
    figures = {"gru_loss_mask": with_mask, "gru_loss_no_mask": without, "ratio": ratio}
    return ClaimResult(bool(holds), summary, figures)


# -- what the reset gate does, and why the latch can do without it --------------------------
LEARNED = 0.05  # "learned the latch": under 5 % of the baseline


def reset_gate(trainer: Trainer, steps: int, wait: bool) -> ClaimResult:
    gru = trainer.slots["gru"]
    own = gru.intervention if gru.intervene_in_training else NO_INTERVENTION
    if own.clamp_reset is not None:
        text = (
            "This run already trains the GRU with r fixed; the claim compares a GRU that has its "
            "reset gate with one that does not."
        )
        return ClaimResult(False, text)
    without_r = dataclasses.replace(own, clamp_reset=1.0)
    # Your setup, the GRU alone, the same batches and start, r fixed at 1 (and whatever else
    # this run fixes in training).
    other = compare(trainer.cfg.replace(models=("gru",)), steps, without_r, wait=wait)
    if not isinstance(other, dict):
        return _pending(other, "your GRU trained again with r fixed at 1")
    loss = losses(trainer)
    r_mark, r_other, r_units = marker_split(trainer, gru.latest, "r")
    z_mark, z_other, _ = marker_split(trainer, gru.latest, "z")
    r0_mark, r0_other, _ = marker_split(trainer, gru.snapshots.results[0], "r")
    uses_r = r_other - r_mark >= 0.08 and r_units >= 0.75 and abs(r0_other - r0_mark) < 0.05
    without = other["gru"].recent
    holds = loss["gru"] < LEARNED and without < LEARNED and uses_r
    fixed_z = (
        f" (and, as in this run, z fixed at {own.clamp_update:g})"
        if own.clamp_update is not None
        else ""
    )
    outcome = (
        ", so it learned the latch without a reset gate."
        if without < LEARNED
        else ": without r it did not learn the latch."
    )
    summary = (
        f"GRU loss over the last {RECENT_STEPS} steps: {pct(loss['gru'])} of the baseline. It "
        f"uses r: r averages {r_mark:.2f} on marker steps against {r_other:.2f} elsewhere (lower "
        f"at the markers in {pct(r_units)} of the units; at initialisation {r0_mark:.2f} against "
        f"{r0_other:.2f}), and z {z_mark:.2f} against {z_other:.2f}. The same GRU trained on the "
        f"same batches with r fixed at 1{fixed_z}: {pct(without)} of the baseline{outcome}"
    )
    figures = {"gru_loss": loss["gru"], "gru_r1_loss": without, "r_marker": r_mark}
    figures |= {"r_other": r_other, "r_units": r_units, "r_marker_init": r0_mark}
    figures |= {"r_other_init": r0_other, "z_marker": z_mark, "z_other": z_other}
    return ClaimResult(bool(holds), summary, figures)


# -- the LSTM's forget-gate bias, at the GRU's parameter count -------------------------------
FORGET_LEARNED = 0.8  # the biased LSTM has left chance: under 80 % of it
AT_CHANCE = 0.99  # the unbiased LSTM has not: still above 99 % of chance
REACH_GAIN = 10.0  # the bias lets ≥ 10 × as much of the last step's gradient reach t = 0
FORGET_COMPARE_STEPS = 400  # the comparison trains at most this many steps


def forget_bias(trainer: Trainer, steps: int, wait: bool) -> ClaimResult:
    lstm, base = trainer.slots["lstm"], trainer.task.baseline(trainer.cfg)
    first = lstm.snapshots.results[0]
    f0, reach0 = float(np.mean(first.traces["f"])), reach(first)
    units = lstm.model.hidden_size
    figures = {"f_init": f0, "reach_init": reach0, "lstm_units": float(units)}
    at = min(trainer.step_count, FORGET_COMPARE_STEPS)
    loss = {k: recent_share(s.history, base, at_step=at) for k, s in trainer.slots.items()}
    gru = ""
    if "gru" in trainer.slots:
        slot = trainer.slots["gru"]
        figures["gru_reach_init"] = reach(slot.snapshots.results[0])
        gru = (
            f" The GRU beside it ({slot.model.hidden_size} units, {slot.parameter_count():,} "
            f"weights against the {units}-unit LSTM's {lstm.parameter_count():,}; "
            f"{num(figures['gru_reach_init'])} reaching t = 0 at initialisation) was at "
            f"{pct(loss['gru'])} of chance by then."
        )
    figures |= {f"{kind}_loss": v for kind, v in loss.items()}
    if trainer.cfg.f_bias == 0:  # nothing to compare: the unbiased twin *is* this run
        text = (
            f"This LSTM has no forget-gate bias (f started at {f0:.2f}), so there is no "
            f"unbiased twin to compare it with; by step {at} its loss was {pct(loss['lstm'])} "
            f"of chance.{gru}"
        )
        return ClaimResult(False, text, figures)
    # Your setup, the LSTM alone and without the bias: same seed, batches, size and weights.
    plain = compare(trainer.cfg.replace(models=("lstm",), f_bias=0.0), at, wait=wait)
    if not isinstance(plain, dict):
        return _pending(plain, f"your LSTM without the forget-gate bias, trained {at} steps")
    plain_lstm = plain["lstm"]
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = float(np.float64(reach0) / plain_lstm.reach_at_init)
    holds = loss["lstm"] < FORGET_LEARNED and plain_lstm.recent > AT_CHANCE and gain > REACH_GAIN
    summary = (
        f"With the forget-gate bias ({trainer.cfg.f_bias:+g}) the LSTM's f started at {f0:.2f} "
        f"on average and {num(reach0)} of the last step's gradient reached t = 0; by step {at} "
        f"its loss was {pct(loss['lstm'])} of chance. The same LSTM without the bias (f ≈ "
        f"{plain_lstm.f_at_init:.2f}, {num(plain_lstm.reach_at_init)} reaching t = 0, "
        f"{num(gain)} × less), trained on the same batches, was at {pct(plain_lstm.recent)} "
        f"of chance.{gru}"
    )
    figures |= {"plain_lstm_loss": plain_lstm.recent, "plain_reach_init": plain_lstm.reach_at_init}
    figures |= {"plain_f_init": plain_lstm.f_at_init, "compared_at": float(at)}
    return ClaimResult(bool(holds), summary, figures)


# -- the formula many blog posts print -------------------------------------------------------
GATE_APART = 0.02  # a gate's mean on marker steps and elsewhere differ by at least this


@dataclass(frozen=True)
class _MarkerGate:
    at_marker: float  # the gate's mean on marker steps
    elsewhere: float
    higher: float  # share of units whose gate is higher on marker steps
    lower: float

    @classmethod
    def of(cls, trainer: Trainer, kind: str, gate: str) -> _MarkerGate:
        at_marker, elsewhere = marker_units(trainer, trainer.slots[kind].latest, gate)
        return cls(
            float(at_marker.mean()),
            float(elsewhere.mean()),
            float(np.mean(at_marker > elsewhere)),
            float(np.mean(at_marker < elsewhere)),
        )

    def rises(self) -> bool:
        """Higher at the markers, on average and in most units."""
        return self.at_marker - self.elsewhere >= GATE_APART and self.higher > 0.5

    def falls(self) -> bool:
        return self.elsewhere - self.at_marker >= GATE_APART and self.lower > 0.5

    def text(self, rises: bool) -> str:
        share, way = (self.higher, "higher") if rises else (self.lower, "lower")
        return (
            f"{self.at_marker:.2f} on marker steps against {self.elsewhere:.2f} elsewhere "
            f"({way} at the markers in {pct(share)} of the units)"
        )


def blog_formula(trainer: Trainer, steps: int, wait: bool) -> ClaimResult:
    loss = losses(trainer)
    z = {k: _MarkerGate.of(trainer, k, "z") for k in ("gru", "blog")}
    r = {k: _MarkerGate.of(trainer, k, "r") for k in ("gru", "blog")}
    learned = loss["gru"] < LEARNED and loss["blog"] < LEARNED
    opposite = z["gru"].falls() and z["blog"].rises()
    ratio = share_of(loss["blog"], loss["gru"])
    gru = trainer.slots["gru"]
    own = gru.intervention if gru.intervene_in_training else NO_INTERVENTION
    summary = (
        f"Loss over the last {RECENT_STEPS} steps: GRU {pct(loss['gru'])}, blog formula "
        f"{pct(loss['blog'])} of the baseline (the blog cell's is {num(ratio)} × the GRU's). "
    )
    if own.clamp_update is not None:
        summary += (
            f"Both update gates were fixed at {own.clamp_update:g} while training, so neither z "
            "could move."
        )
    else:
        summary += (
            f"At step {gru.latest.step} the update gate z was {z['gru'].text(False)} in the "
            f"GRU, and {z['blog'].text(True)} in the blog cell. The reset gate r: "
            f"{r['gru'].at_marker:.2f} against {r['gru'].elsewhere:.2f} in the GRU, "
            f"{r['blog'].at_marker:.2f} against {r['blog'].elsewhere:.2f} in the blog cell."
        )
    if learned and opposite:
        summary += (
            " Both learned the latch, with update gates that move in opposite directions at the "
            "markers: the GRU's z keeps, the blog cell's z writes."
        )
    figures = {f"{k}_loss": v for k, v in loss.items()} | {"blog_to_gru": ratio}
    for kind in ("gru", "blog"):
        figures |= {f"{kind}_z_marker": z[kind].at_marker, f"{kind}_z_other": z[kind].elsewhere}
        figures |= {f"{kind}_r_marker": r[kind].at_marker, f"{kind}_r_other": r[kind].elsewhere}
    return ClaimResult(bool(learned and opposite), summary, figures)
