"""Runs `python -m train.main` in a subprocess and reads what it wrote."""

import json
import os
import pathlib
import subprocess
import sys

from launch.group import free_port

REPO = pathlib.Path(__file__).resolve().parents[1]
# A model small enough that a run is dominated by start-up (~10 s on 2 cores).
TINY = ["d_model=32", "num_layers=2", "num_heads=1", "batch_size=8", "seq_len=32", "warmup_steps=2",
        "TrainConfig.num_eval_batches=2"]


def train_cmd(workdir, bindings=(), gin_files=("gin/qkln.gin", "gin/local.gin")) -> list[str]:
  cmd = [sys.executable, "-m", "train.main", f"--workdir={workdir}"]
  cmd += [f"--gin_file={f}" for f in gin_files]
  cmd += [f"--gin_bindings={b}" for b in [*TINY, *bindings]]
  return cmd


def run_train(workdir, bindings=(), devices: int = 1, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  result = subprocess.run(train_cmd(workdir, bindings, **kwargs), cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
  if check and result.returncode != 0:
    raise AssertionError(f"train.main exited {result.returncode}:\n{result.stdout}\n{result.stderr[-3000:]}")
  return result


def read_metrics(workdir) -> list[dict]:
  with open(pathlib.Path(workdir) / "metrics.jsonl") as f:
    return [json.loads(line) for line in f]


def read_status(workdir) -> dict:
  return json.loads((pathlib.Path(workdir) / "status.json").read_text())


def without_timing(records: list[dict]) -> list[dict]:
  return [{k: v for k, v in r.items() if k != "perf/tokens_per_s"} for r in records]


def start_processes(workdir, bindings=(), processes: int = 2, devices: int = 4,
                    flags=()) -> list[subprocess.Popen]:
  """One run as `processes` train.main processes of `devices` CPU devices each; process i's stdout and
  stderr go to WORKDIR.p<i>.log."""
  address = f"--coordinator_address=127.0.0.1:{free_port()}"
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  started = []
  for i in range(processes):
    with open(f"{workdir}.p{i}.log", "w") as log:
      cmd = [*train_cmd(workdir, bindings), address, f"--num_processes={processes}", f"--process_id={i}", *flags]
      started.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
  return started


def wait_all(processes: list[subprocess.Popen], workdir, timeout: float = 600) -> None:
  """Waits for every process; AssertionError with their logs when one exits non-zero."""
  codes = [p.wait(timeout=timeout) for p in processes]
  if any(codes):
    logs = "\n".join(pathlib.Path(f"{workdir}.p{i}.log").read_text()[-3000:] for i in range(len(processes)))
    raise AssertionError(f"train.main processes exited {codes}:\n{logs}")
