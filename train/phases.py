"""Where a run's wall time goes, by phase, in one line of its log: a short run's fixed costs (set-up,
compiles, evals, checkpoints) beside its training steps (docs/performance.md)."""

import contextlib
import time
from collections.abc import Iterator

PHASES = ("set-up", "compile", "steps", "evals", "checkpoints")


class Phases:
  """Exclusive wall time per phase from creation: the clock runs for the innermost open phase, the
  base phase being set-up until switch() names another (the loop's: steps)."""

  def __init__(self):
    self.start = self._mark = time.perf_counter()
    self.seconds = dict.fromkeys(PHASES, 0.0)
    self._open = ["set-up"]

  def _charge(self) -> None:
    now = time.perf_counter()
    self.seconds[self._open[-1]] += now - self._mark
    self._mark = now

  def switch(self, name: str) -> None:
    """The base phase from now on."""
    self._charge()
    self._open[0] = name

  @contextlib.contextmanager
  def __call__(self, name: str) -> Iterator[None]:
    self._charge()
    self._open.append(name)
    try:
      yield
    finally:
      self._charge()
      self._open.pop()

  def line(self) -> str:
    """'time: set-up 1.20 s, compile 3.10 s, steps 2.00 s, evals 0.40 s, checkpoints 0.30 s, total 7.00 s'."""
    self._charge()
    parts = [f"{name} {seconds:.2f} s" for name, seconds in self.seconds.items()]
    return f"time: {', '.join(parts)}, total {time.perf_counter() - self.start:.2f} s"
