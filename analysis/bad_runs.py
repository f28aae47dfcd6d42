"""Which finished runs are bad, by docs/early_warning.md's second definition (fixed before looking): an
instability, i.e. diverged, spiked above its divergence threshold, or above its sweep's best LR (runs
differing only in lr) and more than a margin above its best final eval loss. Read by the early-warning
evaluation (analysis/early_warning.py) and by Fig 9 as a classifier (analysis/figure_suites.py); free of
flags so that both can import it.
"""

import dataclasses
import hashlib
import math
import os
from typing import Any, Sequence

from analysis.grouping import partition
from analysis.runs import Run
from instability import detectors
from rundir.files import METRICS_FILE, MONITOR_FILE, RAN_TO_END, read_jsonl

MARGIN = 0.1  # a run above its sweep's best LR is bad when its final eval loss exceeds the best by this


@dataclasses.dataclass(frozen=True)
class Case:
  """One finished run: its records, whether it is bad (and why), the step it went bad (None when good), its half."""

  name: str
  records: list[dict[str, Any]]  # what the monitor saw (monitored)
  eps: float
  bad: bool
  event_step: int | None
  tuning: bool
  why: tuple[str, ...] = ()  # the bad-run rules it meets: WHY's entries
  label: str = ""  # its root's folder name / its path under the root, for the per-run table


WHY = ("diverged", "spiked", "above best LR")


def read_records(path: str) -> list[dict[str, Any]]:
  """metrics.jsonl's complete, parseable lines."""
  return read_jsonl(os.path.join(path, METRICS_FILE))[0]


def monitored(path: str) -> list[dict[str, Any]]:
  """The records the trainer's monitor saw: monitor.jsonl's every-step records and metrics.jsonl's logs."""
  return detectors.merged(read_records(path), read_jsonl(os.path.join(path, MONITOR_FILE))[0])


def in_tuning_half(relpath: str) -> bool:
  return hashlib.sha256(relpath.encode()).digest()[0] % 2 == 0


def root_of(path: str, roots: Sequence[str]) -> str | None:
  """The root (of those given) that holds `path`."""
  path = os.path.abspath(path)
  return next((r for r in roots if os.path.commonpath([path, os.path.abspath(r)]) == os.path.abspath(r)), None)


def _eval_curve(records: list[dict]) -> dict[int, float]:
  return {int(r["step"]): r["eval/loss"] for r in records if isinstance(r.get("eval/loss"), (int, float))}


def _first_spike(run: Run, records: list[dict]) -> int | None:
  """The first log step whose train loss exceeded the run's divergence_threshold; None if it never spiked."""
  if not (run.status.get("spike_logs") or 0) > 0:
    return None
  threshold = run.status.get("divergence_threshold")
  if isinstance(threshold, (int, float)):
    above = [int(r["step"]) for r in records if isinstance(r.get("train/loss"), (int, float))
             and not r["train/loss"] <= threshold]
    if above:
      return min(above)
  return run.status.get("last_spike_step")


def cases(runs: Sequence[Run], roots: Sequence[str], margin: float, seen: Sequence[str] = ()) -> list[Case]:
  """The completed and diverged runs labelled by docs/early_warning.md's second definition; others (running,
  failed, warned) are left out. Runs under a `seen` root are all in the tuning half."""
  out = []
  for group in partition(runs):
    finished = [r for r in group if r.state in RAN_TO_END]
    records = {r.name: read_records(r.path) for r in finished}
    scored = [r for r in finished if r.state == "completed" and r.final_loss is not None
              and math.isfinite(r.final_loss)]
    best_run = min(scored, key=lambda r: r.final_loss, default=None)
    best = best_run.final_loss if best_run else math.inf
    good = [r for r in scored if r.final_loss <= best + margin]
    for run in finished:
      events = {}
      if run.state == "diverged":
        events["diverged"] = int(run.status.get("step") or max(int(r["step"]) for r in records[run.name]))
      spike = _first_spike(run, records[run.name])
      if spike is not None:
        events["spiked"] = int(spike)
      if (best_run is not None and best_run.lr is not None and run.lr is not None and run.lr > best_run.lr
          and run in scored and run.final_loss > best + margin):
        events["above best LR"] = _left_band(_eval_curve(records[run.name]),
                                             [_eval_curve(records[g.name]) for g in good], margin)
      root = root_of(run.path, [*roots, *seen])
      relpath = os.path.relpath(run.path, root) if root else run.name
      tuning = root in seen or in_tuning_half(relpath)
      out.append(Case(run.name, monitored(run.path), run.eps, bool(events), min(events.values(), default=None),
                      tuning, tuple(w for w in WHY if w in events),
                      f"{os.path.basename(os.path.normpath(root))}/{relpath}" if root else run.name))
  return out


def _left_band(curve: dict[int, float], good: list[dict[int, float]], margin: float) -> int:
  """The first eval step (> 0) at which the run's eval loss is above every good run's by more than margin."""
  for step in sorted(s for s in curve if s > 0):
    band = [g[step] for g in good if step in g]
    if band and not curve[step] <= max(band) + margin:
      return step
  return max(curve, default=0)
