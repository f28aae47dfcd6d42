"""One unit as N `python -m train.main` processes of one JAX job (the local executor's
--processes_per_unit): each process gets its share of the slot's devices (and of its cores, when it has
some), process 0 the coordinator.

The same handle as launch/worker_handle.py's Worker (submit, poll, alive, stop, close, pid), one unit per group:
the local executor runs either. Process 0's output goes to the unit's train.log, process i's to
train.process<i>.log beside it. When one process ends with an error the others are stopped at once
(JAX would end them anyway, after its heartbeat timeout).
"""

import os
import re
import socket
import subprocess
from collections.abc import Sequence

from launch import unit as unit_lib
from rundir import bindings

_CPU_DEVICES = re.compile(r"--xla_force_host_platform_device_count=(\d+)")


def free_port() -> int:
  """A TCP port no one listens on now, for process 0's coordination service."""
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def process_environments(env: dict[str, str], processes: int) -> list[dict[str, str]]:
  """Each process's environment: the GPUs of CUDA_VISIBLE_DEVICES split evenly, and on CPU the
  --xla_force_host_platform_device_count of XLA_FLAGS (1 when unset) split likewise, at least 1 each."""
  gpus = [g for g in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
  xla_flags = env.get("XLA_FLAGS", "")
  match = _CPU_DEVICES.search(xla_flags)
  cpu_each = max(1, (int(match.group(1)) if match else 1) // processes)
  cpu_flag = f"--xla_force_host_platform_device_count={cpu_each}"
  cpu_flags = _CPU_DEVICES.sub(cpu_flag, xla_flags) if match else f"{xla_flags} {cpu_flag}".strip()
  out = []
  for i in range(processes):
    own = dict(env, XLA_FLAGS=cpu_flags)
    if gpus:
      share = max(1, len(gpus) // processes)
      own["CUDA_VISIBLE_DEVICES"] = ",".join(gpus[(i * share + j) % len(gpus)] for j in range(share))
    out.append(own)
  return out


class ProcessGroup:
  """N trainer processes running one unit together."""

  def __init__(self, python: str, env: dict[str, str], processes: int, cores: Sequence[int] | None = None,
               heartbeat_timeout_s: int = 30):
    self.python, self.env, self.count, self.cores = python, env, processes, cores
    self.heartbeat_timeout_s = heartbeat_timeout_s
    self.processes: list[subprocess.Popen] = []

  @property
  def pid(self) -> int:
    """Process 0's: the one holding the workdir's lock, whose liveness tells a running unit."""
    return self.processes[0].pid

  def submit(self, gin_files: Sequence[str], gin_bindings: Sequence[str], workdir: str, log_path: str) -> None:
    command = unit_lib.train_command(gin_files, gin_bindings, workdir, self.python) + [
        f"--coordinator_address=127.0.0.1:{free_port()}", f"--num_processes={self.count}",
        f"--heartbeat_timeout_s={self.heartbeat_timeout_s}"]
    shares = unit_lib.core_shares(self.cores, self.count) if self.cores else [None] * self.count
    for i, env in enumerate(process_environments(self.env, self.count)):
      cores = shares[i] or self.cores  # a process never leaves its slot's cores
      path = log_path if i == 0 else os.path.join(os.path.dirname(log_path), f"train.process{i}.log")
      with open(path, "a") as log:
        self.processes.append(subprocess.Popen(command + [f"--process_id={i}"], stdout=log,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                               preexec_fn=unit_lib.trainer_setup(cores), cwd=bindings.REPO_ROOT,
                                               env=env))

  def poll(self) -> tuple[bool, int | None]:
    """(True, exit code) when every process has ended (the first non-zero code, else 0), stopping the
    others as soon as one fails; (False, None) while they run."""
    codes = [p.poll() for p in self.processes]
    failed = [c for c in codes if c not in (None, 0)]
    if failed:  # the others wait in a collective for the dead one, where no signal handler runs: SIGKILL
      self.stop(timeout=0)
      return True, failed[0]
    if None in codes:
      return False, None
    return True, 0

  def alive(self) -> bool:
    return any(p.poll() is None for p in self.processes)

  def stop(self, timeout: float = 30) -> None:
    """SIGTERM to every process (the unit stays resumable from its last checkpoint), SIGKILL after timeout
    (at once with timeout 0)."""
    for p in self.processes:
      if p.poll() is None and timeout == 0:
        p.kill()
      elif p.poll() is None:
        p.terminate()
    for p in self.processes:
      try:
        p.wait(timeout=timeout or None)
      except subprocess.TimeoutExpired:
        p.kill()
        p.wait()

  def close(self) -> None:
    self.stop()
