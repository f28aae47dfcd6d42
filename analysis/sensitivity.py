"""LR sensitivity (Section 2.2): E_eta[min(l(eta), l0) - l*] over a fixed set of learning rates.

Runs that differ only in lr form a group. l0 is the group's eval loss at initialization, l* the best
final eval loss over the range; a diverged run (state `diverged`, or a NaN/inf loss) counts as l0. A
group missing a learning rate of the range (absent, failed, still running, no final eval) is reported
incomplete, never averaged over fewer points. With coupled weight decay the paper reports the minimum
over two ranges, [1e-4, 1e-1] and [3e-4, 3e-1] (Section 3.2.2). Groups trained with param-RMS LR scaling
(Appendix E, Fig E.14) get no number: the paper does not measure LR sensitivity for them. Each group's
sensitivity is also split at its best LR into the LRs under it and over it (split_at_best: slow training
and instability, docs/reproduction_rules.md, issue 24).

  python -m analysis.sensitivity ROOT [ROOT ...] [--json] [--lrs=3e-4,...] [--coupled_lrs=1e-4,...]
"""

import dataclasses
import math
import statistics
import sys
from typing import Any, Sequence

from absl import flags

from analysis import cli
from analysis import fmt
from analysis import grouping
from analysis.runs import Run, is_number
from rundir import display
from rundir.scale import COUPLED_LRS as PAPER_COUPLED_LRS
from rundir.scale import LRS as PAPER_LRS

LR_RTOL = 1e-3  # 3e-4, 0.0003 and 3.0000001e-4 are the same grid point
INIT_LOSS_RTOL = 1e-3  # l0 of runs that differ only in lr agree up to float noise


def scored_loss(final_loss: float, init_loss: float) -> float:
  """A final loss as Section 2.2 counts it: diverged (NaN/inf) or above l0 is l0."""
  return min(final_loss, init_loss) if math.isfinite(final_loss) else init_loss


def lr_sensitivity(final_losses: Sequence[float], init_loss: float) -> tuple[float, int | None]:
  """Section 2.2 on one range's final losses (NaN/inf = diverged, counted as l0).

  Returns the sensitivity and the index of the best LR (None when every run diverged).
  """
  counted = [loss if math.isfinite(loss) else init_loss for loss in final_losses]
  best = min(range(len(counted)), key=counted.__getitem__)
  mean_clipped = sum(scored_loss(loss, init_loss) for loss in final_losses) / len(final_losses)
  return mean_clipped - counted[best], (best if math.isfinite(final_losses[best]) else None)


def split_at_best(final_losses: Sequence[float], init_loss: float) -> tuple[float, float]:
  """lr_sensitivity split at the best LR (docs/reproduction_rules.md, issue 24, by cause): (below, above),
  the mean over all N points of the LRs under the best (slow training in the horizon) and over it
  (instability), so that the two add up to the sensitivity. The best run's own term, non-zero only when
  it ends above l0, is in `below`. Each part is summed on its own, so a part with no loss off the best is
  exactly 0 (not the float residue of a difference)."""
  counted = [loss if math.isfinite(loss) else init_loss for loss in final_losses]
  best = min(range(len(counted)), key=counted.__getitem__)
  part = lambda losses: sum(scored_loss(loss, init_loss) - counted[best] for loss in losses) / len(final_losses)
  return part(final_losses[:best + 1]), part(final_losses[best + 1:])


def is_coupled(run: Run) -> bool:
  return run.setting("OptimizerConfig.weight_decay_mode", "weight_decay_mode") == "coupled"


def is_param_rms_scaled(run: Run) -> bool:
  return run.setting("OptimizerConfig.param_rms_lr_scaling", "param_rms_lr_scaling") is True


UNMEASURED_PARAM_RMS = "not measured: param-RMS LR scaling (the paper reports no LR sensitivity for it)"


def lr_ranges(runs: Sequence[Run], lrs: Sequence[float], coupled_lrs: Sequence[float]) -> list[Sequence[float]]:
  """The LR ranges a group's sensitivity is the minimum over: both for coupled weight decay (3.2.2)."""
  return [lrs, coupled_lrs] if any(is_coupled(r) for r in runs) else [lrs]


@dataclasses.dataclass
class Sensitivity:
  """One group's LR sensitivity; `lr_sensitivity` is None when the group is incomplete.

  `group` is what the group's runs share: their gin files and every binding but lr; `label` names only
  what sets the group apart from the other groups at hand.
  """

  group: dict[str, Any]
  label: str
  params: float | None
  runs: list[Run]
  init_loss: float | None
  lr_sensitivity: float | None
  best_lr: float | None
  best_loss: float | None
  range_lrs: tuple[float, ...]
  missing_lrs: list[float]
  notes: list[str]
  unmeasured: str | None = None  # why the paper defines no sensitivity for this group
  below_best: float | None = None  # split_at_best of the range that gives the sensitivity
  above_best: float | None = None

  @property
  def complete(self) -> bool:
    return self.lr_sensitivity is not None

  @property
  def summary(self) -> str:
    """The LR sensitivity, or why there is none."""
    if self.unmeasured:
      return self.unmeasured
    if self.complete:
      return fmt.number(self.lr_sensitivity)
    if self.missing_lrs:
      return "incomplete: missing lr " + ", ".join(map(fmt.sci, self.missing_lrs))
    return "incomplete: " + "; ".join(self.notes)

  def to_json(self) -> dict[str, Any]:
    return {
        "group": self.group,
        "label": self.label,
        "num_nonembedding_params": self.params,
        "lr_sensitivity": fmt.json_float(self.lr_sensitivity),
        "best_lr": self.best_lr,
        "best_loss": fmt.json_float(self.best_loss),
        "init_loss": fmt.json_float(self.init_loss),
        "lrs": [run.lr for run in self.runs],
        "final_losses": [fmt.json_float(run.final_loss) for run in self.runs],
        "states": [run.state for run in self.runs],
        "runs": [run.name for run in self.runs],
        "complete": self.complete,
        "range": list(self.range_lrs),
        "missing_lrs": self.missing_lrs,
        "notes": self.notes,
        "unmeasured": self.unmeasured,
        "below_best": fmt.json_float(self.below_best),
        "above_best": fmt.json_float(self.above_best),
    }


def _pick(candidates: list[Run], lr: float, notes: list[str]) -> Run:
  """Of several runs at one lr (a re-run in another folder), the finished one updated last."""
  if len(candidates) > 1:
    updated = lambda r: r.status["updated"] if is_number(r.status.get("updated")) else 0.0
    chosen = max(candidates, key=lambda r: (r.final_loss is not None, updated(r)))
    notes.append(f"{len(candidates)} runs at lr={fmt.sci(lr)} "
                 f"({', '.join(r.name for r in candidates)}); used {chosen.name}")
    return chosen
  return candidates[0]


def _group_init_loss(runs: Sequence[Run], notes: list[str]) -> float | None:
  """The median of the runs' l0: the LR does not touch initialization, so they agree up to noise."""
  losses = [r.init_loss for r in runs if r.init_loss is not None]
  if not losses:
    notes.append("no init eval loss (status.json init_eval_loss, or eval/loss at step 0)")
    return None
  median = statistics.median(losses)
  if max(losses) - min(losses) > INIT_LOSS_RTOL * abs(median):
    notes.append(f"init eval losses differ ({fmt.number(min(losses))} to {fmt.number(max(losses))}); "
                 "used their median")
  return median


def group_sensitivity(runs: Sequence[Run], ranges: Sequence[Sequence[float]],
                      label: str = "") -> Sensitivity:
  """LR sensitivity of one group: the minimum over `ranges`, each of which must be complete."""
  notes: list[str] = []
  init_loss = _group_init_loss(runs, notes)
  per_range, missing, available = [], set(), []
  for lrs in ranges:
    points = []
    for lr in lrs:
      candidates = [r for r in runs if math.isclose(r.lr, lr, rel_tol=LR_RTOL)]
      run = _pick(candidates, lr, notes) if candidates else None
      loss = run.final_loss if run else None
      if loss is None:
        missing.add(lr)
        if run:
          notes.append(f"lr={fmt.sci(lr)}: {run.missing_final_loss_reason()}")
      else:
        points.append((lr, loss))
    available += points
    if len(points) == len(lrs) and init_loss is not None:
      sensitivity, best = lr_sensitivity([loss for _, loss in points], init_loss)
      per_range.append((sensitivity, tuple(lrs), best, points,
                        split_at_best([loss for _, loss in points], init_loss)))
  parts = (None, None)
  if len(per_range) == len(ranges):
    sensitivity, range_lrs, best, points, parts = min(per_range, key=lambda p: p[0])
    best_lr, best_loss = (points[best] if best is not None else (None, init_loss))
  else:
    sensitivity, range_lrs = None, tuple(ranges[0])
    finite = [(loss, lr) for lr, loss in available if math.isfinite(loss)]
    best_loss, best_lr = min(finite) if finite else (None, None)
  if len(ranges) > 1:
    notes.append(f"coupled weight decay: minimum over {len(ranges)} LR ranges")
  unmeasured = UNMEASURED_PARAM_RMS if any(is_param_rms_scaled(r) for r in runs) else None
  if unmeasured:
    sensitivity, parts = None, (None, None)
  return Sensitivity(group=grouping.config(runs[0]), label=label,
                     params=next((r.params for r in runs if r.params is not None), None),
                     runs=sorted(runs, key=lambda r: r.lr), init_loss=init_loss,
                     lr_sensitivity=sensitivity,
                     best_lr=best_lr, best_loss=best_loss, range_lrs=range_lrs,
                     missing_lrs=sorted(missing), notes=list(dict.fromkeys(notes)), unmeasured=unmeasured,
                     below_best=parts[0], above_best=parts[1])


def sensitivities(runs: Sequence[Run], lrs: Sequence[float] = PAPER_LRS,
                  coupled_lrs: Sequence[float] = PAPER_COUPLED_LRS) -> tuple[list[Sensitivity], list[str]]:
  """Every group under the roots (mixed sweeps stay apart), and notes on runs left out."""
  with_lr = [r for r in runs if r.lr is not None]
  notes = [f"{r.name}: no lr binding in run.json; left out" for r in runs if r.lr is None]
  groups = grouping.partition(with_lr)
  configs = [grouping.config(g[0]) for g in groups]
  keys = grouping.varying_keys(configs)
  results = []
  for cfg, members in zip(configs, groups):
    ranges = lr_ranges(members, lrs, coupled_lrs)
    label = grouping.label(grouping.describe(cfg, keys)) or "all runs"
    results.append(group_sensitivity(members, ranges, label))
  results.sort(key=lambda s: (grouping.config_key(s.runs[0], with_size=False), s.params or 0))
  return results, notes


def lrs_run(runs: Sequence[Run]) -> tuple[float, ...]:
  """The distinct learning rates of `runs`, ascending (LRs within LR_RTOL are one)."""
  return distinct_lrs([r.lr for r in runs if r.lr is not None])


def distinct_lrs(lrs: Sequence[float]) -> tuple[float, ...]:
  """The distinct values of `lrs`, ascending (LRs within LR_RTOL are one)."""
  distinct: list[float] = []
  for lr in sorted(lrs):
    if not distinct or not math.isclose(lr, distinct[-1], rel_tol=LR_RTOL):
      distinct.append(lr)
  return tuple(distinct)


def ranges_or_lrs_run(runs: Sequence[Run], lrs: Sequence[float],
                      coupled_lrs: Sequence[float]) -> tuple[tuple[float, ...], tuple[float, ...], str | None]:
  """(lrs, coupled_lrs, None), or, when no group is complete over them, the LRs that were run (a CPU
  sweep's own grid) for both ranges, with the sentence that says so."""
  results, _ = sensitivities(runs, lrs, coupled_lrs)
  ran = lrs_run(runs)
  if any(s.complete for s in results) or len(ran) < 2:
    return tuple(lrs), tuple(coupled_lrs), None
  return ran, ran, (f"No group ran every LR of the default range {{{', '.join(map(fmt.sci, lrs))}}}, so "
                    f"LR sensitivity is over the LRs that were run, {{{', '.join(map(fmt.sci, ran))}}} "
                    "(--lrs sets the range).")


def table(results: Sequence[Sensitivity]) -> str:
  """A fixed-width text table, one group a line."""
  header = ("group", "params", "l0", "l*", "best lr", "LR sensitivity")
  rows = [header] + [(s.label, fmt.count(s.params), fmt.number(s.init_loss), fmt.number(s.best_loss),
                      fmt.sci(s.best_lr), s.summary) for s in results]
  return display.columns(rows)


def define_flags() -> None:
  flags.DEFINE_list("lrs", [fmt.sci(x) for x in PAPER_LRS],
                    "The LR range (every point required), e.g. a CPU sweep's grid.")
  flags.DEFINE_list("coupled_lrs", [fmt.sci(x) for x in PAPER_COUPLED_LRS],
                    "Second range for coupled weight decay groups; their sensitivity is the minimum over "
                    "--lrs and this (Section 3.2.2).")


def ranges_from_flags() -> tuple[tuple[float, ...], tuple[float, ...]]:
  """--lrs and --coupled_lrs, or exit 2 for an LR given twice (within LR_RTOL), which would count its run twice."""
  ranges = []
  for name in ("lrs", "coupled_lrs"):
    lrs = cli.floats(name, flags.FLAGS[name].value)
    if len(distinct_lrs(lrs)) < len(lrs):
      cli.exit_usage(f"--{name}={','.join(flags.FLAGS[name].value)}: an LR is given twice; expected distinct LRs")
    ranges.append(lrs)
  return ranges[0], ranges[1]


def main(argv: list[str]) -> None:
  runs, _ = cli.load_runs(argv, "analysis.sensitivity")
  lrs, coupled_lrs = ranges_from_flags()
  results, notes = sensitivities(runs, lrs, coupled_lrs)
  for note in notes:
    print(f"warning: {note}", file=sys.stderr)
  if not results:
    cli.exit_usage(f"none of the {len(runs)} runs has an lr binding in run.json")
  for s in results:
    for note in s.notes:
      print(f"note: {s.label}: {note}", file=sys.stderr)
  cli.print_results(results, f"LR sensitivity over lr in {{{', '.join(map(fmt.sci, lrs))}}}; coupled "
                    f"weight decay: minimum with {{{', '.join(map(fmt.sci, coupled_lrs))}}}", table)


if __name__ == "__main__":
  cli.run(main, define_flags)
