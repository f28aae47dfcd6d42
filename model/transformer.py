"""The decoder-only Transformer of Section 2.1, instrumented for Section 3.

Pre-LayerNorm blocks, no biases anywhere, rotary positions, gelu MLP of width
4d, final LayerNorm and an untied head. Every block reports the model
characteristics the paper tracks (max attention logit, q/k RMS, block output
RMS); the head reports the output-logit mean and log Z. They are computed in
the forward pass so the jitted train step gets them for free.

Shape letters: B batch, L query positions, M key positions, D d_model,
H heads, K head dim, F MLP width, V vocabulary.
"""

import math

import haiku as hk
import jax
import jax.numpy as jnp

from model import dots
from model.config import ModelConfig
from model.rotary import apply_rotary

Metrics = dict[str, jnp.ndarray]
_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
_MASKED = -1e30


class Dense(hk.Module):
  """Bias-free linear map; kernel init is truncated normal, std init_scale/sqrt(fan_in)."""

  def __init__(self, width: int, init_scale: float = 1.0, zero_init: bool = False,
               name: str | None = None):
    super().__init__(name=name)
    self.width = width
    self.init_scale = init_scale
    self.zero_init = zero_init

  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    fan_in = x.shape[-1]
    if self.zero_init:
      w_init = hk.initializers.Constant(0.0)
    else:
      # VarianceScaling corrects for truncation, so the std is exactly scale/sqrt(fan_in).
      w_init = hk.initializers.VarianceScaling(self.init_scale**2, "fan_in", "truncated_normal")
    w = hk.get_parameter("w", (fan_in, self.width), jnp.float32, init=w_init)
    return dots.matmul(x, w.astype(x.dtype))


class Head(hk.Module):
  """The untied output layer, its kernel stored (V, D) and applied as x @ w.T.

  Same function and init as a Dense(V) with its kernel transposed (nanodo's layout). With
  (D, V), plain autodiff's weight gradient ran outside XLA:CPU's fast matmul path; on CPU
  dots.matmul_transposed now computes it as a canonical dot (docs/performance.md).
  """

  def __init__(self, vocab_size: int, init_scale: float = 1.0, name: str | None = None):
    super().__init__(name=name)
    self.vocab_size = vocab_size
    self.init_scale = init_scale

  def __call__(self, x_BLD: jnp.ndarray) -> jnp.ndarray:
    dense_init = hk.initializers.VarianceScaling(self.init_scale**2, "fan_in", "truncated_normal")
    # Drawn as the (D, V) kernel of Dense and transposed: fan_in is D, same values for a given key.
    w_init = lambda shape, dtype: dense_init(shape[::-1], dtype).T
    w_VD = hk.get_parameter("w", (self.vocab_size, x_BLD.shape[-1]), jnp.float32, init=w_init)
    return dots.matmul_transposed(x_BLD, w_VD.astype(x_BLD.dtype))


class LayerNorm(hk.Module):
  """LayerNorm over the last axis with a float32 scale and no offset (the paper uses no biases).

  Statistics are computed in float32 whatever the compute dtype.
  """

  def __init__(self, eps: float, name: str | None = None):
    super().__init__(name=name)
    self.eps = eps

  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    x32 = x.astype(jnp.float32)
    mean = jnp.mean(x32, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x32 - mean), axis=-1, keepdims=True)
    scale = hk.get_parameter("scale", (x.shape[-1],), jnp.float32, init=jnp.ones)
    return ((x32 - mean) * jax.lax.rsqrt(var + self.eps) * scale).astype(x.dtype)


def layer_norm(name: str, eps: float) -> LayerNorm:
  return LayerNorm(eps, name=name)


def rms(x: jnp.ndarray) -> jnp.ndarray:
  """Root mean square in float32, the statistic every logged *_rms metric reports (train/step.py too)."""
  return jnp.sqrt(jnp.mean(jnp.square(x.astype(jnp.float32))))


class Attention(hk.Module):
  """Causal multi-head self-attention with the qk-LN / scale / kappa / pointwise knobs."""

  def __init__(self, cfg: ModelConfig, name: str = "attn"):
    super().__init__(name=name)
    self.cfg = cfg

  def __call__(self, x_BLD: jnp.ndarray, positions_BL: jnp.ndarray,
               mask_BLM: jnp.ndarray) -> tuple[jnp.ndarray, Metrics]:
    cfg = self.cfg
    B, L, _ = x_BLD.shape
    H, K = cfg.num_heads, cfg.head_dim
    q_BLX = Dense(cfg.attn_width, zero_init=cfg.mup == "full", name="query")(x_BLD)
    k_BLX = Dense(cfg.attn_width, name="key")(x_BLD)
    v_BLX = Dense(cfg.attn_width, name="value")(x_BLD)
    if cfg.qk_layernorm == "full":
      q_BLX = layer_norm("query_norm", cfg.layernorm_eps)(q_BLX)
      k_BLX = layer_norm("key_norm", cfg.layernorm_eps)(k_BLX)
    q_BLHK = q_BLX.reshape(B, L, H, K)
    k_BLHK = k_BLX.reshape(B, L, H, K)
    v_BLHK = v_BLX.reshape(B, L, H, K)
    if cfg.qk_layernorm == "per_head":
      # Normalising over the last axis gives one scale of size K shared by all heads.
      q_BLHK = layer_norm("query_norm", cfg.layernorm_eps)(q_BLHK)
      k_BLHK = layer_norm("key_norm", cfg.layernorm_eps)(k_BLHK)
    if cfg.kappa is not None:
      q_BLHK = _to_rms(q_BLHK, math.sqrt(cfg.kappa))
      k_BLHK = _to_rms(k_BLHK, math.sqrt(cfg.kappa))
    metrics = {"q_rms": rms(q_BLHK), "k_rms": rms(k_BLHK)}
    # Logits in float32 whatever the compute dtype: they are what the paper watches grow.
    q_BLHK = apply_rotary(q_BLHK.astype(jnp.float32), positions_BL)
    k_BLHK = apply_rotary(k_BLHK.astype(jnp.float32), positions_BL)

    scale = cfg.logit_scale
    dots_BHLM = dots.attention_dots(q_BLHK, k_BLHK)
    logits_BHLM = dots_BHLM * scale
    mask_B1LM = mask_BLM[:, None]
    metrics["max_logit"] = jnp.max(jnp.where(mask_B1LM, logits_BHLM, _MASKED))
    metrics["qk_cosine"] = _masked_mean_cosine(dots_BHLM, q_BLHK, k_BLHK, mask_B1LM)

    if cfg.attention == "softmax":
      weights_BHLM = jax.nn.softmax(jnp.where(mask_B1LM, logits_BHLM, _MASKED), axis=-1)
    else:
      weights_BHLM = jnp.where(mask_B1LM, jnp.square(jax.nn.relu(logits_BHLM)), 0.0) / math.sqrt(L)
    out_BLHK = jnp.einsum("bhlm,bmhk->blhk", weights_BHLM.astype(v_BLHK.dtype), v_BLHK)
    out_BLD = Dense(cfg.d_model, name="out")(out_BLHK.reshape(B, L, H * K))
    return out_BLD, metrics


def _to_rms(z_BLHK: jnp.ndarray, target: float) -> jnp.ndarray:
  """g(z) = target * z / sqrt(E_i[z_i^2]) over the head dim (Fig 10's transplant, target sqrt(kappa)).

  Then |q| = |k| = sqrt(kappa d_h), rotary keeps norms, and with the 1/sqrt(d_h) scale a logit is
  kappa sqrt(d_h) cos(q, k): at most kappa sqrt(d_h) (8 kappa at d_h = 64). At initialisation q and k
  point in nearly independent directions, cos ~ N(0, 1/d_h), so the logits are ~ N(0, kappa^2) and the
  max over N causal pairs is about kappa sqrt(2 ln N) (3.9e3 was measured for kappa = 1e3): kappa is
  the logits' scale, not their maximum, which is logged beside it (attn/max_logit/block_i).
  """
  z = z_BLHK.astype(jnp.float32)
  return target * z * jax.lax.rsqrt(jnp.mean(jnp.square(z), axis=-1, keepdims=True) + 1e-12)


def _masked_mean_cosine(dots_BHLM, q_BLHK, k_BLHK, mask_B1LM) -> jnp.ndarray:
  q_norm_BHL1 = jnp.linalg.norm(q_BLHK, axis=-1).transpose(0, 2, 1)[..., None]
  k_norm_BH1M = jnp.linalg.norm(k_BLHK, axis=-1).transpose(0, 2, 1)[:, :, None, :]
  cosine_BHLM = dots_BHLM / jnp.maximum(q_norm_BHL1 * k_norm_BH1M, 1e-12)
  mask_BHLM = jnp.broadcast_to(mask_B1LM, cosine_BHLM.shape)
  return jnp.sum(jnp.where(mask_BHLM, cosine_BHLM, 0.0)) / jnp.sum(mask_BHLM)


class Mlp(hk.Module):
  """Two bias-free layers with a gelu between (Flax's tanh approximation)."""

  def __init__(self, cfg: ModelConfig, name: str = "mlp"):
    super().__init__(name=name)
    self.cfg = cfg

  def __call__(self, x_BLD: jnp.ndarray) -> jnp.ndarray:
    h_BLF = jax.nn.gelu(Dense(self.cfg.mlp_ratio * self.cfg.d_model, name="dense_in")(x_BLD))
    return Dense(self.cfg.d_model, name="dense_out")(h_BLF)


class Block(hk.Module):
  """Pre-LN residual block: x + attn(LN(x)), then + mlp(LN(.))."""

  def __init__(self, cfg: ModelConfig, name: str):
    super().__init__(name=name)
    self.cfg = cfg

  def __call__(self, x_BLD, positions_BL, mask_BLM) -> tuple[jnp.ndarray, Metrics]:
    eps = self.cfg.layernorm_eps
    attn_BLD, metrics = Attention(self.cfg)(layer_norm("attn_norm", eps)(x_BLD), positions_BL, mask_BLM)
    x_BLD = x_BLD + attn_BLD
    x_BLD = x_BLD + Mlp(self.cfg)(layer_norm("mlp_norm", eps)(x_BLD))
    metrics["out_rms"] = rms(x_BLD)
    return x_BLD, metrics


class Decoder(hk.Module):
  """Embedding, blocks, final LayerNorm and untied head; returns logits and characteristics."""

  def __init__(self, cfg: ModelConfig, name: str = "decoder"):
    super().__init__(name=name)
    self.cfg = cfg

  def __call__(self, inputs_BL: jnp.ndarray, positions_BL: jnp.ndarray | None = None,
               segment_ids_BL: jnp.ndarray | None = None) -> tuple[jnp.ndarray, Metrics]:
    cfg = self.cfg
    B, L = inputs_BL.shape
    if positions_BL is None:
      positions_BL = jnp.broadcast_to(jnp.arange(L), (B, L))
    mask_BLM = jnp.broadcast_to(jnp.tril(jnp.ones((L, L), bool)), (B, L, L))
    if segment_ids_BL is not None:
      mask_BLM = mask_BLM & (segment_ids_BL[:, :, None] == segment_ids_BL[:, None, :])

    embed = hk.Embed(cfg.vocab_size, cfg.d_model, name="embed",
                     w_init=hk.initializers.RandomNormal(1.0 / math.sqrt(cfg.d_model)))
    x_BLD = embed(inputs_BL).astype(_DTYPES[cfg.compute_dtype])
    metrics: Metrics = {}
    for i in range(cfg.num_layers):
      x_BLD, block_metrics = Block(cfg, name=f"block_{i}")(x_BLD, positions_BL, mask_BLM)
      metrics[f"attn/max_logit/block_{i}"] = block_metrics["max_logit"]
      metrics[f"attn/q_rms/block_{i}"] = block_metrics["q_rms"]
      metrics[f"attn/k_rms/block_{i}"] = block_metrics["k_rms"]
      metrics[f"attn/qk_cosine/block_{i}"] = block_metrics["qk_cosine"]
      metrics[f"block/out_rms/block_{i}"] = block_metrics["out_rms"]
    x_BLD = layer_norm("final_norm", cfg.layernorm_eps)(x_BLD)
    logits_BLV = Head(cfg.vocab_size, init_scale=head_init_scale(cfg), name="head")(x_BLD)
    logits_BLV = logits_BLV.astype(jnp.float32)
    metrics["logits/mean"] = jnp.mean(logits_BLV)
    metrics["logits/log_z"] = jnp.mean(jax.nn.logsumexp(logits_BLV, axis=-1))
    return logits_BLV, metrics


def head_init_scale(cfg: ModelConfig) -> float:
  """muParam (intermediate, full) multiplies the head's init std by sqrt(base_fan_in / fan_in).

  The head's base fan-in is mup_base_width, so its std becomes sqrt(mup_base_width) / d_model: the
  baseline's 1/sqrt(fan_in) at the base width (scale exactly 1 there), shrinking as 1/fan_in beyond
  it as muP prescribes. (Read literally, 'std sqrt(base/fan_in)' would give std 1 at the base width,
  i.e. initial logits with RMS 16, which no muP variant intends.)
  """
  if cfg.mup in ("intermediate", "full"):
    return math.sqrt(cfg.mup_base_width / cfg.d_model)
  return 1.0
