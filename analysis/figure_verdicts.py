"""The verdict rules of docs/reproduction_rules.md for Figs 7, 8/E.4, 9 held out, 10 and 12-13, fixed
before their runs: pure functions of the numbers each rule reads (scored losses, sensitivities, logits,
RMS values), each giving a verdict and the one line of evidence the report prints beside it.

Where a rule's text leaves a case open, the most literal reading is taken and named in the docstring.
"""

import math
import statistics
from typing import Sequence

from analysis import fmt
from analysis.verdicts import SENSITIVITY_MARGIN, combine, less

NOT_MEASURED = "not measured"
Verdict = tuple[str, str]  # (verdict, evidence line)


def _missing(*values) -> bool:
  return any(v is None for v in values)


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
  """Least-squares slope of ys against xs (two points at least)."""
  mx, my = statistics.fmean(xs), statistics.fmean(ys)
  return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def depth_vs_width_slope(width: Sequence[tuple[float, float | None]],
                         depth: Sequence[tuple[float, float | None]]) -> Verdict:
  """7a: each series is (non-embedding params, sensitivity); slope per decade of params. Reproduced when
  depth's slope is above width's by >= 0.05, partly when above by less, not when width's >= depth's."""
  if len(width) < 2 or len(depth) < 2 or _missing(*(s for _, s in [*width, *depth])):
    return NOT_MEASURED, "a series lacks a sensitivity"
  w, d = (slope([math.log10(p) for p, _ in s], [v for _, v in s]) for s in (width, depth))
  verdict = "reproduced" if d - w >= 0.05 else "partly" if d > w else "not reproduced"
  return verdict, f"sensitivity per decade of params: depth {fmt.number(d, 3)} vs width {fmt.number(w, 3)}"


def depth_vs_width_loss(width_best: float | None, depth_best: float | None) -> Verdict:
  """7b: at the matched largest size, depth's l* below width's by >= 0.02 reproduced, within 0.02 partly,
  width's lower by >= 0.02 not reproduced."""
  if _missing(width_best, depth_best):
    return NOT_MEASURED, "a largest model lacks its l*"
  verdict = ("reproduced" if less(depth_best, width_best, SENSITIVITY_MARGIN) else
             "not reproduced" if less(width_best, depth_best, SENSITIVITY_MARGIN) else "partly")
  return verdict, f"l*: depth {fmt.number(depth_best, 3)} vs width {fmt.number(width_best, 3)}"


def mup_matches_standard(standard: Sequence[float | None], mup: Sequence[float | None]) -> bool | None:
  """Fig 8's check: at the base width the two arms' losses are identical (exactly) at every LR; None when
  a loss is missing. False makes every Fig 8 verdict 'invalid'."""
  if not standard or len(standard) != len(mup) or _missing(*standard, *mup):
    return None
  return all(a == b for a, b in zip(standard, mup))


def best_lr_spread(best_lrs: Sequence[float | None], lrs: Sequence[float]) -> int | None:
  """The spread of the best LR over the widths in grid steps (max index - min index)."""
  if _missing(*best_lrs) or not best_lrs:
    return None
  index = [min(range(len(lrs)), key=lambda i: abs(math.log(lrs[i] / lr))) for lr in best_lrs]
  return max(index) - min(index)


def mup_stabilises_lr(standard_spread: int | None, mup_spread: int | None) -> Verdict:
  """8a: muParam's spread below the standard's reproduced; equal and > 0 partly; larger, or both 0, not."""
  if _missing(standard_spread, mup_spread):
    return NOT_MEASURED, "a width lacks its best LR"
  verdict = ("reproduced" if mup_spread < standard_spread else
             "partly" if mup_spread == standard_spread > 0 else "not reproduced")
  reason = " (both 0: nothing for muParam to stabilise at these widths)" if standard_spread == mup_spread == 0 else ""
  return verdict, f"best-LR spread in grid steps: muParam {mup_spread} vs standard {standard_spread}{reason}"


def mup_not_lower(standard: float | None, mup: float | None, what: str) -> Verdict:
  """8b (what='l*') and 8c (what='sensitivity'): at the largest width, muParam's value not below the
  standard's by >= 0.02 reproduced, else not reproduced."""
  if _missing(standard, mup):
    return NOT_MEASURED, f"a largest model lacks its {what}"
  verdict = "not reproduced" if less(mup, standard, SENSITIVITY_MARGIN) else "reproduced"
  return verdict, f"{what}: muParam {fmt.number(mup, 3)} vs standard {fmt.number(standard, 3)}"


def mup_needs_qkln(pairs: Sequence[tuple[float | None, float | None]]) -> Verdict:
  """8d: per width above the base, (qk-LN sensitivity, no qk-LN sensitivity) under muParam; qk-LN lower
  by >= 0.02 at each reproduced, at some partly, at none not reproduced."""
  checks = [less(on, off, SENSITIVITY_MARGIN) for on, off in pairs]
  return combine(checks), "; ".join(f"{fmt.number(on, 3)} with qk-LN vs {fmt.number(off, 3)} without"
                                    for on, off in pairs)


def held_out(predicted: Sequence[float | None], realised: Sequence[float | None], threshold: float) -> Verdict:
  """9: per LR, the predicted and realised max logit; crossing the threshold agrees at every LR and the
  median |log10(predicted / realised)| <= 0.5 reproduced, agrees at >= 5 LRs partly, else not. An LR
  without a prediction counts as disagreeing; so does one without a realised value (literal reading:
  agreement needs both)."""
  if not realised or all(r is None for r in realised):
    return NOT_MEASURED, "no held-out run reached the step"
  agree = [p is not None and r is not None and (p >= threshold) == (r >= threshold)
           for p, r in zip(predicted, realised)]
  errors = [abs(math.log10(p / r)) for p, r in zip(predicted, realised) if p and r and p > 0 and r > 0]
  median = statistics.median(errors) if errors else math.inf
  verdict = ("reproduced" if all(agree) and median <= 0.5 else
             "partly" if sum(agree) >= 5 else "not reproduced")
  return verdict, (f"crossing of {fmt.sci(threshold)} agrees at {sum(agree)}/{len(agree)} LRs; median "
                   f"|log10(predicted / realised)| {fmt.number(median, 2)}")


def kappa_onset(losses: dict[float, float | None]) -> Verdict:
  """10a: kappa* = the smallest kappa whose scored loss is >= 0.1 above the best over kappa; 1e2 < kappa* <=
  3e3 reproduced, 10 <= kappa* <= 1e4 partly, otherwise (no onset included) not reproduced."""
  if not losses or _missing(*losses.values()):
    return NOT_MEASURED, "a kappa lacks its loss"
  best = min(losses.values())
  onset = min((k for k, v in losses.items() if v >= best + 0.1), default=None)
  verdict = ("not reproduced" if onset is None else "reproduced" if 1e2 < onset <= 3e3 else
             "partly" if 10 <= onset <= 1e4 else "not reproduced")
  return verdict, f"onset kappa* {fmt.sci(onset) if onset is not None else 'none'} (best loss {fmt.number(best, 3)})"


def kappa_vs_bigram(losses: dict[float, float | None], bigram: float | None) -> Verdict:
  """10b: loss(1e4) above the bigram's and every loss at kappa <= 1e2 below it reproduced; only the first
  partly; loss(1e4) not above the bigram's not reproduced."""
  small = [v for k, v in losses.items() if k <= 1e2]
  if _missing(bigram, losses.get(1e4), *small) or not small:
    return NOT_MEASURED, "a kappa or the bigram lacks its loss"
  above = losses[1e4] > bigram
  verdict = ("not reproduced" if not above else
             "reproduced" if all(v < bigram for v in small) else "partly")
  return verdict, f"loss at kappa 1e4 {fmt.number(losses[1e4], 3)} vs bigram {fmt.number(bigram, 3)}"


def small_eps_helps(loss_8: float | None, loss_15: float | None, grad_rms: float | None,
                    eps: float = 1e-8) -> Verdict:
  """12a: loss(eps 1e-15) below loss(eps 1e-8) by >= 0.02 reproduced; |difference| < 0.02 while the grad
  RMS g > 10 eps 'not reproduced, scale' (epsilon never reached); otherwise not reproduced."""
  if _missing(loss_8, loss_15, grad_rms):
    return NOT_MEASURED, "a run lacks its loss or grad RMS"
  if less(loss_15, loss_8, SENSITIVITY_MARGIN):
    verdict = "reproduced"
  elif abs(loss_15 - loss_8) < SENSITIVITY_MARGIN and grad_rms > 10 * eps:
    verdict = "not reproduced, scale"
  else:
    verdict = "not reproduced"
  return verdict, (f"loss {fmt.number(loss_15, 3)} (eps 1e-15) vs {fmt.number(loss_8, 3)} (1e-8); "
                   f"g / eps = {fmt.sci(grad_rms / eps)}")


def large_eps_hurts(diverged_6: bool | None, loss_6: float | None, loss_8: float | None,
                    update_6: float | None, update_8: float | None) -> Verdict:
  """12b: the eps 1e-6 run diverged or ends >= 0.1 above eps 1e-8's scored loss reproduced; its update RMS
  below 0.5 x eps 1e-8's without that partly; otherwise not reproduced."""
  if diverged_6 is None or (not diverged_6 and _missing(loss_6, loss_8)):
    return NOT_MEASURED, "a run lacks its loss"
  if diverged_6 or loss_6 >= loss_8 + 0.1:
    verdict = "reproduced"
  elif not _missing(update_6, update_8) and update_6 < 0.5 * update_8:
    verdict = "partly"
  else:
    verdict = "not reproduced"
  return verdict, (f"eps 1e-6: {'diverged' if diverged_6 else fmt.number(loss_6, 3)} vs {fmt.number(loss_8, 3)} "
                   f"(1e-8); update RMS {fmt.sci(update_6)} vs {fmt.sci(update_8)}")
