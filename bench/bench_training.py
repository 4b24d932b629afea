"""Engine training throughput vs a plain PyTorch loop, and one probe vs one training step.

Both sides run interleaved in one process on the same batches, so a noisy shared machine
affects them alike; the ratios are what to read. Targets (issue: engine):
  engine / plain throughput >= 0.9 (GRU, B=64, T=100, H=32, probing on the default cadence)
  probe (8 samples, T=100, H=32, per-step gradients) <= one training step
Run: python -m bench.bench_training [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import gru_viz  # noqa: F401  (sets one torch thread, as the app does)
from gru_viz.config import RunConfig
from gru_viz.probe import probe
from gru_viz.trainer import Trainer


def plain_loop(cfg: RunConfig, batches):
    """What a careful person writes by hand: nn.GRU + Linear, Adam, clipping."""
    torch.manual_seed(0)
    rnn = torch.nn.GRU(batches[0].x.shape[-1], cfg.hidden_size, batch_first=True)
    readout = torch.nn.Linear(cfg.hidden_size, 1)
    params = list(rnn.parameters()) + list(readout.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr)

    def run(selected=None):
        for batch in batches if selected is None else selected:
            opt.zero_grad()
            pred = readout(rnn(batch.x)[0])
            err = (pred - batch.target) ** 2
            loss = err[batch.loss_mask].mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            opt.step()
            float(loss.detach())  # the engine reads the loss every step too

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--steps",
        type=int,
        default=40,
        help="steps per round and side "
        "(a multiple of the probe cadence, 20, keeps rounds comparable)",
    )
    args = parser.parse_args()
    cfg = RunConfig(task="adding", seq_len=100, hidden_size=32, batch_size=64, models=("gru",))
    trainer = Trainer(cfg)
    gen = torch.Generator().manual_seed(1)
    batches = [trainer.task.generate(cfg, cfg.batch_size, gen) for _ in range(args.steps)]
    plain = plain_loop(cfg, batches)
    plain()  # warm up both
    trainer.step(5)

    # Alternate one plain step with one engine step, so load from other processes falls on
    # both sides alike; each round covers a whole probe cadence (probe_every steps).
    ratios, plain_rates, engine_rates = [], [], []
    for _ in range(args.rounds):
        plain_time = engine_time = 0.0
        for i in range(args.steps):
            t0 = time.perf_counter()
            plain([batches[i % len(batches)]])
            t1 = time.perf_counter()
            trainer.step(1)  # includes its own batch generation, records and probes
            t2 = time.perf_counter()
            plain_time, engine_time = plain_time + t1 - t0, engine_time + t2 - t1
        plain_rates.append(args.steps / plain_time)
        engine_rates.append(args.steps / engine_time)
        ratios.append(plain_time / engine_time)
    ratio = statistics.median(ratios)
    print(
        f"config: GRU B={cfg.batch_size} T={cfg.seq_len} H={cfg.hidden_size}, "
        f"probe every {cfg.probe_every} steps, torch threads {torch.get_num_threads()}"
    )
    print(f"plain PyTorch loop : {statistics.median(plain_rates):7.1f} steps/s")
    print(
        f"gru-viz engine     : {statistics.median(engine_rates):7.1f} steps/s "
        "(incl. its own batch generation and probes)"
    )
    print(
        f"throughput ratio engine/plain: {ratio:.2f} (target >= 0.90) "
        f"-> {'OK' if ratio >= 0.9 else 'BELOW TARGET'}"
    )

    slot = trainer.slots["gru"]
    probe_times, step_times = [], []
    for _ in range(args.rounds * 3):
        t0 = time.perf_counter()
        probe(slot.model, trainer.task, trainer.probe_batch, trainer.step_count)
        t1 = time.perf_counter()
        trainer._train_one(slot, batches[0])
        t2 = time.perf_counter()
        probe_times.append(t1 - t0)
        step_times.append(t2 - t1)
    p, s = statistics.median(probe_times), statistics.median(step_times)
    print(f"one probe (8 samples, per-step grads): {p * 1e3:6.1f} ms")
    print(f"one training step (B=64)             : {s * 1e3:6.1f} ms")
    print(f"probe / step: {p / s:.2f} (target <= 1.00) -> {'OK' if p <= s else 'ABOVE TARGET'}")


if __name__ == "__main__":
    main()
