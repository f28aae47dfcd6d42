"""Where units run: `local` (long-lived trainer workers), `xm` (XManager), `slurm` (submitit arrays).

Each executor module has `launch(units, root, options) -> exit code`. `xm` runs a unit as
`python -m launch.run_unit` and `slurm` calls launch.unit.run in its own Python job: one train.main
process per unit. `local` queues units on `python -m train.worker` processes with the same retries,
logs and attempt records (launch/unit.py's record_start, record_end, next_attempt).
"""

import dataclasses
import importlib
import os
from collections.abc import Sequence

from launch.errors import LaunchError
from launch.spec import Unit
from rundir import progress
from rundir.files import TOTALS

NAMES = ("local", "xm", "slurm")
# executor -> (the package its extra installs, the extra's name in pyproject.toml)
_EXTRAS = {"xm": ("xmanager", "xm"), "slurm": ("submitit", "slurm")}


@dataclasses.dataclass(frozen=True)
class Options:
  """How to run the units, as the launch.sweep flags say."""
  name: str  # the sweep's name: XManager experiment title, SLURM job name
  parallel: int = 1  # local: worker processes; slurm: array tasks at once
  max_retries: int = 1
  python: str = "python"  # the interpreter that runs launch.run_unit and train.main
  gpus_per_unit: int | None = None  # local: GPUs per worker (default: split evenly); slurm: per task
  processes_per_unit: int = 1  # local: a unit as this many JAX processes (launch/group.py)
  xm_target: str = "local"  # local (xm_local.Local) or vertex (Vertex AI, needs Docker and GCP)
  xm_accelerator: str = ""  # Vertex only: xm.JobRequirements, e.g. tpu_v4=8 or a100=8
  slurm_partition: str = ""
  slurm_timeout_min: int = 24 * 60
  slurm_cluster: str | None = None  # submitit: None picks SLURM when sbatch exists; "local" for tests


def load(name: str):
  """The executor's module; a missing optional extra is a one-line LaunchError naming its pip install."""
  if name not in NAMES:
    raise LaunchError(f"unknown executor {name!r}: expected one of {', '.join(NAMES)}")
  try:
    return importlib.import_module(f"launch.executors.{name}")
  except ImportError as e:
    package, extra = _EXTRAS.get(name, (None, None))
    if package is None or not (e.name or "").startswith(package):
      raise
    raise LaunchError(f"executor {name!r} needs {package}, which is not installed: "
                      f"pip install -e '.[{extra}]'") from e


def workdir(root: str, unit: Unit) -> str:
  """The unit's run directory: ROOT/<unit name>."""
  return os.path.join(os.path.abspath(root), unit.name)


def run_unit_args(unit: Unit, root: str, max_retries: int) -> list[str]:
  """launch.run_unit's flags for the unit (the XManager executor's job arguments)."""
  return ([f"--workdir={workdir(root, unit)}"] + [f"--gin_file={f}" for f in unit.gin_files]
          + [f"--gin_bindings={b}" for b in unit.gin_bindings] + [f"--max_retries={max_retries}"])


def summary(units: Sequence[Unit], root: str) -> dict[str, int]:
  """Totals by state bucket over the units' run directories."""
  totals = dict.fromkeys(TOTALS, 0)
  for unit in units:
    totals[progress.unit_status(workdir(root, unit), unit.name).total] += 1
  return totals
