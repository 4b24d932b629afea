"""Numbers the lesson claims read off a run, and the comparison runs they train.

Losses are shares of the task's baseline (``numbers.share_of``); "reach" is how much of the
gradient at the last step arrives at the first: ‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gru_viz.config import RunConfig
from gru_viz.lessons.comparisons import Comparisons, Pending
from gru_viz.models import Intervention
from gru_viz.numbers import RECENT, format_number, recent_loss, share_of
from gru_viz.records import BoundedSeries, ProbeResult
from gru_viz.trainer import ModelSlot, Trainer


def recent_share(history: BoundedSeries, baseline: float, at_step: int | None = None) -> float:
    """The loss now (mean of the last RECENT steps, up to ``at_step``) as a baseline share."""
    losses, steps = history.array("loss"), history.array("step")
    if at_step is not None:
        losses = losses[steps <= at_step]
    return share_of(recent_loss(losses), baseline)


def losses(trainer: Trainer) -> dict[str, float]:
    base = trainer.task.baseline(trainer.cfg)
    return {k: recent_share(s.history, base) for k, s in trainer.slots.items()}


def reach(result: ProbeResult) -> float:
    """‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖ averaged over the probe samples (top layer)."""
    grad = result.grad_h_norm[-1][:, [0, -1]]
    with np.errstate(divide="ignore", invalid="ignore"):  # NaN, not a warning, when undefined
        first, last = np.nansum(grad, axis=0) / np.sum(~np.isnan(grad), axis=0)
        return float(np.float64(first) / last)


def pct(fraction: float) -> str:
    if math.isnan(fraction):
        return "—"
    return f"{100 * fraction:.1f}%" if fraction < 0.1 else f"{100 * fraction:.0f}%"


def num(value: float) -> str:
    """Two significant digits, for people: 0.0052, 3.8 × 10⁻⁵ (never "5e-03")."""
    return format_number(value, 2)


def each(values: dict[str, float]) -> str:
    return ", ".join(f"{kind.upper()} {pct(v)}" for kind, v in values.items())


def marker_units(trainer: Trainer, result: ProbeResult, gate: str) -> tuple[np.ndarray, ...]:
    """Per unit: the gate's mean on marker steps and elsewhere (top layer). Step 0 is left
    out: with h_{-1} = 0 there is no old state to keep or reset."""
    marker = trainer.probe_batch.x[..., 1].numpy() > 0.5
    other = ~marker
    marker[:, 0] = other[:, 0] = False
    values = result.traces[gate][-1]
    return values[marker].mean(0), values[other].mean(0)


def marker_split(trainer: Trainer, result: ProbeResult, gate: str) -> tuple[float, float, float]:
    """Mean gate on marker steps, elsewhere, and the share of units lower at markers."""
    at_marker, elsewhere = marker_units(trainer, result, gate)
    return float(at_marker.mean()), float(elsewhere.mean()), float(np.mean(at_marker < elsewhere))


# -- comparison runs -------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSummary:
    """A few numbers from a comparison run: all a claim needs, small enough to cache."""

    trained: int  # steps with a finite loss; fewer than asked means it was stopped
    recent: float  # loss now / baseline
    reach_at_init: float
    z_at_init: float  # GRU only; NaN otherwise
    f_at_init: float  # the forget gate f (LSTM, MGU); NaN otherwise
    stopped: bool
    peak_loss: float  # largest training loss / baseline
    peak_grad: float  # largest total gradient norm, before clipping
    above_clip: float  # share of steps whose gradient norm exceeded the clip (NaN: no clip)


COMPARISONS: Comparisons[dict[str, RunSummary]] = Comparisons()  # one per server process


def _summarise(trainer: Trainer) -> dict[str, RunSummary]:
    cfg, base = trainer.cfg, trainer.task.baseline(trainer.cfg)
    summary = {}
    for kind, slot in trainer.slots.items():
        first = slot.snapshots.results[0]
        grads = slot.history.array("grad_norm")
        peak_loss = share_of(float(np.max(slot.history.array("loss"), initial=0.0)), base)
        above = float(np.mean(grads > cfg.clip)) if cfg.clip > 0 and len(grads) else math.nan
        summary[kind] = RunSummary(
            trained=len(slot.history),
            recent=recent_share(slot.history, base),
            reach_at_init=reach(first),
            z_at_init=float(np.mean(first.traces.get("z", np.nan))),
            f_at_init=float(np.mean(first.traces.get("f", np.nan))),
            stopped=slot.stopped is not None,
            peak_loss=peak_loss,
            peak_grad=float(np.max(grads, initial=0.0)),
            above_clip=above,
        )
    return summary


def compare(
    cfg: RunConfig,
    steps: int,
    intervention: Intervention | None = None,
    wait: bool = False,
) -> dict[str, RunSummary] | Pending | Exception:
    """``cfg`` trained ``steps`` steps headless (with ``intervention`` in training, if given),
    summarised per model: at once if cached or ``wait``, else queued for the worker."""
    cfg = cfg.replace(probe_every=1000)  # only the initial probe is read

    def run(report: Callable[[float], None]) -> dict[str, RunSummary]:
        trainer = Trainer(cfg)
        if intervention is not None:
            trainer.set_interventions(intervention, in_training=True)
        for done in range(steps):
            if not trainer.step(1):
                break
            report((done + 1) / steps)
        return _summarise(trainer)

    return COMPARISONS.get((cfg, steps, intervention), run, wait=wait)


def waiting_text(pending: Pending, what: str) -> str:
    if pending.busy:
        return f"The server is busy with other comparisons; {what} will start in a moment."
    if pending.queued > 1:
        return f"Queued behind {pending.queued - 1} other comparison(s): {what}."
    return f"Comparing: {what} ({pct(pending.progress)} done)."


def slot_recent(slot: ModelSlot, baseline: float) -> float:
    return recent_share(slot.history, baseline)


RECENT_STEPS = RECENT
