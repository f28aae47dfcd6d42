"""A run's memory and FLOP plan before booking the machine: the train step compiled ahead of time from
abstract shapes (nothing allocated) on the mesh the run would use, with XLA's memory and cost analysis
beside an analytic model.

XLA:CPU's buffer assignment is not an accelerator's (its temporaries for a 151M model at batch 256 x 512
are ~100 GB per device, far above what the step holds live), so `fits` is decided by the analytic model;
XLA's figures are reported as measured. XLA reports a partitioned program's cost per device:
flops_per_step sums it over the devices.
"""

import dataclasses
import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from model.config import ModelConfig
from model.params import EMBEDDING_PATHS, named_leaves
from train import programs, sharding
from train.configs import RunConfigs
from train.step import StepHyper

# The vocabulary of the C4 presets (the paper's T5 vocabulary, README's Data section).
PAPER_VOCAB_SIZE = 32101
# Saved for the backward pass per token and layer, in units of d_model activations: the two norms'
# inputs and outputs (4), q, k, v (3), the attention output (1), the MLP input (1), its hidden layer before
# and after the nonlinearity (2 x mlp_ratio) and the residual sum (1): 10 + 2 x mlp_ratio.
_SAVED_WIDTHS_PER_LAYER = 10
# Attention scores and probabilities, per head, token and key (the step materialises both).
_SAVED_ATTENTION_MAPS = 2
# Logits, their softmax and log-softmax in float32 per token and vocabulary entry.
_SAVED_LOGIT_COPIES = 3


def _bytes(tree, shardings) -> int:
  """Bytes one device holds of a tree of ShapeDtypeStructs laid out as `shardings` say."""
  sizes = jax.tree.map(lambda x, s: math.prod(s.shard_shape(x.shape)) * np.dtype(x.dtype).itemsize,
                       tree, shardings)
  return int(sum(jax.tree.leaves(sizes)))


def activation_bytes(model: ModelConfig, tokens_per_device: int, seq_len: int) -> int:
  """The analytic model: what the step saves for its backward pass on one device, without remat."""
  itemsize = np.dtype(jnp.dtype(model.compute_dtype)).itemsize
  widths = (_SAVED_WIDTHS_PER_LAYER + 2 * model.mlp_ratio) * model.d_model
  maps = _SAVED_ATTENTION_MAPS * model.num_heads * seq_len
  per_layer = tokens_per_device * (widths + maps) * itemsize
  logits = tokens_per_device * model.vocab_size * 4 * _SAVED_LOGIT_COPIES
  return model.num_layers * per_layer + logits


def remat_activation_bytes(model: ModelConfig, tokens_per_device: int, seq_len: int) -> int:
  """The analytic model with each block rematerialised (not implemented here: what it would buy): the
  blocks' inputs, one block's saved activations while it is recomputed, and the logits."""
  itemsize = np.dtype(jnp.dtype(model.compute_dtype)).itemsize
  one_block = activation_bytes(dataclasses.replace(model, num_layers=1, vocab_size=0), tokens_per_device, seq_len)
  logits = activation_bytes(dataclasses.replace(model, num_layers=0), tokens_per_device, seq_len)
  return model.num_layers * tokens_per_device * model.d_model * itemsize + one_block + logits


def analytic_flops(model: ModelConfig, matmul_params: int, tokens: int, seq_len: int) -> dict[str, float]:
  """6 N tokens (N: the parameters of matmuls, the head's included, the embedding gather's not) and
  the attention's 12 x layers x seq_len x d_model per token (QK^T and AV, forward and backward, the
  full square as XLA computes it)."""
  dense = 6 * matmul_params * tokens
  attention = 12 * model.num_layers * seq_len * model.d_model * tokens
  return {"dense_6N": float(dense), "attention": float(attention), "total": float(dense + attention)}


def _microbatches_to_fit(state_bytes: int, activations: int, gradient_bytes: int, rows_per_device: int,
                         memory_bytes: float) -> int | None:
  """The fewest microbatches (dividing this device's rows; not implemented here: what they would buy)
  whose activations fit beside the state and a float32 gradient accumulator; None when none does."""
  for k in range(1, rows_per_device + 1):
    if rows_per_device % k == 0 and state_bytes + (gradient_bytes if k > 1 else 0) + activations / k <= memory_bytes:
      return k
  return None


def _cost(compiled) -> dict[str, float]:
  cost = compiled.cost_analysis()
  return cost[0] if isinstance(cost, list) else cost


def _compiled_figures(built: programs.Programs, state, cfgs: RunConfigs, devices: int) -> dict[str, Any]:
  """XLA's view: the step lowered and compiled for the mesh, its memory and cost analysis."""
  shape_BL = (cfgs.train.batch_size, cfgs.train.seq_len)
  batch = {"inputs": jax.ShapeDtypeStruct(shape_BL, jnp.int32, sharding=built.batch_sharding),
           "targets": jax.ShapeDtypeStruct(shape_BL, jnp.int32, sharding=built.batch_sharding),
           "weights": jax.ShapeDtypeStruct(shape_BL, jnp.float32, sharding=built.batch_sharding)}
  hyper = jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), np.asarray(x).dtype),
                       StepHyper(cfgs.optimizer.hyper, np.float32(cfgs.train.z_loss_coef)))
  start = time.perf_counter()
  lowered = built.train_step.lower(state, batch, hyper)
  lowered_s = time.perf_counter() - start
  compiled = lowered.compile()
  compile_s = time.perf_counter() - start - lowered_s
  memory = compiled.memory_analysis()
  xla = {"arguments": int(memory.argument_size_in_bytes), "outputs": int(memory.output_size_in_bytes),
         "temporaries": int(memory.temp_size_in_bytes), "aliased": int(memory.alias_size_in_bytes)}
  xla["total"] = xla["arguments"] + xla["outputs"] + xla["temporaries"] - xla["aliased"]
  flops_per_device = float(_cost(compiled).get("flops", float("nan")))
  return {"xla_bytes": xla, "flops_per_step": flops_per_device * devices, "flops_per_device": flops_per_device,
          "lower_s": round(lowered_s, 2), "compile_s": round(compile_s, 2)}


def plan(cfgs: RunConfigs, devices: list[jax.Device], device_memory_gib: float | None = None,
         compile_step: bool = True) -> dict[str, Any]:
  """The plan of the run `cfgs` describes (its vocabulary filled in) on a one-axis mesh of `devices`;
  without compile_step the analytic model alone (XLA's fields are null)."""
  train_cfg, model_cfg = cfgs.train, cfgs.model
  mesh = sharding.make_mesh(devices)
  sharding.check_batch_divisible(train_cfg.batch_size, mesh)
  built = programs.build(model_cfg, cfgs.optimizer.static, train_cfg.seq_len, mesh)
  state = jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                       built.abstract, built.state_shardings)
  n = mesh.size
  compiled = (_compiled_figures(built, state, cfgs, n) if compile_step else
              {"xla_bytes": None, "flops_per_step": None, "flops_per_device": None, "lower_s": None,
               "compile_s": None})
  params = _bytes(state.params, built.state_shardings.params)
  optimizer_state = _bytes(state.opt_state, built.state_shardings.opt_state)
  tokens = train_cfg.batch_size * train_cfg.seq_len
  activations = activation_bytes(model_cfg, tokens // n, train_cfg.seq_len)
  remat = remat_activation_bytes(model_cfg, tokens // n, train_cfg.seq_len)
  # Live at the peak: the state in and the state out (the step does not donate its input), the
  # gradients (float32, as sharded as the parameters) and the saved activations.
  without_activations = 2 * (params + optimizer_state) + params
  embedding = int(np.prod(named_leaves(built.abstract.params)[EMBEDDING_PATHS[0]].shape))
  analytic = analytic_flops(model_cfg, built.num_params - embedding, tokens, train_cfg.seq_len)
  flops = compiled["flops_per_step"]
  out = {
      "params": built.num_params, "nonembedding_params": built.num_nonembedding_params,
      "devices": n, "batch_size": train_cfg.batch_size, "seq_len": train_cfg.seq_len,
      "tokens_per_step": tokens, "vocab_size": model_cfg.vocab_size, "compute_dtype": model_cfg.compute_dtype,
      "bytes_per_device": {"xla": compiled["xla_bytes"], "params": params, "optimizer_state": optimizer_state,
                           "gradients": params, "activations_analytic": activations,
                           "analytic_total": without_activations + activations,
                           "activations_remat_analytic": remat, "analytic_total_remat": without_activations + remat},
      "flops_per_step": flops, "flops_per_device": compiled["flops_per_device"], "flops_analytic": analytic,
      "flops_ratio_to_analytic": None if flops is None else flops / analytic["total"],
      "lower_s": compiled["lower_s"], "compile_s": compiled["compile_s"],
      "fits_uses": "bytes_per_device.analytic_total (XLA:CPU's temporaries are not an accelerator's)",
  }
  if device_memory_gib is not None:
    memory_bytes = device_memory_gib * 2**30
    out["device_memory_gib"] = device_memory_gib
    out["fits"] = without_activations + activations <= memory_bytes
    out["headroom_gib"] = round((memory_bytes - without_activations - activations) / 2**30, 3)
    out["fits_with_remat"] = without_activations + remat <= memory_bytes
    out["microbatches_to_fit"] = _microbatches_to_fit(without_activations, activations, params,
                                                      train_cfg.batch_size // n, memory_bytes)
  return out
