"""Length sweeps: how far back can each model remember? Final loss against sequence length.

A sweep trains the chosen models at several sequence lengths (for the copy task: lags) and seeds,
and reports each model's final loss as a share of the task's trivial baseline. The CLI's
``python -m gru_viz sweep`` runs one to the end; a page can run the same plan in small budgeted
slices, show the progress and cancel:

    plan = SweepPlan(RunConfig(task="adding"), lengths=(10, 20, 40), seeds=(0, 1), steps=400)
    runner = plan.runner()
    while not runner.done:
        progress = runner.run_slice(0.2)  # trains for about 0.2 s, then returns
    figure = sweep_report.sweep_figure(runner.rows)

One ``Trainer`` per (length, seed) trains every chosen model on the same batches, as the app
does. Results are plain rows (dicts keyed by ``COLUMNS``), written by ``to_csv`` and drawn by
``gru_viz.sweep_report.sweep_figure``. Only the training imports torch, so the figure, the table
and the HTML (``gru_viz.sweep_report``) are built and tested from rows alone.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gru_viz.config import (
    FIELD_BY_NAME,
    FIELDS,
    ConfigError,
    RunConfig,
    config_to_strings,
    estimated_step_seconds,
    format_value,
)
from gru_viz.numbers import recent_loss

if TYPE_CHECKING:
    from gru_viz.trainer import Trainer

# One row per (model, length, seed). memoryless_loss is None where the task has no memoryless
# reference; stopped is the training step at which the model stopped (diverged), else None.
COLUMNS = (
    "task",
    "model",
    "seq_len",
    "seed",
    "final_loss",
    "baseline",
    "memoryless_loss",
    "steps",
    "stopped",
)
Row = dict[str, Any]

# A sweep runs on a shared machine's CPU: 200,000 model-steps at length 50 and the default sizes
# is about 40 minutes by the cost budget's estimate, and several times that at length 200.
MAX_MODEL_STEPS = 200_000
MAX_LENGTHS = 20  # more points than this on one axis read as noise, and each is a full run
MAX_SEEDS = 20


def parse_ints(text: str, name: str) -> tuple[int, ...]:
    """'10,20, 40' -> (10, 20, 40); a ConfigError naming ``name`` for anything else."""
    items = [item.strip() for item in str(text).split(",")]
    if not any(items):
        raise ConfigError(f"{name}: give one or more whole numbers, separated by commas")
    values = []
    for item in items:
        if not item:
            raise ConfigError(f"{name}: empty item in '{str(text)[:40]}'")
        try:
            values.append(int(item))
        except ValueError:
            raise ConfigError(f"{name}: '{item[:20]}' is not a whole number") from None
    return tuple(values)


def length_label(task: str) -> str:
    """What the swept length is for ``task``: the copy task sweeps its lag."""
    return "lag (blank steps to remember across)" if task == "copy" else "sequence length"


def at_length(err: ConfigError, length: int) -> ConfigError:
    """A config refused at one length: the seq_len field's own message says which; any other
    reason (the cost budget) is prefixed with the length."""
    text = str(err)
    return ConfigError(
        text if text.startswith(FIELD_BY_NAME["seq_len"].label) else f"at length {length}: {text}"
    )


@dataclass(frozen=True)
class SweepRun:
    """One Trainer's work: every model of ``cfg`` at one length and seed, for ``steps`` steps."""

    index: int
    cfg: RunConfig  # seq_len and seed set; cfg.models are the models it trains
    steps: int
    cost: float  # estimated seconds (the config's cost budget), to weigh progress and the ETA

    @property
    def length(self) -> int:
        return self.cfg.seq_len

    @property
    def seed(self) -> int:
        return self.cfg.seed

    @property
    def models(self) -> tuple[str, ...]:
        return self.cfg.models

    def describe(self) -> str:
        return f"length {self.length}, seed {self.seed}"


class SweepPlan:
    """The runs of a sweep, each validated as a RunConfig (field limits, cost budget).

    ``base`` gives every other setting; its seq_len and seed are replaced by each run's length
    and seed, and ``models`` (default: base.models) replaces its models. Lengths are sorted and
    repeats dropped; seeds keep their order. Runs go seed by seed, each over every length, so a
    sweep cancelled half-way has every length for the first seeds.
    """

    def __init__(
        self,
        base: RunConfig,
        lengths: Iterable[int],
        seeds: Iterable[int] = (0,),
        steps: int = 500,
        models: Iterable[str] | None = None,
    ):
        self.lengths = tuple(sorted(dict.fromkeys(int(v) for v in lengths)))
        self.seeds = tuple(dict.fromkeys(int(v) for v in seeds))
        self.steps = int(steps)
        if not self.lengths:
            raise ConfigError("lengths: give at least one length")
        if not self.seeds:
            raise ConfigError("seeds: give at least one seed")
        if len(self.lengths) > MAX_LENGTHS:
            raise ConfigError(f"lengths: at most {MAX_LENGTHS} (got {len(self.lengths)})")
        if len(self.seeds) > MAX_SEEDS:
            raise ConfigError(f"seeds: at most {MAX_SEEDS} (got {len(self.seeds)})")
        if self.steps < 1:
            raise ConfigError("steps: must be at least 1")
        # A bad seed or model list is wrong at every length: say it once, at the shortest.
        changes = {} if models is None else {"models": tuple(models)}
        try:
            self.base = base.replace(**changes, seq_len=self.lengths[0], seed=self.seeds[0])
        except ConfigError as err:
            raise at_length(err, self.lengths[0]) from None
        for seed in self.seeds[1:]:
            self.base.replace(seed=seed)
        self.models: tuple[str, ...] = self.base.models
        total = self.model_steps
        if total > MAX_MODEL_STEPS:
            raise ConfigError(
                f"sweep too large: {len(self.lengths)} lengths × {len(self.seeds)} seeds × "
                f"{len(self.models)} models × {self.steps} steps = {total:,} model-steps "
                f"(limit {MAX_MODEL_STEPS:,}: about 40 minutes of a shared CPU at length 50 "
                "and the default sizes, hours at the longest lengths); use fewer lengths, "
                "seeds, models or steps"
            )
        runs = []
        for seed in self.seeds:
            for length in self.lengths:
                try:
                    cfg = self.base.replace(seq_len=length, seed=seed)
                except ConfigError as err:
                    raise at_length(err, length) from None
                cost = estimated_step_seconds(cfg) * self.steps
                runs.append(SweepRun(len(runs), cfg, self.steps, cost))
        self._runs = tuple(runs)

    @property
    def model_steps(self) -> int:
        return len(self.lengths) * len(self.seeds) * len(self.models) * self.steps

    @property
    def estimated_seconds(self) -> float:
        """Training time on the reference machine (the cost budget's estimate)."""
        return sum(run.cost for run in self._runs)

    def runs(self) -> Iterator[SweepRun]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)

    def settings(self) -> dict[str, str]:
        """What a reader needs to repeat the sweep, as strings (CLI-style names)."""
        others = {
            k: v
            for k, v in config_to_strings(self.base).items()
            if k not in ("seq_len", "seed", "task", "models")
        }
        return {
            "task": self.base.task,
            "models": ",".join(self.models),
            "lengths": ",".join(map(str, self.lengths)),
            "seeds": ",".join(map(str, self.seeds)),
            "steps": str(self.steps),
            **others,
        }

    def describe(self) -> str:
        """'8 runs (4 lengths × 2 seeds) of gru+rnn, 400 steps each, about 1:02 estimated'."""
        return (
            f"{len(self)} runs ({len(self.lengths)} lengths × {len(self.seeds)} seeds) of "
            f"{'+'.join(self.models)}, {self.steps} steps each, about "
            f"{format_duration(self.estimated_seconds)} estimated"
        )

    def runner(self) -> SweepRunner:
        return SweepRunner(self)


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands, for a progress bar."""

    runs_done: int
    runs_total: int
    fraction: float  # of the estimated work, 0 to 1
    current: SweepRun | None  # the run being trained (None between runs and at the end)
    current_step: int
    busy_seconds: float  # time spent training so far (not the time between slices)
    done: bool
    cancelled: bool

    @property
    def eta_seconds(self) -> float | None:
        """Training time left, extrapolated from the time so far; None before any."""
        if self.done:
            return 0.0
        if self.fraction <= 0 or self.busy_seconds <= 0:
            return None
        return self.busy_seconds * (1 - self.fraction) / self.fraction

    def describe(self) -> str:
        """'3/8 runs, 41 %, now length 40, seed 1: step 120/400, about 1:05 left'."""
        percent = math.floor(100 * self.fraction)  # 100 % only when done
        parts = [f"{self.runs_done}/{self.runs_total} runs", f"{percent} %"]
        if self.cancelled:
            parts.append("cancelled")
        elif self.current is not None:
            run = self.current
            parts.append(f"now {run.describe()}: step {self.current_step}/{run.steps}")
        eta = self.eta_seconds
        if eta is not None and not self.done:
            parts.append(f"about {format_duration(eta)} left")
        return ", ".join(parts)


def format_duration(seconds: float) -> str:
    """0:07, 12:30, 1:02:03."""
    seconds = int(round(max(seconds, 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class SweepRunner:
    """Trains a plan's runs a slice at a time; ``rows`` holds the finished runs only."""

    def __init__(self, plan: SweepPlan):
        self.plan = plan
        self.rows: list[Row] = []
        self._runs = tuple(plan.runs())
        self._next = 0  # index of the run being trained, or the next to start
        self._trainer: Trainer | None = None
        self._done_cost = 0.0
        self._total_cost = sum(run.cost for run in self._runs) or 1.0
        self._busy = 0.0
        self.cancelled = False

    @property
    def done(self) -> bool:
        return self.cancelled or self._next >= len(self._runs)

    def run_slice(self, seconds: float) -> SweepProgress:
        """Train for about ``seconds`` (at least one step, unless done), then return.

        A slice may finish a run and start the next; building a run's models counts towards it.
        """
        start = time.perf_counter()
        while not self.done:
            if self._trainer is None:
                self._trainer = self._start(self._runs[self._next])
            trainer, run = self._trainer, self._runs[self._next]
            left = max(seconds - (time.perf_counter() - start), 0.0)
            taken = trainer.run_for(left, max_steps=run.steps - trainer.step_count)
            if not taken or trainer.step_count >= run.steps:  # finished, or every model stopped
                self._finish(run, trainer)
            if time.perf_counter() - start >= seconds:
                break
        self._busy += time.perf_counter() - start
        return self.progress()

    def cancel(self) -> None:
        """Stop: the run in progress is dropped, finished runs stay in ``rows``."""
        self._trainer = None
        self.cancelled = True

    def progress(self) -> SweepProgress:
        current, step, cost = None, 0, self._done_cost
        if self._trainer is not None:
            current = self._runs[self._next]
            step = self._trainer.step_count
            cost += current.cost * step / current.steps
        return SweepProgress(
            runs_done=self._next,
            runs_total=len(self._runs),
            fraction=1.0 if self._next >= len(self._runs) else min(cost / self._total_cost, 1),
            current=current,
            current_step=step,
            busy_seconds=self._busy,
            done=self.done,
            cancelled=self.cancelled,
        )

    @staticmethod
    def _start(run: SweepRun) -> Trainer:
        from gru_viz.records import BoundedSeries
        from gru_viz.trainer import Trainer

        trainer = Trainer(run.cfg)
        for slot in trainer.slots.values():  # every step kept: the final loss is the last 20
            slot.history = BoundedSeries(capacity=run.steps + 1)
        return trainer

    def _finish(self, run: SweepRun, trainer: Trainer) -> None:
        self.rows.extend(run_rows(trainer))
        self._trainer = None
        self._next += 1
        self._done_cost += run.cost


def run_rows(trainer: Trainer) -> list[Row]:
    """One row per model of a trained Trainer: its final loss (``recent_loss``) and references.

    A model that stopped (diverged) counts with the mean of its last recorded losses, and
    ``stopped`` says at which step it stopped.
    """
    cfg, task = trainer.cfg, trainer.task
    baseline = float(task.baseline(cfg))
    memoryless = float(task.memoryless(cfg)) if task.memoryless is not None else None
    rows = []
    for kind, slot in trainer.slots.items():
        steps = slot.history.array("step")
        stopped = None
        if slot.stopped is not None:  # every step before it was recorded
            stopped = int(steps[-1]) + 1 if steps.size else 1
        rows.append(
            {
                "task": cfg.task,
                "model": kind,
                "seq_len": cfg.seq_len,
                "seed": cfg.seed,
                "final_loss": recent_loss(slot.history.array("loss")),
                "baseline": baseline,
                "memoryless_loss": memoryless,
                "steps": int(steps[-1]) if steps.size else 0,
                "stopped": stopped,
            }
        )
    return rows


def run_sweep(
    plan: SweepPlan,
    on_progress: Callable[[SweepProgress], None] | None = None,
    slice_seconds: float = 0.1,
) -> list[Row]:
    """Run every run of ``plan`` to the end; ``on_progress`` is called after each slice."""
    runner = plan.runner()
    while not runner.done:
        progress = runner.run_slice(slice_seconds)
        if on_progress:
            on_progress(progress)
    return runner.rows


# -- rows as files ------------------------------------------------------------------------------
def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as CSV with a header; floats written exactly, None as an empty cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in COLUMNS})
    return out.getvalue()


def from_csv(text: str) -> list[Row]:
    """Rows back from ``to_csv`` text, with their types."""
    ints, floats = ("seq_len", "seed", "steps"), ("final_loss", "baseline")
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: Row = dict(raw)
        for key in ints:
            row[key] = int(row[key])
        for key in floats:
            row[key] = float(row[key])
        row["memoryless_loss"] = float(raw["memoryless_loss"]) if raw["memoryless_loss"] else None
        row["stopped"] = int(raw["stopped"]) if raw["stopped"] else None
        rows.append(row)
    return rows


# -- reusing finished runs ----------------------------------------------------------------------
# A run is deterministic (same config, seed and steps: the same rows), so rows computed once, by
# another sweep, another session or a file shipped with the app, stand in for training it again.
RunKey = tuple[tuple[tuple[str, Any], ...], int]


def run_key(run: SweepRun) -> RunKey:
    """What a run's rows depend on: its whole config (length, seed and models included) and its
    steps. Values, not the config object, so equal configs match whatever built them."""
    return tuple(run.cfg.as_dict().items()), run.steps


class ReusingSweepRunner(SweepRunner):
    """A SweepRunner that takes each run's rows from ``known`` where it has them (None: train
    it), checked as each run comes up, so runs another sweep finishes meanwhile are reused too.

    ``on_run(run, rows)`` is called with the rows of every run it trains. ``rows``, the order,
    progress and cancelling are a SweepRunner's: the rows equal ``run_sweep(plan)``'s.
    """

    def __init__(
        self,
        plan: SweepPlan,
        known: Callable[[SweepRun], Sequence[Row] | None],
        on_run: Callable[[SweepRun, list[Row]], None] | None = None,
    ):
        super().__init__(plan)
        self._known, self._on_run = known, on_run
        self.reused = 0  # runs taken from ``known``
        self.reused_cost = 0.0  # their estimated seconds: progress not made by training
        self._take_known()

    def _take_known(self) -> None:
        while not self.done and self._trainer is None:
            run = self._runs[self._next]
            rows = self._known(run)
            if rows is None:
                return
            self.rows.extend(dict(row) for row in rows)
            self._next += 1
            self._done_cost += run.cost
            self.reused += 1
            self.reused_cost += run.cost

    def _finish(self, run: SweepRun, trainer: Trainer) -> None:
        first = len(self.rows)
        super()._finish(run, trainer)
        if self._on_run is not None:
            self._on_run(run, [dict(row) for row in self.rows[first:]])
        self._take_known()


# -- sweeps shipped with the app ----------------------------------------------------------------
# gru_viz/sweeps/<lesson>.csv holds the rows of each lesson's sweep and <lesson>.json the
# settings that define it (SweepPlan.settings()), so a page can show the sweep of a setup it
# matches at once instead of training it. Regenerate them (7 lessons × 4 lengths × 2 seeds ×
# 1000 steps of both models: about 11 minutes of one core, 27 on the busy 2-core CI box):
#
#     python -c "from gru_viz.sweep import write_shipped_sweeps; write_shipped_sweeps()"
#
# The files are the same on every regeneration with the same torch on the same kind of CPU.
SHIPPED_FOLDER = Path(__file__).resolve().parent / "sweeps"
SHIPPED_STEPS = 1000  # the adding task's GRU solves length 80 by then, the RNN fails from 20
SHIPPED_SEEDS = (0, 1)
SWEEP_LENGTHS = (10, 20, 40, 80)
COPY_LAGS = (5, 10, 20, 40)  # the copy task's lag: a GRU still fails 40 at 1000 steps


def default_lengths(task: str) -> tuple[int, ...]:
    """The lengths a sweep of ``task`` tries first (the copy task: lags)."""
    return COPY_LAGS if task == "copy" else SWEEP_LENGTHS


def full_settings(plan: SweepPlan) -> dict[str, str]:
    """``plan.settings()`` with every setting spelled out, defaults too: a file of them keeps
    meaning the same runs when a default changes."""
    values = {f.name: format_value(f, getattr(plan.base, f.name)) for f in FIELDS}
    del values["seq_len"], values["seed"]
    return {**plan.settings(), **values}


def plan_from_settings(settings: Mapping[str, str]) -> SweepPlan:
    """The plan ``SweepPlan.settings()`` or ``full_settings`` describes; a ConfigError for
    anything it cannot be. Settings left out take their defaults."""
    known = ("lengths", "seeds", "steps")
    missing = [k for k in (*known, "task", "models") if k not in settings]
    if missing:
        raise ConfigError(f"sweep settings: missing {', '.join(missing)}")
    unknown = sorted(set(settings) - set(known) - set(FIELD_BY_NAME) - {"seq_len", "seed"})
    if unknown:
        raise ConfigError(f"sweep settings: unknown {', '.join(unknown)}")
    others = {k: v for k, v in settings.items() if k not in known}
    try:
        steps = int(settings["steps"])
    except ValueError:
        raise ConfigError(f"steps: '{settings['steps'][:20]}' is not a whole number") from None
    return SweepPlan(
        RunConfig(**others),
        parse_ints(settings["lengths"], "lengths"),
        parse_ints(settings["seeds"], "seeds"),
        steps,
    )


@dataclass(frozen=True)
class ShippedSweep:
    name: str  # the files' stem: the lesson it was made for (matching goes by the plan)
    plan: SweepPlan
    rows: tuple[Row, ...]

    def runs(self) -> Iterator[tuple[SweepRun, list[Row]]]:
        """Each run of the plan with its rows."""
        by_run: dict[tuple[int, int], list[Row]] = {}
        for row in self.rows:
            by_run.setdefault((int(row["seq_len"]), int(row["seed"])), []).append(row)
        for run in self.plan.runs():
            yield run, by_run.get((run.length, run.seed), [])


def check_rows(plan: SweepPlan, rows: Sequence[Mapping[str, Any]]) -> None:
    """A ConfigError unless ``rows`` are exactly the rows ``run_sweep(plan)`` has: one per run
    and model, in the plan's order, of its task and steps."""
    expected = [
        (run.cfg.task, kind, run.length, run.seed) for run in plan.runs() for kind in plan.models
    ]
    found = [(r["task"], r["model"], int(r["seq_len"]), int(r["seed"])) for r in rows]
    if found != expected:
        raise ConfigError(
            f"sweep rows do not match the settings: {found[:2]}... where {expected[:2]}..."
        )
    for row in rows:
        steps, stopped = int(row["steps"]), row.get("stopped") not in (None, "")
        if steps > plan.steps or (not stopped and steps != plan.steps):
            raise ConfigError(f"sweep rows: {steps} steps where the settings say {plan.steps}")


def read_shipped_sweep(csv_path: str | Path) -> ShippedSweep:
    """One shipped sweep: the rows of ``<name>.csv`` for the plan of ``<name>.json``, checked."""
    import json

    csv_path = Path(csv_path)
    settings = json.loads(csv_path.with_suffix(".json").read_text(encoding="utf-8"))["settings"]
    plan = plan_from_settings(settings)
    rows = from_csv(csv_path.read_text(encoding="utf-8"))
    check_rows(plan, rows)
    return ShippedSweep(csv_path.stem, plan, tuple(rows))


def read_shipped_sweeps(folder: str | Path = SHIPPED_FOLDER) -> list[ShippedSweep]:
    """Every sweep shipped in ``folder``, by name."""
    return [read_shipped_sweep(p) for p in sorted(Path(folder).glob("*.csv"))]


def shipped_plan(base: RunConfig) -> SweepPlan:
    """The plan a lesson's setup is shipped with: its task's default lengths, both seeds."""
    return SweepPlan(base, default_lengths(base.task), SHIPPED_SEEDS, SHIPPED_STEPS)


def write_settings(path: str | Path, plan: SweepPlan) -> None:
    """The settings file of a shipped sweep: ``full_settings(plan)`` as JSON."""
    import json

    text = json.dumps({"settings": full_settings(plan)}, indent=2, sort_keys=True) + "\n"
    Path(path).write_text(text, encoding="utf-8")


def write_shipped_sweeps(
    folder: str | Path = SHIPPED_FOLDER,
    lessons: Iterable[str] | None = None,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Run ``shipped_plan`` for each lesson's setup (all by default) and write ``<lesson>.csv``
    and ``<lesson>.json`` to ``folder``; returns the CSV paths. Lessons that share a setup
    share one run of it."""
    from gru_viz import sweep_report  # it imports this module: imported when used
    from gru_viz.lessons import LESSONS

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    done: dict[tuple, list[Row]] = {}
    written = []
    for key in LESSONS if lessons is None else lessons:
        plan = shipped_plan(LESSONS[key].config)
        settings = full_settings(plan)
        setup = tuple(sorted(settings.items()))
        start = time.perf_counter()
        if setup not in done:
            done[setup] = run_sweep(plan)
        rows = done[setup]
        path = folder / f"{key}.csv"
        path.write_text(to_csv(rows), encoding="utf-8")
        write_settings(path.with_suffix(".json"), plan)
        written.append(path)
        took = format_duration(time.perf_counter() - start)
        log(f"{key}: {plan.describe()}; took {took}\n{sweep_report.share_text(rows)}")
    return written
