r"""Prints a sweep unit's overhead (its wall time minus its training steps' time) when every unit is its
own `python -m train.main` process (the old path; the XManager and SLURM executors still run units so)
and when one long-lived `python -m train.worker` runs them all (the local executor's path).

  python benchmarks/unit_overhead_benchmark.py [--units=6] [--steps=40] [--rounds=2]

Units: gin/qkln.gin + gin/repro.gin (the CPU suite's shape), one per LR, `steps` steps each. The paths
alternate round by round, each round in fresh run directories, sharing the persistent XLA cache (as a
sweep does). Training steps' time = steps x the unit's median step time over its log windows after the
first (the first holds the step's compile); what is left is start-up, compiles, data set-up, the init
and final evals and writing the run directory. Unit 1 of a worker pays the shape's first compile; the
figure that matters is units 2.. of one shape.
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from launch.unit import train_command  # noqa: E402
from launch.worker import Worker  # noqa: E402

flags.DEFINE_integer("units", 6, "Units per path and round (one LR each).")
flags.DEFINE_integer("steps", 40, "Training steps per unit.")
flags.DEFINE_integer("rounds", 2, "Alternating rounds of both paths.")
FLAGS = flags.FLAGS

GIN_FILES = ["gin/qkln.gin", "gin/repro.gin"]


def bindings(lr: float) -> list[str]:
  return [f"lr={lr}", f"steps={FLAGS.steps}", "warmup_steps=5", "TrainConfig.log_every=5",
          f"TrainConfig.eval_every={FLAGS.steps}", f"TrainConfig.checkpoint_every={FLAGS.steps}"]


def steps_seconds(workdir: pathlib.Path) -> float:
  """steps x the median step time of the log windows after the first."""
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  run = json.loads((workdir / "run.json").read_text())["bindings"]
  tokens_per_step = run["batch_size"] * run["seq_len"]
  logged = [r for r in records if "perf/tokens_per_s" in r]
  per_step = [tokens_per_step / r["perf/tokens_per_s"] for r in logged[1:]]
  return FLAGS.steps * statistics.median(per_step)


def old_path(root: pathlib.Path, lrs: list[float]) -> list[tuple[float, float]]:
  """(wall, steps' time) of each unit as its own train.main process."""
  out = []
  for i, lr in enumerate(lrs):
    workdir = root / f"unit{i}"
    start = time.time()
    subprocess.run(train_command(GIN_FILES, bindings(lr), str(workdir), sys.executable), cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out.append((time.time() - start, steps_seconds(workdir)))
  return out


def worker_path(root: pathlib.Path, lrs: list[float]) -> list[tuple[float, float]]:
  """(wall, steps' time) of each unit in one train.worker, the first unit's wall including its start."""
  out = []
  start = time.time()
  worker = Worker(sys.executable, dict(os.environ), str(root / "worker.log"))
  for i, lr in enumerate(lrs):
    workdir = root / f"unit{i}"
    worker.submit(GIN_FILES, bindings(lr), str(workdir), str(workdir / "train.log"))
    while not (answer := worker.poll())[0]:
      time.sleep(0.01)
    if answer[1] != 0:
      raise SystemExit(f"unit {workdir} exited {answer[1]}: see {workdir / 'train.log'}")
    out.append((time.time() - start, steps_seconds(workdir)))
    start = time.time()
  worker.close()
  return out


def _report(name: str, results: list[tuple[float, float]]) -> str:
  overheads = [wall - steps for wall, steps in results]
  rest = overheads[1:]
  return (f"{name:8s} unit 1: wall {results[0][0]:6.2f} s overhead {overheads[0]:6.2f} s | units 2-{len(results)}: "
          f"overhead median {statistics.median(rest):5.2f} s (min {min(rest):.2f}, max {max(rest):.2f}), "
          f"steps' time median {statistics.median(s for _, s in results[1:]):.2f} s")


def main(argv: list[str]) -> None:
  del argv
  lrs = [round(1e-3 * 2**i, 6) for i in range(FLAGS.units)]
  print(f"{FLAGS.units} units x {FLAGS.steps} steps of {' + '.join(GIN_FILES)}; {os.cpu_count()} CPUs; "
        f"load average {open('/proc/loadavg').read().split()[:3]}", flush=True)
  summary = {"process": [], "worker": []}
  with tempfile.TemporaryDirectory() as tmp:
    for r in range(FLAGS.rounds):
      for name, path in (("process", old_path), ("worker", worker_path)):
        results = path(pathlib.Path(tmp) / f"{name}{r}", lrs)
        summary[name] += [wall - steps for wall, steps in results[1:]]
        print(f"round {r + 1} {_report(name, results)}; load {open('/proc/loadavg').read().split()[0]}",
              flush=True)
  old, new = statistics.median(summary["process"]), statistics.median(summary["worker"])
  print(f"per-unit overhead after a shape's first unit (median over rounds): one process per unit {old:.2f} s, "
        f"worker {new:.2f} s ({old / max(new, 1e-9):.1f}x less); load average "
        f"{open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
  app.run(main)
