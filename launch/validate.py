"""Checks every unit's config with the trainer's own validation before anything trains, in one
`python -m train.main --validate=-` process (launch never imports train): a bad value refuses the sweep
at launch (and in --dry_run) instead of failing each unit into its train.log."""

import json
import subprocess
from collections.abc import Sequence

from launch.errors import LaunchError
from launch.spec import Unit
from rundir import bindings


def check_configs(units: Sequence[Unit], python: str, describe: bool = False) -> list[dict] | None:
  """Raises LaunchError naming the first bad unit and its reason (and how many more are bad). With
  `describe`, returns each unit's run.json object, steps and non-embedding parameter count (train/run.py)."""
  request = json.dumps([{"name": u.name, "gin_files": list(u.gin_files), "gin_bindings": list(u.gin_bindings)}
                        for u in units])
  command = [python, "-m", "train.main", "--validate=-", *(["--describe"] if describe else [])]
  try:
    result = subprocess.run(command, input=request, capture_output=True, text=True, cwd=bindings.REPO_ROOT)
  except OSError as e:
    raise LaunchError(f"--python={python} cannot run ({e.strerror}): expected the project's Python") from e
  if result.returncode == 0:
    return json.loads(result.stdout.strip().splitlines()[-1]) if describe else None
  errors = [line.removeprefix("error: ") for line in result.stderr.splitlines() if line.startswith("error: ")]
  if result.returncode == 2 and errors:
    more = f" (and {len(errors) - 1} more bad units)" if len(errors) > 1 else ""
    raise LaunchError(f"{errors[0]}{more}: expected every unit's config to be valid; nothing was launched")
  last = (result.stderr.strip().splitlines() or ["no output"])[-1]
  raise LaunchError(f"{python} -m train.main --validate could not check the units (exit {result.returncode}: "
                    f"{last}): expected --python to be the project's Python")
