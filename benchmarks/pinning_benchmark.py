"""Two sweep workers' steps side by side: each pinned to its share of the cores (the local executor's
`core_sets`) against both sharing all of them, paired in one run.

  python -m benchmarks.pinning_benchmark --pairs=4 [--workers=2] [--steps=40] [--gin_bindings=d_model=256 ...]

Each arm starts `--workers` benchmarks/step_benchmark.py processes at once, as `launch.sweep --parallel=N`
runs its workers, with the executor's own preexec (launch.unit.trainer_setup), alternating the arms in ABBA
order. Prints each worker's step time, the arms' medians, the paired ratio and the load average.
"""

import re
import statistics
import subprocess
import sys

from benchmarks import abba
from launch.executors.local import core_sets
from launch.unit import trainer_setup
from rundir import cores as rundir_cores

LINE = re.compile(r"step ([\d.]+)ms")
ARMS = ("pinned", "shared")


def main() -> None:
  parse = abba.parser(pairs=4, steps=40)
  parse.add_argument("--workers", type=int, default=2)
  args = parse.parse_args()
  usable = rundir_cores.usable()
  pinned = core_sets(usable, args.workers, [])
  if args.workers < 2 or pinned[0] is None:
    print(f"error: --workers={args.workers}: expected 2 to {len(usable)}, the worker counts the "
          "executor pins on this machine's cores", file=sys.stderr)
    sys.exit(2)

  def one(arm: str) -> float:
    """ms per step of the arm's concurrent step_benchmark processes, their mean."""
    cores = pinned if arm == "pinned" else [None] * args.workers
    processes = [subprocess.Popen(abba.step_command(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, preexec_fn=trainer_setup(c)) for c in cores]
    times = []
    for process in processes:
      out, _ = process.communicate()
      found = LINE.search(out)
      if process.returncode or found is None:
        raise SystemExit(f"error: step_benchmark exited {process.returncode} without a step line: {out!r}")
      times.append(float(found[1]))
    print(f"{arm}: {', '.join(f'{t:.1f}' for t in times)} ms/step", flush=True)
    return statistics.mean(times)

  got, load = abba.alternate(ARMS, args.pairs, one)
  print(f"{abba.describe(args)}, {args.workers} workers; {load}")
  print("| workers | median ms/step (mean over the workers) |\n|---|---|")
  for arm, values in got.items():
    print(f"| {arm} | {statistics.median(values):.1f} |")
  ratios = [p / s for p, s in zip(*got.values())]
  print(f"paired step-time ratio pinned / shared: median {statistics.median(ratios):.3f}, "
        f"range {min(ratios):.3f}-{max(ratios):.3f}")


if __name__ == "__main__":
  main()
