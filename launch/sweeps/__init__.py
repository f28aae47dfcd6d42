"""The paper's sweeps, one module per figure; each module's SWEEPS holds the figure's sweep and its
`_cpu` variant (gin/local.gin last, widths 64-256) that a laptop runs in hours, not TPU-months.
"""

import importlib

from launch.errors import LaunchError
from launch.spec import Sweep

MODULES = ("fig1", "fig2", "fig3_4", "fig5", "fig6", "fig7", "fig8", "fig9", "fig10", "fig11_13",
           "figC1", "figE1", "figE2", "figE3", "figE4", "figE5", "figE6", "figE7", "figE8", "figE9",
           "figE10", "figE11", "figE12", "figE13", "figE14", "figE15", "repro")


def all_sweeps() -> dict[str, Sweep]:
  """Every named sweep, by name."""
  sweeps = {}
  for module in MODULES:
    for sweep in importlib.import_module(f"launch.sweeps.{module}").SWEEPS:
      sweeps[sweep.name] = sweep
  return sweeps


def get(name: str) -> Sweep:
  sweeps = all_sweeps()
  if name not in sweeps:
    raise LaunchError(f"unknown sweep name {name!r}: expected one of {', '.join(sweeps)}")
  return sweeps[name]
