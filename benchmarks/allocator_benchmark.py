"""The train step with train/allocator.py's malloc settings against glibc's defaults, paired in one run.

  python -m benchmarks.allocator_benchmark --pairs=4 [--steps=60] [--gin_file=F ...] [--gin_bindings=B ...]

Each arm runs benchmarks/step_benchmark.py (--malloc=trainer or glibc_default) in a fresh process, alternating
in ABBA order; prints each arm's step time and page faults per step, their paired ratio and the load average.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys

LINE = re.compile(r"step ([\d.]+)ms .* ([\d,]+) page faults/step")
ARMS = ("trainer", "glibc_default")


def one(malloc: str, args: argparse.Namespace) -> tuple[float, float]:
  """(ms per step, page faults per step) of one step_benchmark process."""
  cmd = [sys.executable, "benchmarks/step_benchmark.py", f"--malloc={malloc}", f"--steps={args.steps}",
         f"--vocab_size={args.vocab_size}"]
  cmd += [f"--gin_file={f}" for f in args.gin_file] + [f"--gin_bindings={b}" for b in args.gin_bindings]
  out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
  found = LINE.search(out)
  if found is None:
    raise SystemExit(f"error: no step line in step_benchmark's output: {out!r}")
  return float(found[1]), float(found[2].replace(",", ""))


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--pairs", type=int, default=4)
  parser.add_argument("--steps", type=int, default=60)
  parser.add_argument("--vocab_size", type=int, default=2048)
  parser.add_argument("--gin_file", action="append", default=None)
  parser.add_argument("--gin_bindings", action="append", default=[])
  args = parser.parse_args()
  args.gin_file = args.gin_file or ["gin/qkln.gin", "gin/repro.gin"]
  load_before = os.getloadavg()
  got = {arm: [] for arm in ARMS}
  for i in range(args.pairs):
    for arm in ARMS if i % 2 == 0 else ARMS[::-1]:
      got[arm].append(one(arm, args))
      print(f"pair {i} {arm}: {got[arm][-1][0]:.1f} ms/step, {got[arm][-1][1]:,.0f} faults/step", flush=True)
  load_after = os.getloadavg()
  print(f"config {' '.join(args.gin_file)} {' '.join(args.gin_bindings)} vocab {args.vocab_size}, {args.steps} "
        f"steps, {args.pairs} pairs ABBA; load average before {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {' '.join(f'{x:.2f}' for x in load_after)}")
  print("| malloc | median ms/step | median page faults/step |\n|---|---|---|")
  for arm, values in got.items():
    print(f"| {arm} | {statistics.median(v[0] for v in values):.1f} | "
          f"{statistics.median(v[1] for v in values):,.0f} |")
  ratios = [t[0] / d[0] for t, d in zip(*got.values())]
  print(f"paired step-time ratio trainer / glibc_default: median {statistics.median(ratios):.3f}, "
        f"range {min(ratios):.3f}-{max(ratios):.3f}")


if __name__ == "__main__":
  main()
