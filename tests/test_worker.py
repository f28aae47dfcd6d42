"""One long-lived `python -m train.worker` trains several units: same results as one `train.main` per
unit (bitwise), a unit that raises or has bad input fails alone, the worker stays the same process."""

import json
import os
import subprocess
import sys

import pytest

from tests import planned_crash
from tests.trainer_utils import REPO, TINY, read_metrics, read_status, run_train, without_timing

GIN = ["gin/qkln.gin", "gin/local.gin"]
STEPS = ["steps=3", "TrainConfig.log_every=1", "TrainConfig.eval_every=3"]


def request(tmp_path, name: str, bindings: list[str], gin_files: tuple[str, ...] = ()) -> dict:
  workdir = str(tmp_path / name)
  return {"gin_files": GIN + list(gin_files), "gin_bindings": TINY + STEPS + bindings, "workdir": workdir,
          "log": os.path.join(workdir, "train.log")}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
  """Five requests to one worker: two good units of one shape around a crashing unit, a bad binding
  and a line that is not JSON."""
  tmp_path = tmp_path_factory.mktemp("worker")
  requests = [request(tmp_path, "a", ["lr=0.01"]),
              request(tmp_path, "crash", ["lr=0.01"], ("tests/gin/crash.gin",)),
              request(tmp_path, "bad", ["num_heads=3"]),
              request(tmp_path, "b", ["lr=0.003"])]
  lines = [json.dumps(r) for r in requests[:3]] + ["{not json"] + [json.dumps(requests[3])]
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
  worker = subprocess.run([sys.executable, "-m", "train.worker"], input="\n".join(lines) + "\n", cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)
  return tmp_path, worker


@pytest.mark.slow
def test_each_unit_is_answered_with_its_exit_code(served):
  tmp_path, worker = served
  assert worker.returncode == 0, worker.stderr[-3000:]
  answers = [json.loads(line) for line in worker.stdout.splitlines()]
  assert [a["exit_code"] for a in answers] == [0, 1, 2, 2, 0], worker.stdout
  assert [a["workdir"] for a in answers] == [str(tmp_path / n) for n in ("a", "crash", "bad")] + [
      None, str(tmp_path / "b")]
  assert "not JSON" in worker.stderr  # the bad line is reported on the worker's own stderr


@pytest.mark.slow
def test_crashing_unit_fails_alone_and_logs_to_its_own_log(served):
  tmp_path, _ = served
  crash = read_status(tmp_path / "crash")
  assert crash["state"] == "failed" and crash["reason"] == f"RuntimeError: {planned_crash.MESSAGE}"
  crash_log = (tmp_path / "crash" / "train.log").read_text()
  assert "Traceback" in crash_log and "error: run failed: RuntimeError" in crash_log
  bad_log = (tmp_path / "bad" / "train.log").read_text()
  assert bad_log.strip().splitlines()[-1].startswith("error: ") and "num_heads=3" in bad_log
  assert not (tmp_path / "bad" / "metrics.jsonl").exists()
  for name in ("a", "b"):
    assert read_status(tmp_path / name)["state"] == "completed"
    assert "Traceback" not in (tmp_path / name / "train.log").read_text()


@pytest.mark.slow
def test_worker_units_equal_separate_train_main_processes_bitwise(served, tmp_path):
  """Unit b reuses the program compiled for unit a (another LR, traced): still bitwise the same."""
  served_path, _ = served
  for name, lr in (("a", "lr=0.01"), ("b", "lr=0.003")):
    run_train(tmp_path / name, STEPS + [lr])
    alone, in_worker = read_metrics(tmp_path / name), read_metrics(served_path / name)
    assert without_timing(in_worker) == without_timing(alone), name
    assert in_worker[-1]["train/loss"] == alone[-1]["train/loss"]
  assert read_metrics(served_path / "a")[-1]["train/loss"] != read_metrics(served_path / "b")[-1]["train/loss"]
