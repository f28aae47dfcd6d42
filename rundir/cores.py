"""The CPU cores a process may run on. XLA:CPU sizes its compute pool by them, so their number decides how
some reductions are split, and with it a run's last bits: launch pins sweep workers to shares of them and
train records their count in run.json (`cpu_cores`)."""

import os


def usable() -> list[int]:
  """This process's cores, sorted; [] where the OS cannot tell (not Linux)."""
  return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
