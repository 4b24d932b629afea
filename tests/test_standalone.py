"""The exported script: torch only, and the same losses and weights as ``Trainer`` (the oracle).

Each Python process that imports torch costs ~3-5 s here, so all cases run inside one helper
process (``runpy``, one after another) while this process steps the trainers; one more process
runs a script the way a student would (``python script.py ...``) to check the command line.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

from gru_viz import tasks as tasks_module
from gru_viz.config import RunConfig
from gru_viz.models import RNN_CLASSES, VARIANT_CLASSES, Intervention
from gru_viz.standalone import _task_code, script_filename, standalone_script
from gru_viz.trainer import Trainer

STEPS = 5
CLI_STEPS = 51  # past 20 and 50, to see the print cadence (every step to 20, then every 50)

CASES = {
    # Default task and models; clip 0.5 so that clipping actually rescales some steps.
    "adding": RunConfig(seq_len=12, hidden_size=8, batch_size=16, clip=0.5),
    "copy": RunConfig(
        task="copy",
        seq_len=6,
        recall_len=2,
        n_symbols=3,
        noise=0.1,
        models=("gru", "rnn", "lstm"),
        hidden_size=6,
        num_layers=2,
        batch_size=8,
    ),
    "forecast": RunConfig(
        task="forecast",
        seq_len=16,
        noise=0.05,
        optimizer="sgd",
        lr=0.1,
        clip=0,
        hidden_size=8,
        batch_size=8,
    ),
    "missing": RunConfig(
        task="missing", seq_len=14, missing_rate=0.5, hidden_size=5, batch_size=8, seed=3
    ),
    "irregular": RunConfig(
        task="irregular", seq_len=12, noise=0.1, models=("rnn", "lstm"), hidden_size=8, batch_size=8
    ),
    "varlen": RunConfig(task="varlen", seq_len=20, hidden_size=8, batch_size=16, seed=11),
    # Two heads on one state, weighted: the script copies the task's own loss (two_head_loss).
    "multitask": RunConfig(
        task="multitask", seq_len=10, noise=0.1, head_weight=0.3, hidden_size=6, batch_size=8
    ),
    # parameter-matched sizes and a set update-gate bias change the initial weights too
    "matched": RunConfig(seq_len=10, hidden_size=6, batch_size=8, size_by="params", z_bias=2.0),
    # an LSTM forget-gate bias (b_if = f_bias, b_hf = 0) with the GRU's update-gate bias
    "forget_bias": RunConfig(
        task="copy",
        seq_len=6,
        recall_len=2,
        n_symbols=3,
        models=("gru", "lstm"),
        hidden_size=6,
        batch_size=8,
        size_by="params",
        z_bias=1.0,
        f_bias=1.0,
    ),
    "reset": RunConfig(
        task="reset", seq_len=15, models=("gru",), hidden_size=4, batch_size=4, lr=0.05
    ),
    # Every GRU variant (their classes copied into the script), two layers, sized to the GRU's
    # parameter count so that the two-block kinds get other widths.
    "variants": RunConfig(
        seq_len=8,
        models=("gru", "gru_cho", "blog", "blog_tied", "mgu"),
        hidden_size=5,
        num_layers=2,
        batch_size=8,
        size_by="params",
        clip=0.5,
        recurrent_scale=1.5,  # scales every kind's weight_hh at init, the variants' too
    ),
}

# Runs every script as __main__ in one process and reports what each printed, plus which
# gru_viz modules got imported (none may: the scripts must stand alone).
DRIVER = textwrap.dedent("""
    import contextlib, io, json, runpy, sys
    jobs, outputs = json.loads(sys.argv[1]), {}
    for name, argv in jobs.items():
        sys.argv = argv
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            runpy.run_path(argv[0], run_name="__main__")
        outputs[name] = buffer.getvalue()
    loaded = sorted(m for m in sys.modules if m.split(".")[0] == "gru_viz")
    print(json.dumps({"outputs": outputs, "gru_viz_modules": loaded}))
""")

LINE = re.compile(r"^step (\d+) (\w+) loss (\S+)$", re.MULTILINE)
FINAL = re.compile(r"^final (\w+) loss (\S+) \(step (\d+)\)$", re.MULTILINE)


def _clean_env() -> dict[str, str]:
    # Without PYTHONPATH (and run from a temp dir) an accidental `import gru_viz` fails.
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _printed(output: str) -> dict[tuple[int, str], float]:
    return {(int(step), kind): float(loss) for step, kind, loss in LINE.findall(output)}


def _trainer_losses(trainer: Trainer) -> dict[tuple[int, str], float]:
    return {
        (int(step), kind): float(loss)
        for kind, slot in trainer.slots.items()
        for step, loss in zip(slot.history.array("step"), slot.history.array("loss"), strict=True)
    }


def _assert_close(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-6), key


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Write every case's script, run them all, and step a Trainer per case meanwhile."""
    work = tmp_path_factory.mktemp("standalone")
    jobs, scripts = {}, {}
    for name, cfg in CASES.items():
        # A prefix, because a script saved as e.g. copy.py would shadow the stdlib module.
        path = work / f"{name}_{script_filename(cfg)}"
        scripts[name] = standalone_script(cfg, steps=STEPS)
        path.write_text(scripts[name], encoding="utf-8")
        jobs[name] = [str(path), "--digits", "12", "--out", str(work / f"{name}.pt")]
    # A run whose settings changed on the fly, then trained with an intervention the script
    # cannot repeat: the script applies the changes at the same steps.
    changed = changed_run()
    path = work / f"changed_{script_filename(changed.cfg)}"
    scripts["changed"] = standalone_script(
        changed.cfg, changed.step_count, "", changed.events, changed.initial_cfg
    )
    path.write_text(scripts["changed"], encoding="utf-8")
    jobs["changed"] = [str(path), "--digits", "12", "--steps", str(CHANGED_REPLAYABLE)]
    cli_args = [
        sys.executable,
        jobs["adding"][0],
        "--steps",
        str(CLI_STEPS),
        "--digits",
        "12",
        "--out",
        str(work / "cli.pt"),
    ]
    common = dict(
        cwd=work, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(jobs)], **common)
    cli = subprocess.Popen(cli_args, **common)

    trainers = {}
    for name, cfg in CASES.items():
        trainers[name] = Trainer(cfg)
        trainers[name].step(STEPS)
    trainers["changed"] = changed
    cli_trainer = Trainer(CASES["adding"])
    cli_trainer.step(CLI_STEPS)

    driver_out, driver_err = driver.communicate(timeout=120)
    cli_out, cli_err = cli.communicate(timeout=120)
    assert driver.returncode == 0, driver_err
    assert cli.returncode == 0, cli_err
    report = json.loads(driver_out)
    return {
        "work": work,
        "scripts": scripts,
        "trainers": trainers,
        "report": report,
        "cli_out": cli_out,
        "cli_trainer": cli_trainer,
    }


CHANGED_REPLAYABLE = 12  # steps before the intervention in training


def changed_run() -> Trainer:
    trainer = Trainer(RunConfig(seq_len=10, hidden_size=6, batch_size=8, models=("gru", "rnn")))
    trainer.step(4)
    trainer.apply_live(trainer.cfg.replace(lr=0.05, clip=0.0))
    trainer.step(4)
    trainer.apply_live(trainer.cfg.replace(optimizer="sgd", lr=0.5, batch_size=4, clip=0.5))
    trainer.step(CHANGED_REPLAYABLE - 8)
    trainer.set_interventions(Intervention(clamp_update=0.5), in_training=True)
    trainer.step(3)
    return trainer


def _check_saved(saved: dict, trainer: Trainer) -> None:
    """Saved weights equal the trainer's bit for bit and load into plain torch modules."""
    cfg = trainer.cfg
    inputs = trainer.probe_batch.x.shape[-1]
    outputs = trainer.task.output_size(cfg)
    for kind, slot in trainer.slots.items():
        hidden = slot.model.hidden_size  # differs per model when sized to equal parameters
        # torch's own module for the built-ins; gru_viz's for the variants, as the script's
        rnn = RNN_CLASSES[kind](inputs, hidden, cfg.num_layers, batch_first=True)
        assert kind in VARIANT_CLASSES or type(rnn) in (nn.GRU, nn.RNN, nn.LSTM)
        rnn.load_state_dict(saved[kind]["rnn"])  # strict: same names and shapes
        readout = nn.Linear(hidden, outputs)
        readout.load_state_dict(saved[kind]["readout"])
        for name, value in slot.model.state_dict().items():
            part, key = name.split(".", 1)
            assert torch.equal(saved[kind][part][key], value), (kind, name)
        steps, losses = zip(*saved[kind]["losses"], strict=True)
        assert list(steps) == slot.history.array("step").tolist()
        assert list(losses) == slot.history.array("loss").tolist()  # exact, not approx


@pytest.mark.parametrize("name", CASES)
def test_script_reproduces_the_trainer(runs, name):
    trainer = runs["trainers"][name]
    output = runs["report"]["outputs"][name]
    want = _trainer_losses(trainer)
    assert len(want) == STEPS * len(CASES[name].models)
    _assert_close(_printed(output), want)
    finals = {kind: (int(step), float(loss)) for kind, loss, step in FINAL.findall(output)}
    assert list(finals) == list(CASES[name].models)
    for kind, (step, loss) in finals.items():
        assert step == STEPS
        assert loss == pytest.approx(want[(STEPS, kind)], rel=1e-6)
    _check_saved(torch.load(runs["work"] / f"{name}.pt"), trainer)


def test_clipping_was_exercised(runs):
    # Otherwise a broken clipping rule in the script could still match the trainer.
    slot = runs["trainers"]["adding"].slots["gru"]
    assert (slot.history.array("grad_norm") > CASES["adding"].clip).any()


def test_command_line_run_prints_on_cadence_and_saves(runs):
    output, trainer = runs["cli_out"], runs["cli_trainer"]
    printed = _printed(output)
    steps = sorted({step for step, _ in printed})
    assert steps == list(range(1, 21)) + [50]
    want = _trainer_losses(trainer)
    _assert_close(printed, {key: want[key] for key in printed})
    finals = FINAL.findall(output)
    assert [(kind, int(step)) for kind, _, step in finals] == [
        ("gru", CLI_STEPS),
        ("rnn", CLI_STEPS),
    ]
    for kind, loss, _ in finals:
        assert float(loss) == pytest.approx(want[(CLI_STEPS, kind)], rel=1e-6)
    _check_saved(torch.load(runs["work"] / "cli.pt"), trainer)


def test_scripts_stand_alone(runs):
    assert runs["report"]["gru_viz_modules"] == []
    for name, source in runs["scripts"].items():
        tree = ast.parse(source)
        compile(tree, f"{name}.py", "exec")
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
        assert imported <= {"__future__", "argparse", "math", "dataclasses", "torch"}, name


def test_header_says_what_to_run_and_how_the_gru_computes():
    cfg = CASES["copy"]
    source = standalone_script(cfg, steps=123)
    header = ast.get_docstring(ast.parse(source))
    assert f"python {script_filename(cfg)}" in header
    assert re.search(r"^    models +gru, rnn, lstm$", header, re.MULTILINE)
    assert "default=123" in source
    # The equations' one copy (gru_viz.explain), as comments.
    assert "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}" in source
    assert "n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))" in source
    assert "Cho et al. (2014)" in source
    assert 'MODEL_SEEDS = {"gru": 101, "rnn": 202, "lstm": 303}' in source


def test_note_goes_into_the_header_and_cannot_break_out():
    note = 'GRU update gate clamped to 0.25 """ in the app\\ \x00\nsecond line"'
    source = standalone_script(CASES["reset"], note=note)
    header = ast.get_docstring(ast.parse(source))  # parses: the quotes did not end it
    assert 'GRU update gate clamped to 0.25 """ in the app\\ ' in header
    assert 'second line"' in header
    assert "Note:" not in ast.get_docstring(ast.parse(standalone_script(CASES["reset"])))


def test_task_code_that_needs_more_than_torch_fails_at_export():
    def needs_numpy(cfg, n, gen):
        return np.zeros(n)  # noqa: F821 -- the undefined global is the point

    needs_numpy.__module__ = tasks_module.__name__
    with pytest.raises(ValueError, match="'np'"):
        _task_code(needs_numpy)


def test_settings_changed_on_the_fly_are_replayed_at_their_steps(runs):
    trainer, output = runs["trainers"]["changed"], runs["report"]["outputs"]["changed"]
    want = {k: v for k, v in _trainer_losses(trainer).items() if k[0] <= CHANGED_REPLAYABLE}
    got = _printed(output)
    assert len(want) == 2 * CHANGED_REPLAYABLE
    _assert_close(got, want)
    header = ast.get_docstring(ast.parse(runs["scripts"]["changed"]))
    assert f"match the app's up to step {CHANGED_REPLAYABLE} only" in " ".join(header.split())
    assert "lr: 0.05" not in header  # the header lists the starting settings ...
    assert '4: {"lr": 0.05, "clip": 0.0}' in runs["scripts"]["changed"]  # ... and the changes


def test_variant_classes_are_copied_only_when_used_and_equal_the_apps(runs):
    script = runs["scripts"]["variants"]
    for cls in VARIANT_CLASSES.values():
        assert f"class {cls.__name__}({cls.__base__.__name__}):" in script
    assert ('"mgu": MGU}') in script
    assert "class LoopRNN" not in runs["scripts"]["adding"]
    # A class is copied with the classes it derives from, and only those.
    tied = standalone_script(RunConfig(models=("blog_tied",)))
    assert "class BlogGRU(LoopRNN):" in tied and "class TiedBlogGRU(BlogGRU):" in tied
    assert "class MGU" not in tied and "class ChoGRU" not in tied
    compile(tied, "tied.py", "exec")
    assert (
        'RNN_CLASSES = {"gru": nn.GRU, "rnn": nn.RNN, "lstm": nn.LSTM}' in runs["scripts"]["adding"]
    )
    # The variants' equations and how each differs from PyTorch's GRU, as comments.
    assert "#   h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ r_t ⊙ n_t" in script
    assert "a small r keeps the state" in script
    # Sized to the GRU's parameter count: the two-block kinds are wider, so the check on the
    # saved weights covers other shapes too.
    sizes = {k: s.model.hidden_size for k, s in runs["trainers"]["variants"].slots.items()}
    assert sizes["mgu"] > sizes["gru"] == sizes["blog"] == sizes["gru_cho"]


def test_a_variant_class_that_needs_more_than_torch_fails_at_export(monkeypatch):
    from gru_viz import models

    def step(self, gi, h, params):
        return np.tanh(gi)  # noqa: F821 -- the undefined global is the point

    monkeypatch.setattr(models.MGU, "step", step)
    with pytest.raises(ValueError, match="MGU uses 'np'"):
        standalone_script(RunConfig(models=("mgu",)))


def test_the_forget_gate_bias_sets_the_lstms_forget_rows_only(runs):
    cfg = CASES["forget_bias"]
    fresh = Trainer(cfg).slots["lstm"].model.rnn
    plain = Trainer(cfg.replace(f_bias=0.0)).slots["lstm"].model.rnn
    hidden = fresh.hidden_size
    forget = slice(hidden, 2 * hidden)  # rows [i | f | g | o]
    assert torch.all(fresh.bias_ih_l0[forget] == 1.0) and torch.all(fresh.bias_hh_l0[forget] == 0)
    for name, value in fresh.state_dict().items():
        other = plain.state_dict()[name]
        if name.startswith("bias_"):
            assert torch.equal(value[:hidden], other[:hidden]), name
            assert torch.equal(value[2 * hidden :], other[2 * hidden :]), name
        else:
            assert torch.equal(value, other), name
    # and the script trains with it: its losses (test_script_reproduces_the_trainer) are not
    # those of the unbiased LSTM
    unbiased = Trainer(cfg.replace(f_bias=0.0))
    unbiased.step(STEPS)
    losses = runs["trainers"]["forget_bias"].slots["lstm"].history.array("loss")
    assert (losses != unbiased.slots["lstm"].history.array("loss")).any()
