"""A run that crashes mid-run, for the launcher's and the worker's failure paths: tests/gin/crash.gin binds
TrainConfig.divergence_threshold to a number that raises when the trainer first compares a loss with it,
after the run directory is written (a bad binding is refused before that, with exit 2)."""

import gin

MESSAGE = "a planned crash (tests/planned_crash.py)"


class CrashingThreshold(float):
  """A valid float until it is compared."""

  def __lt__(self, other):
    raise RuntimeError(MESSAGE)

  __gt__ = __le__ = __ge__ = __lt__


@gin.configurable
def crashing_threshold() -> float:
  return CrashingThreshold(1e9)
