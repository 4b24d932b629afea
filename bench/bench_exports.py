"""Every download's build time, size, and the longest stall it causes other threads (issue 12).

Each file of ``gru_viz.export.export_files`` is built for the default setup, for W (the heaviest
setup admitted when the issue was filed: refused now, and said so) and for the heaviest variants
of W admitted now (``bench.setups.W_ADMITTED``), while a ticker thread wakes every 5 ms: its
longest gap between ticks is how long the build kept the interpreter lock, i.e. how long a
Streamlit server answered nobody.
Targets: under 3 s, under 60 MB, no stall over 0.5 s.

Run: python -m bench.bench_exports [--export-source OLD.py]
(compare with the last commit: git show HEAD:gru_viz/export.py > /tmp/old_export.py; the old
module's metrics/probe builders replace the new ones, the other files are built as now).
"""

from __future__ import annotations

import argparse
import importlib.util
import threading
import time

from bench.setups import W_ADMITTED, W
from gru_viz import export
from gru_viz.config import ConfigError, RunConfig
from gru_viz.trainer import Trainer

TARGET_SECONDS, TARGET_MB, TARGET_STALL = 3.0, 60.0, 0.5
TICK = 0.005


class Ticker(threading.Thread):
    """Wakes every 5 ms and records the longest gap between two wake-ups."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.longest = 0.0
        self.running = True

    def run(self) -> None:
        last = time.perf_counter()
        while self.running:
            time.sleep(TICK)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now


def measure(build, trainer) -> tuple[float, float, float]:
    """(seconds, MB, longest stall in seconds) of one build, with a ticker running."""
    ticker = Ticker()
    ticker.start()
    time.sleep(0.05)  # let it settle into its cadence
    start = time.perf_counter()
    data = build(trainer)
    seconds = time.perf_counter() - start
    ticker.running = False
    ticker.join()
    size = len(data.encode() if isinstance(data, str) else data)
    return seconds, size / 1e6, ticker.longest


def load_module(path: str):
    spec = importlib.util.spec_from_file_location("old_export", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export-source", help="an older export.py to time instead")
    args = parser.parse_args()
    old = load_module(args.export_source) if args.export_source else None
    setups = {"default": {}, "W": W} | W_ADMITTED
    print(f"{'setup':12} {'file':24} {'build s':>8} {'MB':>8} {'stall s':>8}  verdict")
    for setup, values in setups.items():
        try:
            cfg = RunConfig(**values)
        except ConfigError as err:
            print(f"{setup:12} refused by the config: {err}")
            continue
        trainer = Trainer(cfg)
        trainer.step(3)
        builds = [(item.id, item.build) for item in export.export_files(trainer)]
        if old is not None:
            replaced = {
                "metrics": old.metrics_csv,
                "probe_json": old.probe_json,
                "probe_npz": old.probe_npz_bytes,
            }
            builds = [(i, replaced.get(i, b)) for i, b in builds if i != "probe_npz_all_layers"]
        for name, build in builds:
            seconds, mb, stall = measure(build, trainer)
            ok = seconds < TARGET_SECONDS and mb < TARGET_MB and stall < TARGET_STALL
            print(
                f"{setup:12} {name:24} {seconds:8.2f} {mb:8.1f} {stall:8.3f}  "
                f"{'OK' if ok else 'OVER'}",
                flush=True,
            )


if __name__ == "__main__":
    main()
