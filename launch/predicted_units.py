"""`launch.sweep --predict_from=ROOT`: which planned units Section 3.3's scaling fit predicts to pass the
attention-logit threshold, kept in the sweep's root (predictions.json) for `launch.status`.

Both halves run as subprocesses, as launch/validate.py does: `train.main --validate=- --describe` gives each
unit's run.json bindings, steps and non-embedding parameter count (model facts), and `analysis.predict
--units=-` fits the finished runs under ROOT (the fit, the grouping of runs and the step matching stay in
analysis). Launch imports neither train nor analysis, and no fact is copied into it.
"""

import json
import os
import subprocess
from collections.abc import Mapping, Sequence

from launch import validate
from launch.errors import LaunchError
from launch.spec import Unit
from rundir import bindings
from rundir.files import read_json, write_json

PREDICTIONS_FILE = "predictions.json"


def predict(units: Sequence[Unit], python: str, source: str, step: int | None) -> dict:
  """predictions.json's object: {"from", "step", "units": {name: analysis.predict's entry}}; LaunchError on
  bad input (source missing, no finished run there)."""
  if not os.path.isdir(source):
    raise LaunchError(f"--predict_from={source}: not a directory: expected the root of a sweep with finished runs")
  if step is not None and step < 0:
    raise LaunchError(f"--predict_step={step}: expected a step >= 0 (default: each unit's own steps)")
  facts = validate.check_configs(units, python, describe=True)
  request = [{"name": f["name"], "gin_files": f["gin_files"], "gin_bindings": f["gin_bindings"],
              "bindings": f["bindings"], "params": f["num_nonembedding_params"],
              "step": f["steps"] if step is None else step} for f in facts]
  command = [python, "-m", "analysis.predict", os.path.abspath(source), "--units=-", "--json"]
  result = subprocess.run(command, input=json.dumps(request), capture_output=True, text=True, cwd=bindings.REPO_ROOT)
  errors = [line.removeprefix("error: ") for line in result.stderr.splitlines() if line.startswith("error: ")]
  if result.returncode == 2 and errors:
    raise LaunchError(f"--predict_from={source}: {errors[0]}")
  try:
    entries = json.loads(result.stdout) if result.returncode == 0 else None
  except ValueError:
    entries = None
  if not isinstance(entries, list):
    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
    raise LaunchError(f"analysis.predict could not fit {source} (exit {result.returncode}: {last}): "
                      "expected --python to be the project's Python")
  return {"from": os.path.abspath(source), "step": step, "units": {e["name"]: e for e in entries}}


def read(root: str) -> dict | None:
  """The sweep's predictions, None when it was launched without --predict_from (or the file is broken)."""
  predictions = read_json(os.path.join(root, PREDICTIONS_FILE))
  return predictions if predictions and isinstance(predictions.get("units"), dict) else None


def write(root: str, predictions: Mapping) -> None:
  write_json(os.path.join(root, PREDICTIONS_FILE), predictions)


def cell(entry: Mapping | None) -> str:
  """'YES 2.1e+04' (predicted to pass the threshold), 'no 310', or 'no fit'; '-' for a unit not predicted."""
  if entry is None:
    return "-"
  if entry.get("crosses_threshold") is None:
    return "no fit"
  return f"{'YES' if entry['crosses_threshold'] else 'no'} {entry['predicted_max_logit']:.2g}"


def summary(predictions: Mapping) -> str:
  """One line: how many units are predicted to cross, and from where."""
  entries = list(predictions["units"].values())
  crossing = [e for e in entries if e.get("crosses_threshold")]
  unfit = [e for e in entries if e.get("crosses_threshold") is None]
  level = f" {entries[0]['threshold']:.0e}" if entries else ""  # analysis.predict's, in each entry
  why = f" (e.g. {unfit[0]['name']}: {unfit[0]['note']})" if unfit else ""
  return (f"predicted from {predictions['from']}: {len(crossing)} of {len(entries)} units pass max attention "
          f"logit{level}; {len(unfit)} have no fit{why}")
