"""Detectors for the paper's failure modes, over the logged history (one metrics.jsonl record per log step).

Pure Python so the trainer (online) and analysis (offline replay) run the same code. A warning fires at the
log step its condition starts to hold for a (kind, where) pair and again only after the condition cleared,
so a long excursion is one record, not one per log.
"""

import collections
import dataclasses
import math
import statistics
from typing import Any, Iterable

ATTN_PREFIX, GRAD_PREFIX, UPDATE_PREFIX = "attn/max_logit/", "grad/rms/", "update/rms/"


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
  adam_eps: float = 1e-8  # the run's AdamW epsilon, not a threshold: the trainer passes OptimizerConfig.eps

  def __post_init__(self):
    for name in ("window", "baseline"):
      if getattr(self, name) < 1:
        raise ValueError(f"Thresholds.{name}={getattr(self, name)}: expected an integer >= 1")


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


DETECTORS = (attention_logits, output_logits, loss_spike, update_spike, grad_eps)
KINDS = tuple(d.__name__ for d in DETECTORS)


class Monitor:
  """Feeds log records in step order; returns the warnings whose condition starts at each."""

  def __init__(self, th: Thresholds):
    self.th = th
    self.past: collections.deque = collections.deque(maxlen=max(th.window, th.baseline))
    self.active: set[tuple[str, str]] = set()
    self.counts: collections.Counter = collections.Counter()
    self.first: dict[str, dict] = {}

  def observe(self, rec: dict[str, Any]) -> list[dict]:
    """The new warnings at this log record (records without train/loss, i.e. eval-only, are skipped)."""
    if "train/loss" not in rec:
      return []
    past = list(self.past)
    hits = [w for detect in DETECTORS for w in detect(past, rec, self.th)]
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


def replay(records: Iterable[dict[str, Any]], th: Thresholds) -> tuple[Monitor, list[dict]]:
  """The monitor after these records (in step order) and every warning they raise."""
  monitor = Monitor(th)
  warnings = []
  for rec in sorted(records, key=lambda r: r["step"]):
    warnings += monitor.observe(rec)
  return monitor, warnings
