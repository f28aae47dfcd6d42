"""`python -m train.main` on C4: a short run on local shards, and base.gin's TFDS path failing fast offline."""

import json
import os
import subprocess
import sys
import time

from tests.test_data_c4 import T5_VOCAB, needs_vocab, write_shards
from tests.trainer_utils import REPO, read_metrics, read_status, run_train


@needs_vocab
def test_short_run_on_local_shards_with_the_t5_vocabulary(tmp_path):
  write_shards(tmp_path, "train", 2, 12)
  write_shards(tmp_path, "validation", 1, 8)
  bindings = [f"c4_train_files='{tmp_path}/c4-train.*-of-01024.json.gz'",
              f"c4_validation_files='{tmp_path}/c4-validation.*-of-00008.json.gz'",
              f"vocab_path='{T5_VOCAB}'", "steps=2", "TrainConfig.log_every=1", "TrainConfig.eval_every=2",
              "TrainConfig.checkpoint_every=2"]
  workdir = tmp_path / "run"
  run_train(workdir, bindings, gin_files=("gin/qkln.gin", "gin/local.gin", "gin/data/c4_local.gin"))
  assert read_status(workdir)["state"] == "completed"
  data = json.loads((workdir / "data.json").read_text())
  assert data["source"] == "c4_local" and data["vocabulary"]["size"] == 32101
  assert data["packing"] == "concat" and data["splits"]["train"]["shards"] == 2
  assert [m["step"] for m in read_metrics(workdir) if "train/loss" in m] == [1, 2]


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


@needs_vocab
def test_truncated_shard_is_one_line_naming_it_and_exit_2(tmp_path):
  """A bad shard is bad input (a retry reads the same bytes): exit 2, not a crash that sweeps retry."""
  write_shards(tmp_path, "train", 2, 12)
  write_shards(tmp_path, "validation", 1, 8)
  shard = sorted(tmp_path.glob("c4-train.*.json.gz"))[0]
  shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
  bindings = [f"c4_train_files='{tmp_path}/c4-train.*-of-01024.json.gz'",
              f"c4_validation_files='{tmp_path}/c4-validation.*-of-00008.json.gz'",
              f"vocab_path='{T5_VOCAB}'", "steps=2", f"c4_local_source.cache_dir='{tmp_path / 'cache'}'"]
  result = run_train(tmp_path / "run", bindings, check=False,
                     gin_files=("gin/qkln.gin", "gin/local.gin", "gin/data/c4_local.gin"))
  assert result.returncode == 2, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith(f"error: shard '{shard}' is truncated"), result.stderr[-3000:]
  assert "Traceback" not in result.stderr and "delete it" not in last
