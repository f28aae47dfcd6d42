"""The quadratic fit of Section 3.3, in the axes of Fig 9 (log-log).

log10(y) = a * u^2 + b * u + c with u = log10(x): on Fig 9's log-log axes the fit is a parabola, and a
max attention logit growing quadratically with parameter norm is a power law in model scale.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class LogQuadratic:
  """log10(y) = a u^2 + b u + c, u = log10(x); `coeffs` = (a, b, c) as numpy.polyfit returns them."""

  coeffs: tuple[float, float, float]

  def __call__(self, x: np.ndarray | float) -> np.ndarray | float:
    return 10.0 ** np.polyval(self.coeffs, np.log10(x))


def fit_log_quadratic(x: np.ndarray, y: np.ndarray) -> LogQuadratic:
  """Least-squares fit; ValueError unless there are three distinct positive x and every y is positive."""
  x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
  if x.shape != y.shape or x.ndim != 1:
    raise ValueError(f"expected two 1-d arrays of one length, got shapes {x.shape} and {y.shape}")
  if np.any(~np.isfinite(x) | ~np.isfinite(y) | (x <= 0) | (y <= 0)):
    raise ValueError("a log-log fit needs finite positive x and y")
  if np.unique(x).size < 3:
    raise ValueError(f"a quadratic needs 3 distinct model sizes, got {np.unique(x).size}")
  a, b, c = np.polyfit(np.log10(x), np.log10(y), 2)
  return LogQuadratic((float(a), float(b), float(c)))
