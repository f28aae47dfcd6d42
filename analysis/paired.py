"""Paired seed statistics (docs/reproduction_rules.md, issue 24, Pairing): a comparison of two cells read
seed by seed, since a seed fixes the initialisation and the data order alike in every cell.

A comparison is the quantity q a rule reads (for "A below B by >= m": q = B - A) at each seed both cells
completed, with the thresholds the rule compares q against. Its interval is a two-sided Student-t
interval over seeds, not a bootstrap: over 3 seeds a bootstrap's percentile interval never leaves the
seeds' own range. A verdict reading a comparison whose interval holds a threshold is "within noise".
"""

import dataclasses
import math
import statistics
from typing import Mapping, Sequence

from analysis import fmt

LEVEL = 0.95  # two-sided
WITHIN_NOISE = " (within noise)"


def _abs_t_cdf(t: float, dof: int) -> float:
  """P(|T| <= t) for Student's t with integer `dof` (Abramowitz & Stegun 26.7.3-4, closed form)."""
  theta = math.atan(t / math.sqrt(dof))
  cos2 = math.cos(theta) ** 2
  if dof % 2:
    term, total = math.cos(theta), 0.0
    for k in range(1, (dof - 1) // 2 + 1):  # cos + 2/3 cos^3 + (2 4)/(3 5) cos^5 ...
      total += term
      term *= cos2 * (2 * k) / (2 * k + 1)
    return 2 / math.pi * (theta + math.sin(theta) * total)
  term, total = 1.0, 0.0
  for k in range(1, dof // 2 + 1):  # 1 + 1/2 cos^2 + (1 3)/(2 4) cos^4 ...
    total += term
    term *= cos2 * (2 * k - 1) / (2 * k)
  return math.sin(theta) * total


def t_critical(dof: int, level: float = LEVEL) -> float:
  """t with P(|T| <= t) = level: the half-width of the interval in standard errors (4.30 at dof 2)."""
  if dof < 1:
    raise ValueError(f"dof={dof}: expected an integer >= 1")
  low, high = 0.0, 1.0
  while _abs_t_cdf(high, dof) < level:
    high *= 2
  for _ in range(100):  # bisection to float precision
    mid = (low + high) / 2
    low, high = (mid, high) if _abs_t_cdf(mid, dof) < level else (low, mid)
  return (low + high) / 2


@dataclasses.dataclass(frozen=True)
class Paired:
  """q per paired seed, the thresholds the rule compares q against, and the seeds one cell lacks."""

  values: dict[int, float]
  thresholds: tuple[float, ...]
  unpaired: tuple[int, ...] = ()

  @property
  def n(self) -> int:
    return len(self.values)

  @property
  def mean(self) -> float | None:
    return statistics.fmean(self.values.values()) if self.values else None

  @property
  def interval(self) -> tuple[float, float] | None:
    """mean -+ t(0.975, n-1) s / sqrt(n); None under 2 seeds."""
    if self.n < 2:
      return None
    half = t_critical(self.n - 1) * statistics.stdev(self.values.values()) / math.sqrt(self.n)
    return self.mean - half, self.mean + half

  @property
  def within_noise(self) -> bool:
    """A threshold strictly inside the interval: the seeds cannot tell which side q is on."""
    return self.interval is not None and any(self.interval[0] < t < self.interval[1] for t in self.thresholds)

  def text(self) -> str:
    """'0.032 [-0.011, 0.075], 3 seeds (0.05, 0.02, 0.03)': the mean, the interval, each seed's q."""
    if not self.values:
      return "no paired seed"
    seeds = ", ".join(fmt.number(self.values[s], 3) for s in sorted(self.values))
    spread = (f" [{fmt.number(self.interval[0], 3)}, {fmt.number(self.interval[1], 3)}]"
              if self.interval else "")
    unpaired = f"; unpaired seeds {list(self.unpaired)}" if self.unpaired else ""
    return f"{fmt.number(self.mean, 3)}{spread}, {self.n} seed{'s' * (self.n > 1)} ({seeds}){unpaired}"


def _finite(values: Mapping[int, float | None]) -> dict[int, float]:
  return {s: v for s, v in values.items() if v is not None and math.isfinite(v)}


def per_seed(values: Mapping[int, float | None], thresholds: Sequence[float]) -> Paired:
  """A quantity the rule reads already per seed (7a's slope difference, 12b's update ratio)."""
  return Paired(_finite(values), tuple(thresholds))


def difference(minuend: Mapping[int, float | None], subtrahend: Mapping[int, float | None],
               thresholds: Sequence[float]) -> Paired:
  """q_s = minuend_s - subtrahend_s at every seed both cells have a finite value for."""
  a, b = _finite(minuend), _finite(subtrahend)
  both = sorted(a.keys() & b.keys())
  return Paired({s: a[s] - b[s] for s in both}, tuple(thresholds), tuple(sorted(a.keys() ^ b.keys())))


def label(verdict: str, comparisons: Sequence[Paired]) -> str:
  """The verdict, with ' (within noise)' when a comparison it reads is; 'not measured' as it is."""
  noisy = verdict != "not measured" and any(c.within_noise for c in comparisons)
  return verdict + (WITHIN_NOISE if noisy else "")
