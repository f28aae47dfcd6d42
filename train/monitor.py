"""The instability monitor in the run directory: gin-bound thresholds (built in train/configs.py), warnings.jsonl,
one sentence per kind."""

from typing import Any

import gin
import jax

from instability import detectors
from rundir.files import MONITOR_FILE, WARNINGS_FILE, RunDir

# adam_eps and the schedule's steps are the run's (OptimizerConfig), not thresholds to bind.
MonitorThresholds = gin.external_configurable(detectors.Thresholds, "MonitorThresholds",
                                              denylist=["adam_eps", "warmup_steps", "steps"])


class RunMonitor:
  """Replays the kept records on resume (their warnings are already in warnings.jsonl), then observes every
  step up to `dense_steps` and each log after."""

  def __init__(self, run_dir: RunDir, thresholds: detectors.Thresholds, kept: list[dict], start_step: int):
    """kept: the metrics records a resumed run keeps (RunDir.metrics_records, steps <= start_step)."""
    self.run_dir, self.dense_steps = run_dir, thresholds.dense_steps
    # Filtered, not only truncated: process 0 alone truncates monitor.jsonl, and every process must replay alike.
    dense = [r for r in run_dir.metrics_records(MONITOR_FILE) if r["step"] <= start_step]
    self.monitor, replayed = detectors.replay(detectors.merged(kept, dense), thresholds)
    self.printed = set(self.monitor.counts)  # kinds a resumed run already announced
    # Raised between logs; the next log's observe returns them. On resume, those after the last kept log,
    # so that stop_on_warning stops a resumed run where it stops one never interrupted.
    last_log = max((r["step"] for r in kept if "train/loss" in r), default=0)
    self.unreported: list[dict] = [w for w in replayed if w["step"] > last_log]

  def observe_step(self, step: int, metrics: dict[str, Any]) -> None:
    """A step between logs: up to dense_steps, its metrics (on device) are fetched, kept in monitor.jsonl
    and observed; the host transfer is the cost docs/early_warning.md measures."""
    if step > self.dense_steps:
      return
    record = {"step": step, **{k: float(v) for k, v in jax.device_get(metrics).items()}}
    self.run_dir.append_metrics(record, name=MONITOR_FILE)
    self.unreported += self._announce(self.monitor.observe(record))

  def observe(self, record: dict[str, Any]) -> list[dict]:
    """Writes and announces this log record's new warnings; returns them, after those raised between logs
    since the previous one."""
    new, self.unreported = self.unreported + self._announce(self.monitor.observe(record)), []
    return new

  def _announce(self, new: list[dict]) -> list[dict]:
    for w in new:
      self.run_dir.append_metrics(w, name=WARNINGS_FILE)
      if w["kind"] not in self.printed:
        self.printed.add(w["kind"])
        print(f"warning: {w['message']}", flush=True)
    return new

  def status(self) -> dict[str, Any]:
    return self.monitor.status()
