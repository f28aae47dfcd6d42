"""`python -m train.main` on C4: local shards, resumed from the run directory alone, and base.gin's TFDS path
failing fast offline."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.test_data_c4 import T5_VOCAB, document, needs_vocab, write_shards
from tests.trainer_utils import REPO, read_metrics, read_status, run_train, train_cmd, without_timing
from train.data import streaming


def _write_train_shard(path, num_docs: int) -> None:
  """One allenai/c4 train shard of `num_docs` documents."""
  rng = np.random.default_rng(num_docs)
  with gzip.open(path, "wt", encoding="utf-8") as f:
    for i in range(num_docs):
      f.write(json.dumps({"text": document(rng), "url": f"https://example.com/{i}"}) + "\n")


def _c4_bindings(shards, vocab) -> list[str]:
  return [f"c4_train_files='{shards}/c4-train.*-of-01024.json.gz'",
          f"c4_validation_files='{shards}/c4-validation.*-of-00008.json.gz'", f"vocab_path='{vocab}'",
          "steps=60", "TrainConfig.log_every=5", "TrainConfig.eval_every=20", "TrainConfig.checkpoint_every=5",
          "TrainConfig.tensorboard=False"]


@pytest.mark.slow
@needs_vocab
def test_resume_on_another_machine_starts_at_the_checkpoints_data_position(tmp_path):
  """The run directory alone resumes a C4 run: killed after a checkpoint past the first shard read,
  it resumes as on another machine (shards and vocabulary at other paths, another, empty cache dir)
  with that first shard made unreadable (nothing may read it again this epoch), and ends bit-identical
  to an uninterrupted run."""
  shards = tmp_path / "c4"
  shards.mkdir()
  write_shards(shards, "train", 3, 48)  # ~90 steps of 8 x 32 tokens: the run's 60 stay in epoch 0
  write_shards(shards, "validation", 1, 8)
  first_read = f"c4-train.{streaming.process_shards(3, 0, 0, 0, 1)[0]:05d}-of-01024.json.gz"
  _write_train_shard(shards / first_read, 2)  # ~2 steps of rows: consumed before the first checkpoint
  gin_files = ("gin/qkln.gin", "gin/local.gin", "gin/data/c4_local.gin")
  reference = tmp_path / "reference"
  run_train(reference, _c4_bindings(shards, T5_VOCAB), gin_files=gin_files)
  assert read_status(reference)["state"] == "completed"
  data = json.loads((reference / "data.json").read_text())
  assert data["source"] == "c4_local" and data["vocabulary"]["size"] == 32101
  assert data["packing"] == "concat" and data["splits"]["train"]["shards"] == 3
  recorded = json.loads((reference / "run.json").read_text())
  assert recorded["bindings"]["vocab_path"] == str(T5_VOCAB)
  unit = {"name": "c4", "gin_files": recorded["gin_files"], "gin_bindings": recorded["gin_bindings"]}
  described = subprocess.run([sys.executable, "-m", "train.main", "--validate=-", "--describe"],
                             input=json.dumps([unit]), cwd=REPO, capture_output=True, text=True, timeout=300)
  assert json.loads(described.stdout.strip().splitlines()[-1])[0]["bindings"] == recorded["bindings"]

  killed = tmp_path / "killed"
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
  proc = subprocess.Popen(train_cmd(killed, _c4_bindings(shards, T5_VOCAB), gin_files=gin_files), cwd=REPO,
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

  def checkpoints() -> list[int]:  # finished ones: orbax renames a temporary directory to the step
    return [int(p.name) for p in (killed / "checkpoints").glob("[0-9]*") if p.name.isdigit()]

  deadline = time.time() + 300
  while not checkpoints():
    assert proc.poll() is None and time.time() < deadline, "run ended before its first checkpoint"
    time.sleep(0.02)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  step = max(checkpoints())
  assert 5 <= step < 60 and read_status(killed)["state"] == "running"
  position = json.loads((killed / "checkpoints" / str(step) / "data_position" / "process_0-of-1.json").read_text())
  assert position["step"] == step and position["epoch"] == 0 and position["shard_cursor"] >= 1

  moved = tmp_path / "elsewhere"
  shutil.copytree(shards, moved / "c4")
  shutil.copy(T5_VOCAB, moved / "spm.model")
  garbled = moved / "c4" / first_read
  garbled.write_bytes(np.random.default_rng(0).bytes(garbled.stat().st_size))  # same size: same data id
  (moved / "cache").mkdir()
  resumed = subprocess.run(train_cmd(killed, _c4_bindings(moved / "c4", moved / "spm.model"), gin_files=gin_files),
                           cwd=REPO, capture_output=True, text=True, timeout=600,
                           env={**env, "PROXIES_CACHE_DIR": str(moved / "cache")})
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f"from step {step}" in resumed.stdout and read_status(killed)["state"] == "completed"
  assert without_timing(read_metrics(killed)) == without_timing(read_metrics(reference))


def test_base_config_without_c4_fails_fast_with_the_fix(tmp_path):
  env = dict(os.environ, TFDS_DATA_DIR=str(tmp_path / "no_tfds"))
  start = time.time()
  result = subprocess.run([sys.executable, "-m", "train.main", "--gin_file=gin/qkln.gin",
                           f"--workdir={tmp_path / 'run'}"], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=env)
  assert result.returncode == 2, result.stderr[-2000:]
  (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert "c4/en:3.1.0 is not prepared" in error and "gin/data/c4_local.gin" in error
  assert time.time() - start < 60  # start-up imports; the check itself takes milliseconds


@pytest.mark.slow
@needs_vocab
def test_too_few_validation_tokens_is_exit_2_before_anything_is_written(tmp_path):
  """The eval batches of a streaming source were read at the first eval, after run.json: that run directory
  then refused the corrected command as another configuration (train.num_eval_batches: 500 -> 2)."""
  write_shards(tmp_path, "train", 1, 12)
  write_shards(tmp_path, "validation", 1, 4)
  bindings = [f"c4_train_files='{tmp_path}/c4-train.*-of-01024.json.gz'",
              f"c4_validation_files='{tmp_path}/c4-validation.*-of-00008.json.gz'",
              f"vocab_path='{T5_VOCAB}'", "steps=2", "TrainConfig.tensorboard=False"]
  gin_files = ("gin/qkln.gin", "gin/local.gin", "gin/data/c4_local.gin")
  result = run_train(tmp_path / "new" / "run", bindings + ["TrainConfig.num_eval_batches=500"], check=False,
                     gin_files=gin_files)
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
  assert lines[0].startswith("error: num_eval_batches=500 needs ") and not (tmp_path / "new").exists()
  run_train(tmp_path / "new" / "run", bindings + ["TrainConfig.num_eval_batches=1"], gin_files=gin_files)
  assert read_status(tmp_path / "new" / "run")["state"] == "completed"


@pytest.mark.slow
@needs_vocab
def test_truncated_shard_is_one_line_naming_it_and_exit_2(tmp_path):
  """A bad shard is bad input (a retry reads the same bytes): exit 2, not a crash that sweeps retry."""
  write_shards(tmp_path, "train", 2, 12)
  write_shards(tmp_path, "validation", 1, 8)
  shard = sorted(tmp_path.glob("c4-train.*.json.gz"))[0]
  shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
  bindings = [f"c4_train_files='{tmp_path}/c4-train.*-of-01024.json.gz'",
              f"c4_validation_files='{tmp_path}/c4-validation.*-of-00008.json.gz'",
              f"vocab_path='{T5_VOCAB}'", "steps=2"]
  result = run_train(tmp_path / "run", bindings, check=False,
                     gin_files=("gin/qkln.gin", "gin/local.gin", "gin/data/c4_local.gin"))
  assert result.returncode == 2, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith(f"error: shard '{shard}' is truncated"), result.stderr[-3000:]
  assert "Traceback" not in result.stderr and "delete it" not in last
