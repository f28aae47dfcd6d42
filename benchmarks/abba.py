"""What the paired step benchmarks share: their flags, the step_benchmark command, ABBA order and the load
line. Two arms alternate A B B A ... in fresh processes, so drift in the machine's load hits both alike."""

import argparse
import os
import sys
from collections.abc import Callable, Sequence

GIN_FILES = ["gin/qkln.gin", "gin/repro.gin"]  # the default config: the CPU suites' preset


def parser(pairs: int, steps: int) -> argparse.ArgumentParser:
  """The flags every paired step benchmark takes; pairs and steps default per benchmark."""
  parse = argparse.ArgumentParser()
  parse.add_argument("--pairs", type=int, default=pairs)
  parse.add_argument("--steps", type=int, default=steps)
  parse.add_argument("--vocab_size", type=int, default=2048)
  parse.add_argument("--gin_file", action="append", default=None, help=f"default: {' '.join(GIN_FILES)}")
  parse.add_argument("--gin_bindings", action="append", default=[])
  return parse


def step_command(args: argparse.Namespace, *extra: str) -> list[str]:
  """benchmarks/step_benchmark.py with the run's config and steps."""
  gin_files = args.gin_file or GIN_FILES
  return ([sys.executable, "benchmarks/step_benchmark.py", *extra, f"--steps={args.steps}",
           f"--vocab_size={args.vocab_size}"]
          + [f"--gin_file={f}" for f in gin_files] + [f"--gin_bindings={b}" for b in args.gin_bindings])


def alternate(arms: Sequence[str], pairs: int, measure: Callable[[str], object]) -> tuple[dict[str, list], str]:
  """Each arm's measurements over `pairs` ABBA pairs, and the load averages before and after."""
  before = os.getloadavg()
  got = {arm: [] for arm in arms}
  for i in range(pairs):
    for arm in arms if i % 2 == 0 else arms[::-1]:
      got[arm].append(measure(arm))
  after = os.getloadavg()
  load = f"load average before {' '.join(f'{x:.2f}' for x in before)}, after {' '.join(f'{x:.2f}' for x in after)}"
  return got, load


def describe(args: argparse.Namespace) -> str:
  """The run's config for its printed result."""
  gin_files = args.gin_file or GIN_FILES
  return (f"config {' '.join(gin_files)} {' '.join(args.gin_bindings)} vocab {args.vocab_size}, {args.steps} "
          f"steps, {args.pairs} pairs ABBA")
