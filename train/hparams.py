"""TensorBoard's HParams view of a run: `tensorboard --logdir SWEEP_ROOT` lists every unit with its settings
against its final eval loss, peak max attention logit, divergence and warnings, so loss vs LR is a scatter there.

At start the session's hparams, at the end the metrics: summaries built by TensorBoard's HParams and scalar
plugins (`summary_v2.hparams_pb`, `scalar_pb`), written with TensorBoard's own record writer into one events
file of the run directory. TensorFlow is not imported (its import costs ~5 s per process; clu's scalar
writer, TrainConfig.tensorboard, pays it), so a run without TensorBoard scalars (gin/repro.gin) still has its
HParams row. No experiment summary (`hparams_config_pb`) is written: TensorBoard then builds the columns
from every run's hparams, the ones that differ (what the sweep varies) first, and a root mixing sweeps
shows all their settings; the metric columns are the runs' scalar tags (with TrainConfig.tensorboard on,
the per-step scalars' last values too).
"""

import math
import os
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tensorboard.compat.proto import event_pb2
from tensorboard.plugins.hparams import summary_v2 as hp
from tensorboard.plugins.scalar import summary_v2 as scalar_summary
from tensorboard.summary.writer.record_writer import RecordWriter

from train import identity

FINAL_EVAL_LOSS = "hparams/final_eval_loss"  # completed runs only
PEAK_MAX_ATTENTION_LOGIT = "hparams/peak_max_attention_logit"  # over blocks and logged steps (Section 3.1)
DIVERGED = "hparams/diverged"  # 1 or 0
WARNINGS = "hparams/instability_warnings"  # warnings.jsonl lines
GIN_FILES = "gin_files"
GROUP = "group"
_SECTIONS = ("train", "optimizer", "model")  # run.json config sections shown; `data` describes the corpus
_MAX_LOGIT_PREFIX = "attn/max_logit/"


def group(config: Mapping[str, Any]) -> str:
  """The LR-sensitivity group (Section 2.2): a hash of the resolved config without lr and the data's
  location, so the runs of one group, differing only in lr, share it."""
  rest = {section: dict(config.get(section, {})) for section in _SECTIONS}
  rest["optimizer"].pop("lr", None)
  return identity.fingerprint(rest)[:8]


def hparams(run_info: Mapping[str, Any]) -> dict[str, bool | int | float | str]:
  """run.json's values as HParams: every scalar field of the resolved train, optimizer and model configs by
  its field name (lr, d_model, num_layers, seed, qk_layernorm, compute_dtype, ...; unset ones left out),
  the gin files by stem ('qkln+repro') and the group."""
  config = run_info.get("config") or {}
  values: dict[str, bool | int | float | str] = {}
  for section in _SECTIONS:
    for name, value in config.get(section, {}).items():
      if isinstance(value, (bool, int, float, str)):
        values.setdefault(name, value)  # train.steps and optimizer.steps are one value
  values[GIN_FILES] = "+".join(os.path.splitext(os.path.basename(f))[0] for f in run_info.get("gin_files", []))
  values[GROUP] = group(config)
  return values


def peak_max_attention_logit(records: Sequence[Mapping[str, Any]]) -> float | None:
  """The largest finite max attention logit of any block in `records` (metrics.jsonl lines)."""
  peaks = [v for r in records for k, v in r.items()
           if k.startswith(_MAX_LOGIT_PREFIX) and isinstance(v, float) and math.isfinite(v)]
  return max(peaks) if peaks else None


def end_metrics(state: str, final_eval_loss: float | None, records: Sequence[Mapping[str, Any]],
                warnings: int) -> dict[str, float]:
  """The metrics of a finished run by tag; final eval loss and peak logit only when known."""
  metrics = {DIVERGED: float(state == "diverged"), WARNINGS: float(warnings)}
  if final_eval_loss is not None and math.isfinite(final_eval_loss):
    metrics[FINAL_EVAL_LOSS] = final_eval_loss
  peak = peak_max_attention_logit(records)
  if peak is not None:
    metrics[PEAK_MAX_ATTENTION_LOGIT] = peak
  return metrics


class HParamsEvents:
  """One events file in the run directory holding the run's HParams summaries (one per trainer start:
  TensorBoard keeps the first session start of a run, the same values on a resume)."""

  def __init__(self, path: str):
    name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.hparams"
    self._records = RecordWriter(open(os.path.join(path, name), "wb"))
    self._add(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

  def _add(self, event: event_pb2.Event) -> None:
    self._records.write(event.SerializeToString())
    self._records.flush()

  def _summary(self, step: int, summary) -> None:
    self._add(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

  def start(self, run_info: Mapping[str, Any]) -> None:
    """This run's hparams."""
    self._summary(0, hp.hparams_pb(hparams(run_info), trial_id=run_info.get("fingerprint")))

  def finish(self, step: int, metrics: Mapping[str, float]) -> None:
    """The finished run's metrics."""
    for tag, value in metrics.items():
      self._summary(step, scalar_summary.scalar_pb(tag, value))

  def close(self) -> None:
    self._records.close()
