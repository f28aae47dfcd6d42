"""model/dots.py: the CPU path's hand-written gradients equal autodiff's; other platforms get autodiff."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from model import dots

# name: (gated function, plain autodiff function, operand shapes, float64 forward). Each matmul comes
# narrow and wide: the weight gradient transposes whichever of x and g is smaller.
_MATMUL = (dots.matmul, lambda x, w: x @ w, lambda x, w: np.einsum("bld,df->blf", x, w))
_MATMUL_T = (dots.matmul_transposed, lambda x, w: x @ w.T, lambda x, w: np.einsum("bld,vd->blv", x, w))
CASES = {
  "matmul_narrow": (*_MATMUL[:2], [(2, 5, 8), (8, 6)], _MATMUL[2]),
  "matmul_wide": (*_MATMUL[:2], [(2, 5, 4), (4, 9)], _MATMUL[2]),
  "matmul_transposed_narrow": (*_MATMUL_T[:2], [(2, 5, 8), (3, 8)], _MATMUL_T[2]),
  "matmul_transposed_wide": (*_MATMUL_T[:2], [(2, 5, 8), (11, 8)], _MATMUL_T[2]),
  "attention_dots": (dots.attention_dots, lambda q, k: jnp.einsum("blhk,bmhk->bhlm", q, k),
                     [(2, 5, 3, 4), (2, 5, 3, 4)], lambda q, k: np.einsum("blhk,bmhk->bhlm", q, k)),
}


def _operands(shapes, seed):
  keys = jax.random.split(jax.random.PRNGKey(seed), len(shapes))
  return [jax.random.normal(key, shape) for key, shape in zip(keys, shapes)]


def _float64_vjp(forward64, operands, g):
  """Gradients of sum(g * forward(a, b)) for a bilinear forward: d/da_i = sum(g * forward(e_i, b)),
  evaluated in float64 one basis element at a time."""
  a, b = [np.asarray(z, np.float64) for z in operands]
  g = np.asarray(g, np.float64)
  da, db = np.zeros_like(a), np.zeros_like(b)
  for i in np.ndindex(a.shape):
    e = np.zeros_like(a)
    e[i] = 1.0
    da[i] = np.sum(g * forward64(e, b))
  for i in np.ndindex(b.shape):
    e = np.zeros_like(b)
    e[i] = 1.0
    db[i] = np.sum(g * forward64(a, e))
  return da, db


@pytest.mark.parametrize("name", sorted(CASES))
def test_cpu_path_matches_float64_gradients(name):
  """On this (CPU) backend the gated function is the custom-VJP path; forward and both gradients
  match a float64 reference built from the bilinear map itself, not from the code under test."""
  gated, _, shapes, forward64 = CASES[name]
  operands = _operands(shapes, seed=len(name))
  out, vjp = jax.jit(lambda a, b: jax.vjp(gated, a, b))(*operands)
  g = jax.random.normal(jax.random.PRNGKey(9), out.shape)
  da, db = vjp(g)
  np.testing.assert_allclose(out, forward64(*[np.asarray(z, np.float64) for z in operands]),
                             rtol=1e-5, atol=1e-5)
  da64, db64 = _float64_vjp(forward64, operands, g)
  np.testing.assert_allclose(da, da64, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(db, db64, rtol=1e-5, atol=1e-5)


def _dot_signatures(gated_or_plain, shapes, platform: str) -> tuple[list[str], str]:
  """The dot_generals (operand names stripped) of the jitted gradient lowered for `platform`."""
  operands = _operands(shapes, seed=0)
  loss = lambda a, b: jnp.sum(jnp.sin(gated_or_plain(a, b)))
  exported = jax.export.export(jax.jit(jax.grad(loss, argnums=(0, 1))), platforms=[platform])(*operands)
  text = exported.mlir_module()
  dims = re.findall(r"dot_general [^,]+, [^,]+, (.*?) :", text)
  return sorted(dims), text


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("platform", ["cuda", "tpu"])
def test_other_platforms_get_plain_autodiff(name, platform):
  """Lowered for a GPU or TPU, the gradient program has autodiff's dots and no barrier; lowered for
  CPU it has the barrier and different dots (so the comparison can tell the two paths apart)."""
  gated, plain, shapes, _ = CASES[name]
  gated_dots, gated_text = _dot_signatures(gated, shapes, platform)
  plain_dots, _ = _dot_signatures(plain, shapes, platform)
  assert gated_dots == plain_dots
  assert "optimization_barrier" not in gated_text
  cpu_dots, cpu_text = _dot_signatures(gated, shapes, "cpu")
  assert "optimization_barrier" in cpu_text
  assert cpu_dots != plain_dots
