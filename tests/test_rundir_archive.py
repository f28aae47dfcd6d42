"""rundir/archive.py: finished runs survive a lost machine through records/, byte for byte, and nothing else does."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from rundir import archive, progress
from rundir.files import MANIFEST_FILE

REPO = pathlib.Path(__file__).resolve().parents[1]
FINISHED_UNIT, RUNNING_UNIT = "arch=qkln,lr=0.001", "arch=qkln,lr=0.01"


def _write(path: pathlib.Path, text: str) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(text)


@pytest.fixture
def root(tmp_path) -> pathlib.Path:
  """A sweep root with one completed unit (records, a checkpoint, an event file, a log) and one still running."""
  root = tmp_path / "runs" / "fig7_cpu"
  _write(root / MANIFEST_FILE, json.dumps({"name": "fig7_cpu", "units": [{"name": FINISHED_UNIT},
                                                                           {"name": RUNNING_UNIT}]}))
  done = root / FINISHED_UNIT
  _write(done / "run.json", json.dumps({"config": {"train": {"steps": 200}}}))
  _write(done / "status.json", json.dumps({"state": "completed", "step": 200}))
  _write(done / "metrics.jsonl", "".join(json.dumps({"step": s, "train/loss": 7.0 - s / 100}) + "\n"
                                         for s in range(0, 201, 10)))
  _write(done / "monitor.jsonl", json.dumps({"step": 1, "attn/max_logit/block_0": 4.0}) + "\n")
  _write(done / "config.gin", "lr = 0.001\n")
  _write(done / "launch.json", json.dumps({"attempts": [{"exit_code": 0}]}))
  _write(done / "checkpoints" / "200" / "default" / "state", "x" * 1000)
  _write(done / "events.out.tfevents.1.vm.1", "tensorboard")
  _write(done / "train.log", "log")
  _write(root / RUNNING_UNIT / "status.json", json.dumps({"state": "running", "step": 40}))
  return root


def test_pack_then_unpack_restores_the_finished_runs_records_and_only_them(root, tmp_path):
  store = tmp_path / "records"
  assert archive.pack(str(root), str(store)) == (1, 0, (store / "fig7_cpu" / (FINISHED_UNIT + ".tar.xz")).stat().st_size)
  fresh = tmp_path / "fresh" / "fig7_cpu"
  assert archive.unpack(str(fresh), str(store)) == (1, 0)
  restored = fresh / FINISHED_UNIT
  assert sorted(os.listdir(restored)) == ["config.gin", "launch.json", "metrics.jsonl", "monitor.jsonl", "run.json",
                                          "status.json"]
  for name in os.listdir(restored):
    assert (restored / name).read_bytes() == (root / FINISHED_UNIT / name).read_bytes(), name
  assert (fresh / MANIFEST_FILE).read_bytes() == (root / MANIFEST_FILE).read_bytes()
  assert not (fresh / RUNNING_UNIT).exists()
  # the launcher counts the restored unit finished and the running one still to train
  assert progress.is_finished(str(restored)) and not progress.is_finished(str(fresh / RUNNING_UNIT))


def test_a_packed_run_is_never_rewritten_and_a_root_unit_is_never_overwritten(root, tmp_path):
  store = tmp_path / "records"
  archive.pack(str(root), str(store))
  packed = (store / "fig7_cpu" / (FINISHED_UNIT + ".tar.xz"))
  before = packed.stat().st_mtime_ns
  _write(root / RUNNING_UNIT / "status.json", json.dumps({"state": "diverged", "step": 60}))
  assert archive.pack(str(root), str(store))[:2] == (1, 1)
  assert packed.stat().st_mtime_ns == before
  assert archive.unpack(str(root), str(store)) == (0, 2)
  assert (root / FINISHED_UNIT / "checkpoints").is_dir()


def _cli(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", "rundir.archive", *args], cwd=REPO, capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    (["pack", "{root}", "{missing}"], "has no sweep.json: expected a sweep's root"),
    (["unpack", "{missing}"], "holds no records of"),
    (["restore", "{root}"], "expected `pack ROOT...` or `unpack ROOT...`"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args, message, root, tmp_path):
  store = tmp_path / "records"
  args = [a.format(root=root, missing=tmp_path / "missing") for a in args]
  result = _cli(*args, f"--store={store}")
  assert result.returncode == 2 and result.stderr.startswith("error: ") and message in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
  assert not store.exists() and not (tmp_path / "missing").exists()
