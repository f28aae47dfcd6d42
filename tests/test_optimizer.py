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


def schedule64(cfg: OptimizerConfig, t: int) -> float:
  """learning_rate's formula in float64 (cosine and linear)."""
  if t < cfg.warmup_steps:
    return cfg.lr * t / cfg.warmup_steps
  frac = min(max((t - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1), 0.0), 1.0)
  end = min(cfg.min_lr, cfg.lr)
  shape = 0.5 * (1 + np.cos(np.pi * frac)) if cfg.schedule == "cosine" else 1 - frac
  return end + (cfg.lr - end) * shape


def adamw64(cfg: OptimizerConfig, params: dict, grads_per_step: list[dict]) -> dict:
  """Clipped AdamW with independent decay, step by step in float64 (the paper's rule)."""
  p = {k: np.asarray(v, np.float64) for k, v in params["layer"].items()}
  m = {k: np.zeros_like(v) for k, v in p.items()}
  v = {k: np.zeros_like(x) for k, x in p.items()}
  for t, grads in enumerate(grads_per_step, 1):
    g = {k: np.asarray(x, np.float64) for k, x in grads["layer"].items()}
    norm = np.sqrt(sum(np.sum(x**2) for x in g.values()))
    if norm >= cfg.clip_norm:
      g = {k: x / norm * cfg.clip_norm for k, x in g.items()}
    lr_t = schedule64(cfg, t)
    for k in p:
      m[k] = cfg.b1 * m[k] + (1 - cfg.b1) * g[k]
      v[k] = cfg.b2 * v[k] + (1 - cfg.b2) * g[k]**2
      d = (m[k] / (1 - cfg.b1**t)) / (np.sqrt(v[k] / (1 - cfg.b2**t)) + cfg.eps)
      p[k] = p[k] - (lr_t * d + lr_t / cfg.lr * cfg.decay * p[k])
  return {"layer": p}


def test_one_program_serves_every_float_hyperparameter_and_matches_float64_and_constants():
  """The sweep's floats are traced: one compile, each config's own float64 result, and the same
  update as a program with the floats baked in as constants (the old way) to float32 rounding."""
  configs = [make_cfg(lr=0.1, steps=6, warmup_steps=2, clip_norm=0.5, weight_decay=1e-4),
             make_cfg(lr=0.003, steps=8, warmup_steps=3, min_lr=1e-4, b1=0.8, b2=0.99, eps=1e-6,
                      clip_norm=2.0, weight_decay=0.05),
             make_cfg(lr=1.0, steps=5, warmup_steps=1, schedule="cosine", clip_norm=0.1, weight_decay=0.0)]
  static = configs[0].static
  assert all(c.static == static for c in configs)
  opt = AdamW(static)
  traces = []

  def update(grads, state, params, hyper):
    traces.append(1)
    return opt.update(grads, state, params, hyper)[:2]

  traced = jax.jit(update)
  grads_per_step = [jax.tree.map(lambda g, i=i: g * (i + 1) - 0.02 * i, GRADS) for i in range(5)]
  for cfg in configs:
    constant = jax.jit(lambda g, s, p, hyper=cfg.hyper: opt.update(g, s, p, hyper)[:2])
    p_traced, s_traced = PARAMS, opt.init(PARAMS)
    p_const, s_const = PARAMS, opt.init(PARAMS)
    for grads in grads_per_step:
      p_traced, s_traced = traced(grads, s_traced, p_traced, cfg.hyper)
      p_const, s_const = constant(grads, s_const, p_const)
    chex.assert_trees_all_close(p_traced, p_const, rtol=1e-6, atol=1e-7)
    chex.assert_trees_all_close(p_traced, adamw64(cfg, PARAMS, grads_per_step), rtol=2e-5, atol=1e-6)
  assert len(traces) == 1  # one trace, one compile for all three configs


def test_traced_hyperparameters_are_float32_scalars_and_static_part_keys_programs():
  hyper = make_cfg(clip_norm=None).hyper
  assert all(np.asarray(x).dtype == np.float32 and np.asarray(x).shape == () for x in hyper)
  assert make_cfg(lr=0.1).static == make_cfg(lr=0.2, b2=0.99, steps=50).static
  assert make_cfg().static != make_cfg(clip_norm=None).static
  assert make_cfg().static != make_cfg(schedule="linear").static
  assert float(make_cfg(weight_decay_mode="coupled").hyper.decay) == np.float32(0.1)
