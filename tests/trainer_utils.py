"""Runs `python -m train.main` in a subprocess and reads what it wrote."""

import json
import os
import pathlib
import subprocess
import sys

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
