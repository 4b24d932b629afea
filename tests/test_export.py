"""Downloads and CLI files: what they hold, that they stay small, and that they are built in pieces.

Times and stalls are measured by bench/bench_exports.py, not asserted here (shared CI machines
make timings flaky); these tests check what bounds them: planned sizes and piece sizes.
"""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest

from bench.setups import W_ADMITTED
from gru_viz import export
from gru_viz.config import RunConfig
from gru_viz.trainer import Trainer

# Padding (NaN), three kinds and two layers, in a few milliseconds.
SMALL = RunConfig(
    task="varlen",
    seq_len=12,
    hidden_size=6,
    num_layers=2,
    models=("gru", "rnn", "lstm"),
    batch_size=8,
    probe_samples=3,
)
LIMIT = 60e6  # issue 12: every file under 60 MB


@pytest.fixture(scope="module")
def small() -> Trainer:
    trainer = Trainer(SMALL)
    trainer.step(2)
    return trainer


@pytest.fixture(scope="module")
def heavy() -> Trainer:
    # W itself is refused by the probe budget now (tests/test_budget.py); its heaviest admitted
    # variant with all 32 probe samples is what the exports must bound.
    return Trainer(RunConfig(**W_ADMITTED["W/len 80"]))  # a few seconds: its initial probe


def _json_arrays(text: str) -> dict[str, np.ndarray]:
    arrays = json.loads(text)["arrays"]
    return {name: np.array(values, dtype=object) for name, values in arrays.items()}


def _as_float(values: np.ndarray) -> np.ndarray:
    return np.where(values == None, np.nan, values).astype(float)  # noqa: E711 (elementwise)


def test_heaviest_setup_files_fit_and_say_what_was_left_out(heavy):
    for kind in ("json", "npz"):
        plan = export.plan_probe_file(heavy, kind)
        assert plan.max_bytes <= export.MAX_FILE_BYTES[kind] < LIMIT
    plan = export.plan_probe_file(heavy, "json")
    assert len(export.probe_json(heavy).encode()) <= plan.max_bytes
    keep = len(plan.arrays["gru_h"])
    assert 0 < keep < 32 and f"first {keep} of 32 probe samples" in plan.notes[-1]
    assert len(plan.arrays["gru_prediction"]) == 32  # only per-unit traces are trimmed

    data = export.probe_npz_bytes(heavy)
    assert len(data) <= export.plan_probe_file(heavy, "npz").max_bytes
    arrays = np.load(io.BytesIO(data))
    assert arrays["lstm_c"].shape == (32, 80, heavy.slots["lstm"].model.hidden_size)
    assert "all_layers" not in " ".join(arrays.files)  # every layer would not fit: not offered
    assert not export.all_layers_fit(heavy)
    assert "probe_npz_all_layers" not in [f.id for f in export.export_files(heavy)]
    refused = export.plan_probe_file(heavy, "json", all_layers=True)
    assert "All 3 layers would make this .json file" in refused.notes[1]


def test_no_quantity_is_stored_twice(small):
    top = export.probe_arrays(small)
    every = export.probe_arrays(small, all_layers=True)
    for arrays in (top, every):
        assert not [n for n in arrays if f"{n}_all_layers" in arrays], sorted(arrays)
    assert not [n for n in top if n.endswith("_all_layers")]
    for name, values in every.items():
        if name.endswith("_all_layers"):
            np.testing.assert_array_equal(values[-1], top[name.removesuffix("_all_layers")])


def test_npz_holds_the_probe_records_exactly(small):
    arrays = np.load(io.BytesIO(export.probe_npz_bytes(small, all_layers=True)))
    batch = small.probe_batch
    for name in ("x", "target", "loss_mask", "valid"):
        np.testing.assert_array_equal(arrays[name], getattr(batch, name).numpy())
    for kind, slot in small.slots.items():
        result = slot.latest
        assert np.isnan(result.traces["h"]).any()  # varlen pads: NaN must survive
        for name, values in result.traces.items():
            assert arrays[f"{kind}_{name}_all_layers"].dtype == np.float32
            np.testing.assert_array_equal(arrays[f"{kind}_{name}_all_layers"], values)
        np.testing.assert_array_equal(arrays[f"{kind}_grad_h_norm_all_layers"], result.grad_h_norm)
        np.testing.assert_array_equal(arrays[f"{kind}_prediction"], result.prediction)
        np.testing.assert_array_equal(arrays[f"{kind}_loss"], result.loss)
        assert int(arrays[f"{kind}_probe_step"]) == result.step
    assert "NaN (null in JSON) marks padded steps" in str(arrays["notes"])


@pytest.mark.parametrize("cfg", [SMALL, RunConfig(task="copy", seq_len=5, hidden_size=4)])
def test_json_holds_the_probe_records_to_six_digits(cfg):
    trainer = Trainer(cfg)
    payload = json.loads(export.probe_json(trainer))
    assert payload["step"] == 0 and payload["config"] == json.loads(json.dumps(cfg.as_dict()))
    arrays = _json_arrays(export.probe_json(trainer))
    batch = trainer.probe_batch
    for name in ("loss_mask", "valid"):
        np.testing.assert_array_equal(arrays[name].astype(bool), getattr(batch, name).numpy())
    target = batch.target.numpy()  # class ids (copy) stay integers
    np.testing.assert_allclose(_as_float(arrays["target"]), target, rtol=5e-6)
    for kind, slot in trainer.slots.items():
        result = slot.latest
        expected = {
            f"{kind}_grad_h_norm": result.grad_h_norm[-1],
            f"{kind}_prediction": result.prediction,
            f"{kind}_loss": result.loss,
            **{f"{kind}_{name}": values[-1] for name, values in result.traces.items()},
        }
        for name, values in expected.items():
            got = _as_float(arrays[name])
            np.testing.assert_array_equal(np.isnan(got), np.isnan(values))  # null <-> NaN
            np.testing.assert_allclose(got, values, rtol=5e-6, atol=1e-37, equal_nan=True)


def test_every_planned_file_stays_within_its_bound(small, monkeypatch):
    """Shrink the budget through full, trimmed, traceless and refused files."""
    for kind, build in (("json", export.probe_json), ("npz", export.probe_npz_bytes)):
        full = export.plan_probe_file(small, kind, all_layers=True).max_bytes
        for budget in (full, full - 1, full // 2, full // 4, export._FILE_OVERHEAD + 100):
            monkeypatch.setitem(export.MAX_FILE_BYTES, kind, budget)
            for all_layers in (False, True):
                plan = export.plan_probe_file(small, kind, all_layers)
                data = build(small, all_layers)
                size = len(data.encode() if isinstance(data, str) else data)
                assert size <= plan.max_bytes <= budget, (kind, budget, all_layers)
                samples = {len(v) for n, v in plan.arrays.items() if n.endswith("_h")}
                if samples and samples != {3}:
                    assert any("probe samples" in note for note in plan.notes)
                if not plan.arrays:
                    assert "Refused" in plan.notes[-1]
        monkeypatch.undo()


def test_all_layers_are_offered_only_when_they_fit(small, monkeypatch):
    assert export.all_layers_fit(small)
    assert "probe_npz_all_layers" in [f.id for f in export.export_files(small)]
    top = export.plan_probe_file(small, "npz").max_bytes
    monkeypatch.setitem(export.MAX_FILE_BYTES, "npz", top)
    assert not export.all_layers_fit(small)
    plan = export.plan_probe_file(small, "npz", all_layers=True)
    assert not plan.all_layers and "holds the top layer" in plan.notes[-1]


@pytest.mark.parametrize("chunk", [7, 40, 500])  # pieces of rows, of items, of whole arrays
def test_json_is_built_in_bounded_pieces_with_a_pause_between(small, monkeypatch, chunk):
    whole = export.probe_json(small)
    monkeypatch.setattr(export, "CHUNK_NUMBERS", chunk)
    pieces = list(export.probe_json_chunks(small))
    assert "".join(pieces) == whole
    number = re.compile(r"null|true|false|-?\d[\d.e+-]*")
    assert max(len(number.findall(piece)) for piece in pieces[1:]) <= chunk  # [0]: settings
    pauses = []
    monkeypatch.setattr(export, "_let_others_run", lambda: pauses.append(1))
    assert export.probe_json(small) == whole and len(pauses) == len(pieces)


def test_metrics_csv_has_one_row_per_step_and_model(small):
    rows = list(csv.reader(io.StringIO(export.metrics_csv(small))))
    assert tuple(rows[0]) == (*export.METRIC_COLUMNS, *export.HEAD_COLUMNS, export.EVENT_COLUMN)
    body = rows[1:]
    assert [(int(r[0]), r[1]) for r in body] == sorted((int(r[0]), r[1]) for r in body)
    for kind, slot in small.slots.items():
        mine = [r for r in body if r[1] == kind]
        assert len(mine) == len(slot.history) == 2
        for i, name in enumerate(export.METRIC_COLUMNS):
            if name != "model":
                got = [float(r[i]) for r in mine]
                np.testing.assert_allclose(got, slot.history.array(name), rtol=5e-6)


def test_one_catalogue_names_every_file_and_the_cli_writes_its_share(small, tmp_path):
    files = export.export_files(small, script_note="clamped z")
    ids = [f.id for f in files]
    assert len(set(ids)) == len(ids)
    assert ids[:4] == ["metrics", "probe_json", "probe_npz", "report"]
    assert {"checkpoint_gru", "checkpoint_rnn", "checkpoint_lstm", "script"} <= set(ids)
    run = export.run_name(small)
    names = [f.file_name(run) for f in files]
    assert f"{run}-probe.npz" in names and f"{run}-lstm.pt" in names
    script = files[-1]
    assert not script.cli and script.file_name(run) == script.suffix  # names itself
    assert "clamped z" in script.build(small)

    written = export.write_files(small, tmp_path, skip={"report"})
    expected = [f.suffix for f in files if f.cli and f.id != "report"]
    assert written == expected and {p.name for p in tmp_path.iterdir()} == set(written)
    assert "probe.json" not in written and "report.html" not in written
    assert (tmp_path / "metrics.csv").read_text() == export.metrics_csv(small)
    saved = np.load(tmp_path / "probe.npz")
    np.testing.assert_array_equal(saved["gru_h"], small.slots["gru"].latest.traces["h"][-1])


def test_no_float32_needs_more_than_twelve_characters():
    worst = np.array(
        [-1.17549e-38, -3.4e38, -1.4e-45, -0.000123457, -123456.7, -np.inf, np.nan], np.float32
    )
    for value in worst:
        text = "".join(export._json_chunks(value))
        assert len(text) <= export._ELEMENT_CHARS["f"]
        read = json.loads(text)
        assert read is None if not np.isfinite(value) else read == pytest.approx(value, rel=5e-6)
    assert len("".join(export._json_chunks(worst))) + 1024 <= export._json_chars(worst)
