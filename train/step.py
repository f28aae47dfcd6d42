"""The jitted train and eval steps, with every model characteristic the paper plots.

hk.transform happens here, at the edge of the model (as in haiku's examples).
"""

from typing import Any, Callable, NamedTuple

import haiku as hk
import jax
import jax.numpy as jnp
import optax

from model.config import ModelConfig
from model.params import named_leaves
from model.transformer import Decoder, rms
from train.loss import cross_entropy_and_z_loss
from train.optimizer import AdamW, Hyper, OptState

Batch = dict[str, jnp.ndarray]


class StepHyper(NamedTuple):
  """The step's traced float hyperparameters (float32 scalars): one program serves every value."""
  optimizer: Hyper
  z_loss_coef: jnp.ndarray


class TrainState(NamedTuple):
  step: jnp.ndarray
  params: hk.Params
  opt_state: OptState


def transformed_model(cfg: ModelConfig) -> hk.Transformed:
  def fn(inputs_BL, positions_BL=None, segment_ids_BL=None):
    return Decoder(cfg)(inputs_BL, positions_BL, segment_ids_BL)

  return hk.without_apply_rng(hk.transform(fn))


def _forward(model: hk.Transformed, params: hk.Params, batch: Batch):
  return model.apply(params, batch["inputs"], batch.get("positions"), batch.get("segment_ids"))


def init_params(model: hk.Transformed, rng: jax.Array, seq_len: int) -> hk.Params:
  return model.init(rng, jnp.zeros((1, seq_len), jnp.int32))


def make_init(model: hk.Transformed, optimizer: AdamW, seq_len: int) -> Callable[[jax.Array], TrainState]:
  def init(rng: jax.Array) -> TrainState:
    params = init_params(model, rng, seq_len)
    return TrainState(step=jnp.zeros([], jnp.int32), params=params, opt_state=optimizer.init(params))

  return init


def make_train_step(model: hk.Transformed, optimizer: AdamW
                    ) -> Callable[[TrainState, Batch, StepHyper], tuple[TrainState, dict[str, Any]]]:
  """One AdamW update; returns the new state and the metrics of metrics.jsonl."""

  def loss_fn(params, batch, z_loss_coef):
    logits_BLV, characteristics = _forward(model, params, batch)
    ce, z_loss = cross_entropy_and_z_loss(logits_BLV, batch["targets"], batch["weights"], z_loss_coef)
    return ce + z_loss, (ce, z_loss, characteristics)

  def train_step(state: TrainState, batch: Batch, hyper: StepHyper):
    grads, (ce, z_loss, characteristics) = jax.grad(loss_fn, has_aux=True)(state.params, batch,
                                                                          hyper.z_loss_coef)
    params, opt_state, delta, lr = optimizer.update(grads, state.opt_state, state.params, hyper.optimizer)
    metrics = {"train/loss": ce, "train/z_loss": z_loss, "lr": lr,
               "grad/global_norm": optax.tree.norm(grads), **characteristics}
    for prefix, tree in (("grad", grads), ("update", delta), ("param", state.params)):
      metrics.update({f"{prefix}/rms/{path}": rms(x) for path, x in named_leaves(tree).items()})
    return TrainState(step=state.step + 1, params=params, opt_state=opt_state), metrics

  return train_step


def make_eval_step(model: hk.Transformed) -> Callable[[hk.Params, Batch], tuple[jnp.ndarray, jnp.ndarray]]:
  """(sum of weighted token losses, sum of weights) for one held-out batch."""

  def eval_step(params, batch):
    logits_BLV, _ = _forward(model, params, batch)
    ce, _ = cross_entropy_and_z_loss(logits_BLV, batch["targets"], batch["weights"], 0.0)
    weight = jnp.sum(batch["weights"])
    return ce * weight, weight

  return eval_step
