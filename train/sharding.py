"""FSDP over a one-axis mesh: each array sharded on its largest divisible axis, the batch on 'data'.

Shardings are declared once and handed to jax.jit; XLA inserts the
all-gathers (as nanodo does). Meshes are built with jax.sharding.Mesh: on this
jax, jax.make_mesh defaults to Explicit axes, which break the sharded gather in
hk.Embed.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(devices: list[jax.Device] | None = None) -> Mesh:
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def fsdp_spec(shape: tuple[int, ...], num_shards: int) -> P:
  """Shards the largest axis divisible by num_shards; replicates small or indivisible arrays."""
  candidates = [(size, axis) for axis, size in enumerate(shape) if size % num_shards == 0]
  if num_shards == 1 or not candidates:
    return P()
  _, axis = max(candidates)
  spec = [None] * len(shape)
  spec[axis] = DATA_AXIS
  return P(*spec)


def fsdp_shardings(tree, mesh: Mesh):
  """NamedShardings for every leaf of a tree of arrays or ShapeDtypeStructs."""
  size = mesh.shape[DATA_AXIS]
  return jax.tree.map(lambda x: NamedSharding(mesh, fsdp_spec(tuple(x.shape), size)), tree)


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def check_batch_divisible(batch_size: int, mesh: Mesh) -> None:
  n = mesh.shape[DATA_AXIS]
  if batch_size % n:
    raise ValueError(f"batch_size={batch_size} is not divisible by the {n} devices of the mesh: "
                     f"expected a multiple of {n}")
