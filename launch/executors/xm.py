"""Runs the units through XManager (the `xm` extra): one experiment, one xm.Job per unit, in the
manner of t5x's xm_launch.py: the launcher only builds jobs, each job runs launch.run_unit.

`local` packages options.python as an xm.Binary and runs the jobs on this machine with
xm_local.Local() (no Docker); the experiment waits for them. `vertex` packages the repository as
a Python container (Docker, a GCP project) for Vertex AI with --xm_accelerator (tpu_v4=8, a100=8);
ROOT must then be a path every job sees (a GCS FUSE mount such as /gcs/BUCKET/runs/fig1).
"""

from collections.abc import Sequence

from xmanager import xm, xm_local

from launch import executors
from rundir import bindings
from launch.errors import LaunchError
from launch.executors import Options
from launch.spec import Unit

# Vertex image: the repository installed with its pinned dependencies.
_DOCKER_INSTRUCTIONS = ["COPY . /proxies", "WORKDIR /proxies", "RUN pip install -e ."]


def requirements(accelerator: str) -> xm.JobRequirements:
  """`tpu_v4=8` or `a100=8` -> xm.JobRequirements; empty: none."""
  if not accelerator:
    return xm.JobRequirements()
  name, _, count = accelerator.partition("=")
  try:
    return xm.JobRequirements(**{name.strip(): int(count)})
  except (ValueError, TypeError) as e:
    raise LaunchError(f"--xm_accelerator={accelerator!r} is not a resource: expected NAME=COUNT, e.g. "
                      "tpu_v4=8 or a100=8") from e


def packageable(options: Options) -> xm.Packageable:
  """What XManager packages once for every job."""
  if options.xm_target == "local":
    return xm.binary(executor_spec=xm_local.Local.Spec(), path=options.python, args=["-m", "launch.run_unit"],
                     env_vars={"PYTHONPATH": bindings.REPO_ROOT})
  return xm.python_container(executor_spec=xm_local.Vertex.Spec(), path=bindings.REPO_ROOT,
                             entrypoint=xm.ModuleName("launch.run_unit"), base_image="python:3.11",
                             docker_instructions=_DOCKER_INSTRUCTIONS)


def executor(options: Options) -> xm.Executor:
  if options.xm_target == "local":
    return xm_local.Local()
  return xm_local.Vertex(requirements=requirements(options.xm_accelerator))


def jobs(units: Sequence[Unit], root: str, options: Options, executable: xm.Executable) -> list[xm.Job]:
  """One job per unit, named after it."""
  return [xm.Job(executable=executable, executor=executor(options), name=unit.name,
                 args=executors.run_unit_args(unit, root, options.max_retries)) for unit in units]


def launch(units: Sequence[Unit], root: str, options: Options) -> int:
  with xm_local.create_experiment(experiment_title=options.name) as experiment:
    [executable] = experiment.package([packageable(options)])
    for job in jobs(units, root, options, executable):
      experiment.add(job)
    print(f"XManager experiment {experiment.experiment_id}: {len(units)} jobs on {options.xm_target}", flush=True)
  if options.xm_target != "local":
    print(f"follow it with: python -m launch.status {root}", flush=True)
    return 0
  totals = executors.summary(units, root)
  return 1 if totals["failed"] or totals["pending"] or totals["running"] else 0
