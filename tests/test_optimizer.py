"""AdamW variants against the paper's formulas, schedules, and loss terms against float64."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from train.loss import cross_entropy_and_z_loss
from train.optimizer import AdamW, OptimizerConfig, learning_rate


def make_cfg(**overrides) -> OptimizerConfig:
  fields = dict(lr=0.1, steps=100, warmup_steps=10)
  fields.update(overrides)
  return OptimizerConfig(**fields)


class Configured:
  """AdamW of a config: its static part built in, its float hyperparameters passed to every update."""

  def __init__(self, cfg: OptimizerConfig, lr_multipliers=None):
    self.opt, self.hyper = AdamW(cfg.static, lr_multipliers), cfg.hyper

  def init(self, params):
    return self.opt.init(params)

  def update(self, grads, state, params):
    return self.opt.update(grads, state, params, self.hyper)


def lr_at(cfg: OptimizerConfig, step) -> jnp.ndarray:
  return learning_rate(cfg.schedule, cfg.hyper, step)


PARAMS = {"layer": {"w": jnp.array([[0.5, -1.0], [2.0, 0.25]]), "scale": jnp.array([1.0, -3.0])}}
GRADS = {"layer": {"w": jnp.array([[0.1, 0.2], [-0.3, 0.05]]), "scale": jnp.array([1e-3, -2e-3])}}


def adam_delta(g: np.ndarray, eps: float) -> np.ndarray:
  """Delta after one step from zero moments: m_hat = g, v_hat = g^2 (bias-corrected)."""
  return g / (np.abs(g) + eps)


@pytest.mark.parametrize("mode", ["independent", "coupled"])
def test_one_step_matches_the_paper_formula(mode):
  cfg = make_cfg(weight_decay_mode=mode, warmup_steps=4, clip_norm=None)
  opt = Configured(cfg)
  new_params, state, delta, lr = opt.update(GRADS, opt.init(PARAMS), PARAMS)
  lam = {"independent": 1e-4, "coupled": 0.1}[mode]
  lr_1 = 0.1 * 1 / 4  # first update of a 4-step linear warm-up
  np.testing.assert_allclose(lr, lr_1, rtol=1e-6)
  for name in ("w", "scale"):
    theta = np.asarray(PARAMS["layer"][name], np.float64)
    d = adam_delta(np.asarray(GRADS["layer"][name], np.float64), 1e-8)
    s_t = lr_1 / 0.1
    if mode == "independent":
      expected = theta - s_t * (0.1 * d + lam * theta)
    else:
      expected = theta - s_t * 0.1 * (d + lam * theta)
    np.testing.assert_allclose(new_params["layer"][name], expected, rtol=1e-5)
    np.testing.assert_allclose(delta["layer"][name], d, rtol=1e-5)
  assert int(state.count) == 1


def test_coupled_decay_equals_optax_adamw_over_several_steps():
  cfg = make_cfg(weight_decay_mode="coupled", clip_norm=None)
  ours = Configured(cfg)
  reference = optax.adamw(lambda count: lr_at(cfg, count + 1), b1=0.9, b2=0.95, eps=1e-8,
                          weight_decay=0.1)
  p_ours, s_ours = PARAMS, ours.init(PARAMS)
  p_ref, s_ref = PARAMS, reference.init(PARAMS)
  for i in range(5):
    grads = jax.tree.map(lambda g: g * (i + 1) - 0.01 * i, GRADS)
    p_ours, s_ours, _, _ = ours.update(grads, s_ours, p_ours)
    updates, s_ref = reference.update(grads, s_ref, p_ref)
    p_ref = optax.apply_updates(p_ref, updates)
  chex.assert_trees_all_close(p_ours, p_ref, rtol=1e-5)


def test_clipping_and_lr_multipliers_and_rms_scaling():
  big = jax.tree.map(lambda g: 100 * g, GRADS)
  cfg = make_cfg(warmup_steps=0, schedule="constant", weight_decay=0.0)
  clipped = Configured(cfg)
  unclipped = Configured(make_cfg(warmup_steps=0, schedule="constant", weight_decay=0.0, clip_norm=None))
  # Adam is scale-invariant at step 1, so clipping only shows after the second step.
  p1, s1, _, _ = clipped.update(big, clipped.init(PARAMS), PARAMS)
  p1, s1, d_clip, _ = clipped.update(GRADS, s1, p1)
  q1, r1, _, _ = unclipped.update(big, unclipped.init(PARAMS), PARAMS)
  q1, r1, d_unclip, _ = unclipped.update(GRADS, r1, q1)
  assert not np.allclose(d_clip["layer"]["w"], d_unclip["layer"]["w"])

  multipliers = {"layer": {"w": 0.25, "scale": 1.0}}
  scaled = Configured(cfg, multipliers)
  p_scaled, _, delta, _ = scaled.update(GRADS, scaled.init(PARAMS), PARAMS)
  np.testing.assert_allclose(p_scaled["layer"]["w"], PARAMS["layer"]["w"] - 0.1 * 0.25 * delta["layer"]["w"],
                             rtol=1e-6)

  rms_cfg = make_cfg(warmup_steps=0, schedule="constant", weight_decay=0.0, param_rms_lr_scaling=True)
  rms_opt = Configured(rms_cfg)
  p_rms, _, delta, _ = rms_opt.update(GRADS, rms_opt.init(PARAMS), PARAMS)
  rms_w = np.sqrt(np.mean(np.square(PARAMS["layer"]["w"])))
  np.testing.assert_allclose(p_rms["layer"]["w"], PARAMS["layer"]["w"] - 0.1 * rms_w * delta["layer"]["w"],
                             rtol=1e-6)


@pytest.mark.parametrize("schedule", ["cosine", "linear", "constant", "rsqrt"])
def test_schedule_values(schedule):
  cfg = make_cfg(lr=0.3, steps=1000, warmup_steps=100, schedule=schedule)
  lr = lambda t: float(lr_at(cfg, t))
  np.testing.assert_allclose(lr(50), 0.15, rtol=1e-6)  # linear warm-up
  np.testing.assert_allclose(lr(100), 0.3, rtol=1e-6)  # peak at the end of warm-up
  expected_last = {"cosine": 1e-5, "linear": 1e-5, "constant": 0.3, "rsqrt": 0.3 * np.sqrt(100 / 1000)}
  np.testing.assert_allclose(lr(1000), expected_last[schedule], rtol=1e-5)
  if schedule == "cosine":
    np.testing.assert_allclose(lr(550), 1e-5 + (0.3 - 1e-5) * 0.5, rtol=1e-5)  # half-way
  if schedule == "linear":
    np.testing.assert_allclose(lr(550), 0.3 + (1e-5 - 0.3) * 0.5, rtol=1e-5)


@pytest.mark.parametrize("bad,message", [
    (dict(lr=-1.0), "OptimizerConfig.lr=-1.0"),
    (dict(lr="abc"), "OptimizerConfig.lr='abc'"),
    (dict(schedule="cos"), "OptimizerConfig.schedule='cos'"),
    (dict(weight_decay_mode="decoupled"), "weight_decay_mode='decoupled'"),
    (dict(warmup_steps=1000), "warmup_steps=1000"),
    (dict(b2=1.5), "OptimizerConfig.b2=1.5"),
])
def test_bad_optimizer_config(bad, message):
  with pytest.raises(ValueError) as info:
    make_cfg(**bad)
  assert message in str(info.value).splitlines()[0]


def test_cross_entropy_and_z_loss_against_float64():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(2, 3, 5)) * 3
  targets = rng.integers(0, 5, size=(2, 3))
  weights = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
  log_z = np.log(np.exp(logits).sum(-1))
  nll = log_z - np.take_along_axis(logits, targets[..., None], -1)[..., 0]
  expected_ce = (nll * weights).sum() / weights.sum()
  expected_z = 1e-4 * (log_z**2 * weights).sum() / weights.sum()
  ce, z = cross_entropy_and_z_loss(jnp.asarray(logits, jnp.float32), jnp.asarray(targets),
                                   jnp.asarray(weights, jnp.float32), 1e-4)
  np.testing.assert_allclose(ce, expected_ce, rtol=1e-5)
  np.testing.assert_allclose(z, expected_z, rtol=1e-5)
  _, no_z = cross_entropy_and_z_loss(jnp.asarray(logits), jnp.asarray(targets), jnp.asarray(weights), 0.0)
  assert float(no_z) == 0.0
