"""The paper's sweeps, one module per figure; each module's SWEEPS holds the figure's sweep and its
`_cpu` variant (gin/local.gin last, widths 64-256) that a laptop runs in hours, not TPU-months.
A module of this package that defines SWEEPS is found by `all_sweeps`: adding a figure is adding a file.
A figure that reads another figure's runs is an alias (a module's ALIASES, {alias: sweep}, `_cpu`
variants included): `get` gives the one sweep, under its own name, so both train once in one root.
"""

import importlib
import pkgutil

from launch.errors import LaunchError
from launch.spec import Sweep, Unit

MANIFEST_VERSION = 2  # 2: sweep.json carries `report`, the findings' units, so analysis reads no launch code


def _modules() -> list:
  return [importlib.import_module(f"{__name__}.{info.name}")
          for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)]


def all_sweeps() -> dict[str, Sweep]:
  """Every named sweep, by name, from every module of this package that defines SWEEPS."""
  return {sweep.name: sweep for module in _modules() for sweep in getattr(module, "SWEEPS", ())}


def aliases() -> dict[str, str]:
  """{alias: the sweep it names}, each alias also with its `_cpu` variant."""
  out = {}
  for module in _modules():
    for alias, name in getattr(module, "ALIASES", {}).items():
      out.update({alias: name, f"{alias}_cpu": f"{name}_cpu"})
  return out


def manifest(sweep: Sweep, units: list[Unit]) -> dict:
  """ROOT/sweep.json: the sweep, its units and, for a sweep with findings (a module's REPORTS), what
  analysis.reproduction reads: the suite's scale and each finding's units with their labels."""
  reports = {name: report for module in _modules() for name, report in getattr(module, "REPORTS", {}).items()}
  out = {"version": MANIFEST_VERSION, "sweep": sweep.to_json(), "units": [u.to_json() for u in units]}
  if sweep.name in reports:
    out["report"] = reports[sweep.name]
  return out


def get(name: str) -> Sweep:
  """The named sweep; an alias gives the sweep it names (its name, so its root, is the sweep's)."""
  sweeps, alias = all_sweeps(), aliases()
  if name not in sweeps and name not in alias:
    raise LaunchError(f"unknown sweep name {name!r}: expected one of {', '.join([*sweeps, *alias])}")
  return sweeps[alias.get(name, name)]
