"""Where a sweep's units stand, read from their run directories: the trainer's status.json and the
launcher's launch.json; what launch.status prints and analysis.serve shows, and the launcher's retry count.

launch.json is written only by the launcher (launch/unit.py): one record per attempt with its
host, trainer pid (under the local executor, its long-lived worker's), start, end and exit code. With
status.json it tells a running unit from an interrupted one (its trainer is gone) and from one whose
trainer died without saying so.
"""

import dataclasses
import os
import socket
import time
from collections.abc import Mapping, Sequence

from rundir import manifests
from rundir.files import FINISHED, LOG_FILE, RECORD_FILE, STATUS_FILE, TOTALS, read_json


@dataclasses.dataclass
class UnitStatus:
  """What launch.status shows for one unit."""
  name: str
  state: str
  step: int | None = None
  total_steps: int | None = None
  last_train_loss: float | None = None
  final_eval_loss: float | None = None
  reason: str | None = None
  seconds: float = 0.0  # wall time over all attempts so far
  attempts: int = 0
  warnings: int = 0  # instability warnings (status.json, docs/run_directory.md)
  first_warning_step: int | None = None

  @property
  def total(self) -> str:
    """The totals bucket of the state (rundir.files.TOTALS); `interrupted` counts as pending."""
    return "pending" if self.state == "interrupted" else self.state


SETTLE_S = 60.0  # a launcher records an attempt's end well within this of its trainer's last status


def _alive(attempt: Mapping) -> bool:
  """Whether an open attempt's trainer still runs (assumed so on another host)."""
  if attempt.get("host") != socket.gethostname():
    return True
  try:
    os.kill(int(attempt["pid"]), 0)
  except (OSError, KeyError, ValueError):
    return False
  return True


def _state(status: Mapping, records: list[Mapping]) -> tuple[str, str | None]:
  trainer_state, reason = status.get("state"), status.get("reason")
  if trainer_state in FINISHED:
    return trainer_state, reason
  if not records:  # run by hand, or not yet launched
    return trainer_state or "pending", reason
  last = records[-1]
  if "end" not in last:
    return ("running" if _alive(last) else "interrupted"), reason
  code = last.get("exit_code")
  if code is None:  # stopped by the launcher (Ctrl-C, SIGTERM)
    return "interrupted", reason
  return "failed", last.get("error") or reason or f"train.main exited {code} (see {LOG_FILE})"


def unit_status(workdir: str, name: str | None = None) -> UnitStatus:
  status_file = os.path.join(workdir, STATUS_FILE)
  status = read_json(status_file) or {}
  records = attempts(workdir)
  state, reason = _state(status, records)
  if not status and os.path.exists(status_file):  # a broken file is named, not shown as 'pending'
    reason = f"{status_file} is unreadable; rerun the unit to rebuild it"
  now = time.time()  # an open attempt counts to now only while its trainer runs
  seconds = sum(a.get("end", now if state == "running" else a["start"]) - a["start"] for a in records if "start" in a)
  return UnitStatus(name or os.path.basename(workdir), state, status.get("step"),
                    status.get("total_steps"), status.get("last_train_loss"),
                    status.get("final_eval_loss"), reason, seconds, len(records), status.get("warnings") or 0,
                    status.get("first_warning_step"))


def attempts(workdir: str) -> list[dict]:
  """The launcher's record of the unit's trainer processes, oldest first."""
  return (read_json(os.path.join(workdir, RECORD_FILE)) or {}).get("attempts", [])


def failures(workdir: str) -> int:
  """Attempts that ended with an exit code, the unit unfinished: they use up its retries."""
  return sum(1 for a in attempts(workdir) if a.get("exit_code") is not None)


def is_finished(workdir: str) -> bool:
  """Completed or diverged: nothing left to run."""
  return (read_json(os.path.join(workdir, STATUS_FILE)) or {}).get("state") in FINISHED


def is_settled(workdir: str) -> bool:
  """Finished, and its launcher has closed the last attempt (or is gone, or has not for SETTLE_S): its records
  will not change. The trainer writes its last status before it exits, the launcher the attempt's end after."""
  status = read_json(os.path.join(workdir, STATUS_FILE)) or {}
  if status.get("state") not in FINISHED:
    return False
  records = attempts(workdir)
  if not records or "end" in records[-1] or not _alive(records[-1]):
    return True
  updated = status.get("updated")
  return not isinstance(updated, (int, float)) or time.time() - updated > SETTLE_S


def unit_names(root: str) -> list[str]:
  """The units of ROOT/sweep.json in sweep order; without one, every run directory under root (a directory).
  ManifestError for a corrupt sweep.json."""
  manifest = manifests.read(root)
  if manifest is not None:
    return manifests.unit_names(manifest)
  return sorted(name for name in os.listdir(root)
                if any(os.path.exists(os.path.join(root, name, f)) for f in (STATUS_FILE, RECORD_FILE)))


def sweep_status(root: str) -> list[UnitStatus]:
  """Every unit of the sweep in `root` (a directory), in sweep order."""
  return [unit_status(os.path.join(root, name), name) for name in unit_names(root)]


def totals(statuses: Sequence[UnitStatus]) -> dict[str, int]:
  """How many units are in each TOTALS bucket."""
  counts = dict.fromkeys(TOTALS, 0)
  for s in statuses:
    counts[s.total] += 1
  return counts


def mean_unit_seconds(statuses: Sequence[UnitStatus]) -> float | None:
  """The mean wall time of the completed units; None before the first."""
  times = [s.seconds for s in statuses if s.state == "completed" and s.seconds > 0]
  return sum(times) / len(times) if times else None


def unit_seconds_left(status: UnitStatus, mean_seconds: float) -> float:
  """A unit's time left: the mean unit's wall time times the fraction of its steps still to run."""
  return mean_seconds * (1 - (status.step or 0) / (status.total_steps or 1))


def eta(statuses: Sequence[UnitStatus]) -> float | None:
  """Seconds left: the mean wall time of completed units times the work left, over the units running."""
  mean = mean_unit_seconds(statuses)
  if mean is None:
    return None
  left = sum(unit_seconds_left(s, mean) for s in statuses if s.state == "running")
  left += mean * sum(1 for s in statuses if s.total == "pending")
  return left / max(1, sum(1 for s in statuses if s.state == "running"))
