"""Which runs went bad, and the step they did, read from the train-loss curve at its own log cadence
(metrics.jsonl's train logs), not from evals: docs/early_warning.md's fourth definition (2026-12-03; the
third, 2026-12-02, read *rose* on the raw logs, whose batch noise fired it in every 2000-step run).

A run is bad when any of (its onset: the earliest that applies):
  diverged       it ended as diverged or a train log is not finite (the first such log, else its last step);
  spiked         a train log exceeded its divergence threshold, l0 + 1 nat by default (the first such log);
  rose           its smoothed train loss (the mean of each 2 * SMOOTH + 1 logs centred on a log) stayed more
                 than RISE above its lowest earlier smoothed value for PERSIST logs in a row (the first of them);
  above best LR  its lr is above its sweep's best LR and its final eval loss more than `margin` above the
                 best's (the first of PERSIST logs in a row more than `margin` above the best-LR run's train
                 loss at the same step; its last train log if never).
A sweep is the runs that differ only in lr (analysis.grouping.partition); its best is its completed run with
the lowest final eval loss.
"""

import dataclasses
import math
from typing import Any, Callable, Sequence

from analysis.grouping import partition
from analysis.runs import Run, is_number
from rundir.files import RAN_TO_END  # runs with an outcome; running, failed and warned runs have none

RISE = 0.5  # nats above the run's own running best (smoothed) train loss
SMOOTH = 2  # logs either side in rose's centred mean: 12 x 128-token batches swing ~0.33 nats log to log
PERSIST = 3  # train logs in a row
MARGIN = 0.1  # nats, as the second definition's
WHY = ("diverged", "spiked", "rose", "above best LR")

Curve = list[tuple[int, float]]


@dataclasses.dataclass(frozen=True)
class Outcome:
  bad: bool
  onset: int | None  # the step it went bad; None when good
  why: tuple[str, ...]  # the rules it meets, WHY's order


def train_curve(records: Sequence[dict[str, Any]]) -> Curve:
  """(step, train loss) of the train logs after step 0, in step order; a non-numeric loss reads as NaN."""
  return sorted((int(r["step"]), float(r["train/loss"]) if is_number(r["train/loss"]) else math.nan)
                for r in records if "train/loss" in r and r["step"] > 0)


def first_sustained(curve: Curve, above: Callable[[int, float, int], bool], persist: int = PERSIST) -> int | None:
  """The first log step from which `persist` logs in a row satisfy above(step, loss, index)."""
  run = 0
  for i, (step, loss) in enumerate(curve):
    run = run + 1 if above(step, loss, i) else 0
    if run == persist:
      return curve[i - persist + 1][0]
  return None


def smoothed(curve: Curve, half: int = SMOOTH) -> Curve:
  """Each log's mean over the 2 * half + 1 logs centred on it (not finite if one is not); the first and last
  `half` logs, without a full window, are left out. The minimum of raw noisy logs sits about two noise sds
  below their level, so a plateau would read as a rise."""
  return [(curve[i][0], math.fsum(loss for _, loss in curve[i - half:i + half + 1]) / (2 * half + 1))
          for i in range(half, len(curve) - half)]


def rose(curve: Curve, rise: float = RISE, persist: int = PERSIST, half: int = SMOOTH) -> int | None:
  """The first of `persist` logs in a row whose smoothed loss is more than `rise` above the lowest earlier
  smoothed loss."""
  smooth = smoothed(curve, half)
  best = [math.inf]
  for _, loss in smooth:
    best.append(min(best[-1], loss) if math.isfinite(loss) else best[-1])
  return first_sustained(smooth, lambda _, loss, i: math.isfinite(loss) and loss > best[i] + rise, persist)


def behind(curve: Curve, reference: Curve, margin: float, persist: int = PERSIST) -> int | None:
  """The first of `persist` logs in a row more than `margin` above the reference run's train loss at that step."""
  ref = dict(reference)
  return first_sustained(curve, lambda step, loss, _: step in ref and not loss <= ref[step] + margin, persist)


def _threshold(run: Run) -> float | None:
  value = run.status.get("divergence_threshold")
  if is_number(value):
    return float(value)
  return None if run.init_loss is None else run.init_loss + 1.0


def outcome(run: Run, curve: Curve, best: Run | None, best_curve: Curve, margin: float = MARGIN) -> Outcome:
  """One finished run's outcome; `best` is its sweep's best run (None when the sweep has no completed run)."""
  events = {}
  nonfinite = [step for step, loss in curve if not math.isfinite(loss)]
  if run.state == "diverged" or nonfinite:
    last = run.status.get("step")
    events["diverged"] = nonfinite[0] if nonfinite else int(last) if is_number(last) else max(
        (s for s, _ in curve), default=0)
  threshold = _threshold(run)
  spiked = [step for step, loss in curve if threshold is not None and loss > threshold]
  if spiked:
    events["spiked"] = spiked[0]
  risen = rose(curve)
  if risen is not None:
    events["rose"] = risen
  final = run.final_loss
  if (best is not None and best.lr is not None and run.lr is not None and run.lr > best.lr
      and final is not None and math.isfinite(final) and final > best.final_loss + margin):
    fell_behind = behind(curve, best_curve, margin)
    events["above best LR"] = fell_behind if fell_behind is not None else max((s for s, _ in curve), default=0)
  return Outcome(bool(events), min(events.values(), default=None), tuple(w for w in WHY if w in events))


def label(runs: Sequence[Run], records: dict[str, list[dict]], margin: float = MARGIN) -> dict[str, Outcome]:
  """The outcome of each finished run, by path, its sweep read from `runs`; `records`: each run's
  metrics.jsonl records, by path."""
  out = {}
  for group in partition(runs):
    finished = [r for r in group if r.state in RAN_TO_END]
    scored = [r for r in finished if r.state == "completed" and r.final_loss is not None
              and math.isfinite(r.final_loss)]
    best = min(scored, key=lambda r: r.final_loss, default=None)
    best_curve = train_curve(records[best.path]) if best else []
    for run in finished:
      out[run.path] = outcome(run, train_curve(records[run.path]), best, best_curve, margin)
  return out
