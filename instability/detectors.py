"""Detectors for the paper's failure modes, over the monitored history: one record per step for the first
`dense_steps` steps (monitor.jsonl), then one per log step (metrics.jsonl).

Pure Python so the trainer (online) and analysis (offline replay) run the same code. A warning fires at the
record its condition starts to hold for a (kind, where) pair and again only after the condition cleared,
so a long excursion is one record, not one per log.

The trend detectors fit ln(max attention logit) and log Z against the LR spent so far (the sum of eta_t,
which takes out warm-up's acceleration) over the last half of it and project the fit to the run's end, but
over no more than `lookahead` times the LR already spent; the projected excess over the damage level (nats)
is the monitor's risk score, and a warning when it reaches 0.
"""

import collections
import dataclasses
import math
import statistics
from typing import Any, Iterable

from rundir import fields

ATTN_PREFIX, GRAD_PREFIX, UPDATE_PREFIX = "attn/max_logit/", "grad/rms/", "update/rms/"
LR_SUM = "monitor/lr_sum"  # added by Monitor to each record it keeps: sum of eta_t up to the record's step


@dataclasses.dataclass(frozen=True)
class Thresholds:
  """When each detector fires; `window` and `baseline` count log records, not steps."""

  attn_level: float = 1e3  # max attention logit worth watching (the paper's divergent runs pass 1e4)
  attn_limit: float = 1e4  # Section 3.1's attention-logit level of divergent runs
  window: int = 5
  logz_rise: float = 5.0  # log Z growth over `window` logs (nats)
  logit_mean_drop: float = 5.0  # output-logit mean fall over `window` logs
  baseline: int = 5
  loss_spike: float = 1.5  # loss above this multiple of the running baseline (median of `baseline` logs)
  update_spike: float = 3.0  # update RMS above this multiple of its running baseline
  eps_margin: float = 10.0  # gradient RMS below eps_margin * adam_eps (Section 3.4)
  # Damage levels of this scale (docs/early_warning.md, third definition): Fig 10's kappa = 10 realises max
  # logits of 47-71 and costs 0.4 nats; kappa = 1 peaks at 7.6.
  attn_damage: float = 50.0
  logz_damage_rise: float = 4.0  # log Z above its first monitored value: 200-step runs that spiked peaked 6.3 up
  trend_window: int = 5  # the fewest records a trend is fitted over (steps in the every-step phase, logs after)
  trend_span: float = 0.5  # a trend is fitted over the records of this last fraction of the LR spent
  lookahead: float = 1.0  # project over at most this multiple of the LR already spent
  dense_steps: int = 50  # the monitor sees every step up to this one, then each log
  adam_eps: float = 1e-8  # the run's AdamW epsilon, not a threshold: the trainer passes OptimizerConfig.eps
  warmup_steps: int = 0  # the run's schedule, not thresholds: the trainer passes OptimizerConfig's
  steps: int = 0  # 0: unknown, the projection stops at the lookahead

  def __post_init__(self):
    fields.check(self, "MonitorThresholds")
    for name in ("window", "baseline"):
      if getattr(self, name) < 1:
        raise ValueError(f"MonitorThresholds.{name}={getattr(self, name)}: expected an integer >= 1")
    if self.trend_window < 2:
      raise ValueError(f"MonitorThresholds.trend_window={self.trend_window}: expected an integer >= 2 (a slope)")
    for name in ("dense_steps", "warmup_steps", "steps"):
      if getattr(self, name) < 0:
        raise ValueError(f"MonitorThresholds.{name}={getattr(self, name)}: expected an integer >= 0")
    if not self.lookahead >= 0:
      raise ValueError(f"MonitorThresholds.lookahead={self.lookahead}: expected a number >= 0")
    if not 0 <= self.trend_span <= 1:
      raise ValueError(f"MonitorThresholds.trend_span={self.trend_span}: expected a number in [0, 1]")


def _fmt(x: float) -> str:
  return f"{x:.3g}"


def _finite(x: Any) -> bool:
  return isinstance(x, (int, float)) and math.isfinite(x)


def _warning(step, kind, where, value, trend, projected_step, message) -> dict[str, Any]:
  return {"step": step, "kind": kind, "where": where, "value": value, "trend": trend,
          "projected_step": projected_step, "message": f"step {step}: {message}"}


def attention_logits(past: list[dict], rec: dict, th: Thresholds) -> list[dict]:
  """A block's max attention logit past attn_level and at least doubled over `window` logs."""
  out = []
  if len(past) < th.window:
    return out
  old = past[-th.window]
  for key, value in rec.items():
    if not key.startswith(ATTN_PREFIX) or not _finite(value) or value < th.attn_level:
      continue
    before = old.get(key)
    if not _finite(before) or before <= 0 or value < 2 * before:
      continue
    doubling = (rec["step"] - old["step"]) * math.log(2) / math.log(value / before)
    projected = rec["step"] + (0 if value >= th.attn_limit
                               else round(doubling * math.log2(th.attn_limit / value)))
    block = key[len(ATTN_PREFIX):].replace("_", " ")
    out.append(_warning(rec["step"], "attention_logits", key[len(ATTN_PREFIX):], value, doubling, projected,
                        f"{block} max attention logit {_fmt(value)}, doubling every ~{doubling:.0f} steps; "
                        f"projected to pass {_fmt(th.attn_limit)} near step {projected}"))
  return out


def output_logits(past: list[dict], rec: dict, th: Thresholds) -> list[dict]:
  """Output-logit divergence (Section 3.2): log Z grew by logz_rise or the logit mean fell by logit_mean_drop."""
  if len(past) < th.window:
    return []
  old = past[-th.window]
  steps = rec["step"] - old["step"]
  lz, lz0 = rec.get("logits/log_z"), old.get("logits/log_z")
  mean, mean0 = rec.get("logits/mean"), old.get("logits/mean")
  if _finite(lz) and _finite(lz0) and lz - lz0 >= th.logz_rise:
    slope = (lz - lz0) / steps
    return [_warning(rec["step"], "output_logits", "log_z", lz, slope, None,
                     f"output log Z {_fmt(lz)}, rising {_fmt(slope)} per step over the last {steps} steps")]
  if _finite(mean) and _finite(mean0) and mean0 - mean >= th.logit_mean_drop:
    slope = (mean - mean0) / steps
    return [_warning(rec["step"], "output_logits", "mean", mean, slope, None,
                     f"output logit mean {_fmt(mean)}, drifting {_fmt(slope)} per step over the last {steps} steps")]
  return []


def _spike(past: list[dict], rec: dict, key: str, factor: float, n: int) -> tuple[float, float] | None:
  """(value, value / baseline) when rec[key] exceeds factor times the median of its last n finite values."""
  value = rec.get(key)
  history = [r[key] for r in past[-n:] if _finite(r.get(key))]
  if not _finite(value) or len(history) < n:
    return None
  base = statistics.median(history)
  if base > 0 and value > factor * base:
    return value, value / base
  return None


def loss_spike(past: list[dict], rec: dict, th: Thresholds) -> list[dict]:
  """Train loss above loss_spike times its running baseline."""
  hit = _spike(past, rec, "train/loss", th.loss_spike, th.baseline)
  if hit is None:
    return []
  value, ratio = hit
  return [_warning(rec["step"], "loss_spike", "train/loss", value, ratio, None,
                   f"train loss {_fmt(value)} is {ratio:.2f}x its running baseline")]


def update_spike(past: list[dict], rec: dict, th: Thresholds) -> list[dict]:
  """A layer's AdamW update RMS above update_spike times its running baseline."""
  out = []
  for key in rec:
    if key.startswith(UPDATE_PREFIX):
      hit = _spike(past, rec, key, th.update_spike, th.baseline)
      if hit:
        value, ratio = hit
        layer = key[len(UPDATE_PREFIX):]
        out.append(_warning(rec["step"], "update_spike", layer, value, ratio, None,
                            f"{layer} update RMS {_fmt(value)} is {ratio:.1f}x its running baseline"))
  return out


def grad_eps(past: list[dict], rec: dict, th: Thresholds) -> list[dict]:
  """A layer's gradient RMS below eps_margin * AdamW eps: the update shrinks (Section 3.4); trend in decades/step."""
  out = []
  level = th.eps_margin * th.adam_eps
  old = past[-th.window] if len(past) >= th.window else None
  for key, value in rec.items():
    if not key.startswith(GRAD_PREFIX) or not _finite(value) or value >= level:
      continue
    layer = key[len(GRAD_PREFIX):]
    trend, projected = None, None
    before = old.get(key) if old else None
    if _finite(before) and before > 0 and value > 0:
      trend = (math.log10(value) - math.log10(before)) / (rec["step"] - old["step"])
      if trend < 0 and value > th.adam_eps:
        projected = rec["step"] + round(math.log10(th.adam_eps / value) / trend)
    out.append(_warning(rec["step"], "grad_eps", layer, value, trend, projected,
                        f"{layer} gradient RMS {_fmt(value)} is within {_fmt(th.eps_margin)}x of AdamW eps "
                        f"{_fmt(th.adam_eps)}" + (f"; projected to reach it near step {projected}"
                                                  if projected is not None else "")))
  return out


def _slope(points: list[tuple[float, float]]) -> float | None:
  """Least-squares slope of y on x; None when x does not vary."""
  mx = sum(x for x, _ in points) / len(points)
  my = sum(y for _, y in points) / len(points)
  sxx = sum((x - mx) ** 2 for x, _ in points)
  return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx > 0 else None


def horizon(rec: dict, th: Thresholds) -> float:
  """The LR sum the trends are projected to: the run's end, but at most (1 + lookahead) x the LR spent. The LR
  to come: the rest of a linear warm-up from the current lr, then its peak, which bounds every schedule
  (they only decay after warm-up)."""
  spent, lr, step = rec[LR_SUM], rec.get("lr"), rec["step"]
  if not _finite(lr) or lr <= 0 or step <= 0:
    return spent
  if step < th.warmup_steps:
    peak = lr * th.warmup_steps / step
    to_come = lr / step * (th.warmup_steps * (th.warmup_steps + 1) - step * (step + 1)) / 2
    to_come += peak * max(th.steps - th.warmup_steps, 0) if th.steps else math.inf
  else:
    to_come = lr * max(th.steps - step, 0) if th.steps else math.inf
  return spent + min(to_come, th.lookahead * spent)


def projections(recent: list[dict], th: Thresholds, log_z_start: float | None) -> list[dict]:
  """Each trend (a block's ln max logit, log Z) fitted over `recent` (ending with the current record) against
  the LR sum and projected to `horizon`: kind, where, value, slope per unit of LR sum, and its excess over the
  damage level in nats (ln of the logit ratio; log Z minus its start and logz_damage_rise); a falling trend
  projects to its current value. A fit over the last half of the LR spent, projected over as much again,
  keeps one step's noise from being extrapolated over the whole run."""
  if len(recent) < th.trend_window:
    return []
  rec = recent[-1]
  ahead = horizon(rec, th) - rec[LR_SUM]
  series = [("attention_trend", key[len(ATTN_PREFIX):], key, math.log, math.log(th.attn_damage))
            for key in rec if key.startswith(ATTN_PREFIX)]
  if log_z_start is not None:
    series.append(("log_z_trend", "log_z", "logits/log_z", float, log_z_start + th.logz_damage_rise))
  out = []
  for kind, where, key, transform, level in series:
    values = [r.get(key) for r in recent]
    if not all(_finite(v) and (transform is float or v > 0) for v in values):
      continue
    slope = _slope([(r[LR_SUM], transform(v)) for r, v in zip(recent, values)])
    if slope is None:
      continue
    excess = transform(values[-1]) + max(slope, 0.0) * ahead - level
    out.append({"kind": kind, "where": where, "value": values[-1], "slope": slope, "excess": excess})
  return out


def trend_warnings(trends: list[dict], rec: dict, th: Thresholds) -> list[dict]:
  """A warning for each trend projected to reach its damage level (excess >= 0)."""
  out = []
  for t in trends:
    if t["excess"] < 0:
      continue
    attention = t["kind"] == "attention_trend"
    what = f"{t['where'].replace('_', ' ')} max attention logit" if attention else "output log Z"
    level = _fmt(th.attn_damage) if attention else f"its start + {_fmt(th.logz_damage_rise)}"
    out.append(_warning(rec["step"], t["kind"], t["where"], t["value"], t["slope"], None,
                        f"{what} {_fmt(t['value'])}, {'its log ' if attention else ''}rising {_fmt(t['slope'])} "
                        "per unit of summed LR; "
                        f"projected {_fmt(t['excess'])} nats past its damage level ({level}) within "
                        f"{_fmt(th.lookahead)}x the LR spent so far"))
  return out


DETECTORS = (attention_logits, output_logits, loss_spike, update_spike, grad_eps)
KINDS = tuple(d.__name__ for d in DETECTORS) + ("attention_trend", "log_z_trend")


class Monitor:
  """Feeds records in step order; returns the warnings whose condition starts at each. `risk` holds
  (step, the largest trend excess at that record): the monitor's score, docs/early_warning.md."""

  def __init__(self, th: Thresholds):
    self.th = th
    self.past: collections.deque = collections.deque(maxlen=max(th.window, th.baseline))
    self.active: set[tuple[str, str]] = set()
    self.counts: collections.Counter = collections.Counter()
    self.first: dict[str, dict] = {}
    self.lr_sum, self.last_step = 0.0, 0
    self.log_z_start: float | None = None
    self.trail: collections.deque = collections.deque()  # the records the trends are fitted over
    self.risk: list[tuple[int, float]] = []

  def observe(self, rec: dict[str, Any]) -> list[dict]:
    """The new warnings at this record (records without train/loss, i.e. eval-only, are skipped)."""
    if "train/loss" not in rec:
      return []
    lr = rec.get("lr")
    # Right Riemann sum: exact at every step, lr at the record times the gap at the log cadence.
    self.lr_sum += (lr if _finite(lr) else 0.0) * (rec["step"] - self.last_step)
    self.last_step = rec["step"]
    rec = {**rec, LR_SUM: self.lr_sum}
    if self.log_z_start is None and _finite(rec.get("logits/log_z")):
      self.log_z_start = rec["logits/log_z"]
    past = list(self.past)
    self.trail.append(rec)
    while len(self.trail) > self.th.trend_window and self.trail[0][LR_SUM] < (1 - self.th.trend_span) * self.lr_sum:
      self.trail.popleft()
    trends = projections(list(self.trail), self.th, self.log_z_start)
    if trends:
      self.risk.append((rec["step"], max(t["excess"] for t in trends)))
    hits = [w for detect in DETECTORS for w in detect(past, rec, self.th)] + trend_warnings(trends, rec, self.th)
    self.past.append(rec)
    keys = {(w["kind"], w["where"]) for w in hits}
    new = [w for w in hits if (w["kind"], w["where"]) not in self.active]
    self.active = keys
    for w in new:
      self.counts[w["kind"]] += 1
      self.first.setdefault(w["kind"], w)
    return new

  def status(self) -> dict[str, Any]:
    """status.json's keys (docs/run_directory.md): warning count, per kind, and the first warning's step."""
    first = min((w["step"] for w in self.first.values()), default=None)
    return {"warnings": sum(self.counts.values()), "warning_kinds": dict(self.counts),
            "first_warning_step": first}


def merged(logs: Iterable[dict[str, Any]], steps: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
  """The monitored stream: the every-step records (monitor.jsonl) and the logs (metrics.jsonl), in step
  order; a log at a step that also has an every-step record is merged into it."""
  by_step: dict[Any, dict] = {}
  for rec in [*steps, *logs]:
    by_step[rec["step"]] = {**by_step.get(rec["step"], {}), **rec}
  return [by_step[s] for s in sorted(by_step)]


def replay(records: Iterable[dict[str, Any]], th: Thresholds) -> tuple[Monitor, list[dict]]:
  """The monitor after these records (in step order) and every warning they raise."""
  monitor = Monitor(th)
  warnings = []
  for rec in sorted(records, key=lambda r: r["step"]):
    warnings += monitor.observe(rec)
  return monitor, warnings
