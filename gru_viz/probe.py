"""Replay the fixed probe batch through the unrolled cell and record everything the views show."""

from __future__ import annotations

import numpy as np
import torch

from gru_viz.models import NO_INTERVENTION, Intervention, SequenceModel, unroll
from gru_viz.records import ProbeResult
from gru_viz.tasks import Batch, Task


def probe(
    model: SequenceModel,
    task: Task,
    batch: Batch,
    step: int,
    intervention: Intervention = NO_INTERVENTION,
) -> ProbeResult:
    """Unrolled pass with recording, plus the per-step state gradients.

    The per-sample losses are summed before differentiating, so the gradient that reaches
    sample s's states is that of its own loss L_s (samples do not interact).
    """
    out = unroll(model, batch.x, intervention, record=True)
    per_sample = task.loss_per_sample(out.output, batch)
    flat = [h for layer_states in out.states for h in layer_states]
    grads = torch.autograd.grad(per_sample.sum(), flat)
    layers, steps, samples = model.num_layers, batch.x.shape[1], batch.x.shape[0]
    norms = torch.stack([g.norm(dim=1) for g in grads]).reshape(layers, steps, samples)
    valid = batch.valid
    with torch.no_grad():
        traces = {
            name: _mask(torch.stack([rec[name] for rec in out.records]), valid)
            for name in out.records[0]
        }
        prediction = out.output.detach()
        if task.loss_kind == "ce":
            prediction = torch.softmax(prediction, dim=-1)
        return ProbeResult(
            step=step,
            kind=model.kind,
            traces=traces,
            grad_h_norm=_mask(norms.transpose(1, 2), valid, per_unit=False),
            prediction=_mask(prediction, valid),
            loss=per_sample.detach().numpy().astype(np.float32),
            sigma_max=model.recurrent_sigma_max(model.num_layers - 1),
            weights={k: v.detach().numpy().copy() for k, v in model.rnn.state_dict().items()},
            intervention=intervention,
        )


def _mask(values: torch.Tensor, valid: torch.Tensor, per_unit: bool = True) -> np.ndarray:
    """NaN where a step is padding. values: (..., B, T, H) if per_unit else (..., B, T)."""
    mask = valid.unsqueeze(-1) if per_unit else valid
    return torch.where(mask, values.detach(), torch.nan).float().numpy()
