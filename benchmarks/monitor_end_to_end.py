"""The instability monitor's end-to-end cost: whole training runs with the monitor and without it, alternating
(ABBA order, same config, one process so both arms share its compiled programs), compared by step time.

  python -m benchmarks.monitor_end_to_end --pairs=4 [--gin_file=F ...] [--gin_bindings=B ...]

Default config: a repro_cpu unit (gin/qkln.gin, gin/repro.gin: 200 steps, d=128, 2 layers, a log every 10
steps) at lr=1e-2.

Without the monitor means the trainer's RunMonitor replaced here by one that watches nothing: the trainer
has no switch for it, since every run carries it (docs/early_warning.md). Step time per arm is the median
over its runs of each run's median log window (perf/tokens_per_s, so eval and checkpoint windows and the
first, compiling one do not count); the monitor's work at a log falls in the next window. The monitored arm
also times the monitor's own work, which no load on the machine inflates into noise. Prints the table
docs/early_warning.md holds, with the load average before and after.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import jax

from train import run as run_lib
from train import trainer


class TimedMonitor(trainer.RunMonitor):
  """The trainer's monitor, timing its own work (set-up replay and each log's observe) in `seconds`; the
  every-step phase's work (host transfer of the step's metrics, monitor.jsonl, observe) also in
  `step_seconds` over `steps_seen` steps."""

  seconds = 0.0
  step_seconds = 0.0
  steps_seen = 0

  def __init__(self, *args):  # RunMonitor's own arguments
    start = time.perf_counter()
    super().__init__(*args)
    TimedMonitor.seconds += time.perf_counter() - start

  def observe(self, record: dict) -> list[dict]:
    start = time.perf_counter()
    try:
      return super().observe(record)
    finally:
      TimedMonitor.seconds += time.perf_counter() - start

  def observe_step(self, step: int, metrics: dict) -> None:
    jax.block_until_ready(metrics)  # the step's own compute is not the monitor's: its device_get would wait for it
    start = time.perf_counter()
    super().observe_step(step, metrics)
    spent = time.perf_counter() - start
    TimedMonitor.seconds += spent
    if step <= self.dense_steps:
      TimedMonitor.step_seconds += spent
      TimedMonitor.steps_seen += 1


class NoMonitor:
  """Stands in for train.monitor.RunMonitor: observes nothing, adds no status keys."""

  def __init__(self, *args):  # RunMonitor's arguments, unused
    del args

  def observe_step(self, step: int, metrics: dict) -> None:
    del step, metrics

  def observe(self, record: dict) -> list[dict]:
    del record
    return []

  def status(self) -> dict:
    return {}


def step_ms(workdir: str, tokens_per_step: int) -> float:
  """The median log window's time per step in ms, the first (compiling) window left out."""
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    rates = [r["perf/tokens_per_s"] for r in map(json.loads, f) if "perf/tokens_per_s" in r]
  return statistics.median(1e3 * tokens_per_step / rate for rate in rates[1:])


def load() -> str:
  with open("/proc/loadavg") as f:
    return " ".join(f.read().split()[:3])


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--pairs", type=int, default=4)
  parser.add_argument("--gin_file", action="append", default=None)
  parser.add_argument("--gin_bindings", action="append", default=[])
  args = parser.parse_args()
  gin_files = args.gin_file or ["gin/qkln.gin", "gin/repro.gin"]
  bindings = args.gin_bindings or ["lr=1e-2"]
  arms: dict[str, list[float]] = {"monitor": [], "none": []}
  walls: dict[str, list[float]] = {"monitor": [], "none": []}
  own: list[float] = []  # the monitor's own seconds per monitored run
  per_step: list[float] = []  # its seconds per every-step-phase step, per monitored run
  load_before = load()
  with tempfile.TemporaryDirectory() as tmp:
    for i in range(args.pairs):
      for arm in (("monitor", "none") if i % 2 == 0 else ("none", "monitor")):
        trainer.RunMonitor = TimedMonitor if arm == "monitor" else NoMonitor
        TimedMonitor.seconds, TimedMonitor.step_seconds, TimedMonitor.steps_seen = 0.0, 0.0, 0
        workdir = os.path.join(tmp, f"{i}_{arm}")
        start = time.perf_counter()
        code = run_lib.run(gin_files, bindings, workdir)
        walls[arm].append(time.perf_counter() - start)
        if code:
          sys.exit(f"error: the {arm} run {i} exited {code}")
        info = json.load(open(os.path.join(workdir, "run.json")))["config"]["train"]
        arms[arm].append(step_ms(workdir, info["batch_size"] * info["seq_len"]))
        if arm == "monitor":
          own.append(TimedMonitor.seconds)
          per_step.append(TimedMonitor.step_seconds / max(TimedMonitor.steps_seen, 1))
        print(f"pair {i} {arm}: {arms[arm][-1]:.2f} ms/step, run {walls[arm][-1]:.1f} s wall", file=sys.stderr,
              flush=True)
  ratios = [m / n for m, n in zip(arms["monitor"], arms["none"])]
  print(f"config {' '.join(gin_files + bindings)}; {args.pairs} pairs, ABBA order; "
        f"load average before {load_before}, after {load()}")
  print("| arm | median step (ms) | step per run (ms) | median run wall (s) |\n|---|---|---|---|")
  for arm in ("monitor", "none"):
    print(f"| {arm} | {statistics.median(arms[arm]):.2f} | {', '.join(f'{x:.2f}' for x in arms[arm])} | "
          f"{statistics.median(walls[arm]):.1f} |")
  print(f"paired ratio monitor/none: median {statistics.median(ratios):.3f}, "
        f"range {min(ratios):.3f}-{max(ratios):.3f}")
  print(f"the monitor's own time per run: median {1e3 * statistics.median(own):.1f} ms "
        f"({100 * statistics.median(o / w for o, w in zip(own, walls['monitor'])):.4f}% of its run's wall)")
  step_s = statistics.median(per_step)
  print(f"the monitor's time per step of its every-step phase (metrics to host, monitor.jsonl, observe): median "
        f"{1e3 * step_s:.2f} ms = {100 * step_s / (1e-3 * statistics.median(arms['monitor'])):.2f}% of the "
        "monitored arm's median step")


if __name__ == "__main__":
  main()
