"""The jitted init, train and eval programs, built once per static key and shared by every run of that
key in the process: a long-lived worker (train/worker.py) trains many sweep units, and a unit that
differs from the last only in float hyperparameters (traced, see train/optimizer.py) reuses its
compiled programs instead of paying seconds of tracing and compiling."""

import dataclasses
import functools
from typing import Any, Callable

import jax
from jax.sharding import Mesh, NamedSharding

from model.config import ModelConfig
from model.params import count_params, mup_lr_multipliers
from train import sharding
from train.optimizer import AdamW, OptimizerStatic
from train.step import TrainState, init_params, make_eval_step, make_init, make_train_step, transformed_model


@dataclasses.dataclass(frozen=True)
class Programs:
  """What a run needs that depends only on the static key."""

  init: Callable[[jax.Array], TrainState]
  train_step: Callable  # (state, batch, StepHyper) -> (state, metrics)
  eval_step: Callable  # (params, batch) -> (loss sum, weight sum)
  abstract: Any  # the TrainState's ShapeDtypeStructs
  state_shardings: Any
  batch_sharding: NamedSharding
  num_params: int
  num_nonembedding_params: int


@functools.lru_cache(maxsize=4)  # each entry holds compiled executables; a worker sees few shapes
def build(model_cfg: ModelConfig, optimizer: OptimizerStatic, seq_len: int, mesh: Mesh) -> Programs:
  """The jitted programs of one static key; jax.jit compiles each on first call per batch shape."""
  model = transformed_model(model_cfg)
  abstract_params = jax.eval_shape(functools.partial(init_params, model, seq_len=seq_len), jax.random.PRNGKey(0))
  adamw = AdamW(optimizer, mup_lr_multipliers(model_cfg, abstract_params))  # muParam needs the shapes
  abstract = jax.eval_shape(make_init(model, adamw, seq_len), jax.random.PRNGKey(0))
  state_shardings = sharding.fsdp_shardings(abstract, mesh)
  batch_sharding = sharding.batch_sharding(mesh)
  replicated = sharding.replicated(mesh)
  init = jax.jit(make_init(model, adamw, seq_len), out_shardings=state_shardings)
  train_step = jax.jit(make_train_step(model, adamw),
                       in_shardings=(state_shardings, batch_sharding, replicated),
                       out_shardings=(state_shardings, replicated))
  eval_step = jax.jit(make_eval_step(model), in_shardings=(state_shardings.params, batch_sharding),
                      out_shardings=(replicated, replicated))
  num_params, num_nonembedding_params = count_params(abstract.params)
  return Programs(init, train_step, eval_step, abstract, state_shardings, batch_sharding, num_params,
                  num_nonembedding_params)
