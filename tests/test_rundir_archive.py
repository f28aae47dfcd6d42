"""rundir/archive.py: finished runs survive a lost machine through records/, byte for byte, and nothing else does."""

import json
import os
import pathlib
import socket
import subprocess
import sys
import tarfile
import time

import pytest

from rundir import archive, progress
from rundir.files import MANIFEST_FILE

REPO = pathlib.Path(__file__).resolve().parents[1]
FINISHED_UNIT, RUNNING_UNIT = "arch=qkln,lr=0.001", "arch=qkln,lr=0.01"


def _manifest(sweep: str) -> str:
  return json.dumps({"version": 2, "sweep": {"name": sweep}, "units": [{"name": FINISHED_UNIT}, {"name": RUNNING_UNIT}]})


def _write(path: pathlib.Path, text: str) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(text)


@pytest.fixture
def root(tmp_path) -> pathlib.Path:
  """A sweep root with one completed unit (records, a checkpoint, an event file, a log) and one still running."""
  root = tmp_path / "runs" / "fig7_cpu"
  _write(root / MANIFEST_FILE, _manifest("fig7_cpu"))
  done = root / FINISHED_UNIT
  _write(done / "run.json", json.dumps({"config": {"train": {"steps": 200}}}))
  _write(done / "status.json", json.dumps({"state": "completed", "step": 200}))
  _write(done / "metrics.jsonl", "".join(json.dumps({"step": s, "train/loss": 7.0 - s / 100}) + "\n"
                                         for s in range(0, 201, 10)))
  _write(done / "monitor.jsonl", json.dumps({"step": 1, "attn/max_logit/block_0": 4.0}) + "\n")
  _write(done / "config.gin", "lr = 0.001\n")
  _write(done / "launch.json", json.dumps({"attempts": [{"start": 10.0, "end": 70.0, "exit_code": 0}]}))
  _write(done / "checkpoints" / "200" / "default" / "state", "x" * 1000)
  _write(done / "events.out.tfevents.1.vm.1", "tensorboard")
  _write(done / "train.log", "log")
  _write(root / RUNNING_UNIT / "status.json", json.dumps({"state": "running", "step": 40}))
  return root


def test_pack_then_unpack_restores_the_finished_runs_records_and_only_them(root, tmp_path):
  store = tmp_path / "records"
  counts = archive.pack(str(root), str(store))
  assert counts == (1, 0, (store / "fig7_cpu" / (FINISHED_UNIT + ".tar.xz")).stat().st_size, 0)
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


def test_a_finished_unit_is_packed_once_its_launcher_has_closed_the_attempt(root, tmp_path):
  """The trainer writes `completed`, then its launcher records the attempt's end: a pack in between stored the
  open attempt for good (a unit's wall time then reads 0). An open attempt whose process is gone (the launcher
  killed), or one still open progress.SETTLE_S after the last status (another host's), is packed as it is."""
  store, launch = tmp_path / "records", root / FINISHED_UNIT / "launch.json"
  (root / FINISHED_UNIT / "status.json").write_text(json.dumps({"state": "completed", "updated": time.time()}))
  opened = {"host": socket.gethostname(), "pid": os.getpid(), "start": 10.0}
  launch.write_text(json.dumps({"attempts": [opened]}))
  assert archive.pack(str(root), str(store)) == (0, 0, 0, 1)
  launch.write_text(json.dumps({"attempts": [{**opened, "end": 70.0, "exit_code": 0, "error": None}]}))
  assert archive.pack(str(root), str(store))[:2] == (1, 0)
  with tarfile.open(store / "fig7_cpu" / (FINISHED_UNIT + ".tar.xz")) as tar:
    assert json.load(tar.extractfile("launch.json"))["attempts"][0]["end"] == 70.0
  gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
  (root / RUNNING_UNIT / "status.json").write_text(json.dumps({"state": "completed", "updated": time.time()}))
  _write(root / RUNNING_UNIT / "launch.json", json.dumps({"attempts": [{**opened, "pid": int(gone.stdout)}]}))
  assert archive.pack(str(root), str(store))[:2] == (1, 1)
  elsewhere = tmp_path / "runs" / "elsewhere"
  _write(elsewhere / MANIFEST_FILE, _manifest("elsewhere"))
  _write(elsewhere / FINISHED_UNIT / "launch.json", json.dumps({"attempts": [{**opened, "host": "node7"}]}))
  stale = {"state": "completed", "updated": time.time() - progress.SETTLE_S - 1}
  _write(elsewhere / FINISHED_UNIT / "status.json", json.dumps(stale))
  assert archive.pack(str(elsewhere), str(store))[:2] == (1, 0)


def test_root_dot_is_stored_under_its_folder_name_and_a_killed_unpack_leaves_nothing_behind(root, tmp_path, monkeypatch):
  store = tmp_path / "records"
  monkeypatch.chdir(root)
  archive.pack(".", str(store))
  assert sorted(os.listdir(store)) == ["fig7_cpu"]
  fresh = tmp_path / "fresh" / "fig7_cpu"
  _write(fresh / f".{FINISHED_UNIT}.unpacking" / "junk", "from an unpack killed mid-way")
  assert archive.unpack(str(fresh), str(store)) == (1, 0)
  assert "junk" not in os.listdir(fresh / FINISHED_UNIT) and sorted(os.listdir(fresh)) == [FINISHED_UNIT, MANIFEST_FILE]


def test_unpack_leaves_alone_a_unit_a_running_sweep_starts_meanwhile(root, tmp_path, monkeypatch):
  """Before, the sweep's new unit directory made os.replace fail: a traceback, and a '<unit>.unpacking' folder
  left that analysis read as one more run."""
  store, fresh = tmp_path / "records", tmp_path / "fresh" / "fig7_cpu"
  archive.pack(str(root), str(store))
  replace = os.replace

  def sweep_starts_it_first(source, target):
    if str(source).endswith(".unpacking"):
      _write(pathlib.Path(target) / ".lock", "")
    replace(source, target)

  monkeypatch.setattr(archive.os, "replace", sweep_starts_it_first)
  assert archive.unpack(str(fresh), str(store)) == (0, 1)
  assert sorted(os.listdir(fresh)) == [FINISHED_UNIT, MANIFEST_FILE] and os.listdir(fresh / FINISHED_UNIT) == [".lock"]


def _cli(*args: str, cwd: pathlib.Path = REPO) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", "rundir.archive", *args], cwd=cwd, capture_output=True, text=True)


def test_the_default_store_is_the_repositorys_records_from_any_folder(tmp_path):
  result = _cli("unpack", str(tmp_path / "no_such_suite"), cwd=tmp_path)
  assert result.returncode == 2 and f"{REPO}/records/no_such_suite holds no records of" in result.stderr
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args, setup, message", [
    (["pack", "{root}", "{tmp}/missing"], None, "has no sweep.json: expected a sweep's root"),
    (["unpack", "{tmp}/missing"], None, "holds no records of"),
    (["restore", "{root}"], None, "expected `pack ROOT...` or `unpack ROOT...`"),
    (["pack", "{root}", "--store="], None, "--store is empty"),
    (["pack", "{root}", "--store={tmp}/file"], "file", "--store {tmp}/file is not a directory"),
    (["unpack", "{tmp}/file/fig7_cpu"], "file", "root {tmp}/file/fig7_cpu cannot be written"),
    (["pack", "{root}"], "truncated", "sweep.json is unreadable"),
    (["pack", "{root}"], "nameless", "lacks a sweep name or a unit's name"),
    (["pack", "{root}"], "stored_other", "holds sweep 'other' and {root} sweep 'fig7_cpu'"),
    (["unpack", "{tmp}/other/fig7_cpu"], "root_other", "holds sweep 'other' and {tmp}/records/fig7_cpu sweep 'fig7_cpu'"),
    (["pack", "{root}", "{tmp}/other/fig7_cpu"], "root_other", "shares its store folder {tmp}/records/fig7_cpu"),
    # another sweep of the same name (every inline sweep is 'inline'): its lr=0.001 would be counted stored
    (["pack", "{root}"], "stored_otherwise",
     f"holds unit {FINISHED_UNIT!r} defined otherwise: expected the same sweep, or one that extends it"),
    (["unpack", "{tmp}/a", "{tmp}/b", "{tmp}/c"], None, "holds no records of {tmp}/a: expected a root packed with "
                                                      "`pack` (also refused: {tmp}/b, {tmp}/c)"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args, setup, message, root, tmp_path):
  store = tmp_path / "records"
  if setup == "file":
    _write(tmp_path / "file", "not a folder")
  elif setup == "truncated":
    (root / MANIFEST_FILE).write_text(_manifest("fig7_cpu")[:30])
  elif setup == "nameless":
    (root / MANIFEST_FILE).write_text(json.dumps({"sweep": {"name": "fig7_cpu"}, "units": [{"gin_files": []}]}))
  elif setup == "stored_other":
    _write(store / "fig7_cpu" / MANIFEST_FILE, _manifest("other"))
  elif setup == "stored_otherwise":
    redefined = {"name": FINISHED_UNIT, "gin_files": ["gin/no_qkln.gin"]}
    _write(store / "fig7_cpu" / MANIFEST_FILE,
           json.dumps({"version": 2, "sweep": {"name": "fig7_cpu"}, "units": [redefined]}))
  elif setup == "root_other":
    archive.pack(str(root), str(store))
    _write(tmp_path / "other" / "fig7_cpu" / MANIFEST_FILE, _manifest("other"))
  before = sorted(str(p) for p in tmp_path.rglob("*"))
  args = [a.format(root=root, tmp=tmp_path) for a in args]
  result = _cli(*args, *([] if any(a.startswith("--store") for a in args) else [f"--store={store}"]), cwd=tmp_path)
  assert result.returncode == 2 and result.stderr.startswith("error: ")
  assert message.format(root=root, tmp=tmp_path) in result.stderr, result.stderr
  assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
  assert sorted(str(p) for p in tmp_path.rglob("*")) == before
