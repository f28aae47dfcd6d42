"""A score as a classifier of bad runs: AUROC (Mann-Whitney, ties count half), its interval by a percentile
bootstrap over runs stratified by class, its ROC curve, and the alarm level that keeps a set of good runs'
false-alarm rate at or under a target."""

import math
from typing import Sequence

import numpy as np

BOOTSTRAP = 2000  # resamples
LEVEL = 0.95


def auroc(bad: Sequence[float], good: Sequence[float]) -> float:
  """P(a bad run scores above a good one) + P(tie) / 2; NaN when either class is empty. -inf scores (no
  score yet) tie with each other."""
  bad_B, good_G = np.asarray(bad, float), np.asarray(good, float)
  if not bad_B.size or not good_G.size:
    return math.nan
  above_BG = bad_B[:, None] > good_G[None, :]
  tie_BG = bad_B[:, None] == good_G[None, :]
  return float(np.mean(above_BG + 0.5 * tie_BG))


def interval(bad: Sequence[float], good: Sequence[float], resamples: int = BOOTSTRAP, level: float = LEVEL,
             seed: int = 0) -> tuple[float, float]:
  """The percentile bootstrap interval of auroc: bad and good runs resampled with replacement separately,
  so each resample keeps both class sizes; (NaN, NaN) when either class is empty."""
  bad_B, good_G = np.asarray(bad, float), np.asarray(good, float)
  if not bad_B.size or not good_G.size:
    return math.nan, math.nan
  rng = np.random.default_rng(seed)
  values = [auroc(rng.choice(bad_B, bad_B.size), rng.choice(good_G, good_G.size)) for _ in range(resamples)]
  lo, hi = np.percentile(values, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
  return float(lo), float(hi)


def alarm_level(good: Sequence[float], rate: float) -> float:
  """The lowest level L such that at most `rate` of the good runs score >= L (an alarm is score >= L);
  inf when there are no good runs."""
  good_sorted = sorted(good, reverse=True)
  if not good_sorted:
    return math.inf
  allowed = math.floor(rate * len(good_sorted))  # alarms the rate permits
  if allowed >= len(good_sorted):
    return -math.inf
  return math.nextafter(good_sorted[allowed], math.inf)


def roc(bad: Sequence[float], good: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
  """(false-alarm rate, detection rate) of the alarm `score >= L` as L falls through every score, from (0, 0)
  to (1, 1): the curve whose trapezoid area is auroc (a tie across the classes is a diagonal step, half).
  ValueError when either class is empty or a score is NaN (it would never alarm: the curve would stop short)."""
  bad_B, good_G = np.asarray(bad, float), np.asarray(good, float)
  if not bad_B.size or not good_G.size:
    raise ValueError(f"an ROC curve needs bad and good runs, got {bad_B.size} and {good_G.size}")
  if np.isnan(bad_B).any() or np.isnan(good_G).any():
    raise ValueError("an ROC curve needs scores that compare: got NaN")
  levels_L = np.unique(np.concatenate([bad_B, good_G]))[::-1]
  detected_L = np.mean(bad_B[None, :] >= levels_L[:, None], axis=1)
  false_L = np.mean(good_G[None, :] >= levels_L[:, None], axis=1)
  return np.concatenate([[0.0], false_L]), np.concatenate([[0.0], detected_L])
