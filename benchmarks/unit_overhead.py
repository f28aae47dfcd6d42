r"""Prints a sweep unit's overhead, one `python -m train.main` per unit (the xm and slurm executors' way)
against one long-lived `python -m train.worker` (the local executor's way), on the same units, paired.

  python benchmarks/unit_overhead.py [--units=6] [--steps=40] [--gin_file=gin/qkln.gin --gin_file=gin/repro.gin]
      [--old_repo=/path/to/another/checkout]

Units of one shape that differ in LR. Overhead = a unit's wall time (request to exit or answer) minus its
training steps' time (steps x the median logged step time, step 1 excluded as it holds the compile):
imports, data set-up, compiles, the initial and final evals, checkpoints. The old and the new unit of
each LR run back to back, so both see the same machine load; the load average is printed with each.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_integer("units", 6, "Units (LRs) per path.")
flags.DEFINE_integer("steps", 40, "Training steps per unit.")
flags.DEFINE_multi_string("gin_file", ["gin/qkln.gin", "gin/repro.gin"], "Gin files of every unit.")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings of every unit.")
flags.DEFINE_string("old_repo", REPO, "Checkout whose train.main runs the old path (e.g. main's, for before).")
FLAGS = flags.FLAGS


def _bindings(lr: float) -> list[str]:
  return [*FLAGS.gin_bindings, f"lr={lr}", f"steps={FLAGS.steps}", "TrainConfig.log_every=1",
          f"TrainConfig.eval_every={FLAGS.steps}"]


def _steps_time(workdir: str) -> float:
  """Seconds of the unit's training steps: steps x the median logged per-step time past step 1."""
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  with open(os.path.join(workdir, "run.json")) as f:
    bindings = json.load(f)["bindings"]
  tokens_per_step = bindings["batch_size"] * bindings["seq_len"]
  step_s = [tokens_per_step / r["perf/tokens_per_s"] for r in records if r.get("step", 0) > 1
            and "perf/tokens_per_s" in r]
  return FLAGS.steps * statistics.median(step_s)


def _old(workdir: str, lr: float) -> float:
  """Wall seconds of one train.main process."""
  command = [sys.executable, "-m", "train.main", f"--workdir={workdir}"]
  command += [f"--gin_file={f}" for f in FLAGS.gin_file] + [f"--gin_bindings={b}" for b in _bindings(lr)]
  start = time.time()
  subprocess.run(command, cwd=FLAGS.old_repo, check=True, capture_output=True)
  return time.time() - start


def _new(worker: subprocess.Popen, workdir: str, lr: float) -> float:
  """Wall seconds of one unit in the long-lived worker, request to answer."""
  request = {"gin_files": FLAGS.gin_file, "gin_bindings": _bindings(lr), "workdir": workdir,
             "log": os.path.join(workdir, "train.log")}
  start = time.time()
  worker.stdin.write(json.dumps(request) + "\n")
  worker.stdin.flush()
  answer = json.loads(worker.stdout.readline())
  elapsed = time.time() - start
  if answer["exit_code"] != 0:
    raise RuntimeError(f"worker unit {workdir} exited {answer['exit_code']}")
  return elapsed


def _load() -> str:
  with open("/proc/loadavg") as f:
    return " ".join(f.read().split()[:3])


def main(argv):
  del argv
  lrs = [0.01 * 0.7 ** i for i in range(FLAGS.units)]
  root = tempfile.mkdtemp(prefix="unit_overhead_")
  worker = subprocess.Popen([sys.executable, "-m", "train.worker"], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  print(f"{FLAGS.units} units x {FLAGS.steps} steps, {' '.join(FLAGS.gin_file)}; runs under {root}")
  print("unit  lr        old wall  old overhead | new wall  new overhead | load avg")
  old, new = [], []
  for i, lr in enumerate(lrs):
    old_dir, new_dir = os.path.join(root, f"old{i}"), os.path.join(root, f"new{i}")
    old_wall, new_wall = _old(old_dir, lr), _new(worker, new_dir, lr)
    old.append(old_wall - _steps_time(old_dir))
    new.append(new_wall - _steps_time(new_dir))
    print(f"{i:4d}  {lr:.2e}  {old_wall:7.2f} s  {old[-1]:9.2f} s  | {new_wall:7.2f} s  {new[-1]:9.2f} s  | "
          f"{_load()}", flush=True)
  worker.stdin.close()
  worker.wait()
  print(f"overhead per unit, median: one process per unit {statistics.median(old):.2f} s; worker "
        f"{new[0]:.2f} s first unit, {statistics.median(new[1:]):.2f} s each later unit "
        f"(min-max {min(new[1:]):.2f}-{max(new[1:]):.2f} s)")


if __name__ == "__main__":
  app.run(main)
