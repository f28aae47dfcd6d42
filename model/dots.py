"""The model's matmuls whose gradients XLA:CPU would run off its fast path (docs/performance.md).

XLA:CPU (jax 0.10) hands a dot to YNNPACK only in canonical order: lhs contracting its last dim,
rhs its first (batch dims leading). Plain autodiff writes a weight gradient dW = x^T g, and the key
gradient of q k^T, as dots contracting the token axis of both operands, which XLA:CPU runs in its
generic emitter at a fraction of the rate. On CPU these functions use a hand-written VJP that
materialises the transposed operand behind an optimization_barrier (so XLA cannot fold the transpose
back into the dot's dimension numbers) and computes the same gradient as a canonical dot. The choice
is made at lowering, by platform: GPU and TPU get plain autodiff and their compilers' own fusion.
Same function and gradients on every platform, to float rounding.
"""

import jax
import jax.numpy as jnp


def matmul(x_ND: jnp.ndarray, w_DF: jnp.ndarray) -> jnp.ndarray:
  """x @ w over x's last axis (any leading axes)."""
  return jax.lax.platform_dependent(x_ND, w_DF, cpu=_matmul_cpu, default=_matmul)


def matmul_transposed(x_ND: jnp.ndarray, w_FD: jnp.ndarray) -> jnp.ndarray:
  """x @ w.T over x's last axis: the head, its kernel stored (V, D)."""
  return jax.lax.platform_dependent(x_ND, w_FD, cpu=_matmul_transposed_cpu, default=_matmul_transposed)


def attention_dots(q_BLHK: jnp.ndarray, k_BMHK: jnp.ndarray) -> jnp.ndarray:
  """q . k for every head and query/key pair, as [B, H, L, M]."""
  return jax.lax.platform_dependent(q_BLHK, k_BMHK, cpu=_attention_dots_cpu, default=_attention_dots)


def _matmul(x_ND, w_DF):
  return x_ND @ w_DF


def _matmul_transposed(x_ND, w_FD):
  return x_ND @ w_FD.T


def _attention_dots(q_BLHK, k_BMHK):
  return jnp.einsum("blhk,bmhk->bhlm", q_BLHK, k_BMHK)


def _canonical(z: jnp.ndarray) -> jnp.ndarray:
  """z as laid out, behind a barrier: the dot that reads it keeps canonical dimension numbers."""
  return jax.lax.optimization_barrier(z)


def _weight_grad(x_ND: jnp.ndarray, g_NF: jnp.ndarray, transposed: bool) -> jnp.ndarray:
  """x^T g (as [D, F]), or g^T x (as [F, D]) when transposed, summed over all leading axes.

  Either is one canonical dot with the smaller of x and g transposed in memory (the transpose is a
  copy XLA:CPU runs slowly: for the head's N x V logit gradient, or the MLP's N x 4D activations,
  it costs as much as the dot); the product is transposed after if it came out the other way round.
  """
  x_ND = x_ND.reshape(-1, x_ND.shape[-1])
  g_NF = g_NF.reshape(-1, g_NF.shape[-1])
  if x_ND.shape[1] <= g_NF.shape[1]:
    product, product_transposed = _canonical(x_ND.T) @ g_NF, False
  else:
    product, product_transposed = _canonical(g_NF.T) @ x_ND, True
  if product_transposed == transposed:
    return product
  # The barrier stops XLA rewriting dot-then-transpose back into the swapped, slow dot.
  return _canonical(product).T


def _cpu_vjp(primal, bwd):
  """`primal` with `bwd` as its VJP; both operands are the residuals."""
  fn = jax.custom_vjp(primal)
  fn.defvjp(lambda a, b: (primal(a, b), (a, b)), bwd)
  return fn


def _matmul_bwd(residuals, g_NF):
  x_ND, w_DF = residuals
  return g_NF @ w_DF.T, _weight_grad(x_ND, g_NF, transposed=False)


def _matmul_transposed_bwd(residuals, g_NF):
  x_ND, w_FD = residuals
  return g_NF @ w_FD, _weight_grad(x_ND, g_NF, transposed=True)


def _attention_dots_bwd(residuals, g_BHLM):
  q_BLHK, k_BMHK = residuals
  dq_BLHK = jnp.einsum("bhlm,bmhk->blhk", g_BHLM, k_BMHK)
  # dk contracts the query axis of both g and q; q^T g, q^T materialised, is canonical. The barrier
  # on its result stops XLA turning dot-then-transpose back into the swapped, slow dot.
  qt_BHKL = _canonical(q_BLHK.transpose(0, 2, 3, 1))
  dk_BHKM = _canonical(jnp.einsum("bhkl,bhlm->bhkm", qt_BHKL, g_BHLM))
  dk_BMHK = dk_BHKM.transpose(0, 3, 1, 2)
  return dq_BLHK, dk_BMHK


_matmul_cpu = _cpu_vjp(_matmul, _matmul_bwd)
_matmul_transposed_cpu = _cpu_vjp(_matmul_transposed, _matmul_transposed_bwd)
_attention_dots_cpu = _cpu_vjp(_attention_dots, _attention_dots_bwd)
