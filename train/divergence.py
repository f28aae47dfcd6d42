"""When a run stops early as diverged, and the loss spikes it records on the way.

Section 2.2 scores a run by min(final eval loss, l0), so a spike the run recovers from costs nothing
and stopping at it would score a recoverable run as l0. A run therefore stops early only on a
non-finite train loss (it cannot recover) or when its train loss stays above the threshold for
`window` consecutive logs. Every log above the threshold is a spike, recorded whether or not the run
stops.
"""

import dataclasses
import math
from typing import Any, Iterable


@dataclasses.dataclass(frozen=True)
class Spikes:
  """Logs whose train loss exceeded the threshold: how many, the current streak, the latest step."""

  count: int = 0
  streak: int = 0
  last_step: int | None = None

  def status(self) -> dict[str, Any]:
    """status.json's keys for this record (docs/run_directory.md)."""
    return {"spike_logs": self.count, "spike_streak": self.streak, "last_spike_step": self.last_step}


def observe(spikes: Spikes, step: int, loss: float, threshold: float,
            window: int) -> tuple[Spikes, str | None]:
  """The record after the log at `step`, and why the run stops there (None: it goes on)."""
  if not math.isfinite(loss):
    return spikes, f"train loss {loss} at step {step} is not finite"
  if loss <= threshold:
    return dataclasses.replace(spikes, streak=0), None
  spikes = Spikes(spikes.count + 1, spikes.streak + 1, step)
  if spikes.streak >= window:
    return spikes, (f"train loss {loss} at step {step} exceeds threshold {threshold:.4f}, "
                    f"as at each of the last {window} logs")
  return spikes, None


def replay(records: Iterable[dict[str, Any]], threshold: float, window: int) -> Spikes:
  """The record of the logs a resumed run kept (metrics.jsonl up to its checkpoint), in step order."""
  spikes = Spikes()
  for record in sorted(records, key=lambda r: r["step"]):
    if "train/loss" in record:
      spikes, _ = observe(spikes, record["step"], record["train/loss"], threshold, window)
  return spikes
