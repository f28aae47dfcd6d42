"""The run's configuration, built once from the parsed gin (as t5x's train() receives its configs):
train/run.py builds it and hands it to the Trainer, which reads no gin; benchmarks build it the same way.

`steps` is bound once (TrainConfig.steps, the `steps` macro); OptimizerConfig takes it from there and gin
cannot bind it a second, different way.
"""

import dataclasses

import gin

from rundir import fields

from instability.detectors import Thresholds
from model.config import ModelConfig
from train.monitor import MonitorThresholds
from train.optimizer import OptimizerConfig


@gin.configurable
@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Loop settings. A run stops as diverged when its train loss is NaN/inf, or above
  divergence_threshold (default: init eval loss + divergence_margin, i.e. worse than the
  untrained model by more than batch noise) at divergence_window consecutive log steps
  (train/divergence.py). 10 logs is 100 of the CPU presets' 200 steps and 1000 of base.gin's
  1e5: far longer than a fast loss spike lasts, while a dead run still stops early."""

  steps: int = gin.REQUIRED
  batch_size: int = gin.REQUIRED
  seq_len: int = gin.REQUIRED
  seed: int = 0
  z_loss_coef: float = 1e-4
  log_every: int = 100
  eval_every: int = 1000
  num_eval_batches: int = 8
  checkpoint_every: int = 1000
  keep_checkpoints: int = 2
  divergence_threshold: float | None = None
  divergence_margin: float = 1.0
  divergence_window: int = 10
  stop_on_warning: bool = False  # end as `warned` at the first instability warning (train/monitor.py)
  tensorboard: bool = True  # events beside metrics.jsonl; importing clu's writer pulls in TensorFlow (~5 s)

  def __post_init__(self):
    fields.check(self, "TrainConfig")
    for name in ("steps", "batch_size", "seq_len", "log_every", "eval_every", "num_eval_batches",
                 "checkpoint_every", "keep_checkpoints", "divergence_window"):
      value = getattr(self, name)
      if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r}: expected a positive integer")
    if not isinstance(self.seed, int):
      raise ValueError(f"seed={self.seed!r}: expected an integer")
    if not isinstance(self.z_loss_coef, (int, float)) or self.z_loss_coef < 0:
      raise ValueError(f"TrainConfig.z_loss_coef={self.z_loss_coef!r}: expected a number >= 0")


@dataclasses.dataclass(frozen=True)
class RunConfigs:
  """The validated configs of one run."""
  train: TrainConfig
  optimizer: OptimizerConfig
  model: ModelConfig
  monitor: Thresholds  # the instability monitor's (train/monitor.py); adam_eps, warmup_steps, steps the optimizer's

  def with_vocab_size(self, vocab_size: int) -> "RunConfigs":
    """The dataset's vocabulary size filled in (known only once the dataset is built)."""
    return dataclasses.replace(self, model=dataclasses.replace(self.model, vocab_size=vocab_size))


def from_gin() -> RunConfigs:
  """The configs as the parsed gin binds them, validated (bad values raise ValueError);
  ModelConfig.vocab_size is 0 until with_vocab_size."""
  train = TrainConfig()
  optimizer = OptimizerConfig(steps=train.steps)
  return RunConfigs(train=train, optimizer=optimizer, model=ModelConfig(),
                    monitor=dataclasses.replace(MonitorThresholds(), adam_eps=optimizer.eps,
                                                warmup_steps=optimizer.warmup_steps, steps=optimizer.steps))
