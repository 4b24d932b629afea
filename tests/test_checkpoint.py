"""Checkpoints: every kind round-trips; hostile files are refused by ``load_checkpoint`` itself.

Each hostile case calls ``to_torch_modules(load_checkpoint(path))`` and expects CheckpointError and
nothing else: after ``load_checkpoint`` returns, building the modules must not fail.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from gru_viz.checkpoint import (
    FORMAT,
    MAX_CHECKPOINT_BYTES,
    CheckpointError,
    checkpoint_dict,
    load_checkpoint,
    rnn_shapes,
    save_checkpoint,
    to_torch_modules,
)
from gru_viz.config import RunConfig
from gru_viz.kinds import MODEL_KINDS
from gru_viz.models import RNN_CLASSES, TORCH_CLASSES, build_model
from gru_viz.safe_torch_file import MAX_PICKLE_BYTES
from tests.blocking import read_within

CFG = RunConfig()  # only written out as strings: the model's sizes need not match it


def saved(tmp_path: Path, edit=None, kind: str = "gru", num_layers: int = 1) -> Path:
    """A real checkpoint (input 2, hidden 5, output 3), changed by ``edit(data)`` first."""
    data = checkpoint_dict(build_model(kind, 2, 5, num_layers, 3, seed=0), CFG, step=7)
    if edit is not None:
        edit(data)
    path = tmp_path / "ck.pt"
    torch.save(data, path)
    return path


def refused(path: Path, match: str, **kwargs) -> None:
    with pytest.raises(CheckpointError, match=match):
        to_torch_modules(load_checkpoint(path, **kwargs))


def load_within(path: Path, seconds: float = 5.0):
    return read_within(lambda p: to_torch_modules(load_checkpoint(p)), path, seconds)


@pytest.fixture
def no_reading(monkeypatch):
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was reached"))


# -- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", MODEL_KINDS)
@pytest.mark.parametrize("num_layers", [1, 3])
def test_round_trip_gives_modules_that_compute_the_same(tmp_path, kind, num_layers):
    model = build_model(kind, 2, 5, num_layers, 3, seed=1)
    save_checkpoint(model, CFG, 7, tmp_path / "ck.pt")
    data = load_checkpoint(tmp_path / "ck.pt")
    assert (data["kind"], data["num_layers"], data["step"]) == (kind, num_layers, 7)
    rnn, readout = to_torch_modules(data)
    # Plain torch modules for the built-ins; torch has none for the GRU variants.
    assert type(rnn) is RNN_CLASSES[kind]
    assert type(rnn).__module__ == (
        "torch.nn.modules.rnn" if kind in TORCH_CLASSES else "gru_viz.models"
    )
    x = torch.randn(4, 6, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(readout(rnn(x)[0]), model(x))
    # The shapes load_checkpoint demands are the ones the module has (PyTorch's own for the
    # built-ins).
    module = RNN_CLASSES[kind](2, 5, num_layers)
    actual = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    assert rnn_shapes(kind, 2, 5, num_layers) == actual


def test_a_symlink_is_judged_by_its_target(tmp_path):
    link = tmp_path / "latest.pt"
    link.symlink_to(saved(tmp_path))
    assert load_checkpoint(link)["kind"] == "gru"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "to-fifo.pt").symlink_to(fifo)
    with pytest.raises(CheckpointError, match="the path is a FIFO"):
        load_within(tmp_path / "to-fifo.pt")
    (tmp_path / "dangling.pt").symlink_to(tmp_path / "gone.pt")
    refused(tmp_path / "dangling.pt", "cannot read the checkpoint: No such file")


# -- what a file can be -----------------------------------------------------------------------
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "ck.pt"
    os.mkfifo(fifo)  # its size is 0, so a size check alone lets it through
    with pytest.raises(CheckpointError, match="the path is a FIFO, not a regular file"):
        load_within(fifo)


def test_a_directory_is_refused_before_opening(tmp_path, no_reading):
    refused(tmp_path, "the path is a directory, not a regular file")


def test_a_device_is_refused_before_opening(no_reading):
    refused(Path(os.devnull), "the path is a character device, not")


def test_a_missing_file_is_a_checkpoint_error(tmp_path):
    refused(tmp_path / "gone.pt", "cannot read the checkpoint: No such file")


def test_oversized_file_is_refused_before_reading(tmp_path, no_reading):
    path = tmp_path / "huge.pt"
    with open(path, "wb") as f:
        f.truncate(MAX_CHECKPOINT_BYTES + 1)  # sparse: no disk space used
    refused(path, "limit")


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path, no_reading):
    # torch.load allocates each record's declared size; deflated zeros claim 1000x their bytes.
    data = checkpoint_dict(build_model("lstm", 64, 256, 3, 64, seed=0), CFG, step=7)
    for part in ("rnn", "readout"):
        data[part] = {k: torch.zeros_like(v) for k, v in data[part].items()}
    plain, bomb = tmp_path / "plain.pt", tmp_path / "bomb.pt"
    torch.save(data, plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for record in src.infolist():
            dst.writestr(record.filename, src.read(record))
    limit = 1_000_000
    assert bomb.stat().st_size < limit / 10 and plain.stat().st_size > 5 * limit
    refused(bomb, "unpacks to 5.6 MB; the limit is 1 MB", max_bytes=limit)


def test_the_legacy_format_is_refused(tmp_path, no_reading):
    # torch.load reads non-zip files with a loader that allocates what the pickle claims.
    path = tmp_path / "old.pt"
    data = checkpoint_dict(build_model("gru", 2, 5, 1, 3, seed=0), CFG, step=7)
    torch.save(data, path, _use_new_zipfile_serialization=False)
    refused(path, "torch.save writes a zip file")


def test_an_oversized_pickle_is_refused_before_unpickling(tmp_path, no_reading):
    # Unpickling can turn each byte into ~64 bytes of Python objects; ours is a few kB.
    path = saved(tmp_path, lambda d: d["config"].update(note="x" * MAX_PICKLE_BYTES))
    refused(path, "pickled part is over the 1024 kB limit")


def test_junk_files_are_refused(tmp_path):
    for name, content in (("junk.pt", b"\x00" * 64), ("text.pt", b"hello"), ("empty.pt", b"")):
        (tmp_path / name).write_bytes(content)
        refused(tmp_path / name, "zip file")
    (tmp_path / "cut.pt").write_bytes(saved(tmp_path).read_bytes()[:300])  # truncated
    refused(tmp_path / "cut.pt", "not a valid zip file")
    refused(saved(tmp_path), "limit", max_bytes=100)  # a small file, over a smaller cap


# -- malicious pickles ------------------------------------------------------------------------
class _SystemCall:
    """Unpickling this runs a shell command (what a hostile checkpoint would do)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Exec:
    """Unpickling this runs Python code through builtins.exec."""

    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def _payloads(marker: Path) -> dict[str, object]:
    return {
        "os.system": _SystemCall(f"touch '{marker}'"),
        "exec": _Exec(f"open({str(marker)!r}, 'w').write('pwned')"),
    }


@pytest.mark.parametrize("payload", ["os.system", "exec"])
def test_malicious_checkpoint_is_refused_without_running_it(tmp_path, payload):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "kind": "gru", "rnn": _payloads(marker)[payload]}, path)
    refused(path, "not a safe checkpoint")
    assert not marker.exists()
    # A bare pickle (as torch.load's legacy loader would read it) is refused before unpickling.
    path.write_bytes(pickle.dumps({"format": FORMAT, "rnn": _payloads(marker)[payload]}, 2))
    refused(path, "zip file")
    assert not marker.exists()
    # Control: the payload is live. Plain unpickling would have run it.
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_payloads(control)[payload]))
    assert control.exists()


# -- what the dict holds ----------------------------------------------------------------------
def test_not_a_gru_viz_checkpoint_is_refused(tmp_path):
    torch.save({"rnn": {}}, tmp_path / "other.pt")
    refused(tmp_path / "other.pt", "format marker")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d.pop("config"), "checkpoint lacks config"),
        (lambda d: d.update(optimizer={}), "unexpected checkpoint key 'optimizer'"),
        (lambda d: d.update(kind="transformer"), "unknown model kind 'transformer'"),
        (lambda d: d.update(kind=["gru"]), "unknown model kind <list>"),
        (lambda d: d.update(hidden_size=10**9), "hidden_size 1000000000 is not a whole number"),
        (lambda d: d.update(num_layers=0), "num_layers 0 is not"),
        (lambda d: d.update(input_size=2.5), "input_size 2.5 is not"),
        (lambda d: d.update(output_size=True), "output_size True is not"),
    ],
    ids=["missing", "extra", "kind", "kind-list", "huge", "zero", "float", "bool"],
)
def test_wrong_top_level_fields_are_refused(tmp_path, edit, match):
    refused(saved(tmp_path, edit), match)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d.update(step="7"), "step '7' is not a whole number"),
        (lambda d: d.update(step=-1), "step -1 is not"),
        (lambda d: d.update(config="lr=0.01"), "config is not a dict of strings"),
        (lambda d: d["config"].update(lr=0.01), "config is not a dict of strings"),
    ],
    ids=["step-str", "step-negative", "config-str", "config-float"],
)
def test_config_and_step_of_the_wrong_type_are_refused(tmp_path, edit, match):
    refused(saved(tmp_path, edit), match)


def test_rnn_given_as_a_string_is_refused(tmp_path):
    refused(saved(tmp_path, lambda d: d.update(rnn="weight_ih_l0")), "rnn is 'weight_ih_l0'")


def test_an_empty_readout_is_refused(tmp_path):
    refused(saved(tmp_path, lambda d: d.update(readout={})), "readout lacks weight")


@pytest.mark.parametrize(
    "part, key, value",
    [
        ("rnn", "weight_hh_l0", torch.zeros(15, 4)),  # one column short
        ("rnn", "weight_ih_l1", torch.zeros(15, 2)),  # layer 1 reads hidden states, not inputs
        ("rnn", "bias_ih_l0", torch.zeros(1, 15)),
        ("readout", "weight", torch.zeros(5, 3)),  # transposed
        ("readout", "bias", torch.zeros(())),
    ],
)
def test_wrong_tensor_shapes_are_refused(tmp_path, part, key, value):
    path = saved(tmp_path, lambda d: d[part].update({key: value}), num_layers=2)
    refused(path, f"{key} has shape")


def test_a_zero_stride_view_claiming_a_trillion_elements_is_refused(tmp_path):
    view = torch.zeros(1).expand(10**12)  # one float, seen 10^12 times
    path = saved(tmp_path, lambda d: d["rnn"].update(weight_ih_l0=view))
    # torch.save writes the one stored float and the claimed shape and (zero) stride...
    assert path.stat().st_size < 10_000
    # ...and torch.load rebuilds the view over those 4 bytes, so loading allocates nothing.
    loaded = torch.load(path, weights_only=True)["rnn"]["weight_ih_l0"]
    assert (loaded.shape, loaded.stride()) == ((10**12,), (0,))
    assert loaded.untyped_storage().nbytes() == 4
    # The shape is checked before any value is read: a 10^12-element copy (isfinite, float())
    # would fail to allocate and raise RuntimeError instead.
    refused(path, r"weight_ih_l0 has shape \(1000000000000,\), expected \(15, 2\)")


@pytest.mark.parametrize(
    "part, key, value",
    [
        ("rnn", "bias_hh_l0", torch.full((15,), float("nan"))),
        ("readout", "weight", torch.full((3, 5), float("-inf"))),
        # Finite in float64, infinite in the float32 the modules hold.
        ("rnn", "weight_hh_l0", torch.full((15, 5), 1e300, dtype=torch.float64)),
    ],
    ids=["nan", "inf", "float64-overflow"],
)
def test_non_finite_weights_are_refused(tmp_path, part, key, value):
    refused(saved(tmp_path, lambda d: d[part].update({key: value})), f"{key} holds NaN or inf")


@pytest.mark.parametrize(
    "value",
    [
        torch.zeros(15, 2, dtype=torch.int64),
        torch.zeros(15, 2, dtype=torch.complex64),
        torch.zeros(15, 2, device="meta"),
        torch.zeros(15, 2).to_sparse(),
    ],
    ids=["int", "complex", "meta", "sparse"],
)
def test_tensors_that_are_not_dense_floats_are_refused(tmp_path, value):
    edit = lambda d: d["rnn"].update(weight_ih_l0=value)  # noqa: E731
    refused(saved(tmp_path, edit), "weight_ih_l0 is not a dense floating-point CPU tensor")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d["rnn"].pop("bias_hh_l0"), "rnn lacks bias_hh_l0"),
        (lambda d: d["rnn"].update(weight_hr_l0=torch.zeros(5, 5)), "unexpected key 'weight_hr"),
        (lambda d: d["readout"].update({0: torch.zeros(3)}), "readout has an unexpected key 0"),
    ],
    ids=["missing", "extra", "extra-int"],
)
def test_missing_and_extra_tensors_are_refused(tmp_path, edit, match):
    refused(saved(tmp_path, edit), match)


def test_a_variant_relabelled_as_a_kind_of_other_shapes_is_refused(tmp_path):
    # blog_tied and mgu have two gate blocks, blog three: the shapes give the lie away.
    refused(saved(tmp_path, lambda d: d.update(kind="blog"), kind="mgu"), r"shape \(10, 2\)")
    # gru_cho keeps nn.GRU's shapes: a GRU's weights load into it (and compute Cho's GRU).
    data = load_checkpoint(saved(tmp_path, lambda d: d.update(kind="gru_cho"), kind="gru"))
    assert type(to_torch_modules(data)[0]).__name__ == "ChoGRU"
