"""Joining a multi-process JAX job: explicitly (train.main's --coordinator_address, --num_processes,
--process_id) or from the cluster's environment (SLURM, Cloud TPU, JAX_COORDINATOR_ADDRESS).

Every process runs the same command; together their devices form one mesh (train/sharding.py), process 0
alone writes the run directory. When a process dies, JAX's coordination service ends the others once it
has missed its heartbeats for `heartbeat_timeout_s`: they abort with "Terminating process because the
JAX distributed service detected fatal errors", rather than wait in a collective for ever.
"""

import dataclasses
import os

import jax

# JAX's own default; a shorter timeout ends the survivors of a dead process sooner.
DEFAULT_HEARTBEAT_TIMEOUT_S = 100


@dataclasses.dataclass(frozen=True)
class Cluster:
  """This process's place in an explicitly described job (jax.distributed.initialize's arguments)."""
  coordinator_address: str  # HOST:PORT of process 0's coordination service
  num_processes: int
  process_id: int
  heartbeat_timeout_s: int = DEFAULT_HEARTBEAT_TIMEOUT_S

  def __post_init__(self):
    host, _, port = self.coordinator_address.rpartition(":")
    if not host or not port.isdigit():
      raise ValueError(f"coordinator_address={self.coordinator_address!r} is not HOST:PORT: expected e.g. "
                       "10.0.0.1:1234")
    if self.num_processes < 1:
      raise ValueError(f"num_processes={self.num_processes} is invalid: expected an integer >= 1")
    if not 0 <= self.process_id < self.num_processes:
      raise ValueError(f"process_id={self.process_id} is invalid: expected 0 <= process_id < "
                       f"num_processes={self.num_processes}")
    if self.heartbeat_timeout_s < 1:
      raise ValueError(f"heartbeat_timeout_s={self.heartbeat_timeout_s} is invalid: expected an integer >= 1")


def cluster_detected() -> bool:
  """Whether the environment describes a job of several processes that jax.distributed finds itself."""
  multi_slurm = int(os.environ.get("SLURM_NTASKS", "1")) > 1
  multi_tpu = "," in os.environ.get("TPU_WORKER_HOSTNAMES", "")
  return bool(os.environ.get("JAX_COORDINATOR_ADDRESS")) or multi_slurm or multi_tpu


def initialize(cluster: Cluster | None) -> None:
  """Joins the job `cluster` describes, else the one the environment describes, else nothing (one
  process). Blocks until every process has joined."""
  if cluster is not None:
    if cluster.num_processes > 1:
      jax.distributed.initialize(cluster.coordinator_address, cluster.num_processes, cluster.process_id,
                                 heartbeat_timeout_seconds=cluster.heartbeat_timeout_s)
  elif cluster_detected():
    jax.distributed.initialize()
