"""Rendering one figure for a report: the one path both reports (analysis.report, analysis.reproduction)
take, so a figure that cannot be drawn is recorded with its reason instead of losing the report."""

import dataclasses
from typing import Callable, Sequence

from analysis import figures
from analysis.runs import Run


@dataclasses.dataclass
class Figure:
  name: str
  caption: str
  paths: list[str]
  skipped: str | None


def render(name: str, caption: str, make: Callable[[Sequence[Run], str], list[str]], runs: Sequence[Run],
           stem: str) -> Figure:
  """make(runs, stem)'s files, or why there are none (figures.Skipped, or any error while drawing)."""
  try:
    return Figure(name, caption, make(runs, stem), None)
  except figures.Skipped as e:
    return Figure(name, caption, [], str(e))
  except Exception as e:  # pylint: disable=broad-except  # one bad figure must not lose the report
    return Figure(name, caption, [], f"failed: {type(e).__name__}: {e}")
