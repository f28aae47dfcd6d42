"""AdamW with independent or coupled weight decay, the paper's schedules and per-layer LR scaling.

For parameters theta, Delta = m_hat / (sqrt(v_hat) + eps) is the Adam update
before learning rate and decay, eta the max LR and s_t = lr_t / eta in [0, 1]
the schedule (Section 3.2.2):
  independent: theta <- theta - s_t * (eta * Delta + lambda * theta)   (paper default, lambda 1e-4)
  coupled:     theta <- theta - s_t * eta * (Delta + lambda * theta)   (optax.adamw, lambda 0.1)
eta is further multiplied per parameter by the muParam multiplier and, with
param_rms_lr_scaling, by max(RMS(theta), 1e-3) (Adafactor, Fig E.14).

The float hyperparameters (Hyper) enter the jitted step as traced float32 scalars and only the
choices that change the program (OptimizerStatic) are compile-time constants, so the units of a
sweep that differ in LR, decay, betas, eps, clip norm or horizon share one compiled program.
"""

import dataclasses
import math
from typing import NamedTuple

import gin
import jax
import jax.numpy as jnp
import numpy as np
import optax

from rundir import fields

SCHEDULES = ("cosine", "linear", "constant", "rsqrt")
WEIGHT_DECAY_MODES = ("independent", "coupled")
DEFAULT_WEIGHT_DECAY = {"independent": 1e-4, "coupled": 0.1}


@gin.configurable(denylist=["steps"])  # TrainConfig.steps, passed by train/configs.py
@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
  """AdamW hyperparameters; defaults are the paper's (Section 2.1)."""

  lr: float = gin.REQUIRED
  steps: int = 0  # TrainConfig.steps, given by train/configs.py (0 is refused)
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
    fields.check(self, "OptimizerConfig")
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

  @property
  def static(self) -> "OptimizerStatic":
    return OptimizerStatic(self.schedule, self.weight_decay_mode, self.param_rms_lr_scaling,
                           self.clip_norm is not None)

  @property
  def hyper(self) -> "Hyper":
    # clip_norm is unused (any value) when the static part says there is no clipping.
    values = (self.lr, self.min_lr, self.decay, self.b1, self.b2, self.eps, self.clip_norm or 1.0,
              self.warmup_steps, self.steps)
    return Hyper(*(np.float32(v) for v in values))


@dataclasses.dataclass(frozen=True)
class OptimizerStatic:
  """The optimizer's choices that change the compiled program: part of the program cache's key."""

  schedule: str
  weight_decay_mode: str
  param_rms_lr_scaling: bool
  clip: bool


class Hyper(NamedTuple):
  """The optimizer's float hyperparameters as float32 scalars: a traced argument of the step."""

  lr: jnp.ndarray
  min_lr: jnp.ndarray
  decay: jnp.ndarray  # lambda
  b1: jnp.ndarray
  b2: jnp.ndarray
  eps: jnp.ndarray
  clip_norm: jnp.ndarray
  warmup_steps: jnp.ndarray  # integers, exact in float32 below 2**24
  steps: jnp.ndarray


def _check_number(name: str, value, positive: bool = False) -> None:
  ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
  if not ok or value < 0 or (positive and value == 0):
    kind = "a positive number" if positive else "a number >= 0"
    raise ValueError(f"OptimizerConfig.{name}={value!r}: expected {kind}")


def learning_rate(schedule: str, hyper: Hyper, step: jnp.ndarray) -> jnp.ndarray:
  """lr_t of update number `step` (1-based): linear warm-up to eta at warmup_steps,
  then decay reaching min_lr at update `steps` (cosine, linear), or constant, or
  eta * sqrt(warmup / t) (rsqrt)."""
  t = jnp.asarray(step, jnp.float32)
  lr, warmup = hyper.lr, hyper.warmup_steps
  end_lr = jnp.minimum(hyper.min_lr, lr)
  frac = jnp.clip((t - warmup) / jnp.maximum(hyper.steps - warmup, 1.0), 0.0, 1.0)
  if schedule == "cosine":
    decayed = end_lr + (lr - end_lr) * 0.5 * (1.0 + jnp.cos(jnp.pi * frac))
  elif schedule == "linear":
    decayed = end_lr + (lr - end_lr) * (1.0 - frac)
  elif schedule == "constant":
    decayed = jnp.full_like(t, lr)
  else:
    decayed = lr * jnp.sqrt(jnp.maximum(warmup, 1.0) / jnp.maximum(t, jnp.maximum(warmup, 1.0)))
  # t >= 1, so without warm-up (warmup 0) the decayed value is always the one taken.
  return jnp.where(t < warmup, lr * t / jnp.maximum(warmup, 1.0), decayed)


class OptState(NamedTuple):
  count: jnp.ndarray  # updates applied so far
  adam: optax.OptState  # clipping + Adam moments


class AdamW:
  """optax's clipping and Adam moments, then the paper's update rule applied by hand.

  Doing the last step here (not in an optax chain) exposes Delta, which the
  trainer logs as the unscaled update RMS.
  """

  def __init__(self, static: OptimizerStatic, lr_multipliers=None):
    self.static = static
    self.lr_multipliers = lr_multipliers

  def _moments(self, hyper: Hyper) -> optax.GradientTransformation:
    clip = [optax.clip_by_global_norm(hyper.clip_norm)] if self.static.clip else []
    return optax.chain(*clip, optax.scale_by_adam(b1=hyper.b1, b2=hyper.b2, eps=hyper.eps))

  def init(self, params) -> OptState:
    # The moments' initial state (zeros) depends on no hyperparameter's value.
    placeholder = Hyper(*([np.float32(0.5)] * len(Hyper._fields)))
    return OptState(count=jnp.zeros([], jnp.int32), adam=self._moments(placeholder).init(params))

  def update(self, grads, state: OptState, params, hyper: Hyper):
    """Returns (new_params, new_state, delta, lr_t)."""
    static = self.static
    delta, adam_state = self._moments(hyper).update(grads, state.adam, params)
    count = state.count + 1
    lr = learning_rate(static.schedule, hyper, count)
    schedule = lr / hyper.lr
    multipliers = self.lr_multipliers or jax.tree.map(lambda _: 1.0, params)

    def new_param(p, d, mult):
      eta = lr * mult
      if static.param_rms_lr_scaling:
        eta = eta * jnp.maximum(jnp.sqrt(jnp.mean(jnp.square(p))), 1e-3)
      if static.weight_decay_mode == "independent":
        return p - (eta * d + schedule * hyper.decay * p)
      return p - eta * (d + hyper.decay * p)

    new_params = jax.tree.map(new_param, params, delta, multipliers)
    return new_params, OptState(count=count, adam=adam_state), delta, lr
