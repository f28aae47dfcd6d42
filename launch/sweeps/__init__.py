"""The paper's sweeps, one module per figure; each module's SWEEPS holds the figure's sweep and its
`_cpu` variant (gin/local.gin last, widths 64-256) that a laptop runs in hours, not TPU-months.
A module of this package that defines SWEEPS is found by `all_sweeps`: adding a figure is adding a file.
"""

import importlib
import pkgutil

from launch.errors import LaunchError
from launch.spec import Sweep


def all_sweeps() -> dict[str, Sweep]:
  """Every named sweep, by name, from every module of this package that defines SWEEPS."""
  sweeps = {}
  for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    for sweep in getattr(importlib.import_module(f"{__name__}.{info.name}"), "SWEEPS", ()):
      sweeps[sweep.name] = sweep
  return sweeps


def get(name: str) -> Sweep:
  sweeps = all_sweeps()
  if name not in sweeps:
    raise LaunchError(f"unknown sweep name {name!r}: expected one of {', '.join(sweeps)}")
  return sweeps[name]
