"""Fig 9's prediction beside two simpler predictors, and scored as a classifier of bad runs
(docs/reproduction_rules.md, issue 24): pure functions of the fitted sizes' max logits and the held-out
model's realised values. With 3 fitted sizes the quadratic passes through every point, so what it adds
is only seen beside a straight line in the same log-log axes and beside carrying the largest size's value.
"""

import dataclasses
import math
import statistics
from typing import Any, Sequence

import numpy as np

from analysis import fmt
from analysis.fit import fit_log_quadratic
from analysis.rules import NOT_MEASURED, Verdict

PREDICTORS = ("quadratic", "linear", "carry-forward")
MARGIN_DECADES = 0.1  # the fit must beat each baseline's median error by a tenth of a decade


def predictions(points: Sequence[tuple[float, float]], params: float) -> dict[str, float | None]:
  """Each predictor's max logit at `params` from (non-embedding params, max logit) of the fitted sizes:
  the log-log quadratic (the prediction), a log-log least-squares line, and the largest size's value.
  A predictor the points cannot give (too few sizes, a non-positive value) is None."""
  out: dict[str, float | None] = dict.fromkeys(PREDICTORS)
  if not points:
    return out
  x, y = (np.array(v, dtype=float) for v in zip(*points))
  out["carry-forward"] = float(y[np.argmax(x)])
  if np.all(y > 0) and np.all(x > 0) and np.unique(x).size >= 2:
    slope, intercept = np.polyfit(np.log10(x), np.log10(y), 1)
    out["linear"] = float(10.0 ** (slope * math.log10(params) + intercept))
  try:
    out["quadratic"] = float(fit_log_quadratic(x, y)(params))
  except ValueError:
    pass
  return out


def points_by_lr(prediction: Sequence[dict[str, Any]]) -> dict[float, list[tuple[float, float]]]:
  """docs/reproduction/fig9_prediction.json's entries (analysis.predict --json) as {lr: fitted points}."""
  return {entry["lr"]: [(p["params"], p["max_logit"]) for p in entry.get("points", [])] for entry in prediction}


@dataclasses.dataclass(frozen=True)
class Score:
  """Rule 9's two numbers for one predictor: LRs whose crossing of the threshold agrees, and the median
  |log10(predicted / realised)| over the LRs with both values (inf when none)."""

  agree: int
  total: int
  median_error: float

  def text(self) -> str:
    return f"{self.agree}/{self.total} agree, median error {fmt.number(self.median_error, 2)} decades"


def score(predicted: Sequence[float | None], realised: Sequence[float | None], threshold: float = 1e4) -> Score:
  """An LR without a prediction or a realised value disagrees (as rule 9 counts it)."""
  pairs = list(zip(predicted, realised))
  agree = sum(p is not None and r is not None and (p >= threshold) == (r >= threshold) for p, r in pairs)
  errors = [abs(math.log10(p / r)) for p, r in pairs if p and r and p > 0 and r > 0]
  return Score(agree, len(pairs), statistics.median(errors) if errors else math.inf)


def against_baselines(scores: dict[str, Score]) -> Verdict:
  """'the fit adds to the baselines' when the quadratic's median error is below each baseline's by >= 0.1
  decade and it agrees at no fewer LRs; 'no better than a baseline' otherwise."""
  fit = scores.get("quadratic")
  if fit is None or not math.isfinite(fit.median_error):
    return NOT_MEASURED, "the quadratic fit has no error to compare"
  baselines = {name: s for name, s in scores.items() if name != "quadratic"}
  beats = all(fit.median_error <= s.median_error - MARGIN_DECADES and fit.agree >= s.agree
              for s in baselines.values())
  return ("the fit adds to the baselines" if beats else "no better than a baseline",
          "; ".join(f"{name}: {s.text()}" for name, s in scores.items()))


@dataclasses.dataclass(frozen=True)
class Confusion:
  """A predictor as a classifier of bad held-out runs at a threshold; `separating` is the range (low,
  high] of thresholds that would classify every run correctly, None when no threshold does."""

  true_positive: int
  false_positive: int
  false_negative: int
  true_negative: int
  separating: tuple[float, float] | None

  @property
  def correct(self) -> bool:
    return self.false_positive == self.false_negative == 0

  def text(self, threshold: float) -> str:
    cut = (f"; thresholds in ({fmt.sci(self.separating[0])}, {fmt.sci(self.separating[1])}] separate them"
           if self.separating else "; no threshold separates them")
    return (f"at {fmt.sci(threshold)}: {self.true_positive} bad runs flagged, {self.false_negative} missed, "
            f"{self.false_positive} good flagged, {self.true_negative} good not{cut}")


def classify(predicted: Sequence[float | None], bad: Sequence[bool], threshold: float = 1e4) -> Confusion:
  """Predicted bad: predicted >= threshold. A run without a prediction is counted as misclassified and
  leaves no separating threshold."""
  tp = fp = fn = tn = 0
  for p, is_bad in zip(predicted, bad):
    right = p is not None and (p >= threshold) == is_bad
    if is_bad:
      tp, fn = tp + right, fn + (not right)
    else:
      tn, fp = tn + right, fp + (not right)
  separating = None
  if None not in predicted:
    good_max = max((p for p, b in zip(predicted, bad) if not b), default=0.0)
    bad_min = min((p for p, b in zip(predicted, bad) if b), default=math.inf)
    separating = (good_max, bad_min) if good_max < bad_min else None
  return Confusion(tp, fp, fn, tn, separating)


def as_classifier(confusion: Confusion, threshold: float = 1e4) -> Verdict:
  """'9 as a classifier': every run right at the threshold reproduced; some threshold would get every run
  right partly; otherwise not reproduced."""
  verdict = ("reproduced" if confusion.correct else "partly" if confusion.separating else "not reproduced")
  return verdict, confusion.text(threshold)
