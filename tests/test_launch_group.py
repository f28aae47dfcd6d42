"""launch/group.py: a unit as N JAX processes under the local executor (--processes_per_unit)."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

from rundir import progress
from launch.group import process_environments
from tests.trainer_utils import REPO, TINY


def test_each_process_gets_its_share_of_gpus_or_cpu_devices():
  envs = process_environments({"CUDA_VISIBLE_DEVICES": "0,1,2,3", "XLA_FLAGS": "--xla_foo=1"}, 2)
  assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0,1", "2,3"]
  envs = process_environments({"XLA_FLAGS": "--xla_foo=1 --xla_force_host_platform_device_count=8"}, 2)
  assert [e["XLA_FLAGS"] for e in envs] == ["--xla_foo=1 --xla_force_host_platform_device_count=4"] * 2
  assert "CUDA_VISIBLE_DEVICES" not in envs[0]
  envs = process_environments({}, 3)  # one CPU device unless told: at least one each
  assert [e["XLA_FLAGS"] for e in envs] == ["--xla_force_host_platform_device_count=1"] * 3


def _pid_of(workdir: pathlib.Path, process_id: int) -> int | None:
  """The pid of the train.main process with this --process_id training workdir."""
  for entry in pathlib.Path("/proc").iterdir():
    try:
      args = (entry / "cmdline").read_bytes().split(b"\0")
    except OSError:
      continue
    if f"--workdir={workdir}".encode() in args and f"--process_id={process_id}".encode() in args:
      return int(entry.name)
  return None


def test_a_unit_as_two_processes_fails_its_attempt_when_one_is_killed_and_resumes_on_retry(tmp_path):
  root = tmp_path / "sweep"
  bindings = TINY + ["steps=40", "TrainConfig.log_every=2", "TrainConfig.eval_every=10",
                     "TrainConfig.checkpoint_every=10"]
  command = ([sys.executable, "-m", "launch.sweep", "--gin_file=gin/qkln.gin", "--gin_file=gin/local.gin",
              "--sweep=lr=[0.01]", f"--root={root}", "--processes_per_unit=2", "--max_retries=1"]
             + [f"--gin_bindings={b}" for b in bindings])
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
  launcher = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
  workdir = root / "lr=0.01"
  deadline = time.time() + 600
  while not (workdir / "checkpoints" / "10").is_dir():
    assert launcher.poll() is None and time.time() < deadline, launcher.communicate()[0]
    time.sleep(0.05)
  os.kill(_pid_of(workdir, 1), signal.SIGKILL)
  output, _ = launcher.communicate(timeout=900)
  assert launcher.returncode == 0, output
  first, second = progress.attempts(str(workdir))
  assert first["exit_code"] not in (0, None) and second["exit_code"] == 0  # the kill failed the attempt
  assert progress.unit_status(str(workdir)).state == "completed"
  log = (workdir / "train.log").read_text()
  assert "2 train.main processes" in log and "resuming" in log
  assert "resuming" in (workdir / "train.process1.log").read_text()
  run = json.loads((workdir / "run.json").read_text())
  assert (run["processes"], run["devices"]) == (2, 8)
