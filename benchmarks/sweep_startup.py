r"""Times a short sweep end to end (launcher, workers, every unit) and splits each unit's time by phase,
from the `time:` line each unit's train.log ends with (train/phases.py): a short sweep's fixed start-up
cost beside its training steps (docs/performance.md).

  python benchmarks/sweep_startup.py [--units=12] [--steps=20] [--repo=/path/to/another/checkout]

The units are one LR each (gin/qkln.gin + gin/repro.gin, --parallel=1), so every unit after the first
reuses the first's compiled programs; the first unit's compile is warm when the persistent compilation
cache ($PROXIES_CACHE_DIR/jax) holds the step, as after any earlier run of this code.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_integer("units", 12, "Units (one LR each).")
flags.DEFINE_integer("steps", 20, "Training steps per unit.")
flags.DEFINE_string("repo", REPO, "Checkout whose launch.sweep runs (e.g. an older commit's, for before).")
FLAGS = flags.FLAGS

_TIME = re.compile(r"^time: (.*), total ([\d.]+) s$", re.M)


def _load() -> str:
  with open("/proc/loadavg") as f:
    return " ".join(f.read().split()[:3])


def _phases(log_path: str) -> dict[str, float]:
  """The unit's phases and total from the last `time:` line of its log."""
  with open(log_path) as f:
    *_, (parts, total) = _TIME.findall(f.read())
  phases = {name: float(seconds) for name, seconds in re.findall(r"([\w-]+) ([\d.]+) s", parts)}
  return {**phases, "total": float(total)}


def main(argv):
  del argv
  lrs = ",".join(f"{0.01 * 0.8 ** i:.4g}" for i in range(FLAGS.units))
  root = tempfile.mkdtemp(prefix="sweep_startup_")
  command = [sys.executable, "-m", "launch.sweep", "--gin_file=gin/qkln.gin", "--gin_file=gin/repro.gin",
             f"--gin_bindings=steps={FLAGS.steps}", "--gin_bindings=warmup_steps=2", f"--sweep=lr=[{lrs}]",
             f"--root={root}", "--parallel=1"]
  print(f"{FLAGS.repo}: {' '.join(command[1:])}\nload avg at start {_load()}", flush=True)
  start = time.time()
  subprocess.run(command, cwd=FLAGS.repo, check=True, capture_output=True)
  wall = time.time() - start
  with open(os.path.join(root, "sweep.json")) as f:
    names = [unit["name"] for unit in json.load(f)["units"]]
  units = [_phases(os.path.join(root, name, "train.log")) for name in names]
  keys = list(units[0])
  print("| unit | " + " | ".join(keys) + " |\n|" + " --- |" * (len(keys) + 1))
  for name, unit in zip(names, units):
    print(f"| {name} | " + " | ".join(f"{unit[k]:.2f}" for k in keys) + " |")
  later = units[1:] or units
  print("| later units, median | " + " | ".join(f"{statistics.median(u[k] for u in later):.2f}" for k in keys)
        + " |")
  in_units = sum(u["total"] for u in units)
  print(f"end to end {wall:.1f} s: units {in_units:.1f} s (steps {sum(u['steps'] for u in units):.1f} s), "
        f"outside the units {wall - in_units:.1f} s (launcher, validation, worker start-up); "
        f"load avg at end {_load()}")


if __name__ == "__main__":
  app.run(main)
