"""The optional executors for real on this machine: submitit's local executor (the `slurm` extra) and
XManager's xm_local.Local() (the `xm` extra, from its own venv when it is not in this one), plus the
Vertex AI job spec built without submitting it."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from launch import spec
from rundir import progress
from launch.executors import Options
from tests.trainer_utils import REPO, TINY

TINY_RUN = TINY + ["steps=2", "TrainConfig.log_every=1", "TrainConfig.eval_every=2", "TrainConfig.checkpoint_every=2"]
UNIT = spec.Unit("lr=0.01", ("gin/qkln.gin", "gin/local.gin"), tuple(TINY_RUN + ["lr=0.01"]), {"lr": 0.01})
# xmanager pins protobuf<7; the project venv keeps protobuf 7, so xmanager may live in .venv-extras.
XM_PYTHONS = [sys.executable, str(REPO / ".venv-extras" / "bin" / "python")]


def xm_python() -> str | None:
  """A Python that imports xmanager, or None."""
  for python in XM_PYTHONS:
    if pathlib.Path(python).exists() and subprocess.run([python, "-c", "import xmanager"],
                                                        capture_output=True).returncode == 0:
      return python
  return None


@pytest.mark.slow
def test_submitit_local_array_runs_the_unit(tmp_path):
  pytest.importorskip("submitit", reason="the slurm extra is not installed: pip install -e '.[slurm]'")
  from launch.executors import slurm
  options = Options(name="t", python=sys.executable, slurm_cluster="local", max_retries=0)
  assert slurm.launch([UNIT], str(tmp_path), options) == 0
  unit = progress.unit_status(str(tmp_path / UNIT.name))
  assert unit.state == "completed" and unit.attempts == 1
  assert (tmp_path / ".submitit").is_dir() and (tmp_path / UNIT.name / "train.log").exists()


@pytest.fixture(scope="module")
def xm() -> str:
  python = xm_python()
  if python is None:
    pytest.skip("xmanager is not importable from .venv or .venv-extras: pip install -e '.[xm]' "
                "(or into .venv-extras, see pyproject.toml)")
  return python


@pytest.mark.slow
def test_xm_local_runs_one_job_per_unit(xm, tmp_path):
  root = tmp_path / "xm"
  args = [xm, "-m", "launch.sweep", "--executor=xm", f"--python={sys.executable}", "--gin_file=gin/qkln.gin",
          "--gin_file=gin/local.gin", "--sweep=lr=[0.01]", f"--root={root}", "--max_retries=0"]
  args += [f"--gin_bindings={b}" for b in TINY_RUN]
  result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, HOME=str(tmp_path)))  # XManager's database goes to ~/.xmanager
  assert result.returncode == 0, result.stdout + result.stderr[-3000:]
  assert "XManager experiment" in result.stdout
  assert progress.unit_status(str(root / "lr=0.01")).state == "completed"


VERTEX_SPEC = """
import json, sys
from xmanager import xm
from launch import spec
from launch.executors import Options, xm as xm_executor
options = Options(name="fig1", xm_target="vertex", xm_accelerator="tpu_v4=8", max_retries=2)
packageable = xm_executor.packageable(options)
unit = spec.Unit.from_json(json.loads(sys.argv[1]))
[job] = xm_executor.jobs([unit], "/gcs/bucket/runs/fig1", options, executable=None)
print(json.dumps({"entrypoint": packageable.executable_spec.entrypoint.module_name,
                  "spec": type(packageable.executor_spec).__name__, "executor": type(job.executor).__name__,
                  "requirements": repr(job.executor.requirements), "name": job.name,
                  "args": job.args.to_list(str)}))
"""


def test_vertex_tpu_job_spec_is_built_without_submitting(xm):
  result = subprocess.run([xm, "-c", VERTEX_SPEC, json.dumps(UNIT.to_json())], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-3000:]
  job = json.loads(result.stdout.splitlines()[-1])
  assert job["entrypoint"] == "launch.run_unit" and job["spec"] == "VertexSpec" and job["executor"] == "Vertex"
  assert "tpu_v4" in job["requirements"] and job["name"] == UNIT.name
  assert job["args"][0] == "--workdir=/gcs/bucket/runs/fig1/lr=0.01" and job["args"][-1] == "--max_retries=2"
  assert "--gin_bindings=lr=0.01" in job["args"]
