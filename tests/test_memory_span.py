"""The memory-span panel (gru_viz.dashboard.memory_span) and the sweeps shipped with the app.

``run_every`` never fires in AppTest, so every ``at.run()`` is one tick of the panel's fragment,
exactly as it is one tick of the live one. Until page.py mounts the panel itself, the app here is
app.py's two lines plus the mount.
"""

from __future__ import annotations

import json

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from gru_viz import chart_payload, sweep, sweep_report
from gru_viz.config import RunConfig
from gru_viz.dashboard import memory_span
from gru_viz.lessons import LESSONS

SMALL = {"cfg_seq_len": 12, "cfg_hidden_size": 8, "cfg_batch_size": 16}
TINY_LENGTHS, TINY_STEPS = [5, 12], 10
TINY_BASE = RunConfig(seq_len=12, hidden_size=8, batch_size=16)  # what SMALL runs


def app() -> None:
    from gru_viz.dashboard import boot

    slot = boot.start()
    from gru_viz.dashboard import page

    page.main(slot)
    if not hasattr(page, "memory_span"):  # until page.py mounts the panel itself
        from gru_viz.dashboard.memory_span import memory_span
        from gru_viz.dashboard.state import PAGE

        memory_span(PAGE.live)


def open_app(query: dict[str, str] | None = None, **settings) -> AppTest:
    at = AppTest.from_function(app, default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception
    for key, value in settings.items():
        widgets = at.sidebar.get("slider") + at.sidebar.get("number_input")
        (widget,) = [w for w in widgets if w.key == key]
        widget.set_value(value)
    at.run()
    assert not at.exception
    return at


def open_panel(at: AppTest, lengths=None, seeds=None, steps=None) -> AppTest:
    at.toggle(key=memory_span.TOGGLE_KEY).set_value(True).run()
    assert not at.exception
    if lengths is not None:
        at.multiselect(key=memory_span.LENGTHS_KEY).set_value(lengths)
        at.selectbox(key=memory_span.SEEDS_KEY).set_value(seeds)
        at.number_input(key=memory_span.STEPS_KEY).set_value(steps)
        at.run()
        assert not at.exception
    return at


def chart(at: AppTest) -> dict:
    (component,) = [c for c in at.get("bidi_component") if c.key == memory_span.CHART_KEY]
    return chart_payload.figures(component.proto.bytes)[memory_span.CHART_KEY]


def figure_of(rows) -> dict:
    return json.loads(sweep_report.sweep_figure(rows).to_json())


def state(at: AppTest) -> memory_span.SpanState:
    return at.session_state[memory_span.STATE_KEY]


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


@pytest.fixture(autouse=True)
def fresh_cache():
    memory_span.CACHE.clear()
    yield
    memory_span.CACHE.clear()


@pytest.fixture
def no_training(monkeypatch):
    def refuse(run):
        raise AssertionError(f"trained {run.describe()}")

    monkeypatch.setattr(sweep.SweepRunner, "_start", staticmethod(refuse))


@pytest.fixture
def timers(monkeypatch):
    """run_every of every mount of the panel's fragment."""
    seen: list = []
    real = streamlit.fragment

    def fragment(func=None, *, run_every=None):
        if getattr(func, "__name__", "") == "_panel":
            seen.append(run_every)
        return real(func, run_every=run_every)

    monkeypatch.setattr(streamlit, "fragment", fragment)
    return seen


@pytest.fixture(scope="module")
def oracle():
    """The one-shot sweep of the tiny plan with seeds 0 and 1, in gru_viz.sweep."""
    return sweep.run_sweep(sweep.SweepPlan(TINY_BASE, TINY_LENGTHS, (0, 1), TINY_STEPS))


# -- the shipped sweeps -------------------------------------------------------------------------
def test_every_lesson_has_a_shipped_sweep_that_loads_and_matches_its_settings():
    shipped = {s.name: s for s in sweep.read_shipped_sweeps()}  # check_rows inside
    assert set(shipped) == set(LESSONS)
    for key, lesson in LESSONS.items():
        expected = sweep.shipped_plan(lesson.config)
        found = shipped[key]
        settings = json.loads((sweep.SHIPPED_FOLDER / f"{key}.json").read_text())["settings"]
        assert "hidden_size" in settings  # defaults spelled out: a changed default cannot
        # make the rows mean another setup
        same = found.plan.base.as_dict() == expected.base.as_dict()
        assert same and found.plan.settings() == expected.settings(), (
            f"{key}: the shipped sweep is not of the lesson's setup any more: regenerate it with "
            f'python -c "from gru_viz.sweep import write_shipped_sweeps; '
            f"write_shipped_sweeps(lessons=['{key}'])\""
        )
        rows = list(found.rows)
        assert len(rows) == len(expected) * len(expected.models)
        assert {r["task"] for r in rows} == {lesson.config.task}
        text = (sweep.SHIPPED_FOLDER / f"{key}.csv").read_text(encoding="utf-8")
        assert sweep.to_csv(rows) == text  # exactly what to_csv writes
        # the panel finds every run of it, and proposes its plan for the lesson's setup
        assert all(memory_span.CACHE.source(run) == "shipped" for run, _ in found.runs())
        lengths, seeds, steps = memory_span.defaults(lesson.config)
        assert (tuple(lengths), tuple(range(seeds)), steps) == (
            expected.lengths,
            expected.seeds,
            expected.steps,
        )
    forget = {(r["model"], r["seq_len"]): r for r in shipped["forget"].rows if r["seed"] == 0}
    # what the sweep is for: at length 80 the GRU still solves the adding task, the RNN does not
    assert forget["gru", 80]["final_loss"] < 0.1 * forget["gru", 80]["baseline"]
    assert forget["rnn", 80]["final_loss"] > 0.5 * forget["rnn", 80]["baseline"]


@pytest.mark.parametrize("name", ["exploding", "forget"])
def test_a_shipped_run_is_what_the_code_trains_now(name):
    """The shortest run of two shipped sweeps, trained again: a change to training that moves
    the numbers means the shipped sweeps must be regenerated (the command: gru_viz.sweep)."""
    (shipped,) = [s for s in sweep.read_shipped_sweeps() if s.name == name]
    length = shipped.plan.lengths[0]
    plan = sweep.SweepPlan(shipped.plan.base, (length,), (0,), shipped.plan.steps)
    old = [r for r in shipped.rows if r["seq_len"] == length and r["seed"] == 0]
    for row, before in zip(sweep.run_sweep(plan), old, strict=True):
        same = ("model", "seq_len", "steps", "stopped")
        assert {k: row[k] for k in same} == {k: before[k] for k in same}
        assert row["final_loss"] == pytest.approx(before["final_loss"], rel=1e-4), (
            f"{name}: regenerate the shipped sweeps"
        )


def test_a_shipped_sweep_must_match_its_settings(tmp_path):
    source = sweep.SHIPPED_FOLDER / "forget"
    rows = sweep.from_csv(source.with_suffix(".csv").read_text())
    settings = json.loads(source.with_suffix(".json").read_text())
    (tmp_path / "a.json").write_text(json.dumps(settings))
    (tmp_path / "a.csv").write_text(sweep.to_csv(rows[:-1]))  # a run's model missing
    with pytest.raises(ValueError, match="do not match the settings"):
        sweep.read_shipped_sweep(tmp_path / "a.csv")
    settings["settings"]["steps"] = "999"
    (tmp_path / "a.json").write_text(json.dumps(settings))
    (tmp_path / "a.csv").write_text(sweep.to_csv(rows))
    with pytest.raises(ValueError, match="1000 steps where the settings say 999"):
        sweep.read_shipped_sweep(tmp_path / "a.csv")


# -- the panel ----------------------------------------------------------------------------------
def test_a_lessons_setup_opens_with_its_shipped_sweep_at_once(no_training, timers):
    at = open_app({"lesson": "forget"})
    assert not at.toggle(key=memory_span.TOGGLE_KEY).value  # off by default
    assert memory_span.CHART_KEY not in [c.key for c in at.get("bidi_component")]
    open_panel(at)
    (shipped,) = [s for s in memory_span.shipped() if s.name == "forget"]
    assert chart(at) == figure_of(shipped.rows)
    assert at.multiselect(key=memory_span.LENGTHS_KEY).value == [10, 20, 40, 80]
    assert at.selectbox(key=memory_span.SEEDS_KEY).value == 2
    assert at.number_input(key=memory_span.STEPS_KEY).value == 1000
    assert "Of the 8 runs, 8 shipped with the app" in captions(at)
    assert "every run is done already" in captions(at)
    assert at.button(key="span_start").disabled and at.button(key="span_cancel").disabled
    assert "At length 80: GRU" in captions(at)  # the reading
    assert not at.get("download_button")[0].proto.disabled
    assert set(timers) == {None}  # nothing to run: no timer
    # Found by its settings, not the lesson's name: the control "short" (seq_len 10) is the
    # same setup, and so is a plain page (the default settings are the forget lesson's).
    at = open_panel(open_app({"lesson": "forget", "control": "short"}))
    assert chart(at) == figure_of(shipped.rows)
    at = open_panel(open_app())
    assert chart(at) == figure_of(shipped.rows)
    # A sweep of fewer lengths is shown from the same runs, also at once.
    at.multiselect(key=memory_span.LENGTHS_KEY).set_value([20, 80]).run()
    plan = sweep.SweepPlan(RunConfig(), (20, 80), (0, 1), 1000)
    assert chart(at) == figure_of(memory_span.known_rows(plan)[0])
    assert at.button(key="span_start").disabled


def test_a_plan_over_the_servers_budget_is_refused_with_a_message():
    lengths = [10, 20, 30, 40, 50, 60, 80, 100]
    at = open_panel(open_app(), lengths=lengths, seeds=3, steps=5000)
    (error,) = at.error
    assert error.value.startswith(
        "Not started: sweep too large: 8 lengths × 3 seeds × 2 models × 5000 steps = 240,000 "
        "model-steps (limit 200,000"
    )
    assert at.button(key="span_start").disabled
    # a setup changed in the sidebar: the panel proposes that setup's sweep, not a shipped one
    at.sidebar.slider(key="cfg_hidden_size").set_value(16).run()
    assert at.multiselect(key=memory_span.LENGTHS_KEY).value == [10, 20, 40, 80]
    assert at.selectbox(key=memory_span.SEEDS_KEY).value == 1
    assert not at.error and not at.button(key="span_start").disabled
    assert "about" in captions(at) and "of training, shared with the class" in captions(at)
    assert chart(at) == figure_of([])


def test_a_sweep_runs_in_slices_on_a_paused_page_and_gives_the_one_shot_rows(
    monkeypatch, timers, oracle
):
    monkeypatch.setattr(memory_span, "SLICE_SECONDS", 0.0)  # one step a tick
    at = open_panel(open_app(**SMALL), lengths=TINY_LENGTHS, seeds=1, steps=TINY_STEPS)
    assert at.session_state["live"].cfg == TINY_BASE
    assert chart(at) == figure_of([]) and not at.button(key="span_start").disabled
    at.button(key="span_start").click().run()
    texts, ticks = [], 1
    while state(at).running:
        assert at.get("progress"), "no progress bar while running"
        texts.append(at.get("progress")[0].text)
        assert at.multiselect(key=memory_span.LENGTHS_KEY).disabled
        assert not at.button(key="span_cancel").disabled
        at.run()
        ticks += 1
        assert ticks < 100 and not at.exception
    assert ticks == 2 * TINY_STEPS, texts  # one step a tick, the last one finishes
    assert not at.session_state["live"].playing  # the page stayed paused throughout
    assert any("now length 12, seed 0: step" in t for t in texts), texts
    assert any(t.startswith("1/2 runs done") for t in texts), texts
    assert any("left" in t for t in texts[1:]), texts
    # the timer ran while the sweep did, and stopped with it
    assert memory_span.TICK_SECONDS in timers and timers[-1] is None
    assert state(at).runner.rows == oracle[:4]  # seed 0's runs, as run_sweep gives them
    assert chart(at) == figure_of(oracle[:4])
    assert at.get("progress")[0].text == "2/2 runs done · finished"
    assert at.get("progress")[0].value == 100
    assert at.button(key="span_start").disabled  # every run is done

    # Another session with the same setup: the rows at once, nothing trained.
    monkeypatch.setattr(sweep.SweepRunner, "_start", staticmethod(lambda run: 1 / 0))
    other = open_panel(open_app(**SMALL), lengths=TINY_LENGTHS, seeds=1, steps=TINY_STEPS)
    assert chart(other) == figure_of(oracle[:4])
    assert "Of the 2 runs, 2 trained on this server before" in captions(other)
    assert other.button(key="span_start").disabled and not other.error


def test_cancel_keeps_the_finished_runs_and_start_reuses_them(monkeypatch, oracle):
    monkeypatch.setattr(memory_span, "SLICE_SECONDS", 0.0)
    at = open_panel(open_app(**SMALL), lengths=TINY_LENGTHS, seeds=2, steps=TINY_STEPS)
    at.button(key="span_start").click().run()
    while state(at).runner.progress().runs_done < 1:
        at.run()
    runs_done = state(at).runner.progress().runs_done
    assert state(at).running and 1 <= runs_done < 4
    at.button(key="span_cancel").click().run()
    assert not at.exception and not state(at).running and state(at).runner.cancelled
    kept = oracle[: 2 * runs_done]
    assert state(at).runner.rows == kept
    assert chart(at) == figure_of(kept)
    assert "cancelled: the finished runs are kept" in at.get("progress")[0].text
    assert f"{runs_done} of them done already" in captions(at)
    # Start again: the finished runs are taken as they are, the rest trained.
    at.button(key="span_start").click().run()
    assert state(at).runner.reused == runs_done
    for _ in range(100):
        if not state(at).running:
            break
        at.run()
    assert state(at).runner.rows == oracle
    assert chart(at) == figure_of(oracle)


# -- the parts --------------------------------------------------------------------------------
def test_the_cache_is_bounded_and_drops_the_least_recently_used():
    plan = sweep.SweepPlan(TINY_BASE, (5, 6, 7), steps=2)
    cache = memory_span.RunCache(most=2)
    a, b, c = plan.runs()
    for run in (a, b):
        cache.put(run, [{"seq_len": run.length}])
    assert cache.get(a) == [{"seq_len": 5}]  # a is now the most recent
    cache.put(c, [{"seq_len": 7}])
    assert len(cache) == 2 and cache.get(b) is None and cache.source(c) == "cached"
    rows = cache.get(a)
    rows[0]["seq_len"] = 99  # a copy: the cache keeps its own
    assert cache.get(a) == [{"seq_len": 5}]


def test_a_reusing_runner_trains_only_the_unknown_runs(oracle):
    plan = sweep.SweepPlan(TINY_BASE, TINY_LENGTHS, (0, 1), TINY_STEPS)
    runs = list(plan.runs())
    given = {runs[1].index: oracle[2:4], runs[3].index: oracle[6:8]}
    trained = []
    runner = sweep.ReusingSweepRunner(
        plan, lambda run: given.get(run.index), lambda run, rows: trained.append((run, rows))
    )
    while not runner.done:
        runner.run_slice(0.01)
    assert runner.rows == oracle and runner.reused == 2
    assert [(run.index, rows) for run, rows in trained] == [(0, oracle[:2]), (2, oracle[4:6])]
    everything = sweep.ReusingSweepRunner(
        plan, lambda run: oracle[2 * run.index : 2 * run.index + 2]
    )
    assert everything.done and everything.rows == oracle and everything.progress().fraction == 1


def test_progress_text_and_the_time_left():
    assert memory_span.eta_seconds([(0.0, 0.1)], 0.1) is None
    assert memory_span.eta_seconds([(0.0, 0.1), (2.0, 0.3)], 0.3) == pytest.approx(7.0)
    assert memory_span.eta_seconds([(0.0, 0.3), (2.0, 0.3)], 0.3) is None  # no progress yet
    runner = sweep.SweepPlan(TINY_BASE.replace(task="copy"), (5, 8), steps=3).runner()
    progress = runner.run_slice(0)
    assert memory_span.progress_text(progress, "copy", 65.0) == (
        "0/2 runs done · now lag 5, seed 0: step 1/3 · about 1:05 left"
    )
    assert memory_span.progress_text(progress, "copy", None).endswith("working out the time left")
