"""End-to-end trainer tests through the real CLI (subprocesses: XLA_FLAGS must precede jax)."""

import json
import math
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.trainer_utils import REPO, read_metrics, read_status, run_train, train_cmd, without_timing
from train.checkpoint import Checkpointer
from train.step import TrainState

EXPECTED_KEYS = {"step", "train/loss", "train/z_loss", "lr", "grad/global_norm", "logits/mean", "logits/log_z",
                 "perf/tokens_per_s"}


@pytest.mark.slow
def test_readme_command_end_to_end(tmp_path):
  """The README's run command (shortened with extra bindings) writes the whole run directory."""
  readme = (REPO / "README.md").read_text()
  command = re.search(r"^\s*python (-m train\.main .*)$", readme, re.M).group(1).split()
  workdir = tmp_path / "run"
  command = [sys.executable, *command, f"--workdir={workdir}", "--gin_bindings=steps=20",
             "--gin_bindings=warmup_steps=2", "--gin_bindings=TrainConfig.eval_every=10"]
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
  result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert re.search(r"step 20/20 loss [\d.]+ lr [\d.e+-]+ tokens/s \d+ eta", result.stdout)
  timing = re.search(r"time: set-up ([\d.]+) s, compile ([\d.]+) s, steps ([\d.]+) s, evals ([\d.]+) s, "
                     r"checkpoints ([\d.]+) s, total ([\d.]+) s", result.stdout)
  *phases, total = map(float, timing.groups())
  assert all(p > 0 for p in phases) and sum(phases) == pytest.approx(total, abs=0.06)
  status = read_status(workdir)
  assert status["state"] == "completed" and status["step"] == 20
  assert status["final_eval_loss"] < status["init_eval_loss"]
  assert status["num_nonembedding_params"] < status["num_params"]
  run = json.loads((workdir / "run.json").read_text())
  assert run["bindings"]["steps"] == 20 and "lr" in run["bindings"]
  assert (workdir / "config.gin").read_text().count("OptimizerConfig.") > 3
  assert json.loads((workdir / "data.json").read_text())["fingerprint"]
  assert list(workdir.glob("events.out.tfevents.*"))
  assert (workdir / "checkpoints" / "20").is_dir()
  metrics = read_metrics(workdir)
  assert metrics[0] == {"step": 0, "eval/loss": status["init_eval_loss"]}
  last = metrics[-1]
  assert EXPECTED_KEYS <= set(last) and last["eval/loss"] == status["final_eval_loss"]
  for i in range(run["bindings"]["num_layers"]):
    for key in ("attn/max_logit", "attn/q_rms", "attn/k_rms", "attn/qk_cosine", "block/out_rms"):
      assert f"{key}/block_{i}" in last
  for prefix in ("grad/rms/", "update/rms/", "param/rms/"):
    assert f"{prefix}block_0/mlp/dense_in/w" in last and f"{prefix}head/w" in last
  again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
  assert again.returncode == 0 and "already completed" in again.stdout
  assert read_metrics(workdir) == metrics  # a finished run is left alone
  # launch.sweep --predict_from's description of the unit, untrained, is what the run wrote.
  unit = {"name": "readme", "gin_files": [a.split("=", 1)[1] for a in command if a.startswith("--gin_file=")],
          "gin_bindings": [a.split("=", 1)[1] for a in command if a.startswith("--gin_bindings=")]}
  described = subprocess.run([sys.executable, "-m", "train.main", "--validate=-", "--describe"], input=json.dumps([unit]),
                             cwd=REPO, capture_output=True, text=True, timeout=300)
  assert described.returncode == 0, described.stderr
  [fact] = json.loads(described.stdout.strip().splitlines()[-1])
  assert {k: fact[k] for k in ("gin_files", "gin_bindings", "bindings")} == {k: run[k] for k in ("gin_files", "gin_bindings", "bindings")}
  assert (fact["steps"], fact["num_nonembedding_params"]) == (20, status["num_nonembedding_params"])


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_is_exit_130_with_one_line_and_the_run_resumes(tmp_path, signum):
  """Python's own KeyboardInterrupt exit printed a 40-line traceback before the 130 README documents. SIGTERM
  (SLURM's time limit or preemption) is the same stop: before, the trainer died with -15, a failed attempt."""
  workdir = tmp_path / "run"
  bindings = ["steps=2000", "TrainConfig.log_every=5", "TrainConfig.checkpoint_every=10"]
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
  proc = subprocess.Popen(train_cmd(workdir, bindings), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 300
  while not (workdir / "checkpoints" / "10").is_dir():
    assert proc.poll() is None and time.time() < deadline, "run ended before its step-10 checkpoint"
    time.sleep(0.05)
  proc.send_signal(signum)
  _, stderr = proc.communicate(timeout=120)
  assert proc.returncode == 130 and "Traceback" not in stderr, stderr
  assert stderr.strip().splitlines()[-1] == "interrupted: rerunning the same command resumes from the newest checkpoint"
  assert read_metrics(workdir)[-1]["step"] >= 10  # nothing written is lost


@pytest.mark.slow
def test_sigkill_resume_with_corrupt_newest_checkpoint_is_bitwise_identical(tmp_path):
  bindings = ["steps=30", "TrainConfig.log_every=5", "TrainConfig.eval_every=10", "TrainConfig.checkpoint_every=10"]
  reference = tmp_path / "reference"
  run_train(reference, bindings)

  killed = tmp_path / "killed"
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
  proc = subprocess.Popen(train_cmd(killed, bindings), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while not (killed / "checkpoints" / "20").is_dir():
    assert proc.poll() is None and time.time() < deadline, "run ended before its step-20 checkpoint"
    time.sleep(0.05)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert read_status(killed)["state"] == "running"
  # Corrupt the newest checkpoint: the resume must fall back to step 10 and say so.
  for f in (killed / "checkpoints" / "20").rglob("*"):
    if f.is_file():
      f.write_bytes(b"garbage")
  resumed = run_train(killed, bindings)
  assert "checkpoint at step 20 is unreadable; falling back" in resumed.stdout
  assert "resuming" in resumed.stdout and "from step 10" in resumed.stdout
  assert list((killed / "corrupt_checkpoints").iterdir())  # moved aside, not deleted
  assert read_status(killed)["state"] == "completed"
  assert without_timing(read_metrics(killed)) == without_timing(read_metrics(reference))
  assert (killed / "monitor.jsonl").read_text() == (reference / "monitor.jsonl").read_text()


@pytest.mark.slow
def test_eight_device_fsdp_step_matches_one_device(tmp_path):
  bindings = ["steps=6", "TrainConfig.log_every=1", "TrainConfig.eval_every=3"]
  one = run_train(tmp_path / "one", bindings, devices=1)
  eight = run_train(tmp_path / "eight", bindings, devices=8)
  assert "mesh: 1 devices; 0 of" in one.stdout
  sharded = int(re.search(r"mesh: 8 devices; (\d+) of", eight.stdout).group(1))
  assert sharded >= 10  # every weight matrix and embedding is split over the 8 devices
  m1, m8 = read_metrics(tmp_path / "one"), read_metrics(tmp_path / "eight")
  assert [r["step"] for r in m1] == [r["step"] for r in m8]
  for r1, r8 in zip(m1, m8):
    for key in ("train/loss", "eval/loss", "grad/global_norm", "attn/max_logit/block_0"):
      if key in r1:
        np.testing.assert_allclose(r8[key], r1[key], rtol=2e-4, err_msg=key)


@pytest.mark.slow
def test_huge_learning_rate_ends_as_diverged_with_metrics_kept(tmp_path):
  workdir = tmp_path / "run"
  result = run_train(workdir, ["lr=1e3", "warmup_steps=0", "steps=60", "TrainConfig.log_every=5"],
                     gin_files=("gin/no_qkln.gin", "gin/local.gin"))
  assert result.returncode == 0
  status = read_status(workdir)
  assert status["state"] == "diverged", status
  assert status["final_eval_loss"] is None and status["step"] < 60
  assert "train loss" in status["reason"]
  metrics = read_metrics(workdir)
  assert metrics[-1]["step"] == status["step"]
  loss = metrics[-1]["train/loss"]
  assert not math.isfinite(loss) or loss > status["init_eval_loss"] + 1.0


@pytest.mark.slow
def test_loss_spikes_are_recorded_and_stop_the_run_only_when_sustained(tmp_path):
  """Threshold 0: every log is a spike. A window longer than the run completes it with every spike
  recorded; a window of 2 stops it at the second log (Section 2.2 scores the final loss, so a single
  spike must not end a run)."""
  common = ["steps=20", "warmup_steps=2", "TrainConfig.log_every=5", "TrainConfig.eval_every=20",
            "TrainConfig.divergence_threshold=0.0", "TrainConfig.tensorboard=False"]
  for window, state, last_step in ((100, "completed", 20), (2, "diverged", 10)):
    workdir = tmp_path / f"window_{window}"
    assert run_train(workdir, common + [f"TrainConfig.divergence_window={window}"]).returncode == 0
    status = read_status(workdir)
    assert (status["state"], status["step"]) == (state, last_step), status
    assert status["spike_logs"] == last_step // 5 and status["last_spike_step"] == last_step
    assert status["divergence_threshold"] == 0.0
    streaks = [(m["step"], m["train/spike_streak"]) for m in read_metrics(workdir) if "train/spike_streak" in m]
    assert streaks == [(5 * i, i) for i in range(1, last_step // 5 + 1)]
  assert read_status(tmp_path / "window_100")["final_eval_loss"] > 0
  assert "last 2 logs" in read_status(tmp_path / "window_2")["reason"]


def test_batch_not_divisible_by_mesh_is_a_one_line_error(tmp_path):
  result = run_train(tmp_path / "run", ["batch_size=6"], devices=8, check=False)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1] == (
      "error: batch_size=6 is not divisible by the 8 devices of the mesh: expected a multiple of 8")


@pytest.mark.parametrize("bindings,message", [
    (["lrr=0.1"], "unknown gin binding 'lrr'"),
    (["lr=abc"], "bad gin binding 'lr=abc': 'abc' is not a number: expected a number"),
    (["num_heads=3"], "num_heads=3 does not divide d_model=32"),
    (["ModelConfig.qk_layer_norm='none'"], "bad gin binding"),
])
def test_bad_bindings_exit_2_with_one_line(tmp_path, bindings, message):
  result = run_train(tmp_path / "run", bindings, check=False)
  assert result.returncode == 2, result.stderr[-2000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and message in last
  assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_missing_gin_file_and_unwritable_workdir(tmp_path):
  result = run_train(tmp_path / "run", [], check=False, gin_files=("gin/nope.gin",))
  assert result.returncode == 2 and "gin file 'gin/nope.gin' not found" in result.stderr
  result = run_train(tmp_path / "run", [], check=False, gin_files=("gin/ablations",))
  assert result.returncode == 2 and "gin file 'gin/ablations' is a folder" in result.stderr
  empty = subprocess.run([sys.executable, "-m", "train.main", f"--gin_file={REPO}/gin/qkln.gin",
                          f"--gin_file={REPO}/gin/local.gin", "--workdir="], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
  assert empty.returncode == 2 and empty.stderr.startswith("error: --workdir='': expected a folder"), empty.stderr
  assert not (tmp_path / "runs").exists()  # it trained into ./runs/<name> before
  blocker = tmp_path / "file"
  blocker.write_text("not a directory")
  result = run_train(blocker / "run", [], check=False)
  assert result.returncode == 2
  assert "is not writable" in result.stderr.strip().splitlines()[-1]


def test_checkpoint_of_another_layout_is_refused_not_moved_aside(tmp_path):
  """A head stored [D, V] (the layout before docs/performance.md) must stop the resume with one
  clear error and leave the checkpoint where it is, not be treated as corrupt."""
  state = TrainState(step=jnp.zeros([], jnp.int32), params={"head": {"w": jnp.zeros((4, 8))}},
                     opt_state=())
  ckpt = Checkpointer(str(tmp_path / "checkpoints"), every=1, keep=2)
  ckpt.maybe_save(1, state, {"step": 1}, force=True)
  ckpt.manager.wait_until_finished()
  expected = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state)
  assert ckpt.restore_latest(expected)[0].params["head"]["w"].shape == (4, 8)
  transposed = expected._replace(params={"head": {"w": jax.ShapeDtypeStruct((8, 4), jnp.float32)}})
  with pytest.raises(ValueError, match=r"params/head/w with shape \(4, 8\), this code expects \(8, 4\)"):
    ckpt.restore_latest(transposed)
  assert ckpt.manager.all_steps() == [1] and not (tmp_path / "corrupt_checkpoints").exists()


def test_checkpoint_holds_the_data_position_and_one_written_without_it_still_restores(tmp_path):
  """The position is an orbax item beside the state; a checkpoint of the state alone (what the code
  wrote before the item existed) restores its state with no position."""
  state = TrainState(step=jnp.full([], 3, jnp.int32), params={"w": jnp.arange(6.0).reshape(2, 3)}, opt_state=())
  expected = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state)
  position = {"step": 3, "epoch": 1, "shard_cursor": 2, "record": 64, "row": 5}
  ckpt = Checkpointer(str(tmp_path / "new"), every=3, keep=2)
  ckpt.maybe_save(3, state, position)
  ckpt.close()
  assert json.loads((tmp_path / "new" / "3" / "data_position" / "process_0-of-1.json").read_text()) == position
  restored, restored_position = Checkpointer(str(tmp_path / "new"), every=3, keep=2).restore_latest(expected)
  np.testing.assert_array_equal(restored.params["w"], state.params["w"])
  assert restored_position == position

  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  old = ocp.CheckpointManager(str(tmp_path / "old"), options=ocp.CheckpointManagerOptions(create=True))
  old.save(3, args=ocp.args.StandardSave(state))
  old.close()
  restored, restored_position = Checkpointer(str(tmp_path / "old"), every=3, keep=2).restore_latest(expected)
  np.testing.assert_array_equal(restored.params["w"], state.params["w"])
  assert restored_position is None and int(restored.step) == 3


def test_checkpoint_of_another_process_count_restores_its_state_without_a_position(tmp_path, capsys):
  """Two processes wrote it (process_0-of-2.json, process_1-of-2.json): one process resumes its state and
  recomputes its position. Before, the missing process_0-of-1.json made it 'unreadable': moved aside, and the
  next rerun started from scratch, cutting metrics.jsonl."""
  state = TrainState(step=jnp.full([], 2, jnp.int32), params={"w": jnp.arange(6.0).reshape(2, 3)}, opt_state=())
  expected = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state)
  ckpt = Checkpointer(str(tmp_path / "checkpoints"), every=2, keep=2)
  ckpt.maybe_save(2, state, {"step": 2})
  ckpt.close()
  positions = tmp_path / "checkpoints" / "2" / "data_position"
  (positions / "process_0-of-1.json").rename(positions / "process_0-of-2.json")
  (positions / "process_1-of-2.json").write_text('{"step": 2}')
  restored, position = Checkpointer(str(tmp_path / "checkpoints"), every=2, keep=2).restore_latest(expected)
  np.testing.assert_array_equal(restored.params["w"], state.params["w"])
  assert position is None and int(restored.step) == 2 and not (tmp_path / "corrupt_checkpoints").exists()
  assert "process_0-of-2.json, process_1-of-2.json, none for this process (process_0-of-1.json)" in (
      capsys.readouterr().out)


@pytest.mark.slow
def test_instability_warnings_go_to_warnings_jsonl_status_and_stdout_and_can_stop_the_run(tmp_path):
  """loss_spike=0 makes every train loss a spike against the previous log: one excursion from the second
  log on, so one record at step 10; stop_on_warning ends the run there as `warned` (exit 0). dense_steps=0:
  the monitor sees only the logs."""
  common = ["steps=20", "TrainConfig.log_every=5", "TrainConfig.eval_every=20", "TrainConfig.tensorboard=False",
            "MonitorThresholds.loss_spike=0.0", "MonitorThresholds.baseline=1", "MonitorThresholds.dense_steps=0"]
  result = run_train(tmp_path / "go_on", common)
  warnings = [json.loads(line) for line in (tmp_path / "go_on" / "warnings.jsonl").read_text().splitlines()]
  assert [(w["step"], w["kind"], w["where"]) for w in warnings] == [(10, "loss_spike", "train/loss")]
  losses = {m["step"]: m["train/loss"] for m in read_metrics(tmp_path / "go_on") if "train/loss" in m}
  assert warnings[0]["value"] == losses[10] and warnings[0]["trend"] == pytest.approx(losses[10] / losses[5])
  assert result.stdout.count("warning: step 10: train loss") == 1
  status = read_status(tmp_path / "go_on")
  assert status["state"] == "completed"
  assert (status["warnings"], status["warning_kinds"], status["first_warning_step"]) == (1, {"loss_spike": 1}, 10)

  result = run_train(tmp_path / "stop", common + ["TrainConfig.stop_on_warning=True"])
  status = read_status(tmp_path / "stop")
  assert (status["state"], status["step"]) == ("warned", 10) and status["reason"].startswith("step 10: train loss")
  assert read_metrics(tmp_path / "stop")[-1]["step"] == 10
  again = run_train(tmp_path / "stop", common + ["TrainConfig.stop_on_warning=True"])
  assert "already warned" in again.stdout


def test_the_monitor_sees_every_step_up_to_dense_steps_and_a_warning_between_logs_stops_at_the_next_log(tmp_path):
  """dense_steps=8: steps 1-8 reach the monitor (those between logs kept in monitor.jsonl), then the logs;
  loss_spike=0 fires at step 2, the second record, and stop_on_warning ends the run at the next log."""
  common = ["steps=20", "TrainConfig.log_every=5", "TrainConfig.eval_every=20", "TrainConfig.tensorboard=False",
            "MonitorThresholds.loss_spike=0.0", "MonitorThresholds.baseline=1", "MonitorThresholds.dense_steps=8"]
  run_train(tmp_path / "go_on", common)
  dense = [json.loads(line) for line in (tmp_path / "go_on" / "monitor.jsonl").read_text().splitlines()]
  assert [r["step"] for r in dense] == [1, 2, 3, 4, 6, 7, 8]
  assert {"train/loss", "lr", "attn/max_logit/block_0", "logits/log_z"} <= set(dense[0])
  warnings = [json.loads(line) for line in (tmp_path / "go_on" / "warnings.jsonl").read_text().splitlines()]
  assert [(w["step"], w["kind"]) for w in warnings] == [(2, "loss_spike")]
  assert warnings[0]["value"] == dense[1]["train/loss"]
  assert read_status(tmp_path / "go_on")["first_warning_step"] == 2

  run_train(tmp_path / "stop", common + ["TrainConfig.stop_on_warning=True", "TrainConfig.checkpoint_every=3"])
  status = read_status(tmp_path / "stop")
  assert (status["state"], status["step"]) == ("warned", 5) and status["reason"].startswith("step 2: train loss")
  # Killed after step 3's checkpoint, before step 5's: the resumed run replays the step-2 warning, raised
  # between logs, and stops at the next log as the uninterrupted run did (before: it ran on to step 20).
  shutil.rmtree(tmp_path / "stop" / "checkpoints" / "5")
  (tmp_path / "stop" / "status.json").write_text(json.dumps({**status, "state": "running", "step": 3}))
  run_train(tmp_path / "stop", common + ["TrainConfig.stop_on_warning=True", "TrainConfig.checkpoint_every=3"])
  resumed = read_status(tmp_path / "stop")
  assert (resumed["state"], resumed["step"], resumed["reason"]) == ("warned", 5, status["reason"])
  assert [json.loads(line)["step"] for line in (tmp_path / "stop" / "warnings.jsonl").read_text().splitlines()] == [2]
