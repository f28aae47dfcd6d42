"""ROOT/sweep.json (the sweep and its units, written by launch.sweep), read in one place so that a corrupt one
is named as bad input everywhere, never read as a sweep of no units or a folder of runs."""

import json
import os

from rundir.files import MANIFEST_FILE


class ManifestError(ValueError):
  """A sweep.json that is not the launcher's: unreadable, or without a sweep name or named units."""


def read(root: str) -> dict | None:
  """ROOT/sweep.json's object; None when ROOT has none; ManifestError when it is not one launch.sweep wrote."""
  path = os.path.join(root, MANIFEST_FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      manifest = json.load(f)
  except (OSError, ValueError) as e:
    raise ManifestError(f"{path} is unreadable ({e}): expected the sweep.json launch.sweep writes") from None
  sweep = manifest.get("sweep") if isinstance(manifest, dict) else None
  units = manifest.get("units") if isinstance(manifest, dict) else None
  if not (isinstance(sweep, dict) and isinstance(sweep.get("name"), str) and isinstance(units, list)
          and all(isinstance(u, dict) and isinstance(u.get("name"), str) for u in units)):
    raise ManifestError(f"{path} lacks a sweep name or a unit's name: expected the sweep.json launch.sweep writes "
                        '({"sweep": {"name": ...}, "units": [{"name": ...}, ...]})')
  return manifest


def sweep_name(manifest: dict) -> str:
  return manifest["sweep"]["name"]


def unit_names(manifest: dict) -> list[str]:
  return [unit["name"] for unit in manifest["units"]]
