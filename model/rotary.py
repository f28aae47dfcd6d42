"""Rotary position embeddings (Su et al., 2021), as used in the paper."""

import jax.numpy as jnp

# Shape letters: B batch, L sequence, H heads, K head dim.


def apply_rotary(x_BLHK: jnp.ndarray, positions_BL: jnp.ndarray,
                 max_wavelength: float = 10_000.0) -> jnp.ndarray:
  """Rotates pairs (x[i], x[i + K/2]) by angle position / wavelength_i.

  Relative position is all that survives in <rot(q, m), rot(k, n)>: it
  depends on m - n only, which the tests check.
  """
  half = x_BLHK.shape[-1] // 2
  freq_F = max_wavelength ** (-jnp.arange(half, dtype=jnp.float32) / half)
  angle_BLF = positions_BL.astype(jnp.float32)[..., None] * freq_F
  sin_BL1F = jnp.sin(angle_BLF)[:, :, None, :]
  cos_BL1F = jnp.cos(angle_BLF)[:, :, None, :]
  x1, x2 = x_BLHK[..., :half].astype(jnp.float32), x_BLHK[..., half:].astype(jnp.float32)
  out = jnp.concatenate([x1 * cos_BL1F - x2 * sin_BL1F, x2 * cos_BL1F + x1 * sin_BL1F], axis=-1)
  return out.astype(x_BLHK.dtype)
