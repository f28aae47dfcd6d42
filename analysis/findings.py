"""Findings 1-5 of the reproduction report: pure functions from a finding's cells (runs grouped by
intervention and width) to its claims, each applying its rule of analysis/rules.py (text, margins) to the
cells' numbers for a verdict of 'reproduced', 'partly', 'not reproduced' or 'not measured', with the
evidence table they read.

A cell rerun at more seeds (repro_seeds_cpu) carries their sensitivities as `replicas`, by seed: the rules
then read the mean over seeds, a comparison whose seeds' min-max lies on both sides of the margin says so,
and each comparison is shown paired seed by seed with its t interval (analysis/paired.py); a verdict reading
one whose interval holds its margin is "within noise". Every sensitivity claim has its instability twin,
the same rule on the part of the sensitivity above the best LR (docs/reproduction_rules.md, issue 24).
"""

import dataclasses
import math
import statistics
from typing import Callable, Sequence

from analysis import fmt
from analysis import paired
from analysis import rules
from analysis import sensitivity
from analysis.rules import HIGH_LR, LOGIT_MARGIN, LOGIT_RATIO, SENSITIVITY_MARGIN, combine, less
from analysis.runs import Run
from rundir.scale import Scale

MAX_LOGIT = "attn/max_logit/block_0"
OUTPUT_LOGIT = "logits/mean"
GRAD_RMS = "grad/rms/block_0/mlp/dense_in/w"
LOG_Z = "logits/log_z"
SIZE_KEYS = ("d_model", "num_heads", "lr")


@dataclasses.dataclass(eq=False)
class Cell:
  """The runs of one intervention at one width, over LR, with their LR sensitivity."""
  point: dict[str, str]  # the unit point without width and lr, as unit names render it (a file by its stem)
  width: int
  runs: list[Run]
  sens: sensitivity.Sensitivity | None
  replicas: dict[int, sensitivity.Sensitivity] = dataclasses.field(default_factory=dict)  # by seed: 1, 2, ...

  def at(self, lr: float) -> Run | None:
    return next((r for r in self.runs if math.isclose(r.lr, lr, rel_tol=sensitivity.LR_RTOL)), None)


def effective_loss(run: Run | None) -> float | None:
  """The run's final loss as LR sensitivity counts it (sensitivity.scored_loss)."""
  if run is None or run.final_loss is None or run.init_loss is None:
    return None
  return sensitivity.scored_loss(run.final_loss, run.init_loss)


def extreme(run: Run | None, key: str, pick: Callable = max) -> float | None:
  """The largest (or, with pick=min, smallest) finite logged value of a metric."""
  if run is None:
    return None
  values = [v for v in run.series(key)[1] if math.isfinite(v)]
  return float(pick(values)) if values else None


def marked(run: Run | None, value: float | None) -> str:
  """A table entry: the value, flagged when its run did not complete."""
  if run is None:
    return "-"
  return fmt.sci(value) + ("" if run.state == "completed" else f" ({run.state})")


def cell_label(point: dict[str, str]) -> str:
  return ", ".join(f"{k}={v}" for k, v in point.items())


def varying(cells_: Sequence[Cell]) -> Callable[[Cell], str]:
  """A cell's label naming only the point keys that differ among the cells."""
  keys = [k for k in cells_[0].point if len({str(c.point.get(k)) for c in cells_}) > 1] if cells_ else []
  return lambda c: cell_label({k: c.point[k] for k in keys}) or "defaults"


def find(cells_: Sequence[Cell], width: int, **point) -> Cell | None:
  """The cell at `width` whose point has these values (file slots by stem)."""
  for cell in cells_:
    if cell.width == width and all(cell.point.get(k) == v for k, v in point.items()):
      return cell
  return None


def seed_values(cell: Cell | None, attr: str = "lr_sensitivity") -> list[float]:
  """A Sensitivity field (lr_sensitivity, best_loss) of the cell's seeds that have a sensitivity (complete
  over the LRs), seed 0 first."""
  if cell is None:
    return []
  return list(by_seed(cell, attr).values())


def by_seed(cell: Cell | None, attr: str = "lr_sensitivity") -> dict[int, float]:
  """A Sensitivity field of the cell's complete seeds, by seed (0 first): what pairing reads."""
  if cell is None:
    return {}
  seeds = {0: cell.sens, **dict(sorted(cell.replicas.items()))}
  return {seed: getattr(s, attr) for seed, s in seeds.items() if s and s.lr_sensitivity is not None}


def seeded(*cells_: Cell | None) -> bool:
  return any(c and c.replicas for c in cells_)


def gap(low: Cell | None, high: Cell | None, attr: str = "lr_sensitivity",
        thresholds: Sequence[float] = (SENSITIVITY_MARGIN,)) -> list[paired.Paired]:
  """high - low seed by seed (what "low below high by >= m" reads), for seeded cells; none for one seed,
  which has no interval."""
  return [paired.difference(by_seed(high, attr), by_seed(low, attr), thresholds)] if seeded(low, high) else []


def paired_text(comparisons: Sequence[paired.Paired]) -> str:
  return "".join(f"; paired {c.text()}" for c in comparisons)


def sens_of(cell: Cell | None, attr: str = "lr_sensitivity") -> float | None:
  """The cell's LR sensitivity (or another `attr`): seed 0's, or the mean over its complete seeds when it
  has replicas."""
  if not cell or not cell.replicas:
    return getattr(cell.sens, attr) if cell and cell.sens and cell.sens.lr_sensitivity is not None else None
  values = seed_values(cell, attr)
  return statistics.fmean(values) if values else None


def sens_text(cell: Cell | None, attr: str = "lr_sensitivity") -> str:
  """'0.46', or '0.46 (0.43-0.49, 3 seeds)' for a cell with replicas: the mean and the min-max."""
  values = seed_values(cell, attr) if cell and cell.replicas else []
  mean = fmt.number(sens_of(cell, attr), 3)
  return mean if len(values) < 2 else f"{mean} ({fmt.number(min(values), 3)}-{fmt.number(max(values), 3)}, " \
                                      f"{len(values)} seeds)"


def straddle_note(good: Cell | None, bad: Cell | None, margin: float = SENSITIVITY_MARGIN,
                  attr: str = "lr_sensitivity") -> str:
  """A note when 'good lower than bad by >= margin' holds for some pairing of the seeds' extremes and
  fails for another: the verdict, read on the means, is then within the seeds' spread."""
  g, b = seed_values(good, attr), seed_values(bad, attr)
  if not g or not b or (len(g) < 2 and len(b) < 2):
    return ""
  best, worst = max(b) - min(g), min(b) - max(g)
  return "; the seeds' min-max straddles the margin" if (best >= margin) != (worst >= margin) else ""


def mean_best_lr(cell: Cell | None) -> float | None:
  """The LR of the lowest scored loss averaged over the cell's complete seeds: a grid point (seed 0's
  best LR when it has no replicas)."""
  seeds = [s for s in [cell.sens, *cell.replicas.values()] if s and s.lr_sensitivity is not None] if cell else []
  if not seeds:
    return None
  if len(seeds) == 1:
    return seeds[0].best_lr
  at = lambda s, lr: next(r for r in s.runs if math.isclose(r.lr, lr, rel_tol=sensitivity.LR_RTOL))
  lrs = seeds[0].range_lrs
  mean = [statistics.fmean(effective_loss(at(s, lr)) for s in seeds) for lr in lrs]
  return lrs[min(range(len(lrs)), key=mean.__getitem__)]


def sensitivity_rows(cells_: Sequence[Cell]) -> list[list[str]]:
  """One row per cell (seed 0's l0, l*, best lr, and its sensitivity S = S_below + S_above split at the
  best LR); with seeds, columns of S's mean and min-max and of the parts' means."""
  label = varying(cells_)
  seeded = any(c.replicas for c in cells_)
  rows = [["cell", "width (non-emb. params)", "l0", "l*", "best lr", "LR sensitivity", "S_below", "S_above"]
          + (["mean over seeds (min-max, seeds)", "mean S_below / S_above"] if seeded else [])]
  for c in cells_:
    s = c.sens
    values = seed_values(c)
    spread = (f"{fmt.number(sens_of(c))} ({fmt.number(min(values))}-{fmt.number(max(values))}, "
              f"{len(values)} of {1 + len(c.replicas)})" if c.replicas and values else "-")
    parts = (f"{fmt.number(sens_of(c, 'below_best'))} / {fmt.number(sens_of(c, 'above_best'))}"
             if c.replicas and values else "-")
    rows.append([label(c), f"d={c.width} ({fmt.count(s.params if s else None)})",
                 fmt.number(s.init_loss if s else None), fmt.number(s.best_loss if s else None),
                 fmt.sci(s.best_lr if s else None), s.summary if s else "not run",
                 fmt.number(s.below_best if s else None), fmt.number(s.above_best if s else None)]
                + ([spread, parts] if seeded else []))
  return rows


# --- verdicts: (verdict, per-width lines) from fixed rules -----------------------------------------

@dataclasses.dataclass
class Claim:
  text: str
  rule: str
  verdict: str
  detail: list[str]


def attention_claims(cells_: Sequence[Cell], scale: Scale) -> tuple[list[Claim], list[list[str]]]:
  """Finding 1: the peak max attention logit without qk-LN vs with it at the high LRs, and the loss."""
  high = [lr for lr in scale.lrs if lr >= HIGH_LR]
  checks, detail, rows = [], [], []
  for width in scale.widths:
    off, on = find(cells_, width, arch="no_qkln"), find(cells_, width, arch="qkln")
    ratios, wins = [], []
    for lr in high:
      peak_off, peak_on = (extreme(c.at(lr) if c else None, MAX_LOGIT) for c in (off, on))
      if peak_off is not None and peak_on:
        ratios.append(peak_off / peak_on)
      wins.append(less(effective_loss(on.at(lr) if on else None), effective_loss(off.at(lr) if off else None)))
    ok = None if not ratios or None in wins else max(ratios) >= LOGIT_RATIO and any(wins)
    checks.append(ok)
    detail.append(f"d={width}: largest logit ratio {fmt.sci(max(ratios)) if ratios else '-'} at lr >= "
                  f"{fmt.sci(HIGH_LR)}; qk-LN loss lower at {sum(map(bool, wins))}/{len(high)} of those LRs")
    for cell in (off, on):
      if cell:
        rows.append([f"d={width}, {cell.point['arch']}"]
                    + [marked(r, extreme(r, MAX_LOGIT)) for r in map(cell.at, scale.lrs)])
  claim = Claim(rules.R1.claim, rules.R1.stated(), combine(checks), detail)
  return [claim], [["width, arch"] + [fmt.sci(lr) for lr in scale.lrs]] + rows


SENS, ABOVE = "lr_sensitivity", "above_best"
INSTABILITY = " (instability part)"


def twins(claim_of: Callable[[str], Claim]) -> list[Claim]:
  """A sensitivity claim, then its instability twin: the same rule, margin and pairing on S_above."""
  return [claim_of(SENS), claim_of(ABOVE)]


def sens_claim(rule: rules.Rule, attr: str, verdict: str, comparisons: Sequence[paired.Paired],
               detail: list[str], **values) -> Claim:
  """The claim of `rule` read on `attr` (S, or S_above for the twin), its verdict labelled within noise
  when a paired comparison it reads is."""
  twin = attr == ABOVE
  return Claim(rule.claim + INSTABILITY * twin,
               rule.stated(**values) + ", read on S_above, the sensitivity's part above the best LR" * twin,
               paired.label(verdict, comparisons), detail)


def size_claims(cells_: Sequence[Cell], scale: Scale) -> tuple[list[Claim], list[list[str]]]:
  """Finding 2: qk-LN sensitivity below no qk-LN at every width; sensitivity rising with width."""
  return twins(lambda attr: _qkln_lowers(cells_, scale, attr)) + twins(lambda attr: grows(cells_, scale.widths, attr)), []


def _qkln_lowers(cells_: Sequence[Cell], scale: Scale, attr: str) -> Claim:
  lower, detail, comparisons = [], [], []
  for width in scale.widths:
    off, on = find(cells_, width, arch="no_qkln"), find(cells_, width, arch="qkln")
    lower.append(less(sens_of(on, attr), sens_of(off, attr), SENSITIVITY_MARGIN))
    pair = gap(on, off, attr)
    comparisons += pair
    detail.append(f"d={width}: {sens_text(on, attr)} with qk-LN vs {sens_text(off, attr)} without"
                  f"{straddle_note(on, off, attr=attr)}{paired_text(pair)}")
  return sens_claim(rules.R2A, attr, combine(lower), comparisons, detail)


def grows(cells_: Sequence[Cell], widths: Sequence[int], attr: str, rule: rules.Rule = rules.R2B) -> Claim:
  """2b's rule (or 2b-depth's, the same on other sizes) on `attr`: rising by the margin at each width step,
  with and without qk-LN; in one arch only, or only largest over smallest, partly."""
  rising, above, detail, comparisons = [], [], [], []
  for arch in ("no_qkln", "qkln"):
    by_width = [find(cells_, w, arch=arch) for w in widths]
    values = [sens_of(c, attr) for c in by_width]
    if None in values or len(values) < 2:
      rising.append(None)
      continue
    rising.append(all(less(a, b, SENSITIVITY_MARGIN) for a, b in zip(values, values[1:])))
    above.append(less(values[0], values[-1], SENSITIVITY_MARGIN))
    notes = {straddle_note(a, b, attr=attr) for a, b in zip(by_width, by_width[1:])} - {""}
    steps = [(f"d={a.width} -> {b.width}", p) for a, b in zip(by_width, by_width[1:]) for p in gap(a, b, attr)]
    ends = [("largest - smallest", p) for p in gap(by_width[0], by_width[-1], attr)]
    comparisons += [p for _, p in steps + ends]
    detail.append(f"{arch}: " + " -> ".join(sens_text(c, attr) for c in by_width) + "".join(notes)
                  + "".join(f"; paired {name} {p.text()}" for name, p in steps + ends))
  verdict = combine(rising)
  if verdict == "not reproduced" and any(above):
    verdict = "partly"
  return sens_claim(rule, attr, verdict, comparisons, detail)


def output_logit_claims(cells_: Sequence[Cell], scale: Scale) -> tuple[list[Claim], list[list[str]]]:
  """Finding 3: without weight decay, no z-loss is more LR sensitive (Fig 3) and its output logits drift
  down (Fig 4); weight decay helps the larger models."""
  drift_checks, drift_detail, rows = [], [], []
  for width in scale.ablation_widths:
    bare = find(cells_, width, z_loss="no_z_loss", weight_decay="weight_decay_0")
    z = find(cells_, width, z_loss="none", weight_decay="weight_decay_0")
    drift = [min((v for r in c.runs if (v := extreme(r, OUTPUT_LOGIT, min)) is not None), default=None)
             if c else None for c in (bare, z)]
    drift_checks.append(less(drift[0], drift[1], LOGIT_MARGIN))
    drift_detail.append(f"d={width}: {fmt.number(drift[0], 3)} without z-loss vs {fmt.number(drift[1], 3)} with")
  label = varying(cells_)
  for cell in cells_:
    rows.append([f"d={cell.width}, {label(cell)}"] + [
        marked(r, extreme(r, OUTPUT_LOGIT, min)) + f" / {fmt.sci(extreme(r, LOG_Z))}" if r else "-"
        for r in map(cell.at, scale.lrs)])
  largest = scale.ablation_widths[-1]
  z_loss = lambda attr: sens_claim(rules.R3A, attr, *_pairwise(
      cells_, scale.ablation_widths, {"z_loss": "none", "weight_decay": "weight_decay_0"},
      {"z_loss": "no_z_loss", "weight_decay": "weight_decay_0"},
      lambda p: "with z-loss" if p["z_loss"] == "none" else "without z-loss", attr))
  decay = lambda attr: sens_claim(rules.R3C, attr, *_pairwise(
      cells_, (largest,), {"z_loss": "no_z_loss", "weight_decay": "none"},
      {"z_loss": "no_z_loss", "weight_decay": "weight_decay_0"},
      lambda p: "with weight decay" if p["weight_decay"] == "none" else "without", attr), largest=f"d={largest}")
  return [*twins(z_loss), Claim(rules.R3B.claim, rules.R3B.stated(), combine(drift_checks), drift_detail),
          *twins(decay)], [["width, cell (lowest logits/mean / peak log Z)"] + list(map(fmt.sci, scale.lrs))] + rows


def _pairwise(cells_: Sequence[Cell], widths: Sequence[int], better: dict, worse: dict,
              name: Callable[[dict], str], attr: str = SENS) -> tuple[str, list[paired.Paired], list[str]]:
  """'better lower than worse by >= the margin' at every width: the verdict, its paired comparisons and
  one line per width."""
  checks, comparisons, detail = [], [], []
  for width in widths:
    good, bad = find(cells_, width, **better), find(cells_, width, **worse)
    checks.append(less(sens_of(good, attr), sens_of(bad, attr), SENSITIVITY_MARGIN))
    pair = gap(good, bad, attr)
    comparisons += pair
    detail.append(f"d={width}: {sens_text(good, attr)} ({name(better)}) vs {sens_text(bad, attr)} ({name(worse)})"
                  f"{straddle_note(good, bad, attr=attr)}{paired_text(pair)}")
  return combine(checks), comparisons, detail


def warmup_claims(cells_: Sequence[Cell], scale: Scale) -> tuple[list[Claim], list[list[str]]]:
  short, _, long = scale.warmups
  return twins(lambda attr: sens_claim(
      rules.R4A, attr, *_pairwise(cells_, scale.ablation_widths, {"warmup_steps": str(long)},
                                  {"warmup_steps": str(short)}, lambda p: f"warm-up {p['warmup_steps']}", attr),
      long=f"warm-up {long}", short=f"warm-up {short}")), []


def weight_decay_claims(cells_: Sequence[Cell], scale: Scale) -> tuple[list[Claim], list[list[str]]]:
  return twins(lambda attr: sens_claim(
      rules.R4B, attr, *_pairwise(cells_, scale.ablation_widths, {"weight_decay": "none"},
                                  {"weight_decay": "coupled_weight_decay"},
                                  lambda p: "independent 1e-4" if p["weight_decay"] == "none" else "coupled 0.1",
                                  attr))), []


def grad_rms_claims(cells_: Sequence[Cell], scale: Scale) -> tuple[list[Claim], list[list[str]]]:
  """Finding 5 on the qk-LN runs: grad RMS at the largest completed LR below that at the smallest, at
  every width; at the smallest LR, falling with width."""
  window = max(1, steps_of(cells_) // 4)
  qk = sorted((c for c in cells_ if c.point["arch"] == "qkln"), key=lambda c: c.width)
  by_lr, detail, rows = [], [], []
  for cell in qk:
    values = [(r.lr, r.window_mean(GRAD_RMS, window)) for r in cell.runs if r.state == "completed"]
    values = [(lr, v) for lr, v in values if v is not None]
    by_lr.append(less(values[-1][1], values[0][1]) if len(values) > 1 else None)
    if values:
      detail.append(f"d={cell.width}: {fmt.sci(values[0][1])} at lr {fmt.sci(values[0][0])} -> "
                    f"{fmt.sci(values[-1][1])} at lr {fmt.sci(values[-1][0])}")
    rows.append([f"d={cell.width}"] + [marked(r, r and r.window_mean(GRAD_RMS, window))
                                      for r in map(cell.at, scale.lrs)])
  lowest = [c.at(scale.lrs[0]).window_mean(GRAD_RMS, window) if c.at(scale.lrs[0]) else None
            for c in qk]
  by_width = (None if None in lowest or len(lowest) < 2 else all(a > b for a, b in zip(lowest, lowest[1:])))
  detail.append(f"at lr {fmt.sci(scale.lrs[0])} over widths {list(scale.widths)}: "
                + " -> ".join(fmt.sci(v) for v in lowest))
  header = [f"qk-LN, mean of final {window} steps"] + [fmt.sci(lr) for lr in scale.lrs]
  return [Claim(rules.R5.claim, rules.R5.stated(), combine(by_lr + [by_width]), detail)], [header] + rows


def steps_of(cells_: Sequence[Cell]) -> int:
  return max((int(r.status.get("total_steps") or 0) for c in cells_ for r in c.runs), default=0)
