"""Export the current run as one self-contained PyTorch script a student can read and run.

``standalone_script(cfg)`` returns the source of a script that needs only torch: the task's
generator copied from ``gru_viz.tasks`` (so the batches are bit-identical), the models built
from the same seeds in the same order (a GRU variant's class copied from ``gru_viz.models``, as
torch has none), and the trainer's optimizer, loss and clipping rule written out in plain
PyTorch. On CPU with the same torch version it prints the same losses as
``Trainer(cfg)``; ``tests/test_standalone.py`` holds it to that.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import json
import string
import textwrap
import types
from collections.abc import Sequence

import torch

from gru_viz import models as models_module
from gru_viz import tasks as tasks_module
from gru_viz.config import FIELDS, RunConfig
from gru_viz.explain import CONVENTION_NOTE, VARIANT_NOTES, all_equations_text
from gru_viz.records import Event
from gru_viz.trainer import hidden_sizes_for, model_seed

# Globals the copied task code may use that the script's own imports provide.
_SCRIPT_IMPORTS = frozenset({"torch", "F", "math", "dataclass"})
# ... and the copied GRU-variant classes (gru_viz.models.LoopRNN and its subclasses).
_MODEL_IMPORTS = frozenset({"torch", "F", "math", "nn"})
_TORCH_CLASSES = '{"gru": nn.GRU, "rnn": nn.RNN, "lstm": nn.LSTM'
# Settings that only steer the app's probe plots; the script lists them but never reads them.
_APP_ONLY = frozenset({"probe_every", "probe_samples"})

_LOSSES = {
    "mse": '''\
def loss_fn(pred: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Mean squared error averaged over the scored steps (batch.loss_mask) only."""
    per_step = ((pred - batch.target) ** 2).mean(dim=-1)  # (B, T)
    per_step = torch.where(batch.loss_mask, per_step, torch.zeros_like(per_step))
    return per_step.sum() / batch.loss_mask.sum().clamp(min=1)''',
    "ce": '''\
def loss_fn(pred: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Cross-entropy averaged over the scored steps (batch.loss_mask) only."""
    # cross_entropy wants the classes on dim 1: (B, T, classes) -> (B, classes, T)
    per_step = F.cross_entropy(pred.transpose(1, 2), batch.target, reduction="none")
    per_step = torch.where(batch.loss_mask, per_step, torch.zeros_like(per_step))
    return per_step.sum() / batch.loss_mask.sum().clamp(min=1)''',
    # Several heads: the task's own weighted per-step loss (SCORE, copied with the task code).
    "heads": '''\
def loss_fn(pred: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Each head's loss over its own baseline, weighted, averaged over the scored steps
    (batch.loss_mask) only. The weighting: SCORE, above."""
    per_step = SCORE(pred, batch)  # (B, T)
    per_step = torch.where(batch.loss_mask, per_step, torch.zeros_like(per_step))
    return per_step.sum() / batch.loss_mask.sum().clamp(min=1)''',
}

# string.Template ($name) because the script's own f-strings are full of braces.
_TEMPLATE = string.Template('''\
"""$title, as one plain PyTorch script (exported from the gru-viz dashboard).

It repeats the dashboard's run exactly: the same batches (same seed, same random draws), the same
initial weights, the same optimizer, loss and gradient clipping. On a CPU with the same PyTorch
version it prints the same losses as the app. Needs only Python 3.10+ and torch.

Run:
    python $filename                          # $steps steps, print the losses
    python $filename --steps 2000 --out run.pt   # also save the weights

Settings:
$settings
$note
The app also replays a fixed probe batch now and then to draw the gates and gradients; that
never touches training, so it is left out here.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass

import torch
${import_f}from torch import nn

# The app trains on one thread; summing in another order on several threads could change the
# last digits of a result.
torch.set_num_threads(1)


@dataclass(frozen=True)
class RunConfig:
    """The dashboard's settings for this run; the task code below reads them from ``cfg``."""

$fields

$total_len


cfg = RunConfig()
# Settings the app changed while this run trained, applied here at the same moments:
# {training steps done: {setting: new value}}. Empty when nothing changed.
CHANGES: dict[int, dict] = $changes


# -- Data: copied verbatim from gru_viz/tasks.py -------------------------------------------
# A batch is drawn from one torch.Generator seeded with cfg.seed, so the n-th batch is the same
# on every run. Every model trains on the same batch at each step.


$task_code


# -- Loss ------------------------------------------------------------------------------------


$loss


# -- Models ----------------------------------------------------------------------------------
$equations
$variant_code
RNN_CLASSES = $rnn_classes
INPUT_SIZE = $input_size  # $input_names
OUTPUT_SIZE = $output_size
# Each model gets its own seed, cfg.seed * 1000 + a fixed offset per kind, so adding a model to
# the comparison never changes the others' initial weights.
MODEL_SEEDS = $model_seeds
# Equal units, or (size_by = "params") each model sized to match the GRU's parameter count.
HIDDEN_SIZES = $hidden_sizes


class SequenceModel(nn.Module):
    """A recurrent stack plus a linear readout applied at every time step."""

    def __init__(self, kind: str):
        super().__init__()
        # Built in this order (recurrent stack, then readout) so the weights drawn from the
        # seed land in the same tensors as in the app.
        hidden = HIDDEN_SIZES[kind]
        self.rnn = RNN_CLASSES[kind](INPUT_SIZE, hidden, cfg.num_layers, batch_first=True)
        self.readout = nn.Linear(hidden, OUTPUT_SIZE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, INPUT_SIZE) -> (B, T, OUTPUT_SIZE): a prediction at every step."""
        states, _ = self.rnn(x)  # (B, T, hidden): the top layer's h at every step
        return self.readout(states)


def build_model(kind: str) -> SequenceModel:
    torch.manual_seed(MODEL_SEEDS[kind])  # PyTorch's default init draws from the global RNG
    model = SequenceModel(kind)
    if kind in ("gru", "gru_cho") and cfg.z_bias != 0:
        # Update-gate rows are the middle third: b_iz = 0, b_hz = z_bias, so z starts near
        # sigmoid(z_bias).
        hidden = HIDDEN_SIZES[kind]
        with torch.no_grad():
            for layer in range(cfg.num_layers):
                getattr(model.rnn, f"bias_ih_l{layer}")[hidden : 2 * hidden] = 0.0
                getattr(model.rnn, f"bias_hh_l{layer}")[hidden : 2 * hidden] = cfg.z_bias
    if kind == "lstm" and cfg.f_bias != 0:
        # Forget-gate rows are the second quarter [i | f | g | o]: b_if = f_bias, b_hf = 0, so
        # f starts near sigmoid(f_bias).
        hidden = HIDDEN_SIZES[kind]
        with torch.no_grad():
            for layer in range(cfg.num_layers):
                getattr(model.rnn, f"bias_ih_l{layer}")[hidden : 2 * hidden] = cfg.f_bias
                getattr(model.rnn, f"bias_hh_l{layer}")[hidden : 2 * hidden] = 0.0
    if cfg.recurrent_scale != 1:
        # Every layer's recurrent weights W_hh (all gate blocks) scaled at init.
        with torch.no_grad():
            for name, parameter in model.rnn.named_parameters():
                if name.startswith("weight_hh"):
                    parameter.mul_(cfg.recurrent_scale)
    return model


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr)
    return torch.optim.Adam(model.parameters(), lr=cfg.lr)


# -- Training --------------------------------------------------------------------------------


def grad_norm(params: list[nn.Parameter]) -> float:
    """L2 norm of all gradients taken together, as if they were one long vector."""
    squares = (torch.stack([p.grad.norm() for p in params]) ** 2).tolist()
    return math.sqrt(sum(squares))


def train_step(model: SequenceModel, optimizer: torch.optim.Optimizer, batch: Batch):
    """One update. Returns the loss before it, or None if training diverged (then stop)."""
    params = list(model.parameters())
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(batch.x), batch)
    loss.backward()
    total = grad_norm(params)
    loss_value = float(loss.detach())
    if not (math.isfinite(loss_value) and math.isfinite(total)):
        return None  # NaN/inf: updating would ruin the weights, so keep the last good ones
    # Clipping: if the whole gradient is longer than cfg.clip, shrink it to that length. It
    # bounds the step an exploding gradient takes; it does not stop the gradient from exploding
    # (nor do gates). cfg.clip = 0 turns it off.
    if cfg.clip > 0 and total > cfg.clip:
        for p in params:
            p.grad.mul_(cfg.clip / (total + 1e-6))
    before = [p.detach().clone() for p in params]
    optimizer.step()
    if not all(bool(torch.isfinite(p).all()) for p in params):
        with torch.no_grad():  # the update itself overflowed: undo it
            for p, old in zip(params, before, strict=True):
                p.copy_(old)
        return None
    return loss_value


def apply_changes(changes: dict, models: dict, optimizers: dict) -> None:
    """What the app does with a setting changed on the fly: a new optimizer (fresh state) if its
    kind changed, else the new learning rate in the running one; the rest is read from cfg."""
    global cfg
    cfg = dataclasses.replace(cfg, **changes)
    for kind, model in models.items():
        if "optimizer" in changes:
            optimizers[kind] = make_optimizer(model)
        else:
            for group in optimizers[kind].param_groups:
                group["lr"] = cfg.lr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=$steps, help="training steps")
    parser.add_argument("--out", help="save each model's weights to this file (torch.save)")
    parser.add_argument("--digits", type=int, default=6, help="decimals printed for each loss")
    args = parser.parse_args()

    models = {kind: build_model(kind) for kind in cfg.models}
    optimizers = {kind: make_optimizer(model) for kind, model in models.items()}
    losses: dict[str, list[tuple[int, float]]] = {kind: [] for kind in cfg.models}
    active = list(cfg.models)
    generator = torch.Generator().manual_seed(cfg.seed)
    for step in range(1, args.steps + 1):
        if not active:
            break
        if step - 1 in CHANGES:
            apply_changes(CHANGES[step - 1], models, optimizers)
        batch = $generate(cfg, cfg.batch_size, generator)
        for kind in list(active):  # the same batch for every model, in the app's order
            loss = train_step(models[kind], optimizers[kind], batch)
            if loss is None:
                active.remove(kind)
                print(f"step {step} {kind} stopped: loss or weights became NaN/inf")
                continue
            losses[kind].append((step, loss))
            if step <= 20 or step % 50 == 0:
                print(f"step {step} {kind} loss {loss:.{args.digits}f}")

    for kind in cfg.models:
        if losses[kind]:
            step, loss = losses[kind][-1]
            print(f"final {kind} loss {loss:.{args.digits}f} (step {step})")
    if args.out:
        # rnn loads into a plain nn.GRU / nn.RNN / nn.LSTM(batch_first=True) (a GRU variant's
        # into its class, RNN_CLASSES[kind]), readout into an nn.Linear, e.g.
        # nn.GRU(INPUT_SIZE, cfg.hidden_size, cfg.num_layers,
        # batch_first=True).load_state_dict(saved["gru"]["rnn"]).
        saved = {
            kind: {
                "rnn": model.rnn.state_dict(),
                "readout": model.readout.state_dict(),
                "losses": losses[kind],
            }
            for kind, model in models.items()
        }
        saved["config"] = dict(vars(cfg))
        torch.save(saved, args.out)
        print(f"saved {args.out}")


if __name__ == "__main__":
    main()
''')


def script_filename(cfg: RunConfig) -> str:
    """A suggested file name for the exported script."""
    return f"gru_viz_{cfg.task}_seed{cfg.seed}.py"


def _global_names(code: types.CodeType) -> set[str]:
    """Global names a function loads, including in nested code (comprehensions, lambdas)."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname == "LOAD_GLOBAL"}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _literal(value: object) -> str:
    """A Python literal in the script's style: double quotes, like the rest of the code."""
    if isinstance(value, str):
        return json.dumps(value)  # the validated choices are plain ASCII words
    if isinstance(value, tuple):
        items = ", ".join(_literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _task_code(generate, *more) -> tuple[str, set[str]]:
    """Source of the task's generator (and ``more`` functions of gru_viz.tasks, e.g. a task's
    own loss) and everything in gru_viz.tasks they call, in file order, plus the module names
    (torch, F, math) that code uses.

    Dependencies are found from the bytecode rather than listed by hand, so a helper added to
    tasks.py later is copied too, and a global the script cannot provide fails here, loudly,
    instead of in the student's terminal.
    """
    namespace = vars(tasks_module)
    found: dict[str, object] = {}
    imports: set[str] = set()
    todo = [generate, *more]
    while todo:
        obj = todo.pop()
        if obj.__name__ in found:
            continue
        found[obj.__name__] = obj
        if not inspect.isfunction(obj):
            continue  # Batch: a plain dataclass, no code of its own to follow
        for name in sorted(_global_names(obj.__code__)):
            value = namespace.get(name)
            if name in _SCRIPT_IMPORTS:
                imports.add(name)
            elif value is None and hasattr(builtins, name):
                continue
            elif getattr(value, "__module__", None) == tasks_module.__name__ and (
                inspect.isfunction(value) or inspect.isclass(value)
            ):
                todo.append(value)
            else:
                raise ValueError(f"task code uses {name!r}, which the exported script lacks")
    found.setdefault("Batch", tasks_module.Batch)  # the loss annotations name it
    ordered = sorted(found.values(), key=lambda obj: inspect.getsourcelines(obj)[1])
    return "\n\n\n".join(inspect.getsource(obj).rstrip() for obj in ordered), imports


def _variant_code(kinds: Sequence[str]) -> tuple[str, str]:
    """Source of the GRU-variant classes ``kinds`` need, copied from gru_viz.models in file
    order, and the script's RNN_CLASSES literal.

    Like the task code, each method's globals are checked: code that needs more than the
    script's torch imports fails here, at export, not in the student's terminal.
    """
    variants = [k for k in kinds if k in models_module.VARIANT_CLASSES]
    if not variants:
        return "", _TORCH_CLASSES + "}"
    # each variant's class and the gru_viz classes it derives from (LoopRNN, BlogGRU, ...)
    classes = {
        base
        for k in variants
        for base in models_module.VARIANT_CLASSES[k].__mro__
        if base.__module__ == models_module.__name__
    }
    provided = _MODEL_IMPORTS | {cls.__name__ for cls in classes}
    for cls in classes:
        for value in vars(cls).values():
            if not inspect.isfunction(value):
                continue
            for name in _global_names(value.__code__) - provided:
                if not hasattr(builtins, name):
                    raise ValueError(f"{cls.__name__} uses {name!r}, which the script lacks")
    ordered = sorted(classes, key=lambda cls: inspect.getsourcelines(cls)[1])
    code = "\n\n\n".join(inspect.getsource(cls).rstrip() for cls in ordered)
    header = (
        "# The GRU variants, copied verbatim from gru_viz/models.py: torch has no module that "
        "computes\n# them, so they run as a Python loop over time (slower than nn.GRU)."
    )
    names = "".join(f', "{k}": {models_module.VARIANT_CLASSES[k].__name__}' for k in variants)
    return f"\n{header}\n\n\n{code}\n\n", _TORCH_CLASSES + names + "}"


def _comment(text: str) -> str:
    """Text as Python comment lines, wrapped to the script's line length."""
    lines = []
    for line in text.splitlines():
        wrapped = textwrap.wrap(line, 94, subsequent_indent="  ") if len(line) > 96 else [line]
        lines += wrapped or [""]
    return "\n".join(f"# {line}".rstrip() for line in lines)


def _docstring_safe(text: str) -> str:
    """Text that cannot end the docstring early or break compilation (quotes, NULs, ...)."""
    text = "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in text)
    return text.replace("\\", "\\\\").replace('"', '\\"')


def replay_plan(events: Sequence[Event]) -> tuple[dict[int, dict], str]:
    """The settings changes a script can repeat ({step: changes}), and a note on the first
    event it cannot (an intervention in training, a restore), from which step on its numbers
    part from the app's."""
    changes: dict[int, dict] = {}
    for event in events:
        if event.kind == "settings":
            changes.setdefault(event.step, {}).update(event.changes)
        elif event.affects_training and event.kind != "rebuild":
            note = (
                f"From step {event.step + 1} on the app did what this script does not repeat "
                f"({event.text}): its losses match the app's up to step {event.step} only."
            )
            return changes, note
    return changes, ""


def standalone_script(
    cfg: RunConfig,
    steps: int = 500,
    note: str = "",
    events: Sequence[Event] = (),
    start_cfg: RunConfig | None = None,
) -> str:
    """Source of one torch-only script that reproduces a run's losses.

    The script starts from ``start_cfg`` (the run's settings at step 0; default ``cfg``) and
    repeats every setting ``events`` changed on the fly at its step; an intervention in
    training or a restore it cannot repeat, and its header says from which step. ``note`` goes
    into the header too. Write the result with ``encoding="utf-8"``: the equations use σ and ⊙.
    """
    changes, replay_note = replay_plan(events)
    note = " ".join(part for part in (note.strip(), replay_note) if part)
    cfg = start_cfg or cfg
    task = tasks_module.get_task(cfg.task)
    # The input width is what the generator produces; a throwaway generator leaves no trace.
    input_size = task.generate(cfg, 1, torch.Generator().manual_seed(0)).x.shape[-1]
    scores = (task.score,) if task.loss_kind == "heads" else ()
    task_code, task_imports = _task_code(task.generate, *scores)
    loss_code = _LOSSES[task.loss_kind].replace("SCORE", scores[0].__name__ if scores else "")
    variant_code, rnn_classes = _variant_code(cfg.models)
    uses_f = "F" in task_imports or task.loss_kind == "ce" or bool(variant_code)
    values = cfg.as_dict()
    width = max(len(name) for name in values)
    settings = "\n".join(
        f"    {name:<{width}}  {', '.join(v) if isinstance(v, tuple) else v}"
        for name, v in values.items()
    )
    fields = "\n".join(
        f"    {f.name}: {f.annotation} = {_literal(values[f.name])}"
        + ("  # app plots only" if f.name in _APP_ONLY else "")
        for f in FIELDS
    )
    total_len = textwrap.indent(
        textwrap.dedent(inspect.getsource(RunConfig.total_len.fget)), "    "
    )
    note_text = f"\nNote: {_docstring_safe(note.strip())}\n" if note.strip() else ""
    seeds = {kind: model_seed(cfg.seed, kind) for kind in cfg.models}
    kinds = ("gru",) + tuple(kind for kind in cfg.models if kind != "gru")
    return _TEMPLATE.substitute(
        title=task.title,
        filename=script_filename(cfg),
        steps=int(steps),
        settings=settings,
        note=note_text,
        import_f="import torch.nn.functional as F\n" if uses_f else "",
        fields=fields,
        total_len=total_len.rstrip(),
        task_code=task_code,
        loss=loss_code,
        equations=_comment(
            "\n\n".join(
                [all_equations_text(kinds), CONVENTION_NOTE]
                + [" ".join(VARIANT_NOTES[k]) for k in kinds if k in VARIANT_NOTES]
            ).replace("*", "")
        ),
        variant_code=variant_code,
        rnn_classes=rnn_classes,
        input_size=input_size,
        input_names=", ".join(task.input_names(cfg)),
        output_size=task.output_size(cfg),
        model_seeds=_literal(seeds),
        hidden_sizes=_literal(hidden_sizes_for(cfg, input_size, task.output_size(cfg))),
        generate=task.generate.__name__,
        changes=_literal(changes) if changes else "{}",
    )
