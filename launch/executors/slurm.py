"""Runs the units as one SLURM job array through submitit (the `slurm` extra).

Each array task calls launch.unit.run, so retries, logs and attempt records match the local
executor; submitit's own logs go to ROOT/.submitit. On a cluster the launcher returns once the
array is queued (follow it with launch.status); with --slurm_cluster=local (submitit's local
executor, for tests and single machines) it waits for the units.
"""

import os
from collections.abc import Mapping, Sequence

import submitit

from launch import executors, unit as unit_runner
from launch.executors import Options
from launch.spec import Unit


def array_task(unit: Mapping, root: str, max_retries: int, python: str) -> int:
  """One array task: the unit to the end; launch.unit.run's code (0 finished, 1 failed, 130 stopped)."""
  spec = Unit.from_json(unit)
  return unit_runner.run(spec.gin_files, spec.gin_bindings, executors.workdir(root, spec), max_retries, python)


def make_executor(root: str, options: Options) -> submitit.AutoExecutor:
  executor = submitit.AutoExecutor(folder=os.path.join(root, ".submitit"), cluster=options.slurm_cluster)
  executor.update_parameters(name=options.name, timeout_min=options.slurm_timeout_min,
                             gpus_per_node=options.gpus_per_unit or 0, tasks_per_node=1, nodes=1,
                             slurm_array_parallelism=options.parallel)
  if options.slurm_partition:
    executor.update_parameters(slurm_partition=options.slurm_partition)
  return executor


def launch(units: Sequence[Unit], root: str, options: Options) -> int:
  executor = make_executor(root, options)
  count = len(units)
  jobs = executor.map_array(array_task, [u.to_json() for u in units], [root] * count,
                            [options.max_retries] * count, [options.python] * count)
  print(f"submitted {count} units as {executor.cluster} array {jobs[0].job_id.split('_')[0]}", flush=True)
  if executor.cluster != "local":
    print(f"follow it with: python -m launch.status {root}", flush=True)
    return 0
  codes = [job.result() for job in jobs]
  return 1 if 1 in codes else max(codes, default=0)
