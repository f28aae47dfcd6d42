"""The train step with train/allocator.py's malloc settings against glibc's defaults, paired in one run.

  python -m benchmarks.allocator_benchmark --pairs=4 [--steps=60] [--gin_file=F ...] [--gin_bindings=B ...]

Each arm runs benchmarks/step_benchmark.py (--malloc=trainer or glibc_default) in a fresh process, alternating
in ABBA order; prints each arm's step time and page faults per step, their paired ratio and the load average.
"""

import re
import statistics
import subprocess

from benchmarks import abba

LINE = re.compile(r"step ([\d.]+)ms .* ([\d,]+) page faults/step")
ARMS = ("trainer", "glibc_default")


def main() -> None:
  args = abba.parser(pairs=4, steps=60).parse_args()

  def one(malloc: str) -> tuple[float, float]:
    """(ms per step, page faults per step) of one step_benchmark process."""
    out = subprocess.run(abba.step_command(args, f"--malloc={malloc}"), capture_output=True, text=True,
                         check=True).stdout
    found = LINE.search(out)
    if found is None:
      raise SystemExit(f"error: no step line in step_benchmark's output: {out!r}")
    ms, faults = float(found[1]), float(found[2].replace(",", ""))
    print(f"{malloc}: {ms:.1f} ms/step, {faults:,.0f} faults/step", flush=True)
    return ms, faults

  got, load = abba.alternate(ARMS, args.pairs, one)
  print(f"{abba.describe(args)}; {load}")
  print("| malloc | median ms/step | median page faults/step |\n|---|---|---|")
  for arm, values in got.items():
    print(f"| {arm} | {statistics.median(v[0] for v in values):.1f} | "
          f"{statistics.median(v[1] for v in values):,.0f} |")
  ratios = [t[0] / d[0] for t, d in zip(*got.values())]
  print(f"paired step-time ratio trainer / glibc_default: median {statistics.median(ratios):.3f}, "
        f"range {min(ratios):.3f}-{max(ratios):.3f}")


if __name__ == "__main__":
  main()
