"""AdamW with independent or coupled weight decay, the paper's schedules and per-layer LR scaling.

For parameters theta, Delta = m_hat / (sqrt(v_hat) + eps) is the Adam update
before learning rate and decay, eta the max LR and s_t = lr_t / eta in [0, 1]
the schedule (Section 3.2.2):
  independent: theta <- theta - s_t * (eta * Delta + lambda * theta)   (paper default, lambda 1e-4)
  coupled:     theta <- theta - s_t * eta * (Delta + lambda * theta)   (optax.adamw, lambda 0.1)
eta is further multiplied per parameter by the muParam multiplier and, with
param_rms_lr_scaling, by max(RMS(theta), 1e-3) (Adafactor, Fig E.14).
"""

import dataclasses
import math
from typing import NamedTuple

import gin
import jax
import jax.numpy as jnp
import optax

SCHEDULES = ("cosine", "linear", "constant", "rsqrt")
WEIGHT_DECAY_MODES = ("independent", "coupled")
DEFAULT_WEIGHT_DECAY = {"independent": 1e-4, "coupled": 0.1}


@gin.configurable
@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
  """AdamW hyperparameters; defaults are the paper's (Section 2.1)."""

  lr: float = gin.REQUIRED
  steps: int = gin.REQUIRED
  warmup_steps: int = gin.REQUIRED
  schedule: str = "cosine"
  min_lr: float = 1e-5
  b1: float = 0.9
  b2: float = 0.95
  eps: float = 1e-8
  clip_norm: float | None = 1.0
  weight_decay_mode: str = "independent"
  weight_decay: float | None = None
  param_rms_lr_scaling: bool = False

  def __post_init__(self):
    _check_number("lr", self.lr, positive=True)
    _check_number("min_lr", self.min_lr)
    _check_number("eps", self.eps)
    for name in ("b1", "b2"):
      value = getattr(self, name)
      if not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"OptimizerConfig.{name}={value!r}: expected a number in [0, 1)")
    if not isinstance(self.steps, int) or self.steps < 1:
      raise ValueError(f"steps={self.steps!r}: expected a positive integer")
    if not isinstance(self.warmup_steps, int) or not 0 <= self.warmup_steps <= self.steps:
      raise ValueError(f"warmup_steps={self.warmup_steps!r}: expected an integer in [0, steps={self.steps}]")
    if self.schedule not in SCHEDULES:
      raise ValueError(f"OptimizerConfig.schedule={self.schedule!r}: expected one of {', '.join(SCHEDULES)}")
    if self.weight_decay_mode not in WEIGHT_DECAY_MODES:
      raise ValueError(f"OptimizerConfig.weight_decay_mode={self.weight_decay_mode!r}: "
                       f"expected one of {', '.join(WEIGHT_DECAY_MODES)}")
    if self.weight_decay is not None:
      _check_number("weight_decay", self.weight_decay)
    if self.clip_norm is not None:
      _check_number("clip_norm", self.clip_norm, positive=True)

  @property
  def decay(self) -> float:
    """lambda: the bound value, else the paper's default for the mode."""
    return DEFAULT_WEIGHT_DECAY[self.weight_decay_mode] if self.weight_decay is None else self.weight_decay


def _check_number(name: str, value, positive: bool = False) -> None:
  ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
  if not ok or value < 0 or (positive and value == 0):
    kind = "a positive number" if positive else "a number >= 0"
    raise ValueError(f"OptimizerConfig.{name}={value!r}: expected {kind}")


def learning_rate(cfg: OptimizerConfig, step: jnp.ndarray) -> jnp.ndarray:
  """lr_t of update number `step` (1-based): linear warm-up to eta at warmup_steps,
  then decay reaching min_lr at update `steps` (cosine, linear), or constant, or
  eta * sqrt(warmup / t) (rsqrt)."""
  t = jnp.asarray(step, jnp.float32)
  warmup = cfg.warmup_steps
  end_lr = min(cfg.min_lr, cfg.lr)
  frac = jnp.clip((t - warmup) / max(cfg.steps - warmup, 1), 0.0, 1.0)
  if cfg.schedule == "cosine":
    decayed = end_lr + (cfg.lr - end_lr) * 0.5 * (1.0 + jnp.cos(jnp.pi * frac))
  elif cfg.schedule == "linear":
    decayed = end_lr + (cfg.lr - end_lr) * (1.0 - frac)
  elif cfg.schedule == "constant":
    decayed = jnp.full_like(t, cfg.lr)
  else:
    decayed = cfg.lr * jnp.sqrt(max(warmup, 1) / jnp.maximum(t, max(warmup, 1)))
  if warmup == 0:
    return decayed
  return jnp.where(t < warmup, cfg.lr * t / warmup, decayed)


class OptState(NamedTuple):
  count: jnp.ndarray  # updates applied so far
  adam: optax.OptState  # clipping + Adam moments


class AdamW:
  """optax's clipping and Adam moments, then the paper's update rule applied by hand.

  Doing the last step here (not in an optax chain) exposes Delta, which the
  trainer logs as the unscaled update RMS.
  """

  def __init__(self, cfg: OptimizerConfig, lr_multipliers=None):
    self.cfg = cfg
    self.lr_multipliers = lr_multipliers
    clip = [optax.clip_by_global_norm(cfg.clip_norm)] if cfg.clip_norm else []
    self._adam = optax.chain(*clip, optax.scale_by_adam(b1=cfg.b1, b2=cfg.b2, eps=cfg.eps))

  def init(self, params) -> OptState:
    return OptState(count=jnp.zeros([], jnp.int32), adam=self._adam.init(params))

  def update(self, grads, state: OptState, params):
    """Returns (new_params, new_state, delta, lr_t)."""
    cfg = self.cfg
    delta, adam_state = self._adam.update(grads, state.adam, params)
    count = state.count + 1
    lr = learning_rate(cfg, count)
    schedule = lr / cfg.lr
    multipliers = self.lr_multipliers or jax.tree.map(lambda _: 1.0, params)

    def new_param(p, d, mult):
      eta = lr * mult
      if cfg.param_rms_lr_scaling:
        eta = eta * jnp.maximum(jnp.sqrt(jnp.mean(jnp.square(p))), 1e-3)
      if cfg.weight_decay_mode == "independent":
        return p - (eta * d + schedule * cfg.decay * p)
      return p - eta * (d + cfg.decay * p)

    new_params = jax.tree.map(new_param, params, delta, multipliers)
    return new_params, OptState(count=count, adam=adam_state), delta, lr
