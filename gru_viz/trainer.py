"""Train several models side by side on the same batches, and probe them on a cadence.

The trainer knows nothing of what the views draw (idea from minGPT's trainer): it exposes
``step(n)``, ``run_for(seconds)``, ``probe_all()`` and callbacks, and keeps bounded numpy
records of what happened. No I/O, no Streamlit.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from gru_viz.config import RunConfig, changed_fields, describe_changes
from gru_viz.kinds import KINDS
from gru_viz.models import (
    NO_INTERVENTION,
    Intervention,
    SequenceModel,
    build_model,
    forward,
)
from gru_viz.probe import probe
from gru_viz.records import BoundedSeries, Event, ProbeResult, ProbeSnapshots
from gru_viz.tasks import get_task

PROBE_SEED_OFFSET = 7_919  # the probe batch is drawn from its own generator, never trained on
PARAM_GROUPS = ("input", "recurrent", "bias", "readout")
# Kinds whose update gate z (rows [r | z | n]) keeps the old state at 1: the update-gate bias
# setting applies to them. (In the blog formulas z = 1 writes, and the MGU has no z.)
UPDATE_GATE_KEEPS = ("gru", "gru_cho")


def parameter_count(kind: str, inputs: int, hidden: int, layers: int, outputs: int) -> int:
    """Weights of a SequenceModel, from the shapes of torch.nn.GRU/RNN/LSTM and the readout."""
    blocks = KINDS[kind].gate_blocks
    first = blocks * hidden * (inputs + hidden + 2)
    later = (layers - 1) * blocks * hidden * (2 * hidden + 2)
    return first + later + hidden * outputs + outputs


def scale_recurrent_weights(model: SequenceModel, factor: float) -> None:
    """Multiply every layer's recurrent weights W_hh (all gate blocks) by ``factor`` in place:
    the exploding-gradient lesson's σ_max(W_hh) > 1 (Pascanu et al. 2013)."""
    with torch.no_grad():
        for name, parameter in model.rnn.named_parameters():
            if name.startswith("weight_hh"):
                parameter.mul_(factor)


def model_seed(seed: int, kind: str) -> int:
    """Each kind has its own seed, so adding the LSTM never changes the GRU's weights."""
    return seed * 1000 + KINDS[kind].seed_offset


def hidden_sizes_for(cfg: RunConfig, inputs: int, outputs: int) -> dict[str, int]:
    """Each model's hidden size: cfg.hidden_size, or matched to the GRU's parameter count."""
    if cfg.size_by == "units":
        return dict.fromkeys(cfg.models, cfg.hidden_size)
    target = parameter_count("gru", inputs, cfg.hidden_size, cfg.num_layers, outputs)
    return {
        kind: cfg.hidden_size
        if kind == "gru"
        else min(
            range(1, 4 * cfg.hidden_size + 1),
            key=lambda h, k=kind: abs(
                parameter_count(k, inputs, h, cfg.num_layers, outputs) - target
            ),
        )
        for kind in cfg.models
    }


def _param_group(name: str) -> str:
    if name.startswith("readout"):
        return "readout"
    if ".bias" in name:
        return "bias"
    return "recurrent" if ".weight_hh" in name else "input"


@dataclass
class ModelSlot:
    """One model with its optimizer, records and status."""

    kind: str
    model: SequenceModel
    # Built on first use: the first torch.optim optimizer of a process imports torch._dynamo
    # (about 1.5 s), which the first chart of a fresh server need not wait for.
    make_optimizer: Callable[[], torch.optim.Optimizer]
    history: BoundedSeries = field(default_factory=BoundedSeries)
    probe_series: BoundedSeries = field(default_factory=lambda: BoundedSeries(500))
    snapshots: ProbeSnapshots = field(default_factory=ProbeSnapshots)
    latest: ProbeResult | None = None
    stopped: str | None = None  # why training of this model stopped, if it did
    intervention: Intervention = NO_INTERVENTION
    intervene_in_training: bool = False
    _last_good: list[torch.Tensor] = field(default_factory=list)
    # Weights at the last probe whose loss was finite: what Restore rewinds to, since the
    # weights just before a blow-up are often finite yet already give an infinite loss.
    _healthy: tuple[int, list[torch.Tensor]] | None = None

    _optimizer: torch.optim.Optimizer | None = None

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        if self._optimizer is None:
            self._optimizer = self.make_optimizer()
        return self._optimizer

    def renew_optimizer(self, cfg: RunConfig) -> None:
        """A fresh optimizer (no momentum or Adam state) for ``cfg``, built on next use."""
        self.make_optimizer = functools.partial(make_optimizer, cfg, self.model)
        self._optimizer = None

    @property
    def parameters(self) -> list[torch.nn.Parameter]:
        return list(self.model.parameters())

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def make_optimizer(cfg: RunConfig, model: SequenceModel) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr)
    return torch.optim.Adam(model.parameters(), lr=cfg.lr)


class Trainer:
    """Trains ``cfg.models`` on one shared, seeded stream of batches."""

    def __init__(
        self,
        cfg: RunConfig,
        on_step_end: Callable[[Trainer], None] | None = None,
        on_probe: Callable[[Trainer], None] | None = None,
        hidden_sizes: dict[str, int] | None = None,
    ):
        self.cfg = self.initial_cfg = cfg
        self.events: list[Event] = []  # what changed while it trained, in order
        self.task = get_task(cfg.task)
        self.on_step_end = on_step_end
        self.on_probe = on_probe
        self.step_count = 0
        self.probe_seconds = 0.0  # wall time spent probing, for overhead benchmarks
        self.data_generator = torch.Generator().manual_seed(cfg.seed)
        self.probe_batch = self.task.generate(
            cfg, cfg.probe_samples, torch.Generator().manual_seed(cfg.seed + PROBE_SEED_OFFSET)
        )
        inputs = self.probe_batch.x.shape[-1]
        outputs = self.task.output_size(cfg)
        hidden_sizes = hidden_sizes or hidden_sizes_for(cfg, inputs, outputs)
        self.slots: dict[str, ModelSlot] = {}
        for kind in cfg.models:
            model = build_model(
                kind,
                inputs,
                hidden_sizes.get(kind, cfg.hidden_size),
                cfg.num_layers,
                outputs,
                model_seed(cfg.seed, kind),
            )
            if kind in UPDATE_GATE_KEEPS and cfg.z_bias != 0:
                model.set_update_gate_bias(cfg.z_bias)
            if kind == "lstm" and cfg.f_bias != 0:
                model.set_forget_gate_bias(cfg.f_bias)
            if cfg.recurrent_scale != 1:
                scale_recurrent_weights(model, cfg.recurrent_scale)
            self.slots[kind] = ModelSlot(kind, model, functools.partial(make_optimizer, cfg, model))
        self.probe_all()

    # -- training -------------------------------------------------------------------------
    @property
    def active(self) -> list[ModelSlot]:
        return [slot for slot in self.slots.values() if slot.stopped is None]

    def step(self, n: int = 1) -> int:
        """Train every running model for up to ``n`` steps; returns the steps taken."""
        done = 0
        for _ in range(n):
            if not self.active:
                break
            batch = self.task.generate(self.cfg, self.cfg.batch_size, self.data_generator)
            self.step_count += 1
            for slot in self.active:
                self._train_one(slot, batch)
            done += 1
            if self.on_step_end:
                self.on_step_end(self)
            if self.step_count % self.cfg.probe_every == 0:
                self.probe_all()
        return done

    def run_for(self, seconds: float, max_steps: int | None = None) -> int:
        """Train until ``seconds`` of wall time have passed (at least one step)."""
        start, done = time.perf_counter(), 0
        while max_steps is None or done < max_steps:
            if not self.step(1):
                break
            done += 1
            if time.perf_counter() - start >= seconds:
                break
        return done

    def _train_one(self, slot: ModelSlot, batch) -> None:
        params = slot.parameters
        for p in params:
            p.grad = None
        iv = slot.intervention if slot.intervene_in_training else NO_INTERVENTION
        prediction = forward(slot.model, batch.x, iv)
        loss = self.task.loss(prediction, batch)
        loss.backward()
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        sq_norms = torch.stack(torch._foreach_norm(grads)) ** 2
        names = [name for name, _ in slot.model.named_parameters()]
        group_sq = dict.fromkeys(PARAM_GROUPS, 0.0)
        for name, value in zip(names, sq_norms.tolist(), strict=True):
            group_sq[_param_group(name)] += value
        total = math.sqrt(sum(group_sq.values()))
        loss_value = float(loss.detach())
        if not (math.isfinite(loss_value) and math.isfinite(total)):
            self._stop(
                slot,
                f"loss or gradient became {'NaN' if math.isnan(total) else 'inf'} "
                f"at step {self.step_count}; weights kept from the step before",
            )
            return
        clip = self.cfg.clip_norm
        if clip is not None and total > clip:
            torch._foreach_mul_(grads, clip / (total + 1e-6))
        if slot._last_good:
            torch._foreach_copy_(slot._last_good, [p.detach() for p in params])
        else:
            slot._last_good = [p.detach().clone() for p in params]
        slot.optimizer.step()
        if not all(bool(torch.isfinite(p).all()) for p in params):
            with torch.no_grad():
                torch._foreach_copy_([p.data for p in params], slot._last_good)
            self._stop(
                slot,
                f"the update at step {self.step_count} made the weights non-finite; "
                "weights kept from the step before",
            )
            return
        slot.history.append(
            self.step_count,
            loss=loss_value,
            grad_norm=total,
            **{f"grad_{g}": math.sqrt(v) for g, v in group_sq.items()},
            # a task with several heads: each head's loss of this batch, raw and over its
            # baseline (loss_head_<id>, share_head_<id>); nothing for a task with one
            **self.task.head_losses(prediction.detach(), batch),
        )

    def _stop(self, slot: ModelSlot, reason: str) -> None:
        slot.stopped = (
            f"{KINDS[slot.kind].title} stopped: {reason}. Lower the learning rate or "
            "turn on gradient clipping, then restore it (it rewinds to the last healthy probe)."
        )
        self._probe_one(slot)

    def restore(self, kind: str) -> int:
        """Resume a stopped model from its last healthy probe with a fresh optimizer.

        Returns the training step whose weights it resumed from.
        """
        slot = self.slots[kind]
        step = self.step_count
        if slot._healthy is not None:
            step, weights = slot._healthy
            with torch.no_grad():
                torch._foreach_copy_([p.data for p in slot.parameters], weights)
        slot.stopped = None
        slot.renew_optimizer(self.cfg)
        self._probe_one(slot)
        text = f"{KINDS[kind].title} restored to its weights at step {step}, fresh optimizer"
        self.events.append(Event(self.step_count, "restore", text))
        return step

    def apply_live(self, cfg: RunConfig) -> None:
        """Apply settings that need no rebuild (learning rate, optimizer, clipping, ...)."""
        if cfg.structural_changes(self.cfg):
            raise ValueError(f"needs a rebuild: {', '.join(cfg.structural_changes(self.cfg))}")
        optimizer_changed = cfg.optimizer != self.cfg.optimizer
        changes = changed_fields(self.cfg, cfg)
        if changes:
            text = describe_changes(self.cfg, cfg)
            self.events.append(Event(self.step_count, "settings", text, changes=changes))
        self.cfg = cfg
        for slot in self.slots.values():
            if optimizer_changed or slot._optimizer is None:
                slot.renew_optimizer(cfg)
                continue
            for group in slot.optimizer.param_groups:
                group["lr"] = cfg.lr

    # -- probing --------------------------------------------------------------------------
    def probe_all(self) -> None:
        for slot in self.active:
            self._probe_one(slot)
        if self.on_probe:
            self.on_probe(self)

    def _probe_one(self, slot: ModelSlot) -> None:
        start = time.perf_counter()
        result = probe(slot.model, self.task, self.probe_batch, self.step_count, slot.intervention)
        self.probe_seconds += time.perf_counter() - start
        slot.latest = result
        if slot.stopped is None and np.isfinite(result.loss).all():
            slot._healthy = (self.step_count, [p.detach().clone() for p in slot.parameters])
        slot.snapshots.add(result)
        with np.errstate(over="ignore"):  # a diverged model's loss may be inf: so be it
            probe_loss = float(result.loss.astype(np.float64).mean())
        slot.probe_series.append(self.step_count, sigma_max=result.sigma_max, probe_loss=probe_loss)

    def probe_loss_without_intervention(self, kind: str) -> float:
        """The probe batch's mean loss through the model as it is, with no intervention (what an
        intervention's probe loss is compared with)."""
        model = self.slots[kind].model
        with torch.no_grad():
            losses = self.task.loss_per_sample(model(self.probe_batch.x), self.probe_batch)
        return float(losses.double().mean())

    def set_intervention(
        self, kind: str, intervention: Intervention, in_training: bool = False
    ) -> None:
        """Change one model's cell for probing (and training, if asked); shows in the probe at
        once. ``set_interventions`` does it for every model and records one event."""
        slot = self.slots[kind]
        slot.intervention = intervention
        slot.intervene_in_training = in_training and intervention.active
        self._probe_one(slot)

    def set_interventions(self, intervention: Intervention, in_training: bool = False) -> None:
        """Gate clamps act on the models whose gates they name (the GRU's z and r); ablation
        on every model's units. Recorded as one event when anything changed."""
        clamps_only = Intervention(ablate_units=intervention.ablate_units)
        before = {k: (s.intervention, s.intervene_in_training) for k, s in self.slots.items()}
        for kind in self.slots:
            gated = {"z", "r"} <= set(KINDS[kind].gates)
            self.set_intervention(kind, intervention if gated else clamps_only, in_training)
        after = {k: (s.intervention, s.intervene_in_training) for k, s in self.slots.items()}
        if after != before:
            on = intervention.active
            where = " (probe and training)" if on and in_training else " (probe only)" if on else ""
            text = (intervention.describe() if on else "interventions cleared") + where
            # It changes training when it starts or ends an intervention that acts on training.
            affects = any(t for _, t in after.values()) or any(t for _, t in before.values())
            self.events.append(Event(self.step_count, "intervention", text, affects))
