"""Predicting the attention logit growth instability from scaling trends (Section 3.3, Fig 9).

At each learning rate (within each intervention) the max attention logit of one block at one step is
fitted against non-embedding parameters (fit.fit_log_quadratic: log10(logit) quadratic in
log10(params), Fig 9's log-log axes) and extrapolated to a larger model; LRs predicted to reach the
threshold (1e4: in the paper every point above it diverged) are flagged.

Step matching: a run contributes its own value at --step, i.e. its last log at a step <= --step (never a
later one, so the prediction uses only what was known by then; the step used is reported per point). A
run that stopped before --step (diverged early, or shorter) or whose value there is not finite
contributes nothing, with a note: an earlier value of a run that never reached the step is not its value
at the step.

  python -m analysis.predict ROOT [ROOT ...] --params=4.8e9 --step=2000 [--block=0] [--threshold=1e4] [--json]
  python -m analysis.predict ROOT --units=UNITS.json [--json]   # launch.sweep --predict_from=ROOT

--units: one prediction per planned unit (a JSON list of {name, gin_files, gin_bindings, bindings, params,
step}, '-' for stdin; run.json's keys as the trainer would write them), from the finished (completed or
diverged) runs under ROOT that share all its settings but lr and model size, at its lr, extrapolated to its
params at its step. A unit with no such runs, or too few sizes among them, gets no fit and a note.
"""

import dataclasses
import json
import math
from typing import Any, Sequence

from absl import flags
import numpy as np

from analysis import cli
from analysis import fmt
from analysis import grouping
from analysis.fit import LogQuadratic, fit_log_quadratic
from analysis.runs import InputError, Run, is_number
from instability.detectors import Thresholds
from rundir import display
from rundir.files import RAN_TO_END

PAPER_PARAMS = 4.8e9
PAPER_STEP = 2000
THRESHOLD = Thresholds.attn_limit  # Section 3.1: every point above it diverged


def max_logit_key(block: int) -> str:
  return f"attn/max_logit/block_{block}"


def value_at(run: Run, key: str, step: int) -> tuple[int, float] | str:
  """(step, value) of the last log of `key` at a step <= `step`, or why the run has no value there."""
  steps, values = run.series(key)
  reached = max([int(steps[-1])] if steps.size else [], default=-1)
  if is_number(run.status.get("step")):
    reached = max(reached, int(run.status["step"]))
  if reached < step:
    return f"stopped at step {reached} ({run.state}), before step {step}"
  before = np.flatnonzero(steps <= step)
  if not before.size:
    return f"no {key} at a step <= {step}"
  at, value = int(steps[before[-1]]), float(values[before[-1]])
  return (at, value) if math.isfinite(value) else f"{key} is {value} at step {at}"


@dataclasses.dataclass
class Point:
  run: str
  params: float
  step: int
  max_logit: float


@dataclasses.dataclass
class Prediction:
  """The fit at one (intervention, lr) and its value at `params`; `fit` is None with a note if unfit."""

  intervention: str
  lr: float
  points: list[Point]
  params: float
  threshold: float
  fit: LogQuadratic | None
  notes: list[str]

  @property
  def predicted(self) -> float | None:
    return float(self.fit(self.params)) if self.fit else None

  @property
  def why_unfit(self) -> str:
    """The fit's note, with how many runs were left out and why the first was (a run that stopped before
    --step, say): the fit's note alone reads "needs 3 distinct model sizes, got 0"."""
    left_out = self.notes[:-1]
    return self.notes[-1] + (f" ({len(left_out)} runs left out, e.g. {left_out[0]})" if left_out else "")

  @property
  def crosses(self) -> bool | None:
    return None if self.predicted is None else self.predicted >= self.threshold

  def to_json(self) -> dict[str, Any]:
    return {
        "intervention": self.intervention,
        "lr": self.lr,
        "points": [dataclasses.asdict(p) for p in self.points],
        "fit": dict(zip("abc", self.fit.coeffs)) if self.fit else None,
        "params": self.params,
        "predicted_max_logit": fmt.json_float(self.predicted),
        "threshold": self.threshold,
        "crosses_threshold": self.crosses,
        "notes": self.notes,
    }


def predict(runs: Sequence[Run], params: float = PAPER_PARAMS, step: int = PAPER_STEP, block: int = 0,
            threshold: float = THRESHOLD) -> list[Prediction]:
  """One prediction per (intervention, lr); InputError when no run logged the block's max logit."""
  key = max_logit_key(block)
  logged = [r for r in runs if r.series(key)[0].size]
  if not logged:
    raise InputError(f"none of the {len(runs)} runs logged {key}")
  predictions = []
  for intervention, members in grouping.interventions(logged):
    for lr, at_lr in grouping.by_lr(members):
      points, notes = [], []
      for run in at_lr:
        value = value_at(run, key, step)
        if run.params is None:
          notes.append(f"{run.name}: no num_nonembedding_params in status.json")
        elif isinstance(value, str):
          notes.append(f"{run.name}: {value}")
        elif value[1] <= 0:
          notes.append(f"{run.name}: max logit {fmt.number(value[1])} <= 0 has no logarithm")
        else:
          points.append(Point(run.name, run.params, *value))
      try:
        fitted = fit_log_quadratic([p.params for p in points], [p.max_logit for p in points])
      except ValueError as e:
        fitted = None
        notes.append(str(e))
      predictions.append(Prediction(intervention, lr, sorted(points, key=lambda p: p.params),
                                    params, threshold, fitted, notes))
  return predictions


@dataclasses.dataclass
class UnitPrediction:
  """A planned unit's predicted max logit; `prediction` is None (and `note` says why) without a fit."""

  name: str
  lr: float | None
  params: float
  step: int
  threshold: float
  prediction: Prediction | None
  note: str | None

  @property
  def crosses(self) -> bool | None:
    return self.prediction.crosses if self.prediction else None

  def to_json(self) -> dict[str, Any]:
    p = self.prediction
    return {"name": self.name, "lr": self.lr, "params": self.params, "step": self.step,
            "threshold": self.threshold, "predicted_max_logit": fmt.json_float(p.predicted if p else None),
            "crosses_threshold": self.crosses, "fit_sizes": len({q.params for q in p.points}) if p else 0,
            "note": self.note}


def planned_run(unit: dict[str, Any]) -> Run:
  """A unit not yet run, as a Run holding what its run.json will (the path is never read)."""
  return Run(path=f"<planned unit {unit['name']}>", name=unit["name"], gin_files=tuple(unit["gin_files"]),
             gin_bindings=tuple(unit["gin_bindings"]), bindings=dict(unit["bindings"]), status={})


def predict_units(runs: Sequence[Run], units: Sequence[dict[str, Any]], block: int = 0,
                  threshold: float = THRESHOLD) -> list[UnitPrediction]:
  """One prediction per unit; InputError when no run is finished."""
  finished = [r for r in runs if r.state in RAN_TO_END]
  if not finished:
    raise InputError(f"none of the {len(runs)} runs is finished (completed or diverged): "
                     "expected a root of finished runs")
  key = max_logit_key(block)
  by_config = grouping.group_by(finished, lambda run: grouping.config_key(run, with_size=False))
  out = []
  for unit in units:
    planned = planned_run(unit)
    lr, params, step = planned.settings.get("lr"), float(unit["params"]), int(unit["step"])
    lr = float(lr) if is_number(lr) else None
    same = by_config.get(grouping.config_key(planned, with_size=False), [])
    at_lr = [r for r in same if lr is not None and r.lr == lr]  # both parsed from gin text: equal floats
    prediction, note = None, None
    if not same:
      note = "no finished run shares its settings (all but lr and model size)"
    elif not at_lr:
      note = f"no finished run at lr {lr} among the {len(same)} with its settings"
    elif not any(r.series(key)[0].size for r in at_lr):
      note = f"no finished run at its lr and settings logged {key}"
    else:
      [prediction] = predict(at_lr, params, step, block, threshold)
      if not prediction.fit:
        note, prediction = prediction.why_unfit, None
    out.append(UnitPrediction(unit["name"], lr, params, step, threshold, prediction, note))
  return out


def read_units(path: str) -> list[dict[str, Any]]:
  """--units' JSON list, or InputError naming what is wrong."""
  try:
    with (open(0) if path == "-" else open(path)) as f:
      units = json.load(f)
  except (OSError, ValueError) as e:
    raise InputError(f"--units={path}: unreadable ({e}): expected a JSON list of units")
  keys = ("name", "gin_files", "gin_bindings", "bindings", "params", "step")
  if not isinstance(units, list) or not all(isinstance(u, dict) and all(k in u for k in keys) for u in units):
    raise InputError(f"--units={path}: expected a JSON list of objects with keys {', '.join(keys)}")
  strings = lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)
  for i, unit in enumerate(units):
    for key, ok, expected in (
        ("name", isinstance(unit["name"], str), "a string"),
        ("gin_files", strings(unit["gin_files"]), "a list of strings"),
        ("gin_bindings", strings(unit["gin_bindings"]), "a list of strings"),
        ("bindings", isinstance(unit["bindings"], dict), "an object"),
        ("params", is_number(unit["params"]) and 0 < unit["params"] < math.inf, "a number > 0"),
        ("step", isinstance(unit["step"], int) and not isinstance(unit["step"], bool) and unit["step"] >= 0,
         "an integer >= 0")):
      if not ok:
        raise InputError(f"--units={path}: unit {i} has {key}={json.dumps(unit[key])}: expected {expected}")
  return units


def units_table(predictions: Sequence[UnitPrediction]) -> str:
  rows = [("unit", "lr", "params", "step", "predicted", "crosses")]
  for p in predictions:
    crosses = f"no fit ({p.note})" if p.prediction is None else ("YES" if p.crosses else "no")
    rows.append((p.name, fmt.sci(p.lr) if p.lr is not None else "-", fmt.count(p.params), str(p.step),
                 fmt.number(p.prediction.predicted if p.prediction else None), crosses))
  return display.columns(rows)


def table(predictions: Sequence[Prediction]) -> str:
  header = ("intervention", "lr", "sizes", "a", "b", "c", "predicted", "crosses")
  rows = [header]
  for p in predictions:
    coeffs = [fmt.number(c) for c in p.fit.coeffs] if p.fit else ["-"] * 3
    crosses = "-" if p.crosses is None else ("YES" if p.crosses else "no")
    rows.append((p.intervention, fmt.sci(p.lr), str(len({q.params for q in p.points})), *coeffs,
                 fmt.number(p.predicted), crosses if p.fit else f"- ({p.why_unfit})"))
  return display.columns(rows)


def define_flags(units: bool = True) -> None:
  """The fit's flags; `units` (predicting planned units) only where the command reads it."""
  flags.DEFINE_float("params", PAPER_PARAMS, "Non-embedding parameter count to extrapolate to.")
  flags.DEFINE_integer("step", PAPER_STEP, "Step of the max logit: each run's last log at or before it "
                       "(runs that stopped before it are left out).")
  flags.DEFINE_integer("block", 0, "Block whose max attention logit is fitted (block 0 in the paper).")
  flags.DEFINE_float("threshold", THRESHOLD, "Max logit flagged as unstable.")
  if units:
    flags.DEFINE_string("units", None, "Predict these planned units (JSON file, '-': stdin) instead; each "
                        "gives its own params and step.")


def checked_flags() -> tuple[float, int, int, float]:
  """(params, step, block, threshold), or exit 2 naming the bad one."""
  f = flags.FLAGS
  for name, ok, expected in (("params", f.params > 0 and math.isfinite(f.params), "a positive number"),
                             ("step", f.step >= 0, "an integer >= 0"),
                             ("block", f.block >= 0, "an integer >= 0"),
                             ("threshold", f.threshold > 0, "a positive number")):
    if not ok:
      cli.exit_usage(f"--{name}={f[name].value}: expected {expected}")
  return f.params, f.step, f.block, f.threshold


def main(argv: list[str]) -> None:
  runs, _ = cli.load_runs(argv, "analysis.predict")
  params, step, block, threshold = checked_flags()
  if flags.FLAGS.units is not None:
    for name in ("params", "step"):
      if flags.FLAGS[name].present:
        cli.exit_usage(f"--{name} with --units: expected each unit's own {name} in the units file")
    try:
      predictions = predict_units(runs, read_units(flags.FLAGS.units), block, threshold)
    except InputError as e:
      cli.exit_usage(str(e))
    cli.print_results(predictions, f"max attention logit of block {block} per planned unit, from the finished "
                      f"runs with its settings and lr; crosses = predicted >= {fmt.sci(threshold)}", units_table)
    return
  try:
    predictions = predict(runs, params, step, block, threshold)
  except InputError as e:
    cli.exit_usage(str(e))
  cli.print_results(predictions, f"max attention logit of block {block} at each run's last log at step "
                    f"<= {step}; fit log10(logit) = a u^2 + b u + c, u = log10(non-embedding params); "
                    f"predicted at {fmt.count(params)} params; crosses = predicted >= {fmt.sci(threshold)}",
                    table)


if __name__ == "__main__":
  cli.run(main, define_flags)
