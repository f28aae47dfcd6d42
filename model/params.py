"""Parameter paths, counts and muParam LR multipliers: what the model says about its own weights."""

import haiku as hk
import jax
import numpy as np

from model.config import ModelConfig

HEAD_PATH = "head/w"  # stored (V, D), applied as x @ w.T (model/transformer.py Head)
EMBEDDING_PATHS = ("embed/embeddings", HEAD_PATH)


def path_of(module_name: str, param_name: str) -> str:
  """'decoder/~/block_0/~/mlp/~/dense_in', 'w' -> 'block_0/mlp/dense_in/w' (the metric names)."""
  module = module_name.replace("/~/", "/").removeprefix("decoder").lstrip("/")
  return f"{module}/{param_name}" if module else param_name


def named_leaves(tree: hk.Params) -> dict[str, jax.Array]:
  """Flattens a Haiku-structured tree (params, grads, updates) into {path: leaf}."""
  return {path_of(m, n): v for m, params in tree.items() for n, v in params.items()}


def map_named(fn, tree: hk.Params) -> hk.Params:
  """Maps fn(path, leaf) over a Haiku-structured tree, keeping its structure."""
  return {m: {n: fn(path_of(m, n), v) for n, v in params.items()} for m, params in tree.items()}


def count_params(params: hk.Params) -> tuple[int, int]:
  """(all, non-embedding) counts; the paper excludes the embedding and the head (Kaplan et al.)."""
  sizes = {p: int(np.prod(v.shape)) for p, v in named_leaves(params).items()}
  total = sum(sizes.values())
  return total, total - sum(sizes.get(p, 0) for p in EMBEDDING_PATHS)


def mup_base_fan_ins(cfg: ModelConfig) -> dict[str, float]:
  """{kernel path suffix: its fan-in in the base model of width mup_base_width} (Section 3.2.4).

  The base model keeps the head dim and the MLP ratio and scales heads with width, so every fan-in
  scales with d_model: dense_out's base is mlp_ratio * 256, the attention output's is the base
  model's attention width. At the base width every base fan-in is the layer's own fan-in.
  """
  width = cfg.mup_base_width
  return {"attn/query/w": width, "attn/key/w": width, "attn/value/w": width,
          "attn/out/w": cfg.attn_width * width / cfg.d_model,
          "mlp/dense_in/w": width, "mlp/dense_out/w": cfg.mlp_ratio * width, "head/w": width}


def mup_lr_multipliers(cfg: ModelConfig, params: hk.Params) -> hk.Params:
  """Per-parameter LR multipliers of muParam (Section 3.2.4): base_fan_in / fan_in for every
  linear layer's kernel (attention q/k/v/out, MLP, head), 1 for embeddings and LayerNorm scales.

  All variants ('simple', 'intermediate', 'full') share this rule; they differ in init and
  attention scale, which live in the model. Without muParam, or at the base width, every
  multiplier is exactly 1.
  """
  base_fan_ins = mup_base_fan_ins(cfg)

  def multiplier(path: str, leaf) -> float:
    if cfg.mup == "none" or not path.endswith("/w"):
      return 1.0
    suffix = next(s for s in base_fan_ins if path == s or path.endswith("/" + s))
    fan_in = leaf.shape[1] if path == HEAD_PATH else leaf.shape[0]
    return base_fan_ins[suffix] / fan_in

  return map_named(multiplier, params)
