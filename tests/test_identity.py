"""Issue 10: a run directory and a sweep root hold one configuration and one writer."""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from analysis import runs
from rundir import progress

from model.config import ModelConfig
from rundir.lock import DirLock
from tests.trainer_utils import REPO, TINY, read_metrics, run_train, without_timing
from train import identity
from train.optimizer import OptimizerConfig
from train.configs import TrainConfig

BINDINGS = ["steps=10", "TrainConfig.log_every=5", "TrainConfig.eval_every=5", "TrainConfig.checkpoint_every=5",
            "TrainConfig.tensorboard=False"]


def snapshot(directory: pathlib.Path) -> dict[str, str]:
  """{relative path: sha256} of every file except the lock: what 'nothing changes' compares."""
  return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
          for p in sorted(directory.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> pathlib.Path:
  """A run with checkpoints whose status says 'running', as a kill -9 after step 10 leaves it."""
  workdir = tmp_path_factory.mktemp("identity") / "run"
  run_train(workdir, [*BINDINGS, "lr=0.01"])
  status = json.loads((workdir / "status.json").read_text())
  (workdir / "status.json").write_text(json.dumps({**status, "state": "running"}))
  return workdir


@pytest.mark.slow
def test_run_json_records_config_and_fingerprint(interrupted):
  run = json.loads((interrupted / "run.json").read_text())
  assert run["config"]["optimizer"]["lr"] == 0.01 and run["config"]["model"]["d_model"] == 32
  assert "log_every" not in run["config"]["train"] and run["config"]["train"]["steps"] == 10
  assert run["fingerprint"] == identity.fingerprint(run["config"])
  assert "vocab_path" not in run["bindings"] and run["config"]["data"]["source"] == "embedded"  # C4's macro, unread


@pytest.mark.slow
@pytest.mark.parametrize("change, named", [("lr=0.1", "optimizer.lr: 0.01 -> 0.1"),
                                           ("d_model=64", "model.d_model: 32 -> 64")])
def test_rerun_with_another_config_is_refused_and_changes_nothing(interrupted, change, named):
  before = snapshot(interrupted)
  result = run_train(interrupted, [*BINDINGS, "lr=0.01", change], check=False)
  assert result.returncode == 2, result.stderr[-2000:]
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0] and "--workdir" in lines[0]
  assert snapshot(interrupted) == before
  assert not (interrupted.parent / "corrupt_checkpoints").exists()


@pytest.mark.slow
def test_finished_run_rerun_with_another_config_is_refused(tmp_path):
  workdir = tmp_path / "run"
  run_train(workdir, [*BINDINGS, "lr=0.01"])
  result = run_train(workdir, [*BINDINGS, "lr=0.02"], check=False)
  assert result.returncode == 2 and "optimizer.lr: 0.01 -> 0.02" in result.stderr
  assert "already completed" not in result.stdout


def test_second_trainer_on_a_workdir_is_refused(tmp_path):
  workdir = tmp_path / "run"
  workdir.mkdir()
  with DirLock(str(workdir), "workdir"):
    result = run_train(workdir, [*BINDINGS, "lr=0.01"], check=False)
  assert result.returncode == 2, result.stderr[-2000:]
  assert f"is in use by pid {os.getpid()}" in result.stderr and "Traceback" not in result.stderr
  assert not (workdir / "metrics.jsonl").exists()


@pytest.mark.slow
def test_restart_from_scratch_keeps_one_line_per_step(tmp_path):
  """A kill -9 before the first checkpoint leaves a step-0 line; the restart must not add a second."""
  workdir = tmp_path / "run"
  workdir.mkdir()
  (workdir / "metrics.jsonl").write_text(json.dumps({"step": 0, "eval/loss": 5.0}) + "\n")
  run_train(workdir, [*BINDINGS, "lr=0.01"])
  steps = [r["step"] for r in read_metrics(workdir)]
  assert steps == [0, 5, 10]


def test_second_launcher_on_a_root_is_refused(tmp_path):
  root = tmp_path / "sweep"
  root.mkdir()
  command = [sys.executable, "-m", "launch.sweep", "--gin_file=gin/qkln.gin", "--gin_file=gin/local.gin",
             "--sweep=lr=[0.01]", f"--root={root}"]
  with DirLock(str(root), "root"):
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode == 2, result.stderr[-2000:]
  assert f"root {root} is in use by pid {os.getpid()}" in result.stderr
  assert not list(root.glob("*/metrics.jsonl"))


def _hold_lock(path, seconds: float) -> subprocess.Popen:
  """Another process holding `path`'s DirLock for `seconds`; returns once it holds it."""
  holder = subprocess.Popen([sys.executable, "-c", "import time; from rundir.lock import DirLock; "
                             f"DirLock({str(path)!r}).acquire(); print('held', flush=True); time.sleep({seconds})"],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
  assert holder.stdout.readline() == "held\n"
  return holder


def test_lock_is_released_when_its_holder_dies(tmp_path):
  holder = _hold_lock(tmp_path, seconds=60)
  with pytest.raises(ValueError, match=f"in use by pid {holder.pid}"):
    DirLock(str(tmp_path)).acquire()
  holder.kill()
  holder.wait()
  with DirLock(str(tmp_path)):
    pass


def test_differences_name_each_changed_key():
  old = {"model": {"d_model": 32, "mup": "none"}, "optimizer": {"lr": 0.1}}
  new = {"model": {"d_model": 64, "mup": "none"}, "optimizer": {"lr": 0.1, "b2": 0.95}}
  assert identity.differences(old, new) == ["model.d_model: 32 -> 64", "optimizer.b2: '<absent>' -> 0.95"]


@pytest.mark.parametrize("gin_files, gin_bindings, vocab_size, expected", [
    (["gin/qkln.gin", "gin/local.gin"], ["lr=0.01"], 8192, "41d9796ea49f1a5c"),
    (["gin/no_qkln.gin", "gin/repro.gin"], ["lr=0.3", "d_model=256", "num_heads=4", "ModelConfig.kappa=3.0"],
     32128, "4709b8ac6f8d7d89"),
])
def test_the_same_inputs_give_the_fingerprint_recorded_runs_carry(gin_files, gin_bindings, vocab_size, expected):
  """The values come from the code before the configs were built in one place (commit ee50f76): a suite
  started on it resumes across sessions only while the same inputs resolve to the same config."""
  import gin  # pylint: disable=import-outside-toplevel
  from train import configs, ginparse  # pylint: disable=import-outside-toplevel
  ginparse.parse(gin_files, gin_bindings)
  try:
    cfgs = configs.from_gin().with_vocab_size(vocab_size)  # as train/run.py builds them
  finally:
    gin.clear_config()  # later tests in this process build configs of their own
  config = identity.resolved_config(cfgs.train, cfgs.optimizer, cfgs.model,
                                    {"name": "fixed", "seq_len": 128, "batch_size": 16})
  assert identity.fingerprint(config) == expected


def _configs(**model):
  model_cfg = ModelConfig(vocab_size=8192, d_model=32, num_layers=2, num_heads=1, **model)
  return TrainConfig(steps=10, batch_size=8, seq_len=32), OptimizerConfig(lr=0.01, steps=10, warmup_steps=2), model_cfg


def _recorded(config: dict, drop: str) -> dict:
  """run.json as code without the config field `drop` ('section.field') wrote it."""
  section, field = drop.split(".")
  old = json.loads(json.dumps(config))
  del old[section][field]
  return {"config": old, "fingerprint": identity.fingerprint(old)}


def test_a_field_absent_from_an_older_run_json_matches_only_at_its_default():
  """Adding a config field with a default must not orphan the runs written before it existed."""
  configs = _configs()
  defaults = identity.field_defaults(*configs)
  assert defaults["model.mup_base_width"] == 256 and "optimizer.lr" not in defaults  # lr has no default
  config = identity.resolved_config(*configs, {"source": "embedded"})
  identity.check("w", _recorded(config, "model.mup_base_width"), config, defaults)  # at its default: same run
  wide = identity.resolved_config(*_configs(mup_base_width=512), {"source": "embedded"})
  with pytest.raises(ValueError, match=r"model\.mup_base_width: '<absent>' -> 512"):
    identity.check("w", _recorded(config, "model.mup_base_width"), wide, defaults)
  with pytest.raises(ValueError, match=r"optimizer\.lr: '<absent>' -> 0\.01"):  # no default to match
    identity.check("w", _recorded(config, "optimizer.lr"), config, defaults)
  removed = _recorded(config, "model.kappa")  # recorded by this code, resumed by code without the field
  with pytest.raises(ValueError, match=r"model\.kappa: None -> '<absent>'"):
    identity.check("w", {"config": config, "fingerprint": "0"}, removed["config"], defaults)


def test_where_the_data_lies_may_change_what_it_is_may_not():
  """Another machine holds the same shards and vocabulary at other paths (and the embedded corpus's
  vocabulary in another cache dir): the same run; another vocabulary is not."""
  configs = _configs()
  data = {"fingerprint": "f", "vocabulary": {"path": "/a/spm.model", "sha256": "v"},
          "splits": {"train": {"shards": 3, "first_shard": "/a/c4-train.00000-of-01024.json.gz"}}}
  config = identity.resolved_config(*configs, data)
  moved = identity.resolved_config(*configs, {**data, "vocabulary": {"path": "/b/spm.model", "sha256": "v"},
                                              "splits": {"train": {"shards": 3, "first_shard": "/b/c4-train.x"}}})
  recorded = {"config": config, "fingerprint": identity.fingerprint(config)}
  identity.check("w", recorded, moved, identity.field_defaults(*configs))
  other = identity.resolved_config(*configs, {**data, "vocabulary": {"path": "/a/spm.model", "sha256": "w"}})
  with pytest.raises(ValueError, match=r"data\.vocabulary\.sha256: 'v' -> 'w'\)"):
    identity.check("w", recorded, other, identity.field_defaults(*configs))


@pytest.mark.slow
def test_a_run_recorded_before_a_field_existed_resumes(interrupted, tmp_path):
  workdir = tmp_path / "run"
  shutil.copytree(interrupted, workdir)
  shutil.rmtree(workdir / "checkpoints" / "10")  # as if killed between steps 5 and 10
  info = json.loads((workdir / "run.json").read_text())
  (workdir / "run.json").write_text(json.dumps({**info, **_recorded(info["config"], "model.mup_base_width")}))
  result = run_train(workdir, [*BINDINGS, "lr=0.01"])
  assert "resuming" in result.stdout and "from step 5" in result.stdout
  assert without_timing(read_metrics(workdir)) == without_timing(read_metrics(interrupted))
  assert json.loads((workdir / "run.json").read_text())["fingerprint"] == info["fingerprint"]


@pytest.mark.slow
def test_truncated_status_is_rebuilt_and_the_resume_is_identical(tmp_path):
  """status.json cut mid-file beside checkpoints: the trainer rebuilds it and resumes bit-identically."""
  workdir = tmp_path / "run"
  run_train(workdir, [*BINDINGS, "lr=0.01"])
  reference = read_metrics(workdir)
  shutil.rmtree(workdir / "checkpoints" / "10")  # as if killed between steps 5 and 10
  (workdir / "status.json").write_text('{"state": "runn')
  assert "status.json is unreadable" in progress.unit_status(str(workdir)).reason
  assert "status.json is unreadable" in runs.load_run(str(workdir), "run").missing_final_loss_reason()
  result = run_train(workdir, [*BINDINGS, "lr=0.01"])
  assert "rebuilt it from metrics.jsonl" in result.stdout and "resuming" in result.stdout
  assert without_timing(read_metrics(workdir)) == without_timing(reference)
  status = json.loads((workdir / "status.json").read_text())
  assert status["state"] == "completed" and status["init_eval_loss"] == reference[0]["eval/loss"]
  assert status["final_eval_loss"] == reference[-1]["eval/loss"]


@pytest.mark.parametrize("args, named", [(["--root=/etc/passwd"], "--root=/etc/passwd is not a directory"),
                                         (["--root=/etc/passwd/sweep"], "cannot be written"),
                                         (["--root=ROOT", "--bogus"], "bogus")])
def test_launcher_bad_root_or_flag_is_one_line_exit_2(tmp_path, args, named):
  args = [a.replace("ROOT", str(tmp_path / "r")) for a in args]
  command = [sys.executable, "-m", "launch.sweep", "--gin_file=gin/qkln.gin", "--sweep=lr=[0.01]", *args]
  result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], lines
  assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_stop_settings_may_change_on_resume(tmp_path):
  """When a diverging run stops is a decision on the recorded losses, not the computation."""
  workdir = tmp_path / "run"
  run_train(workdir, [*BINDINGS, "lr=0.01"])
  result = run_train(workdir, [*BINDINGS, "lr=0.01", "TrainConfig.divergence_window=3",
                               "TrainConfig.log_every=1"])
  assert "already completed; nothing to do" in result.stdout


@pytest.mark.slow
def test_resuming_at_the_last_step_completes_with_the_recorded_final_loss(interrupted, tmp_path):
  """A kill between the last checkpoint and the last status leaves 'running' at step == steps."""
  workdir = tmp_path / "run"
  shutil.copytree(interrupted, workdir)
  reference = read_metrics(workdir)
  run_train(workdir, [*BINDINGS, "lr=0.01"])
  status = json.loads((workdir / "status.json").read_text())
  assert status["state"] == "completed" and status["final_eval_loss"] == reference[-1]["eval/loss"]
  assert read_metrics(workdir) == reference


@pytest.mark.parametrize("binding, named", [
    ("make_dataset.source='nope'", "source='nope' is unknown"),
    ("vocab_path='/nonexistent.model'", "sets macro 'vocab_path'"),
    # before rundir/fields.py: a ZeroDivisionError and a TypeError (exit 1), after run.json was written
    ("ModelConfig.d_head=0", "ModelConfig.d_head=0: expected a positive integer or None"),
    ("TrainConfig.divergence_margin='x'", "TrainConfig.divergence_margin='x': expected a number")])
def test_bad_input_at_set_up_leaves_no_run_directory(tmp_path, binding, named):
  result = run_train(tmp_path / "new" / "run", [*BINDINGS, binding], check=False)
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2 and len(lines) == 1 and named in lines[0], lines
  assert not (tmp_path / "new").exists()


def test_lock_waits_for_a_holder_that_is_exiting(tmp_path):
  """A relaunched sweep's worker may meet its killed predecessor still exiting: it waits (wait_s)."""
  holder = _hold_lock(tmp_path, seconds=1.5)
  with pytest.raises(ValueError, match=f"in use by pid {holder.pid}"):
    DirLock(str(tmp_path)).acquire()
  with DirLock(str(tmp_path)).acquire(wait_s=60):
    pass
  holder.wait()


@pytest.mark.slow
def test_worker_holds_each_units_lock_only_while_it_runs(tmp_path):
  """`train.worker` runs units one after another in one process: each unit's lock (with the worker's
  pid) is released when the unit ends, while the worker lives on."""
  workdir = tmp_path / "unit"
  request = {"gin_files": ["gin/qkln.gin", "gin/local.gin"], "log": str(workdir / "train.log"),
             "gin_bindings": TINY + BINDINGS + ["make_dataset.source='nope'"], "workdir": str(workdir)}
  worker = subprocess.Popen([sys.executable, "-m", "train.worker"], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
  try:
    worker.stdin.write(json.dumps(request) + "\n")
    worker.stdin.flush()
    answer = json.loads(worker.stdout.readline())
    assert answer["exit_code"] == 2 and "source='nope'" in (workdir / "train.log").read_text()
    assert (workdir / ".lock").read_text().strip() == str(worker.pid)  # it did hold it
    assert worker.poll() is None
    with DirLock(str(workdir)):  # released, though the worker still runs
      pass
  finally:
    worker.stdin.close()
    worker.wait(timeout=60)


@pytest.mark.slow
def test_a_run_with_tensorboard_is_quiet_on_stderr(tmp_path):
  """TensorFlow's C++ start-up lines are hidden by default (-v 1 or PROXIES_VERBOSE=1 shows them)."""
  result = run_train(tmp_path / "run", ["steps=2", "TrainConfig.tensorboard=True"])
  assert list((tmp_path / "run").glob("events.out.tfevents.*"))  # TensorFlow was imported
  assert result.stderr == ""


def test_unknown_run_unit_flag_is_one_line_exit_2():
  result = subprocess.run([sys.executable, "-m", "launch.run_unit", "--workdir=x", "--no_such_flag"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2 and len(lines) == 1 and "no_such_flag" in lines[0], result.stderr


@pytest.mark.parametrize("dry_run", [True, False])
def test_bad_value_in_a_sweep_is_refused_before_anything_trains(tmp_path, dry_run):
  """Every unit's config is validated by the trainer's own checks, in one process, at launch."""
  root = tmp_path / "demo"
  command = [sys.executable, "-m", "launch.sweep", "--gin_file=gin/qkln.gin", "--gin_file=gin/local.gin",
             "--sweep=lr=[abc,0.1,xyz]", f"--root={root}", *(["--dry_run"] if dry_run else [])]
  result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2 and len(lines) == 1, result.stderr
  assert lines[0].startswith("error: unit 'lr=abc': OptimizerConfig.lr='abc': expected a number")
  assert "(and 1 more bad units)" in lines[0]
  assert not root.exists()
