"""Token cross-entropy with loss weights, and the z-loss of Chowdhery et al. (Section 3.1.2)."""

import jax
import jax.numpy as jnp

# Shape letters: B batch, L sequence, V vocabulary.


def cross_entropy_and_z_loss(logits_BLV: jnp.ndarray, targets_BL: jnp.ndarray,
                             weights_BL: jnp.ndarray, z_loss_coef: float
                             ) -> tuple[jnp.ndarray, jnp.ndarray]:
  """Weighted means of -log p(target) and of z_loss_coef * (log Z)^2.

  Both are divided by the total weight, so padding or cross-document targets
  with weight 0 do not count.
  """
  logits_BLV = logits_BLV.astype(jnp.float32)
  log_z_BL = jax.nn.logsumexp(logits_BLV, axis=-1)
  target_logit_BL = jnp.take_along_axis(logits_BLV, targets_BL[..., None], axis=-1)[..., 0]
  total_weight = jnp.maximum(jnp.sum(weights_BL), 1e-8)
  ce = jnp.sum(weights_BL * (log_z_BL - target_logit_BL)) / total_weight
  z_loss = z_loss_coef * jnp.sum(weights_BL * jnp.square(log_z_BL)) / total_weight
  return ce, z_loss
