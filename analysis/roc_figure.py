"""The early-warning evaluation's figure: ROC curves of a score as a classifier of bad runs, one panel per
time of reading, each curve with the operating point of its alarm level (analysis/early_warning.py)."""

import dataclasses
from typing import Sequence

from analysis.figures import save  # first: it selects matplotlib's Agg backend
from matplotlib import pyplot as plt  # pylint: disable=g-bad-import-order
import numpy as np

from analysis import auroc


@dataclasses.dataclass
class Curve:
  """One score over one set of runs; `level` marks the point where an alarm is score >= level."""

  label: str
  bad: Sequence[float]
  good: Sequence[float]
  style: str  # matplotlib line style
  level: float | None = None


def draw(panels: Sequence[tuple[str, Sequence[Curve]]], out: str) -> list[str]:
  """Draws each (title, curves) panel side by side; writes OUT.png and OUT.svg. A curve with no bad or no
  good runs is left out, and its legend entry says so."""
  fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.4), squeeze=False)
  for ax, (title, curves) in zip(axes[0], panels):
    ax.plot([0, 1], [0, 1], color="0.75", linewidth=1)
    for i, curve in enumerate(curves):
      color = f"C{i}"
      missing = [name for name, runs in (("bad", curve.bad), ("good", curve.good)) if not len(runs)]
      if missing:
        ax.plot([], [], curve.style, color=color, label=f"{curve.label}: no {' or '.join(missing)} runs")
        continue
      false_rate, detected = auroc.roc(curve.bad, curve.good)
      ax.plot(false_rate, detected, curve.style, color=color,
              label=f"{curve.label}: AUROC {auroc.auroc(curve.bad, curve.good):.2f} "
                    f"({len(curve.bad)} bad, {len(curve.good)} good)")
      if curve.level is not None:
        ax.plot([np.mean(np.asarray(curve.good) >= curve.level)], [np.mean(np.asarray(curve.bad) >= curve.level)],
                "o", color=color, markersize=6)
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="false-alarm rate (good runs alarmed)",
           ylabel="detection rate (bad runs alarmed)", title=title)
    ax.legend(fontsize=7, loc="lower right")
  fig.suptitle("dot: the alarm level set on the tuning suites' good runs", fontsize=9)
  return save(fig, out)
