"""The field table, validation, the cost budget and the (untrusted) string round trip."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gru_viz.config import (
    FIELD_BY_NAME,
    FIELDS,
    MAX_STEP_SECONDS,
    MAX_VALUE_CHARS,
    ConfigError,
    RunConfig,
    config_from_strings,
    config_to_strings,
    cost_problem,
    estimated_step_seconds,
    estimated_train_seconds,
)

NAMES = [f.name for f in FIELDS]
NUMERIC = [f for f in FIELDS if f.kind in (int, float)]
HYPOTHESIS = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_the_table_and_the_dataclass_agree_and_the_defaults_are_valid():
    cfg = RunConfig()
    assert [f.name for f in dataclasses.fields(RunConfig)] == NAMES
    assert set(FIELD_BY_NAME) == set(NAMES)
    for field in FIELDS:
        assert getattr(cfg, field.name) == field.default, field.name
        assert field.label and field.help and field.group
        if field.kind in (int, float):
            assert field.lo <= field.default <= field.hi, field.name
            assert isinstance(getattr(cfg, field.name), field.kind), field.name
        else:
            assert field.choices
    assert cfg.models == ("gru", "rnn")
    assert RunConfig(**cfg.as_dict()) == cfg


def test_config_is_frozen_and_replace_validates():
    cfg = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0  # type: ignore[misc]
    assert cfg.replace(lr=0.5).lr == 0.5
    with pytest.raises(ConfigError, match="Learning rate"):
        cfg.replace(lr=-1)


def _bad_values():
    for f in FIELDS:
        if f.kind in (int, float):
            bad = [
                f.lo - 1,
                f.hi + 1,
                f.hi * 10 + 1,
                float("nan"),
                float("inf"),
                float("-inf"),
                "nan",
                "inf",
                "-1e999",
                "1e999",
                "abc",
                "",
                None,
                True,
                [],
                {},
                "1,2",
            ]
            if f.kind is int:
                bad += [2.5, "3.5", f"{f.lo}.5"]
        elif f.kind is str:
            bad = ["nope", "", 3, None, "adam;drop", "gru"]
        else:
            bad = ["nope", "", ",", "gru,nope", (), [], ["transformer"], 5, None, 3.5]
        for value in bad:
            yield pytest.param(f.name, value, id=f"{f.name}={value!r}")


@pytest.mark.parametrize("name, value", list(_bad_values()))
def test_each_bad_value_raises_config_error_naming_the_field(name, value):
    field = FIELD_BY_NAME[name]
    if field.kind is str and value in field.choices:
        pytest.skip("valid for this field")
    with pytest.raises(ConfigError) as err:
        RunConfig(**{name: value})
    assert field.label in str(err.value)


@pytest.mark.parametrize("field", NUMERIC, ids=lambda f: f.name)
def test_the_range_ends_are_accepted(field):
    for value in (field.lo, field.hi):
        changes = {field.name: value}
        if field.name in ("batch_size", "seq_len", "hidden_size", "num_layers"):
            changes.update(batch_size=1, hidden_size=1, num_layers=1)
            changes[field.name] = value
        cfg = RunConfig(**changes)
        assert getattr(cfg, field.name) == value
        assert type(getattr(cfg, field.name)) is field.kind


def test_values_are_coerced_to_canonical_types():
    cfg = RunConfig(
        seq_len="64",
        lr="0.5",
        hidden_size=16.0,
        task=" COPY ",
        models="lstm, GRU ,gru",
        optimizer="SGD",
    )
    assert cfg.seq_len == 64 and type(cfg.seq_len) is int
    assert cfg.hidden_size == 16 and type(cfg.hidden_size) is int
    assert cfg.lr == 0.5 and type(cfg.lr) is float
    assert cfg.task == "copy" and cfg.optimizer == "sgd"
    assert cfg.models == ("gru", "lstm")  # canonical order, no duplicates
    assert RunConfig(models=["rnn", "gru"]).models == ("gru", "rnn")


def test_derived_properties():
    assert RunConfig(task="copy", seq_len=20, recall_len=4).total_len == 28
    assert RunConfig(task="adding", seq_len=20, recall_len=4).total_len == 20
    assert RunConfig(clip=0).clip_norm is None
    assert RunConfig(clip=2.5).clip_norm == 2.5


# -- cost budget -----------------------------------------------------------------------------


def test_the_cost_budget_refuses_an_oversized_config():
    with pytest.raises(ConfigError, match="too much work"):
        RunConfig(batch_size=256, seq_len=200, hidden_size=128, num_layers=3)
    fits = RunConfig(batch_size=128, seq_len=200, hidden_size=64)
    assert estimated_step_seconds(fits) <= MAX_STEP_SECONDS
    for too_much in (
        dict(num_layers=2),
        dict(batch_size=256),
        dict(models=("gru", "rnn", "lstm")),
    ):
        with pytest.raises(ConfigError, match="too much work"):
            fits.replace(**too_much)
    # One sequence per batch, but a deep model probed on every step: the probe's unrolled
    # replay is what costs.
    deep = RunConfig(batch_size=1, seq_len=200, hidden_size=128, num_layers=3, probe_samples=4)
    with pytest.raises(ConfigError, match="too much work"):
        deep.replace(probe_every=1)


def test_the_cost_grows_with_each_thing_that_adds_work():
    base = RunConfig(batch_size=32, seq_len=100, hidden_size=32)
    cost = estimated_step_seconds
    # Linear in the steps the models see: the copy task adds its symbols and the recall.
    copy = base.replace(task="copy", recall_len=10)
    assert cost(copy) / cost(base) == pytest.approx(120 / 100)
    # Training is linear in the layers; the probe more (its gradient reaches each lower layer).
    train = estimated_train_seconds
    assert train(base.replace(num_layers=2)) == pytest.approx(2 * train(base))
    assert cost(base.replace(num_layers=2)) > 2 * cost(base)
    assert cost(base.replace(models=("gru", "rnn", "lstm"))) > cost(base)
    # Matched parameter counts make the RNN as costly as the GRU.
    assert cost(base.replace(size_by="params")) > cost(base)
    assert cost(base.replace(probe_every=1)) > cost(base) > cost(base.replace(probe_every=1000))
    assert cost(base.replace(hidden_size=64)) > cost(base) > cost(base.replace(batch_size=1))


def test_from_strings_falls_back_when_values_fit_alone_but_not_together():
    base = RunConfig(batch_size=64, seq_len=50, hidden_size=32)
    cfg, problems = config_from_strings(
        {"batch_size": "256", "seq_len": "200", "hidden_size": "128", "num_layers": "3"}, base
    )
    assert cfg == base
    assert len(problems) == 1 and "too much work" in problems[0]


# -- structural vs live ----------------------------------------------------------------------


def test_structural_changes_name_what_needs_a_rebuild():
    base = RunConfig()
    other = base.replace(
        task="copy",
        seed=3,
        hidden_size=16,
        lr=0.5,
        clip=0.0,
        batch_size=8,
        optimizer="sgd",
        probe_every=5,
    )
    assert other.structural_changes(base) == ["task", "hidden_size", "seed"]
    assert base.structural_changes(base) == []
    live = {"optimizer": "sgd", "lr": 0.5, "batch_size": 8, "clip": 0.0, "probe_every": 3}
    assert {f.name for f in FIELDS if not f.structural} == set(live)
    for name, value in live.items():
        assert base.replace(**{name: value}).structural_changes(base) == [], name


# -- strings in, config out -------------------------------------------------------------------


def test_from_strings_accepts_good_values_and_reports_bad_ones():
    cfg, problems = config_from_strings(
        {
            "lr": "0.5",
            "models": "rnn",
            "task": "copy",
            "seq_len": "abc",
            "clip": "nan",
            "lesson": "gates",
            "hidden_size": ["8", "16"],
        }
    )
    assert cfg.lr == 0.5 and cfg.models == ("rnn",) and cfg.task == "copy"
    assert cfg.hidden_size == 16  # a repeated query parameter: the last one wins
    assert cfg.seq_len == RunConfig().seq_len and cfg.clip == RunConfig().clip
    assert len(problems) == 2  # unknown keys are someone else's business, not a problem
    assert any("Sequence length" in p for p in problems)
    assert any("clipping" in p for p in problems)


def test_from_strings_refuses_overlong_values_and_keeps_the_base():
    base = RunConfig(lr=0.2)
    cfg, problems = config_from_strings({"lr": "0" * (MAX_VALUE_CHARS - 3) + "0.5"}, base)
    assert cfg.lr == 0.5 and problems == []
    cfg, problems = config_from_strings({"lr": "0" * MAX_VALUE_CHARS + "0.5"}, base)
    assert cfg == base and len(problems) == 1 and "too long" in problems[0]


JUNK = st.sampled_from(
    [
        "nan",
        "NaN",
        "-nan",
        "inf",
        "-inf",
        "1e999",
        "-1",
        "0",
        "1e-999",
        "9" * 40,
        "9" * 400,
        "",
        " ",
        ",",
        ",,,",
        "gru,",
        "GRU,rnn,lstm,lstm",
        "0x10",
        "1_000",
        "½",
        "٣",
        "１２",
        "true",
        "None",
        "[]",
        "{}",
        "\x00",
        "💥",
        "é" * 70,
        "𝟙𝟚",
        "adam\n",
        "1e308",
        "-0",
    ]
)
VALUES = st.one_of(
    JUNK,
    st.text(max_size=80),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.lists(st.one_of(JUNK, st.text(max_size=10)), max_size=4),
)
KEYS = st.one_of(st.sampled_from(NAMES), st.text(max_size=20))


def _check_result(result, values, base):
    cfg, problems = result
    assert isinstance(cfg, RunConfig)
    assert RunConfig(**cfg.as_dict()) == cfg  # a valid config
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
    for name in NAMES:
        if name not in values:
            assert getattr(cfg, name) == getattr(base, name), name
    for value in cfg.as_dict().values():
        if isinstance(value, float):
            assert math.isfinite(value)


@HYPOTHESIS
@given(values=st.dictionaries(KEYS, VALUES, max_size=10))
def test_from_strings_never_raises_on_hostile_text(values):
    base = RunConfig(hidden_size=16, lr=0.2)
    _check_result(config_from_strings(values, base), values, base)


NON_TEXT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(), st.text()),
)


@HYPOTHESIS
@given(values=st.dictionaries(st.sampled_from(NAMES), NON_TEXT, max_size=6))
def test_from_strings_never_raises_on_values_that_are_not_text(values):
    # The signature takes Mapping[str, Any] (a form or JSON can hand over numbers or null).
    base = RunConfig()
    _check_result(config_from_strings(values, base), values, base)


@st.composite
def valid_configs(draw):
    changes = {}
    for field in FIELDS:
        if field.kind is int:
            value = draw(st.integers(int(field.lo), int(field.hi)))
        elif field.kind is float:
            value = draw(st.floats(field.lo, field.hi, allow_nan=False))
        elif field.kind is str:
            value = draw(st.sampled_from(field.choices))
        else:
            value = tuple(draw(st.lists(st.sampled_from(field.choices), min_size=1, unique=True)))
        changes[field.name] = value
    # Keep within the cost budget by choosing the batch last (the cost is linear in it).
    one, two = (
        estimated_step_seconds(SimpleNamespace(**dict(changes, batch_size=b))) for b in (1, 2)
    )
    # The probe and the rebuild do not depend on the batch: within their limits at batch 1.
    assume(cost_problem(SimpleNamespace(**dict(changes, batch_size=1))) is None)
    most = 1 + int((MAX_STEP_SECONDS - one) // (two - one))
    changes["batch_size"] = draw(st.integers(1, min(256, most)))
    return RunConfig(**changes)


@HYPOTHESIS
@given(cfg=valid_configs())
def test_round_trip_through_strings(cfg):
    strings = config_to_strings(cfg)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in strings.items())
    back, problems = config_from_strings(strings)
    assert problems == []
    assert back == cfg


@pytest.mark.parametrize(
    "cfg",
    [
        RunConfig(),
        RunConfig(task="copy", seq_len=12, n_symbols=6, recall_len=5, models=("lstm",)),
        RunConfig(
            task="missing",
            missing_rate=0.45,
            noise=0.05,
            lr=0.003,
            clip=0.0,
            optimizer="sgd",
            seed=2**31 - 1,
            models=("gru", "rnn", "lstm"),
        ),
        RunConfig(
            task="irregular",
            hidden_size=128,
            batch_size=16,
            num_layers=3,
            trend=1.25,
            season=0.0,
            probe_every=1,
            probe_samples=32,
        ),
    ],
)
def test_round_trip_of_hand_picked_configs(cfg):
    strings = config_to_strings(cfg)
    assert (cfg == RunConfig()) == (strings == {})  # only what differs from the defaults
    back, problems = config_from_strings(strings)
    assert back == cfg and problems == []
