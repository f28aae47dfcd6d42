"""Model tests: shapes, causality, rotary, qk-LN variants, characteristics, init and muParam."""

import math

import chex
import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from model.config import ModelConfig
from model.params import count_params, mup_lr_multipliers, named_leaves, path_of
from model.rotary import apply_rotary
from model.transformer import Attention, Block, Decoder, Dense, Head, Mlp, head_init_scale

B, L, V = 2, 12, 50


def make_cfg(**overrides) -> ModelConfig:
  fields = dict(vocab_size=V, d_model=32, num_layers=2, num_heads=2)
  fields.update(overrides)
  return ModelConfig(**fields)


def init_apply(cfg: ModelConfig, inputs_BL, seed: int = 0, **kwargs):
  model = hk.without_apply_rng(hk.transform(lambda x, **kw: Decoder(cfg)(x, **kw)))
  params = model.init(jax.random.PRNGKey(seed), inputs_BL, **kwargs)
  return params, model.apply(params, inputs_BL, **kwargs)


def tokens(seed: int = 0):
  return jax.random.randint(jax.random.PRNGKey(seed), (B, L), 0, V)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_module_shapes_and_dtypes(dtype):
  cfg = make_cfg(compute_dtype=dtype)
  jdtype = jnp.dtype(dtype)
  x_BLD = jnp.ones((B, L, cfg.d_model), jdtype)
  pos_BL = jnp.broadcast_to(jnp.arange(L), (B, L))
  mask_BLM = jnp.broadcast_to(jnp.tril(jnp.ones((L, L), bool)), (B, L, L))
  for module_fn, expected_shape in [
      (lambda: Dense(7)(x_BLD), (B, L, 7)),
      (lambda: Mlp(cfg)(x_BLD), (B, L, cfg.d_model)),
      (lambda: Attention(cfg)(x_BLD, pos_BL, mask_BLM)[0], (B, L, cfg.d_model)),
      (lambda: Block(cfg, name="block_0")(x_BLD, pos_BL, mask_BLM)[0], (B, L, cfg.d_model)),
  ]:
    f = hk.transform(module_fn)
    params = f.init(jax.random.PRNGKey(0))
    out = f.apply(params, None)
    chex.assert_shape(out, expected_shape)
    chex.assert_type(out, jdtype)
    for leaf in jax.tree.leaves(params):
      chex.assert_type(leaf, jnp.float32)  # parameters stay float32 whatever the compute dtype
  params, (logits_BLV, metrics) = init_apply(cfg, tokens())
  chex.assert_shape(logits_BLV, (B, L, V))
  chex.assert_type(logits_BLV, jnp.float32)
  chex.assert_tree_all_finite(metrics)
  for i in range(cfg.num_layers):
    for key in ("attn/max_logit", "attn/q_rms", "attn/k_rms", "attn/qk_cosine", "block/out_rms"):
      chex.assert_shape(metrics[f"{key}/block_{i}"], ())


def test_bfloat16_forward_is_close_to_float32_with_float32_logits():
  """The paper's bfloat16 compute really runs in bfloat16 on the CPU (the logits differ from float32's,
  by less than a tenth of their std), and returns float32 logits and finite characteristics."""
  x = tokens()
  params, (logits32_BLV, _) = init_apply(make_cfg(compute_dtype="float32"), x)
  model = hk.without_apply_rng(hk.transform(lambda t: Decoder(make_cfg(compute_dtype="bfloat16"))(t)))
  logits16_BLV, metrics = model.apply(params, x)
  chex.assert_type(logits16_BLV, jnp.float32)
  chex.assert_tree_all_finite((logits16_BLV, metrics))
  error = float(jnp.max(jnp.abs(logits16_BLV - logits32_BLV)))
  assert 1e-4 < error < 0.1 * float(jnp.std(logits32_BLV)), error  # observed ~0.04 with std ~1


def test_param_paths_and_counts():
  cfg = make_cfg(num_layers=3, d_model=64, num_heads=1)
  params, _ = init_apply(cfg, tokens())
  shapes = {k: v.shape for k, v in named_leaves(params).items()}
  assert shapes["embed/embeddings"] == (V, 64)
  assert shapes["head/w"] == (V, 64)
  assert shapes["block_2/mlp/dense_in/w"] == (64, 256)
  assert shapes["block_0/attn/query_norm/scale"] == (64,)
  total, non_embedding = count_params(params)
  assert total == sum(int(np.prod(s)) for s in shapes.values())
  # 12 L d^2 plus the LayerNorm scales (2 per block, q/k norms, final).
  assert non_embedding == 12 * 3 * 64**2 + 3 * (2 * 64 + 2 * 64) + 64


def test_causality_future_tokens_never_change_earlier_logits():
  cfg = make_cfg()
  x = tokens()
  params, (logits, _) = init_apply(cfg, x)
  model = hk.without_apply_rng(hk.transform(lambda t: Decoder(cfg)(t)))
  t = 7
  changed = x.at[:, t:].set((x[:, t:] + 1) % V)
  logits_changed, _ = model.apply(params, changed)
  np.testing.assert_allclose(logits[:, :t], logits_changed[:, :t], atol=1e-5)
  assert not np.allclose(logits[:, t:], logits_changed[:, t:], atol=1e-3)


def test_segment_ids_block_attention_across_documents():
  cfg = make_cfg()
  x = tokens()
  seg = jnp.array([[1] * 5 + [2] * 7] * B)
  pos = jnp.concatenate([jnp.arange(5), jnp.arange(7)])[None].repeat(B, 0)
  params, (logits, _) = init_apply(cfg, x, positions_BL=pos, segment_ids_BL=seg)
  model = hk.without_apply_rng(hk.transform(lambda t, **kw: Decoder(cfg)(t, **kw)))
  other_first_doc = x.at[:, :5].set((x[:, :5] + 3) % V)
  logits2, _ = model.apply(params, other_first_doc, positions_BL=pos, segment_ids_BL=seg)
  np.testing.assert_allclose(logits[:, 5:], logits2[:, 5:], atol=1e-5)  # doc 2 never sees doc 1


def test_rotary_depends_only_on_relative_position():
  q = jax.random.normal(jax.random.PRNGKey(1), (1, 1, 1, 8))
  k = jax.random.normal(jax.random.PRNGKey(2), (1, 1, 1, 8))

  def dot(m, n):
    rq = apply_rotary(q, jnp.array([[m]]))
    rk = apply_rotary(k, jnp.array([[n]]))
    return float(jnp.sum(rq * rk))

  np.testing.assert_allclose(dot(3, 1), dot(10, 8), rtol=1e-5)
  np.testing.assert_allclose(dot(0, 0), float(jnp.sum(q * k)), rtol=1e-5)
  assert abs(dot(3, 1) - dot(3, 2)) > 1e-3
  np.testing.assert_allclose(jnp.linalg.norm(apply_rotary(q, jnp.array([[5]]))), jnp.linalg.norm(q), rtol=1e-5)


@pytest.mark.parametrize("variant,shape", [("per_head", (16,)), ("full", (32,)), ("none", None)])
def test_qk_layernorm_parameter_shapes(variant, shape):
  cfg = make_cfg(qk_layernorm=variant)  # 2 heads of 16
  params, (_, metrics) = init_apply(cfg, tokens())
  leaves = named_leaves(params)
  if shape is None:
    assert not any("query_norm" in p or "key_norm" in p for p in leaves)
  else:
    assert leaves["block_0/attn/query_norm/scale"].shape == shape
    assert leaves["block_1/attn/key_norm/scale"].shape == shape
  if variant != "none":  # LayerNorm with unit scale: per-vector RMS 1
    np.testing.assert_allclose(metrics["attn/q_rms/block_0"], 1.0, atol=1e-3)


def _reference_logits(params, x) -> np.ndarray:
  """Block-0 attention logits in float64 numpy, from the parameters alone."""
  p = {k: np.asarray(v, np.float64) for k, v in named_leaves(params).items()}
  h = p["embed/embeddings"][np.asarray(x)]
  h = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-6) * p["block_0/attn_norm/scale"]
  pos = jnp.broadcast_to(jnp.arange(L), (B, L))
  q, k = [np.asarray(apply_rotary(jnp.asarray((h @ p[f"block_0/attn/{n}/w"]).reshape(B, L, 2, 16),
                                              jnp.float32), pos), np.float64) for n in ("query", "key")]
  return np.einsum("blhk,bmhk->bhlm", q, k) / 4.0


def test_max_attention_logit_matches_numpy_reference():
  cfg = make_cfg(num_layers=1, num_heads=2, qk_layernorm="none")
  causal = np.tril(np.ones((L, L), bool))
  masked_max_differs = False
  for seed in range(5):
    x = tokens(seed)
    params, (_, metrics) = init_apply(cfg, x, seed=seed)
    logits = _reference_logits(params, x)
    np.testing.assert_allclose(metrics["attn/max_logit/block_0"], logits[..., causal].max(), rtol=1e-4)
    masked_max_differs |= logits.max() > logits[..., causal].max() + 1e-3
  assert masked_max_differs  # some seed has its largest logit at a masked (future) position


def _per_head_layer_norm(z_BLHK: np.ndarray, scale_K: np.ndarray) -> np.ndarray:
  mean = z_BLHK.mean(-1, keepdims=True)
  return (z_BLHK - mean) / np.sqrt(z_BLHK.var(-1, keepdims=True) + 1e-6) * scale_K


def test_per_head_qk_layernorm_normalises_each_head_on_its_own():
  """Per-head qk-LN takes mean and variance per (b, l, h) over the head dim only (Fig E.8): checked
  against a float64 numpy attention on inputs whose heads differ in offset and scale."""
  cfg = make_cfg(num_heads=2, qk_layernorm="per_head")  # 2 heads of 16
  H, K = 2, 16
  x_BLD = jax.random.normal(jax.random.PRNGKey(3), (B, L, cfg.d_model)) + 2.0  # an offset per head
  pos_BL = jnp.broadcast_to(jnp.arange(L), (B, L))
  mask_BLM = jnp.broadcast_to(jnp.tril(jnp.ones((L, L), bool)), (B, L, L))
  attn = hk.without_apply_rng(hk.transform(lambda x: Attention(cfg)(x, pos_BL, mask_BLM)))
  params = attn.init(jax.random.PRNGKey(0), x_BLD)
  head_gain_X = jnp.repeat(jnp.array([1.0, 30.0]), K)  # head 1's queries and keys 30x head 0's
  params = {m: {n: (v * head_gain_X if m.endswith(("query", "key")) else v) for n, v in ps.items()}
            for m, ps in params.items()}
  query_norm = next(m for m in params if m.endswith("query_norm"))
  params[query_norm]["scale"] = jnp.linspace(0.5, 1.5, K)
  (out_BLD, metrics) = attn.apply(params, x_BLD)

  p = {path_of(m, n): np.asarray(v, np.float64) for m, ps in params.items() for n, v in ps.items()}
  x = np.asarray(x_BLD, np.float64)
  q, k = [_per_head_layer_norm((x @ p[f"attn/{n}/w"]).reshape(B, L, H, K), p[f"attn/{n}_norm/scale"])
          for n in ("query", "key")]
  q, k = [np.asarray(apply_rotary(jnp.asarray(z, jnp.float32), pos_BL), np.float64) for z in (q, k)]
  logits_BHLM = np.einsum("blhk,bmhk->bhlm", q, k) / np.sqrt(K)
  causal = np.tril(np.ones((L, L), bool))
  logits_BHLM = np.where(causal, logits_BHLM, -np.inf)
  weights_BHLM = np.exp(logits_BHLM - logits_BHLM.max(-1, keepdims=True))
  weights_BHLM /= weights_BHLM.sum(-1, keepdims=True)
  v = (x @ p["attn/value/w"]).reshape(B, L, H, K)
  expected_BLD = np.einsum("bhlm,bmhk->blhk", weights_BHLM, v).reshape(B, L, H * K) @ p["attn/out/w"]
  np.testing.assert_allclose(metrics["max_logit"], logits_BHLM.max(), rtol=1e-4)
  np.testing.assert_allclose(out_BLD, expected_BLD, rtol=1e-3, atol=1e-4)


def test_kappa_sets_query_and_key_rms():
  cfg = make_cfg(kappa=100.0)
  _, (_, metrics) = init_apply(cfg, tokens())
  np.testing.assert_allclose(metrics["attn/q_rms/block_0"], 10.0, rtol=1e-3)
  np.testing.assert_allclose(metrics["attn/k_rms/block_1"], 10.0, rtol=1e-3)
  # logit = kappa sqrt(d_h) cos(q, k): bounded by 4 kappa at d_h = 16, ~N(0, kappa^2) at init.
  assert 100.0 < metrics["attn/max_logit/block_0"] <= 100.0 * 4 * (1 + 1e-5)


def test_pointwise_attention_and_bigram_run():
  _, (logits, metrics) = init_apply(make_cfg(attention="squared_relu"), tokens())
  chex.assert_tree_all_finite((logits, metrics))
  params, (logits, metrics) = init_apply(make_cfg(num_layers=0), tokens())
  assert set(named_leaves(params)) == {"embed/embeddings", "final_norm/scale", "head/w"}
  assert set(metrics) == {"logits/mean", "logits/log_z"}
  chex.assert_shape(logits, (B, L, V))


def test_initialisation_statistics():
  cfg = make_cfg(d_model=256, num_heads=4, num_layers=1)
  params, _ = init_apply(cfg, tokens())
  leaves = named_leaves(params)
  np.testing.assert_allclose(np.std(leaves["embed/embeddings"]), 1 / 16, rtol=0.05)
  w = leaves["block_0/mlp/dense_in/w"]  # truncated normal, std 1/sqrt(fan_in) after truncation
  np.testing.assert_allclose(np.std(w), 1 / 16, rtol=0.03)
  assert np.abs(w).max() <= 2 / 16 * 1.14  # truncated at 2 std of the underlying normal
  np.testing.assert_allclose(np.std(leaves["block_0/mlp/dense_out/w"]), 1 / 32, rtol=0.03)


def test_mup_variants():
  for variant in ("simple", "intermediate", "full"):
    cfg = make_cfg(d_model=128, num_heads=2, mup_base_width=32, mup=variant)
    params, _ = init_apply(cfg, tokens())
    mult = named_leaves(mup_lr_multipliers(cfg, params))
    # Each layer's base fan-in is its fan-in at width 32: dense_out's is 4 x 32, not 32.
    for path in ("attn/query/w", "attn/key/w", "attn/value/w", "attn/out/w", "mlp/dense_in/w",
                 "mlp/dense_out/w"):
      assert mult[f"block_0/{path}"] == 32 / 128, path
    assert mult["head/w"] == 32 / 128
    assert mult["embed/embeddings"] == 1.0 and mult["final_norm/scale"] == 1.0
    head_std = np.std(named_leaves(params)["head/w"])
    expected = math.sqrt(32 / 128) / math.sqrt(128) if variant != "simple" else 1 / math.sqrt(128)
    np.testing.assert_allclose(head_std, expected, rtol=0.1)
    query = named_leaves(params)["block_0/attn/query/w"]
    assert (np.all(query == 0)) == (variant == "full")
    assert cfg.logit_scale == (1 / 64 if variant == "full" else 1 / 8)


@pytest.mark.parametrize("mup", ["none", "simple", "intermediate", "full"])
@pytest.mark.parametrize("d_head", [None, 16])
def test_mup_multipliers_are_exactly_one_at_the_base_width(mup, d_head):
  cfg = make_cfg(d_model=64, num_heads=2, d_head=d_head, mup_base_width=64, mup=mup)
  params, _ = init_apply(cfg, tokens())
  assert set(jax.tree.leaves(mup_lr_multipliers(cfg, params))) == {1.0}
  assert head_init_scale(cfg) == 1.0


@pytest.mark.parametrize("bad,message", [
    (dict(num_heads=3), "num_heads=3 does not divide d_model=32"),
    (dict(qk_layernorm="yes"), "qk_layernorm='yes'"),
    (dict(mup="huge"), "mup='huge'"),
    (dict(num_layers=-1), "num_layers=-1"),
    (dict(kappa=-1.0), "kappa=-1.0"),
])
def test_bad_model_config_raises_one_line(bad, message):
  with pytest.raises(ValueError) as info:
    make_cfg(**bad)
  assert message in str(info.value).splitlines()[0]  # gin appends its context on later lines


def test_head_is_the_old_dense_transposed():
  """The (V, D) head draws the (D, V) Dense kernel's values transposed and computes the same logits."""
  x_BLD = jax.random.normal(jax.random.PRNGKey(3), (B, L, 16))
  run = lambda module: hk.without_apply_rng(hk.transform(lambda x: module()(x)))
  head = run(lambda: Head(V, init_scale=0.5, name="head"))
  dense = run(lambda: Dense(V, init_scale=0.5, name="head"))
  head_params = head.init(jax.random.PRNGKey(4), x_BLD)
  dense_params = dense.init(jax.random.PRNGKey(4), x_BLD)
  w_VD = np.asarray(head_params["head"]["w"])
  chex.assert_shape(w_VD, (V, 16))
  np.testing.assert_array_equal(w_VD, np.asarray(dense_params["head"]["w"]).T)
  reference = np.asarray(x_BLD, np.float64) @ np.asarray(dense_params["head"]["w"], np.float64)
  np.testing.assert_allclose(head.apply(head_params, x_BLD), reference, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(dense.apply(dense_params, x_BLD), reference, rtol=1e-5, atol=1e-5)


def test_dense_gradients_match_float64_autodiff():
  """Dense's hand-written VJP (a canonical dot for dW) gives autodiff's gradients of x @ w."""
  x_BLD = jax.random.normal(jax.random.PRNGKey(5), (B, L, 16))
  g_BLF = jax.random.normal(jax.random.PRNGKey(6), (B, L, 24))
  dense = hk.without_apply_rng(hk.transform(lambda x: Dense(24, name="d")(x)))
  params = dense.init(jax.random.PRNGKey(7), x_BLD)
  _, vjp = jax.vjp(dense.apply, params, x_BLD)
  dparams, dx_BLD = vjp(g_BLF)
  x64, g64 = np.asarray(x_BLD, np.float64), np.asarray(g_BLF, np.float64)
  w64 = np.asarray(params["d"]["w"], np.float64)
  np.testing.assert_allclose(dparams["d"]["w"], np.einsum("bld,blf->df", x64, g64), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(dx_BLD, g64 @ w64.T, rtol=1e-5, atol=1e-5)
