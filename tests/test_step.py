"""The jitted train step: its logged RMS metrics against independent references, and muParam at its
base width against the standard model."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from model.config import ModelConfig
from model.params import mup_lr_multipliers, named_leaves
from train.loss import cross_entropy_and_z_loss
from train.optimizer import AdamW, OptimizerConfig
from train.step import StepHyper, make_init, make_train_step, transformed_model

B, L, V = 2, 16, 64
Z_LOSS = 1e-4


def batch(seed: int = 0) -> dict[str, jnp.ndarray]:
  tokens_BL = jax.random.randint(jax.random.PRNGKey(seed), (B, L + 1), 0, V)
  return {"inputs": tokens_BL[:, :-1], "targets": tokens_BL[:, 1:], "weights": jnp.ones((B, L))}


def setup(cfg: ModelConfig, **opt_overrides):
  """(model, optimizer, jitted step of (state, batch), initial state) as train/programs.py builds them."""
  model = transformed_model(cfg)
  opt_cfg = OptimizerConfig(**{"lr": 1e-2, "steps": 10, "warmup_steps": 2, **opt_overrides})
  abstract = jax.eval_shape(make_init(model, AdamW(opt_cfg.static), L), jax.random.PRNGKey(0))
  optimizer = AdamW(opt_cfg.static, mup_lr_multipliers(cfg, abstract.params))
  state = jax.jit(make_init(model, optimizer, L))(jax.random.PRNGKey(0))
  step = jax.jit(make_train_step(model, optimizer))
  hyper = StepHyper(opt_cfg.hyper, np.float32(Z_LOSS))
  return model, optimizer, lambda state, batch: step(state, batch, hyper), state


def rms(x) -> float:
  return float(np.sqrt(np.mean(np.square(np.asarray(x, np.float64)))))


def test_grad_update_and_param_rms_match_independent_references():
  cfg = ModelConfig(vocab_size=V, d_model=32, num_layers=2, num_heads=2)
  model, _, step, state = setup(cfg, clip_norm=1.0, eps=1e-8)
  data = batch()

  def loss(params):
    logits_BLV, _ = model.apply(params, data["inputs"])
    ce, z = cross_entropy_and_z_loss(logits_BLV, data["targets"], data["weights"], Z_LOSS)
    return ce + z

  grads = {p: np.asarray(g, np.float64) for p, g in named_leaves(jax.grad(loss)(state.params)).items()}
  # Adam's first update from zero moments after clipping at global norm 1: Delta = g_c / (|g_c| + eps).
  norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads.values()))
  clipped = {p: g * min(1.0, 1.0 / norm) for p, g in grads.items()}
  deltas = {p: g / (np.abs(g) + 1e-8) for p, g in clipped.items()}
  params_before = named_leaves(state.params)

  _, metrics = step(state, data)
  np.testing.assert_allclose(float(metrics["grad/global_norm"]), norm, rtol=1e-4)
  for path in grads:
    np.testing.assert_allclose(float(metrics[f"grad/rms/{path}"]), rms(grads[path]), rtol=1e-4, err_msg=path)
    np.testing.assert_allclose(float(metrics[f"update/rms/{path}"]), rms(deltas[path]), rtol=1e-4,
                               err_msg=path)
    np.testing.assert_allclose(float(metrics[f"param/rms/{path}"]), rms(params_before[path]), rtol=1e-5,
                               err_msg=path)
  # The three differ: a metric computed from the wrong tree would not pass by coincidence.
  path = "block_0/mlp/dense_out/w"
  assert len({round(rms(t[path]), 6) for t in (grads, deltas, params_before)}) == 3


@pytest.mark.parametrize("variant", ["simple", "intermediate"])
def test_mup_at_its_base_width_trains_bit_identically_to_the_standard_model(variant):
  """Section 3.2.4: base fan-in is each layer's fan-in at width 256, so muParam (simple, intermediate)
  at d=256 is the standard model. (Full also changes the attention scale and zero-inits queries.)"""
  runs = []
  for mup in ("none", variant):
    cfg = ModelConfig(vocab_size=V, d_model=256, num_layers=1, num_heads=4, mup=mup)
    _, _, step, state = setup(cfg)
    for i in range(3):
      state, metrics = step(state, batch(i))
    runs.append((state.params, metrics))
  (params_none, metrics_none), (params_mup, metrics_mup) = runs
  jax.tree.map(np.testing.assert_array_equal, params_none, params_mup)
  jax.tree.map(np.testing.assert_array_equal, metrics_none, metrics_mup)

