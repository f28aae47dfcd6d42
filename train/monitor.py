"""The instability monitor in the run directory: gin-bound thresholds (built in train/configs.py), warnings.jsonl,
one sentence per kind."""

from typing import Any

import gin

from instability import detectors
from rundir.files import WARNINGS_FILE, RunDir

# adam_eps is the run's OptimizerConfig.eps, not a threshold to bind.
MonitorThresholds = gin.external_configurable(detectors.Thresholds, "MonitorThresholds", denylist=["adam_eps"])


class RunMonitor:
  """Replays the kept metrics on resume (their warnings are already in warnings.jsonl), then observes each log."""

  def __init__(self, run_dir: RunDir, thresholds: detectors.Thresholds, kept: list[dict]):
    """kept: the metrics records a resumed run keeps (RunDir.metrics_records)."""
    self.run_dir = run_dir
    self.monitor, _ = detectors.replay(kept, thresholds)
    self.printed = set(self.monitor.counts)  # kinds a resumed run already announced

  def observe(self, record: dict[str, Any]) -> list[dict]:
    """Writes and announces this log record's new warnings; returns them."""
    new = self.monitor.observe(record)
    for w in new:
      self.run_dir.append_metrics(w, name=WARNINGS_FILE)
      if w["kind"] not in self.printed:
        self.printed.add(w["kind"])
        print(f"warning: {w['message']}", flush=True)
    return new

  def status(self) -> dict[str, Any]:
    return self.monitor.status()
