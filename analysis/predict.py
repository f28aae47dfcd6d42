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
"""

import dataclasses
import math
from typing import Any, Sequence

from absl import flags
import numpy as np

from analysis import cli
from analysis import fmt
from analysis import grouping
from analysis.fit import LogQuadratic, fit_log_quadratic
from analysis.runs import InputError, Run, is_number

PAPER_PARAMS = 4.8e9
PAPER_STEP = 2000
THRESHOLD = 1e4


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


def table(predictions: Sequence[Prediction]) -> str:
  header = ("intervention", "lr", "sizes", "a", "b", "c", "predicted", "crosses")
  rows = [header]
  for p in predictions:
    coeffs = [fmt.number(c) for c in p.fit.coeffs] if p.fit else ["-"] * 3
    crosses = "-" if p.crosses is None else ("YES" if p.crosses else "no")
    rows.append((p.intervention, fmt.sci(p.lr), str(len({q.params for q in p.points})), *coeffs,
                 fmt.number(p.predicted), crosses if p.fit else f"- ({p.notes[-1]})"))
  return cli.columns(rows)


def define_flags() -> None:
  flags.DEFINE_float("params", PAPER_PARAMS, "Non-embedding parameter count to extrapolate to.")
  flags.DEFINE_integer("step", PAPER_STEP, "Step of the max logit: each run's last log at or before it "
                       "(runs that stopped before it are left out).")
  flags.DEFINE_integer("block", 0, "Block whose max attention logit is fitted (block 0 in the paper).")
  flags.DEFINE_float("threshold", THRESHOLD, "Max logit flagged as unstable.")


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
