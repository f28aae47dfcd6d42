"""What the analysis CLIs share: roots from argv, flag errors and unusable input as one line, exit code 2."""

import json
import sys
from typing import Any, Callable, NoReturn, Sequence

from absl import app
from absl import flags

from analysis.runs import InputError, Run, find_runs
from rundir.flag_parser import parse_flags

FLAGS = flags.FLAGS


def exit_usage(message: str) -> NoReturn:
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def run(main: Callable[[list[str]], None], *define_flags: Callable[[], None]) -> None:
  """Defines the flags (and --json), then runs main with one-line flag errors."""
  for define in define_flags:
    define()
  flags.DEFINE_bool("json", False, "Print JSON instead of a table.")
  app.run(main, flags_parser=parse_flags)


def print_results(results: Sequence[Any], header: str, table: Callable[[Sequence[Any]], str]) -> None:
  """A JSON list of each result's to_json() under --json, else the header line and the table."""
  if FLAGS.json:
    print(json.dumps([r.to_json() for r in results], indent=1))
  else:
    print(header)
    print(table(results))


def floats(name: str, values: Sequence[str]) -> tuple[float, ...]:
  """A list flag of numbers ('3e-4,1e-3'), or exit 2 naming the bad entry."""
  try:
    parsed = tuple(float(v) for v in values)
  except ValueError:
    exit_usage(f"--{name}={','.join(values)}: expected comma-separated numbers such as 3e-4,1e-3")
  if not parsed or any(not v > 0 for v in parsed):
    exit_usage(f"--{name}={','.join(values)}: expected one or more positive numbers")
  return parsed


def load_runs(argv: Sequence[str], program: str) -> tuple[list[Run], list[str]]:
  """The runs under the roots named on the command line, and the folders skipped (also warned about)."""
  roots = list(argv[1:])
  if not roots:
    exit_usage(f"expected one or more roots: python -m {program} ROOT [ROOT ...]")
  try:
    runs, problems = find_runs(roots)
  except InputError as e:
    exit_usage(str(e))
  for problem in problems:
    print(f"warning: skipped {problem}", file=sys.stderr)
  return runs, problems
