"""A sweep as it stands now, as the JSON the live page (analysis/serve.py) draws: per setting (the runs that
differ only in lr) its final eval loss and peak max attention logit against LR and, once every LR of the
sweep has finished, its LR sensitivity; the units running with their step and ETA; the instability warnings.

Read from run directories only: analysis.runs and analysis.sensitivity for the runs and their groups,
rundir.progress for the units' progress and ETA (what launch.status shows), warnings.jsonl by rundir's reader.
"""

import collections
import math
import os
import time
from typing import Any, Sequence

from analysis import fmt
from analysis.runs import InputError, Run, find_runs
from analysis.grouping import freeze
from analysis.sensitivity import (LR_RTOL, Sensitivity, group_sensitivity, lr_ranges, ranges_or_lrs_run,
                                  scored_loss, sensitivities)
from rundir import display, manifests, progress
from rundir.files import WARNINGS_FILE, read_jsonl
from rundir.scale import COUPLED_LRS, LRS, Scale


def _without_lr(point: dict[str, Any]) -> str:
  return freeze({k: v for k, v in point.items() if k != "lr"})


def planned_lrs(manifest: dict | None) -> dict[str, tuple[float, ...]]:
  """{unit: the LRs the sweep runs its setting at} (the units whose point differs from its only in lr),
  ascending; {} without a sweep.json that sweeps lr."""
  units = manifest["units"] if manifest else []
  points = {u["name"]: dict(u.get("point", {})) for u in units}
  if not points or not all(isinstance(p.get("lr"), (int, float)) for p in points.values()):
    return {}
  settings: dict[str, set[float]] = {}
  for point in points.values():
    settings.setdefault(_without_lr(point), set()).add(float(point["lr"]))
  return {name: tuple(sorted(settings[_without_lr(point)])) for name, point in points.items()}


def _covers(lrs: Sequence[float], grid: Sequence[float]) -> bool:
  return all(any(math.isclose(lr, g, rel_tol=LR_RTOL) for lr in lrs) for g in grid)


def _ranges(group: Sensitivity, setting_lrs: tuple[float, ...], scale: Scale | None) -> list[Sequence[float]]:
  """The LR ranges the finished sweep's report scores a setting over: a reproduction suite's or its seeds
  suite's (sweep.json's report.scale, as analysis.reproduction), else the paper's where the sweep runs the
  setting at every LR of them (as analysis.report), each with coupled decay's second range; else the LRs the
  sweep runs it at."""
  if scale is not None:
    return lr_ranges(group.runs, scale.lrs, scale.coupled_lrs)
  paper = lr_ranges(group.runs, LRS, COUPLED_LRS)
  return paper if all(_covers(setting_lrs, lrs) for lrs in paper) else [setting_lrs]


def setting_sensitivities(root: str, runs: Sequence[Run]) -> tuple[list[Sensitivity], list[str], str]:
  """Each setting's LR sensitivity as the report on the finished sweep will give it, over LRs the sweep runs it
  at (_ranges), so a setting is complete once all of them finished; for runs outside a sweep.json that sweeps
  lr, as analysis.report scores them now (ranges_or_lrs_run). With notes on runs left out and a sentence
  saying which LRs."""
  try:
    manifest = manifests.read(root)
  except manifests.ManifestError:  # snapshot names it
    manifest = None
  planned = planned_lrs(manifest)
  if not planned:
    lrs, coupled_lrs, _ = ranges_or_lrs_run(runs, LRS, COUPLED_LRS)
    groups, notes = sensitivities(runs, lrs, coupled_lrs)
    return groups, notes, (f"LR sensitivity over {{{', '.join(map(fmt.sci, lrs))}}}"
                           + (f" (coupled weight decay: the minimum with {{{', '.join(map(fmt.sci, coupled_lrs))}}})."
                              if coupled_lrs != lrs else "."))
  report = manifest.get("report", {})
  scale = Scale.from_json(report["scale"]) if "scale" in report else None
  groups, notes = sensitivities(runs)
  for i, group in enumerate(groups):
    setting_lrs = next((planned[r.name] for r in group.runs if r.name in planned), None)
    if setting_lrs:
      groups[i] = group_sensitivity(group.runs, _ranges(group, setting_lrs, scale), group.label)
  if scale is not None:
    return groups, notes, (f"LR sensitivity over the suite's LRs {{{', '.join(map(fmt.sci, scale.lrs))}}} (coupled "
                           f"weight decay: the minimum with {{{', '.join(map(fmt.sci, scale.coupled_lrs))}}}), as "
                           "analysis.reproduction scores it.")
  return groups, notes, ("LR sensitivity over the paper's LRs for a setting the sweep runs at all of them (coupled "
                         "weight decay: the minimum over two ranges, Section 3.2.2), else over the LRs the sweep "
                         "runs it at.")


def _number(value: float | None) -> float | None:
  """JSON has no NaN: unknown and non-finite values are null."""
  return value if value is not None and math.isfinite(value) else None


def _setting(group: Sensitivity) -> dict[str, Any]:
  """One setting's finished runs, each with its final loss as Section 2.2 scores it (a diverged run, or one
  ending above l0, at l0), which keeps a curve readable beside a loss that exploded."""
  points = []
  for run in group.runs:
    loss = run.final_loss
    if loss is None:
      continue
    scored = loss if group.init_loss is None else scored_loss(loss, group.init_loss)
    points.append({"unit": run.name, "lr": run.lr, "state": run.state, "final_loss": _number(loss),
                   "scored_loss": _number(scored), "clipped": scored != loss,
                   "peak_max_logit": _number(run.realised_max_logit())})
  return {"label": group.label, "complete": group.complete, "lr_sensitivity": _number(group.lr_sensitivity),
          "summary": group.summary, "best_lr": group.best_lr, "init_loss": _number(group.init_loss),
          "points": points}


def _warnings(runs: Sequence[Run]) -> list[dict[str, Any]]:
  """One row per warned run: its first warning (step, kind, where, message) and how many of each kind it has
  had (`kinds`, in order of first appearance). A page that lists every line grows by thousands in a large
  sweep, redrawn every poll; each run's warnings.jsonl keeps them all."""
  rows = []
  for run in runs:
    records, _ = read_jsonl(os.path.join(run.path, WARNINGS_FILE))
    if not records:
      continue
    records.sort(key=lambda r: r["step"])  # by step, whatever order the lines are in
    first = records[0]
    kinds = collections.Counter(r.get("kind") or "-" for r in records)
    rows.append({"unit": run.name, "step": first["step"], "kind": first.get("kind"), "where": first.get("where"),
                 "message": first.get("message"),
                 "kinds": f"{len(records)}: " + ", ".join(f"{kind} {n}" for kind, n in kinds.items())})
  return rows


def _running(statuses: Sequence[progress.UnitStatus]) -> list[dict[str, Any]]:
  mean = progress.mean_unit_seconds(statuses)
  rows = []
  for s in statuses:
    if s.state == "running":
      left = None if mean is None else progress.unit_seconds_left(s, mean)
      rows.append({"unit": s.name, "step": s.step, "total_steps": s.total_steps,
                   "last_train_loss": _number(s.last_train_loss), "elapsed": display.duration(s.seconds),
                   "eta": "unknown" if left is None else display.duration(left)})
  return rows


def snapshot(root: str) -> dict[str, Any]:
  """The page's data for the sweep (or folder of runs) in `root`, a directory."""
  try:
    runs, problems = find_runs([root])
  except InputError as e:  # a sweep launched a moment ago: no run directory yet
    runs, problems = [], [str(e)]
  try:
    statuses = progress.sweep_status(root)
  except manifests.ManifestError as e:
    statuses, problems = [], [*problems, str(e)]
  totals = progress.totals(statuses)
  groups, notes, note = setting_sensitivities(root, runs) if runs else ([], [], "")
  seconds = progress.eta(statuses)
  left = totals["pending"] + totals["running"]
  return {"root": os.path.abspath(root), "updated": time.strftime("%H:%M:%S"), "units": len(statuses),
          "totals": totals, "eta": "done" if statuses and not left else
          "unknown" if seconds is None else display.duration(seconds),
          "lr_note": note, "settings": [_setting(g) for g in groups], "running": _running(statuses),
          "warnings": _warnings(runs), "problems": [*problems, *notes]}
