"""Rule PC: is the output-logit divergence of Section 3.1.2 present at CPU scale (issue 23)?

analysis/rules.py (PC, written out as docs/reproduction_rules.md) states the rule, fixed before the runs of
`logit_divergence_cpu`, and applies it; this module measures what it reads. A *setting* is one (vocabulary,
compute dtype); a *pair* is a setting's run without z-loss and its twin with z-loss 1e-4 at the same LR and
seed. Per pair: dloss (scored final loss, no z-loss minus z-loss), drift (the no-z-loss run's second-half
fall of the output-logit mean beyond its twin's) and rise (the no-z-loss run's second-half rise of log Z).
"""

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from analysis import paired, rules
from analysis.grouping import group_by
from analysis.findings import effective_loss
from analysis.runs import Run, is_number

OUTPUT_LOGIT_MEAN = "logits/mean"
LOG_Z = "logits/log_z"
TWIN_Z_LOSS = 1e-4  # the paper's z-loss coefficient (Chowdhery et al.)


@dataclasses.dataclass(frozen=True)
class Setting:
  vocab_size: int
  compute_dtype: str

  def label(self) -> str:
    return f"vocab {self.vocab_size}, {self.compute_dtype}"


@dataclasses.dataclass(frozen=True)
class Pair:
  """A no-z-loss run and its z-loss twin, and the three measures rule PC reads."""
  setting: Setting
  lr: float
  seed: int
  no_z_loss: Run
  z_loss: Run
  dloss: float | None
  drift: float | None
  rise: float | None


def end_step(run: Run) -> int | None:
  """T: the run's last train log with a finite logit mean (its last step, or the last before it diverged)."""
  steps, values = run.series(OUTPUT_LOGIT_MEAN)
  finite = steps[np.isfinite(values)]
  return int(finite[-1]) if finite.size else None


def value_at(run: Run, key: str, step: int) -> float | None:
  """`key` at the last train log at or before `step`; None when there is none or it is not finite."""
  steps, values = run.series(key)
  before = values[steps <= step]
  return float(before[-1]) if before.size and math.isfinite(before[-1]) else None


def second_half_change(run: Run, key: str) -> float | None:
  """key(T) - key(T/2), T the run's end (end_step)."""
  end = end_step(run)
  if end is None:
    return None
  late, mid = value_at(run, key, end), value_at(run, key, end // 2)
  return None if late is None or mid is None else late - mid


def setting_of(run: Run) -> Setting:
  return Setting(int(run.setting("ModelConfig.vocab_size")), str(run.setting("ModelConfig.compute_dtype")))


def _key(run: Run) -> tuple[Setting, float, int]:
  return setting_of(run), round(run.lr, 12), int(run.setting("TrainConfig.seed", default=0))


def pairs(runs: Sequence[Run]) -> list[Pair]:
  """Every (no z-loss, z-loss 1e-4) pair among the runs, by setting, LR and seed."""
  arms: dict[tuple, dict[str, Run]] = {}
  for run in runs:
    coef = run.setting("TrainConfig.z_loss_coef", default=0.0)
    if run.lr is None or not is_number(coef):
      continue
    arm = "off" if coef == 0 else "on" if math.isclose(coef, TWIN_Z_LOSS) else None
    if arm:
      arms.setdefault(_key(run), {})[arm] = run
  out = []
  for (setting, lr, seed), arm in sorted(arms.items(), key=lambda kv: (kv[0][0].vocab_size,
                                                                       kv[0][0].compute_dtype, kv[0][1], kv[0][2])):
    if "off" not in arm or "on" not in arm:
      continue
    off, on = arm["off"], arm["on"]
    loss_off, loss_on = effective_loss(off), effective_loss(on)  # clipped at l0, l0 when diverged
    fall_off, fall_on = second_half_change(off, OUTPUT_LOGIT_MEAN), second_half_change(on, OUTPUT_LOGIT_MEAN)
    out.append(Pair(setting, lr, seed, off, on,
                    dloss=None if loss_off is None or loss_on is None else loss_off - loss_on,
                    drift=None if fall_off is None or fall_on is None else fall_off - fall_on,
                    rise=second_half_change(off, LOG_Z)))
  return out


def verdict(setting_pairs: Sequence[Pair]) -> str:
  """Rule PC on one setting's pairs."""
  return rules.divergence_present([(p.lr, p.dloss, p.drift, p.rise) for p in setting_pairs])


def by_setting(all_pairs: Sequence[Pair]) -> dict[Setting, list[Pair]]:
  return group_by(all_pairs, lambda p: p.setting)


def verdicts(all_pairs: Sequence[Pair]) -> dict[Setting, str]:
  """Rule PC per setting, in the pairs' order."""
  return {setting: verdict(ps) for setting, ps in by_setting(all_pairs).items()}


def mitigation_setting(by_setting: dict[Setting, str]) -> Setting | None:
  """The setting the mitigation suite runs in (fixed with the rule): among those where PC says present,
  the 2048-piece vocabulary before 8192, then float32 before bfloat16; None when present nowhere."""
  present = [s for s, v in by_setting.items() if v == rules.PRESENT]
  return min(present, key=lambda s: (s.vocab_size, s.compute_dtype != "float32"), default=None)


# --- on 3 seeds (rules.PC_SEEDS) -----------------------------------------------------------------------

PROXY_LR = 1.0  # 3a-proxy and 3b-proxy read LR 1.0 (rules.PC_SEEDS)
SEEDS = (0, 1, 2)


def at_end(run: Run, key: str) -> float | None:
  end = end_step(run)
  return None if end is None else value_at(run, key, end)


def final_mean_gap(pair: Pair) -> float | None:
  """m_noz(T) - m_z(T), each run at its own end: below 0 when the no-z-loss run's logit mean ends lower."""
  off, on = at_end(pair.no_z_loss, OUTPUT_LOGIT_MEAN), at_end(pair.z_loss, OUTPUT_LOGIT_MEAN)
  return None if off is None or on is None else off - on


def cells(all_pairs: Sequence[Pair]) -> dict[tuple[Setting, float], dict[int, Pair]]:
  """The pairs by (setting, LR), then by seed, in the pairs' order."""
  return {key: {p.seed: p for p in ps} for key, ps in group_by(all_pairs, lambda p: (p.setting, p.lr)).items()}


def _mean(values: Sequence[float | None]) -> float | None:
  """The mean over seeds, None unless every seed has the value (a mean over fewer is another rule)."""
  return None if not values or any(v is None for v in values) else float(np.mean(values))


def seed_means(cell: dict[int, Pair]) -> rules.Measures:
  """(lr, dloss, drift, rise), each the mean over the cell's seeds: what PC on 3 seeds reads."""
  ps = list(cell.values())
  return (ps[0].lr, _mean([p.dloss for p in ps]), _mean([p.drift for p in ps]), _mean([p.rise for p in ps]))


def seeded_verdicts(all_pairs: Sequence[Pair]) -> dict[Setting, str]:
  """PC on 3 seeds per setting, over the (setting, LR) cells that have every seed of SEEDS."""
  complete = [(setting, seed_means({s: cell[s] for s in SEEDS}))
              for (setting, _), cell in cells(all_pairs).items() if set(cell) >= set(SEEDS)]
  return {setting: rules.divergence_present([m for _, m in measures])
          for setting, measures in group_by(complete, lambda sm: sm[0]).items()}


def comparison(cell: dict[int, Pair], measure) -> paired.Paired:
  """measure(pair) per seed, against 0: the paired quantity a 3a/3b-proxy verdict reads."""
  return paired.per_seed({seed: measure(p) for seed, p in cell.items()}, (0.0,))


# --- the not-present reading: how far the trend is from the thresholds -----------------------------------

def loss_gap_trend(pair: Pair) -> tuple[float, float] | None:
  """(gap, slope): the train-loss gap no z-loss - z-loss, its mean over the run's last quarter, and its
  change per 1000 steps from the third quarter's mean to the last's (quarters of the no-z-loss run's T)."""
  end = end_step(pair.no_z_loss)
  if end is None:
    return None
  quarters = []
  for lo, hi in ((end // 2, 3 * end // 4), (3 * end // 4, end)):
    gaps = []
    for step in pair.no_z_loss.series("train/loss")[0]:
      if lo < step <= hi:
        off, on = value_at(pair.no_z_loss, "train/loss", step), value_at(pair.z_loss, "train/loss", step)
        if off is not None and on is not None:
          gaps.append(off - on)
    if not gaps:
      return None
    quarters.append(float(np.mean(gaps)))
  return quarters[1], (quarters[1] - quarters[0]) / (end / 4) * 1000


def harm_horizon(pair: Pair) -> float | None:
  """The step at which the train-loss gap's second-half trend (loss_gap_trend) reaches HARM, extrapolated
  linearly from the run's end; None when the gap is not growing (the trend never reaches it)."""
  trend, end = loss_gap_trend(pair), end_step(pair.no_z_loss)
  if trend is None or end is None:
    return None
  gap, slope = trend
  if gap >= rules.HARM:
    return float(end)
  return end + (rules.HARM - gap) / slope * 1000 if slope > 0 else None
