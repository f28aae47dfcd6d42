"""One run as several JAX processes (jax.distributed over Gloo on CPU): the same results as one process
with as many devices, one writer, and a dead process ends the others and resumes."""

import json
import signal
import subprocess
import time

import numpy as np
import pytest

from tests.trainer_utils import (REPO, read_metrics, read_status, run_train, start_processes, train_cmd,
                                 wait_all, without_timing)

# The survivors of a dead process abort once it has missed heartbeats this long (train/distributed.py).
HEARTBEAT_TIMEOUT_S = 10
# What the test allows past the heartbeat timeout on a loaded 2-core machine.
EXIT_MARGIN_S = 50


def test_two_processes_of_four_devices_train_as_one_process_of_eight(tmp_path):
  bindings = ["steps=6", "TrainConfig.log_every=1", "TrainConfig.eval_every=3"]
  run_train(tmp_path / "one", bindings, devices=8)
  wait_all(start_processes(tmp_path / "two", bindings, processes=2, devices=4), tmp_path / "two")
  one, two = read_metrics(tmp_path / "one"), read_metrics(tmp_path / "two")
  assert [r["step"] for r in two] == list(range(7))  # each step logged once, by process 0 alone
  assert [sorted(r) for r in two] == [sorted(r) for r in one]
  for r1, r2 in zip(without_timing(one), without_timing(two)):
    for key in r1:  # the reductions run in another order over Gloo: equal up to float32 rounding
      np.testing.assert_allclose(r2[key], r1[key], rtol=1e-5, atol=1e-7, err_msg=f"step {r1['step']} {key}")
  run_two = json.loads((tmp_path / "two" / "run.json").read_text())
  run_one = json.loads((tmp_path / "one" / "run.json").read_text())
  assert (run_two["processes"], run_two["devices"]) == (2, 8)
  assert (run_one["processes"], run_one["devices"]) == (1, 8)
  assert read_status(tmp_path / "two")["state"] == "completed"
  for i in range(2):
    log = (tmp_path / f"two.p{i}.log").read_text()
    assert "mesh: 8 devices" in log and "completed: final eval loss" in log
  positions = sorted(p.name for p in (tmp_path / "two" / "checkpoints" / "6" / "data_position").glob("process_*"))
  assert positions == ["process_0-of-2.json", "process_1-of-2.json"]  # each process's own data position


def test_killed_process_ends_the_other_and_the_rerun_resumes_to_the_same_result(tmp_path):
  bindings = ["steps=40", "TrainConfig.log_every=2", "TrainConfig.eval_every=10",
              "TrainConfig.checkpoint_every=10"]
  flags = [f"--heartbeat_timeout_s={HEARTBEAT_TIMEOUT_S}"]
  reference = tmp_path / "reference"
  wait_all(start_processes(reference, bindings, flags=flags), reference)

  killed = tmp_path / "killed"
  first, second = start_processes(killed, bindings, flags=flags)
  deadline = time.time() + 600
  while not (killed / "checkpoints" / "10").is_dir():
    assert first.poll() is None and second.poll() is None and time.time() < deadline, "ended before step 10"
    time.sleep(0.05)
  second.send_signal(signal.SIGKILL)
  killed_at = time.time()
  code = first.wait(timeout=HEARTBEAT_TIMEOUT_S + EXIT_MARGIN_S)
  assert time.time() - killed_at < HEARTBEAT_TIMEOUT_S + EXIT_MARGIN_S
  assert code != 0
  log = (tmp_path / "killed.p0.log").read_text()
  # Where the survivor learns of it decides the words: JAX's heartbeat, or Gloo inside a collective.
  assert ("JAX distributed service detected fatal errors" in log and "another task died" in log) or "gloo" in log
  status = read_status(killed)
  # not finished: resumable (running when the process aborted, failed when it could still say so)
  assert status["state"] in ("running", "failed") and 10 <= status["step"] < 40

  wait_all(start_processes(killed, bindings, flags=flags), killed)
  assert "resuming" in (tmp_path / "killed.p0.log").read_text()
  assert read_status(killed)["state"] == "completed"
  assert without_timing(read_metrics(killed)) == without_timing(read_metrics(reference))


@pytest.mark.parametrize("flags, message", [
    (["--num_processes=2"], "--num_processes needs --coordinator_address"),
    (["--coordinator_address=localhost:1", "--num_processes=2"], "needs --num_processes and --process_id"),
    (["--coordinator_address=localhost", "--num_processes=2", "--process_id=0"], "is not HOST:PORT"),
    (["--coordinator_address=localhost:1", "--num_processes=2", "--process_id=2"], "process_id=2 is invalid"),
])
def test_bad_process_flags_are_one_line_exit_2_and_write_nothing(tmp_path, flags, message):
  workdir = tmp_path / "run"
  result = subprocess.run([*train_cmd(workdir), *flags], cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1
  assert not workdir.exists()
