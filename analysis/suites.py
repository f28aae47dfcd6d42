"""Suite roots as the full reproduction report reads them: a root is recognised by the sweep.json that
launch.sweep writes into it (its sweep's name and units), never by its folder name or launch's code.

A suite is finished when every unit has a run in a final state (rundir.files.FINAL: completed, diverged,
warned or failed); until then it is reported as
"incomplete (n of m)", and a suite with no root as "not run yet", never with a verdict.
"""

import dataclasses
import os
from typing import Any, Sequence

from analysis.runs import InputError, Run, find_runs, load_metrics
from rundir import manifests
from rundir.files import FINAL, MANIFEST_FILE


def read_manifest(root: str) -> dict[str, Any]:
  """ROOT/sweep.json; InputError for an unreadable one, or one from before the launcher versioned it."""
  try:
    manifest = manifests.read(root)
  except manifests.ManifestError as e:
    raise InputError(str(e)) from None
  if manifest is None:
    raise InputError(f"{root} holds no {MANIFEST_FILE}: expected the root of a sweep launch.sweep ran")
  name = manifests.sweep_name(manifest)
  if "version" not in manifest:
    raise InputError(f"{os.path.join(root, MANIFEST_FILE)} was written by an older launcher and lists no "
                     f"findings: relaunch the same command (python -m launch.sweep --sweep_name={name} "
                     f"--root={root}); it rewrites sweep.json and skips finished units")
  return manifest


@dataclasses.dataclass
class Suite:
  """One suite root: its sweep.json and its runs by unit name."""
  root: str
  manifest: dict[str, Any]
  runs: dict[str, Run]
  problems: list[str]

  @property
  def name(self) -> str:
    return manifests.sweep_name(self.manifest)

  @property
  def units(self) -> list[dict[str, Any]]:
    return self.manifest["units"]

  @property
  def finished(self) -> int:
    return sum(1 for u in self.units if u["name"] in self.runs and self.runs[u["name"]].state in FINAL)

  @property
  def done(self) -> bool:
    return self.finished == len(self.units)

  def run(self, unit: dict[str, Any]) -> Run | None:
    return self.runs.get(unit["name"])


def load(root: str, manifest: dict[str, Any]) -> Suite:
  """The suite in ROOT with its metrics read; a root with no run directory yet has no runs."""
  try:
    runs, problems = find_runs([root])
  except InputError:
    runs, problems = [], []
  load_metrics(runs)
  return Suite(root, manifest, {r.name: r for r in runs}, problems)


def discover(paths: Sequence[str], covered: Sequence[str]) -> dict[str, Suite]:
  """The suites under `paths` by sweep name: a path holding sweep.json is a suite root, a folder of such
  roots (e.g. runs/) gives each of them. InputError, before any run is read, for a missing path, a path
  holding no suite, a suite not in `covered`, or two roots of one sweep."""
  roots = []
  for path in paths:
    if os.path.exists(os.path.join(path, MANIFEST_FILE)):
      roots.append(path)
    elif os.path.isdir(path):
      found = sorted(os.path.join(path, d) for d in os.listdir(path)
                     if os.path.exists(os.path.join(path, d, MANIFEST_FILE)))
      if not found:
        raise InputError(f"{path}: holds no {MANIFEST_FILE}: expected a suite root or a folder of suite roots")
      roots += found
    else:
      raise InputError(f"{path}: not a directory; expected a suite root or a folder of suite roots")
  by_name: dict[str, tuple[str, dict[str, Any]]] = {}
  for root in roots:
    manifest = read_manifest(root)
    name = manifests.sweep_name(manifest)
    if name not in covered:
      raise InputError(f"{root} holds sweep {name!r}, which this report does not cover: expected the root of "
                       f"one of {', '.join(covered)}")
    if name in by_name:
      raise InputError(f"{root} and {by_name[name][0]} both hold sweep {name!r}: expected one root per suite")
    by_name[name] = (root, manifest)
  return {name: load(root, manifest) for name, (root, manifest) in by_name.items()}


def status(suites: dict[str, Suite], name: str) -> str:
  """'not run yet', 'incomplete (n of m)' or 'finished (m units)'."""
  suite = suites.get(name)
  if suite is None:
    return "not run yet"
  if not suite.done:
    return f"incomplete ({suite.finished} of {len(suite.units)})"
  return f"finished ({len(suite.units)} units)"
