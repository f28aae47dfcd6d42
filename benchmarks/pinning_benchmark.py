"""Two sweep workers' steps side by side: each pinned to its share of the cores (the local executor's
`core_sets`) against both sharing all of them, paired in one run.

  python -m benchmarks.pinning_benchmark --pairs=2 [--workers=2] [--steps=40] [--gin_bindings=d_model=256 ...]

Each arm starts `--workers` benchmarks/step_benchmark.py processes at once, as `launch.sweep --parallel=N`
runs its workers, with the executor's own preexec (launch.unit.trainer_setup), alternating the arms in ABBA
order. Prints each worker's step time, the arms' medians, the paired ratio and the load average.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys

from launch.executors.local import core_sets
from launch.unit import trainer_setup

LINE = re.compile(r"step ([\d.]+)ms")
ARMS = ("pinned", "shared")


def one_arm(arm: str, args: argparse.Namespace) -> list[float]:
  """ms per step of each of the arm's concurrent step_benchmark processes."""
  cmd = [sys.executable, "benchmarks/step_benchmark.py", f"--steps={args.steps}", f"--vocab_size={args.vocab_size}"]
  cmd += [f"--gin_file={f}" for f in args.gin_file] + [f"--gin_bindings={b}" for b in args.gin_bindings]
  cores = (core_sets(sorted(os.sched_getaffinity(0)), args.workers, []) if arm == "pinned"
           else [None] * args.workers)
  processes = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                preexec_fn=trainer_setup(c)) for c in cores]
  times = []
  for process in processes:
    out, _ = process.communicate()
    found = LINE.search(out)
    if process.returncode or found is None:
      raise SystemExit(f"error: step_benchmark exited {process.returncode} without a step line: {out!r}")
    times.append(float(found[1]))
  return times


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--pairs", type=int, default=2)
  parser.add_argument("--workers", type=int, default=2)
  parser.add_argument("--steps", type=int, default=40)
  parser.add_argument("--vocab_size", type=int, default=2048)
  parser.add_argument("--gin_file", action="append", default=None)
  parser.add_argument("--gin_bindings", action="append", default=[])
  args = parser.parse_args()
  args.gin_file = args.gin_file or ["gin/qkln.gin", "gin/repro.gin"]
  if core_sets(sorted(os.sched_getaffinity(0)), args.workers, [])[0] is None:
    raise SystemExit(f"error: --workers={args.workers}: the executor pins 2 to {len(os.sched_getaffinity(0))} "
                     "workers on this machine's cores, so there is nothing to compare")
  load_before = os.getloadavg()
  got = {arm: [] for arm in ARMS}
  for i in range(args.pairs):
    for arm in ARMS if i % 2 == 0 else ARMS[::-1]:
      got[arm].append(statistics.mean(times := one_arm(arm, args)))
      print(f"pair {i} {arm}: {', '.join(f'{t:.1f}' for t in times)} ms/step", flush=True)
  load_after = os.getloadavg()
  print(f"config {' '.join(args.gin_file)} {' '.join(args.gin_bindings)} vocab {args.vocab_size}, {args.workers} "
        f"workers, {args.steps} steps, {args.pairs} pairs ABBA; load average before "
        f"{' '.join(f'{x:.2f}' for x in load_before)}, after {' '.join(f'{x:.2f}' for x in load_after)}")
  print("| workers | median ms/step (mean over the workers) |\n|---|---|")
  for arm, values in got.items():
    print(f"| {arm} | {statistics.median(values):.1f} |")
  ratios = [p / s for p, s in zip(*got.values())]
  print(f"paired step-time ratio pinned / shared: median {statistics.median(ratios):.3f}, "
        f"range {min(ratios):.3f}-{max(ratios):.3f}")


if __name__ == "__main__":
  main()
