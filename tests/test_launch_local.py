"""A real local sweep of four tiny units (--parallel=2), killed mid-sweep and relaunched: a failing unit
(a bad binding value, retried once), two completed units and a diverging one (huge LR)."""

import json
import os
import socket
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from launch import unit as unit_lib
from launch.executors import local
from rundir import cores as rundir_cores, progress
from rundir.files import STATUS_FILE, read_json, write_json
from tests import planned_crash
from tests.trainer_utils import REPO, TINY

STEPS = ["steps=4", "TrainConfig.log_every=1", "TrainConfig.eval_every=2", "TrainConfig.checkpoint_every=2",
         "TrainConfig.divergence_window=1"]  # the huge-LR unit diverges at its first log step above threshold
# Zipped: the first unit adds tests/gin/crash.gin, so its trainer crashes (exit 1) at its first log step;
# it comes first so that its two attempts overlap the other units.
AXIS = "lr=[0.01,0.003,0.01,10000.0];fault=['tests/gin/crash.gin',None,None,None]"
NAMES = {"ok": "lr=0.003,fault=none",
         "ok2": "lr=0.01,fault=none",
         "diverged": "lr=10000,fault=none",
         "failed": "lr=0.01,fault=crash"}


def sweep_args(root: pathlib.Path) -> list[str]:
  return ([sys.executable, "-m", "launch.sweep", "--gin_file=gin/qkln.gin", "--gin_file=gin/local.gin",
           "--gin_file={fault}",
           f"--sweep={AXIS}", f"--root={root}", "--parallel=2", "--max_retries=1"]
          + [f"--gin_bindings={b}" for b in TINY + STEPS])


def with_ctrl_c(command: list[str]) -> list[str]:
  """`python -m module args` with SIGINT raising KeyboardInterrupt, as in a terminal's foreground job: a
  shell's background job (pytest run as one) passes SIGINT on ignored (POSIX), and the launcher would
  then never see the test's Ctrl-C. Done in the child's Python, since a preexec_fn forks a JAX process."""
  python, _, module, *args = command
  code = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
          f"sys.argv = [{module!r}] + sys.argv[1:]; "
          f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)")
  return [python, "-c", code, *args]


def finished(root: pathlib.Path) -> dict[str, tuple[float, int]]:
  """Finished units -> (status.json mtime, attempts)."""
  return {name: (os.path.getmtime(root / name / "status.json"), len(progress.attempts(str(root / name))))
          for name in NAMES.values() if progress.is_finished(str(root / name))}


@pytest.fixture(scope="module")
def sweep_root(tmp_path_factory) -> tuple[pathlib.Path, dict, subprocess.CompletedProcess]:
  """Launch, SIGINT the launcher's process group (Ctrl-C) once a unit has finished, relaunch."""
  root = tmp_path_factory.mktemp("sweep") / "demo"
  first = subprocess.Popen(with_ctrl_c(sweep_args(root)), cwd=REPO, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  deadline = time.time() + 300
  while not finished(root) and time.time() < deadline and first.poll() is None:
    time.sleep(0.5)
  os.killpg(first.pid, signal.SIGINT)
  first.communicate(timeout=300)  # workers give their trainers up to 30 s; a loaded CI machine is slow
  assert first.returncode == 130
  before = finished(root)
  assert before and len(before) < 4
  second = subprocess.run(sweep_args(root), cwd=REPO, capture_output=True, text=True, timeout=600)
  return root, before, second


@pytest.mark.slow
def test_relaunch_finishes_the_sweep_without_redoing_work(sweep_root):
  root, before, second = sweep_root
  assert second.returncode == 1, second.stdout + second.stderr  # one unit failed
  after = finished(root)
  assert set(after) == {NAMES["ok"], NAMES["ok2"], NAMES["diverged"]}
  for name, record in before.items():
    assert after[name] == record, name  # not rerun: same status.json, no new attempt
  assert "launching" in second.stdout and "done: completed" in second.stdout


@pytest.mark.slow
def test_diverging_unit_does_not_stop_the_sweep(sweep_root):
  root = sweep_root[0]
  status = json.loads((root / NAMES["diverged"] / "status.json").read_text())
  assert status["state"] == "diverged" and "exceeds threshold" in status["reason"]
  assert progress.unit_status(str(root / NAMES["ok"])).state == "completed"


@pytest.mark.slow
def test_failing_unit_is_retried_then_failed(sweep_root):
  root = sweep_root[0]
  unit = progress.unit_status(str(root / NAMES["failed"]))
  assert unit.state == "failed" and unit.reason.endswith(f"RuntimeError: {planned_crash.MESSAGE}")
  assert progress.failures(str(root / NAMES["failed"])) == 2  # the first attempt and one retry
  log = (root / NAMES["failed"] / "train.log").read_text()
  assert "attempt 2/2" in log


@pytest.mark.slow
def test_status_table_and_totals(sweep_root):
  root = sweep_root[0]
  result = subprocess.run([sys.executable, "-m", "launch.status", str(root)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert lines[-1].startswith("pending 0 running 0 completed 2 diverged 1 warned 0 failed 1 | 4 units | eta done")
  assert any(line.startswith(NAMES["ok"]) and "completed" in line and "4/4" in line for line in lines)


def test_status_shows_warnings_and_the_warned_state(tmp_path):
  """The warn column is count@first step; a run stopped by stop_on_warning counts as warned, with its reason."""
  for name, status in (("calm", {"state": "completed", "step": 4, "total_steps": 4, "warnings": 0}),
                       ("loud", {"state": "warned", "step": 2, "total_steps": 4, "warnings": 3,
                                 "first_warning_step": 2, "reason": "step 2: train loss 9 is 2.00x its baseline"})):
    (tmp_path / name).mkdir()
    (tmp_path / name / STATUS_FILE).write_text(json.dumps(status))
  result = subprocess.run([sys.executable, "-m", "launch.status", str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert lines[0].split()[-1] == "warn"
  calm, loud = (next(line for line in lines if line.startswith(n)) for n in ("calm", "loud"))
  assert calm.split()[-1] == "-"
  assert loud.split()[1] == "warned" and "3@2  step 2: train loss 9 is 2.00x its baseline" in loud
  assert lines[-1].startswith("pending 0 running 0 completed 1 diverged 0 warned 1 failed 0 | 2 units")


@pytest.mark.slow
def test_third_launch_runs_nothing(sweep_root):
  root = sweep_root[0]
  result = subprocess.run(sweep_args(root), cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode == 1  # the failed unit stays failed: its retries are used up
  assert "3 finished, 1 failed (retries used up), launching 0" in result.stdout


@pytest.mark.parametrize("args, manifest, message", [
    (["{tmp}/nope"], None, "not a directory"),
    ([], None, "arguments []: expected one, the sweep's root"),
    (["{tmp}", "{tmp}"], None, "expected one, the sweep's root"),
    (["{tmp}"], '{"sweep": {"name": "x"}, "units": [{"na', "sweep.json is unreadable"),
    (["{tmp}"], '{"sweep": {"name": "x"}, "units": [{"point": {}}]}', "lacks a sweep name or a unit's name"),
])
def test_status_bad_input_is_one_line_exit_2(tmp_path, args, manifest, message):
  """A corrupt sweep.json is named, not read as a folder of runs (it was: exit 0 with the wrong unit count)."""
  (tmp_path / "lr=0.1").mkdir()
  (tmp_path / "lr=0.1" / "status.json").write_text('{"state": "completed"}')
  if manifest:
    (tmp_path / "sweep.json").write_text(manifest)
  result = subprocess.run([sys.executable, "-m", "launch.status", *(a.format(tmp=tmp_path) for a in args)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
  assert result.returncode == 2 and result.stderr.startswith("error: ") and message in result.stderr, result.stderr
  assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_help_is_exit_0():
  """absl exits 1 after --help; README's exit codes call 1 a real failure."""
  result = subprocess.run([sys.executable, "-m", "launch.status", "--helpshort"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
  assert result.returncode == 0 and "launch.status" in result.stdout


def test_dead_trainer_without_an_end_record_is_interrupted_and_uses_no_retry(tmp_path):
  # 2**22 is above Linux's largest pid_max: no process has it, as after a SIGKILL of the whole group.
  records = [{"host": socket.gethostname(), "pid": 1 << 22, "start": 1.0, "end": 2.0, "exit_code": 1},
             {"host": socket.gethostname(), "pid": 1 << 22, "start": 3.0}]
  write_json(str(tmp_path / "launch.json"), {"attempts": records})
  write_json(str(tmp_path / "status.json"), {"state": "running", "step": 2, "total_steps": 4})
  unit = progress.unit_status(str(tmp_path))
  assert (unit.state, unit.total, unit.attempts, unit.seconds) == ("interrupted", "pending", 2, 1.0)
  assert progress.failures(str(tmp_path)) == 1


def test_device_sets_give_each_worker_its_gpus(monkeypatch):
  assert local.device_sets(["0", "1", "2", "3"], 2, None) == ["0,1", "2,3"]
  assert local.device_sets(["0", "1"], 4, None) == ["0", "1", "0", "1"]
  assert local.device_sets([], 3, None) == [None, None, None]
  monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")
  assert local.visible_gpus() == ["4", "5"]


def test_core_sets_give_each_cpu_worker_its_own_cores():
  assert local.core_sets([0, 1], 2, []) == [(0,), (1,)]
  assert local.core_sets([0, 1, 2, 3, 4], 2, []) == [(0, 1), (2, 3)]  # equal shares: a retry's threads match
  assert local.core_sets([2, 5, 7], 3, []) == [(2,), (5,), (7,)]
  assert local.core_sets([0, 1], 3, []) == [None, None, None]  # more workers than cores: no shares to give
  assert local.core_sets([0, 1, 2, 3], 1, []) == [None]  # one worker has them all
  assert local.core_sets([0, 1, 2, 3], 2, ["0", "1"]) == [None, None]  # GPU workers keep the host's cores


@pytest.mark.slow
def test_cpu_workers_train_on_their_own_cores(sweep_root):
  """run.json records the cores each unit's trainer ran on: with --parallel=2, its worker's share."""
  root = sweep_root[0]
  usable = rundir_cores.usable()
  expected = {len(c) if c else len(usable) for c in local.core_sets(usable, 2, local.visible_gpus())}
  for name in (NAMES["ok"], NAMES["ok2"], NAMES["diverged"]):
    assert read_json(str(root / name / "run.json"))["cpu_cores"] in expected, name


@pytest.mark.slow
def test_a_killed_worker_fails_its_attempt_and_is_replaced(tmp_path):
  """kill -9 of the worker mid-unit: the attempt is recorded failed with the signal's exit code, a new
  worker retries the unit (resuming it) and the queue goes on; units otherwise share one worker."""
  root = tmp_path / "demo"
  steps = ["steps=60", "TrainConfig.log_every=1", "TrainConfig.eval_every=30", "TrainConfig.checkpoint_every=10"]
  command = ([sys.executable, "-m", "launch.sweep", "--gin_file=gin/qkln.gin", "--gin_file=gin/local.gin",
              "--sweep=lr=[0.01,0.003]", f"--root={root}", "--parallel=1", "--max_retries=1"]
             + [f"--gin_bindings={b}" for b in TINY + steps])
  launcher = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  deadline, victim = time.time() + 300, None
  while victim is None:
    assert launcher.poll() is None and time.time() < deadline, (
        "the sweep ended before a unit reached step 15 with a checkpoint")
    for status_file in root.glob("*/status.json"):
      # Past step 15 with a finalised checkpoint (orbax renames a step's directory into place when
      # done; the save is asynchronous, so under load it can lag the status file).
      past = (read_json(str(status_file)) or {}).get("step", 0) >= 15
      if past and any(p.name.isdigit() for p in (status_file.parent / "checkpoints").glob("*")):
        victim = status_file.parent
    time.sleep(0.05)
  killed_pid = progress.attempts(str(victim))[-1]["pid"]
  os.kill(killed_pid, signal.SIGKILL)
  output, _ = launcher.communicate(timeout=600)
  assert launcher.returncode == 0, output
  attempts = progress.attempts(str(victim))
  assert [a["exit_code"] for a in attempts] == [-signal.SIGKILL, 0], attempts
  assert attempts[0]["pid"] == killed_pid != attempts[1]["pid"]
  assert "resuming" in (victim / "train.log").read_text()
  pids = {a["pid"] for d in root.iterdir() if d.is_dir() and d.name != ".workers" for a in progress.attempts(str(d))}
  assert len(pids) == 2  # the killed worker and its replacement ran every unit and attempt
  assert sum(1 for d in root.iterdir() if progress.is_finished(str(d))) == 2


def test_value_only_bindings_are_the_optimizers_traced_fields():
  from train import optimizer  # pylint: disable=import-outside-toplevel
  from rundir.bindings import TRACED_OPTIMIZER_FIELDS  # pylint: disable=import-outside-toplevel
  assert {"decay" if f == "weight_decay" else f for f in TRACED_OPTIMIZER_FIELDS} == set(optimizer.Hyper._fields)
  from launch.executors import local  # pylint: disable=import-outside-toplevel
  from launch.spec import Unit  # pylint: disable=import-outside-toplevel
  unit = lambda *bindings: Unit("u", ("gin/qkln.gin",), bindings, {})
  assert local.shape_key(unit("OptimizerConfig.clip_norm=0.5", "lr=0.1")) == local.shape_key(unit())
  assert local.shape_key(unit("ModelConfig.d_model=64")) != local.shape_key(unit())


def test_the_progress_line_counts_the_units_in_flight_after_the_refill(tmp_path, monkeypatch, capsys):
  """Four units on two slots whose (fake) workers finish each unit at its second poll: after the first pair
  ends, two more are running (it said 0 or 1 when the line came before the refill); after the last, none."""
  from launch.executors import Options
  from launch.spec import Unit

  class FinishingWorker:
    pid = 4242

    def __init__(self, python, env, log_path, cores):
      self.workdir, self.polls = None, 0

    def alive(self):
      return True

    def submit(self, gin_files, gin_bindings, workdir, log_path):
      self.workdir, self.polls = workdir, 0

    def poll(self):
      self.polls += 1
      if self.polls < 2:
        return False, None
      write_json(os.path.join(self.workdir, STATUS_FILE), {"state": "completed"})
      return True, 0

    def close(self):
      pass

  monkeypatch.setattr(local, "Worker", FinishingWorker)
  monkeypatch.setattr(local, "visible_gpus", lambda: [])
  units = [Unit(f"lr={lr}", ("gin/qkln.gin",), (f"lr={lr}",), {"lr": lr}) for lr in (0.1, 0.2, 0.3, 0.4)]
  assert local.launch(units, str(tmp_path), Options(name="t", parallel=2)) == 0
  lines = [line for line in capsys.readouterr().out.splitlines() if " done: " in line]
  assert [line.split("] ")[1].split(" done")[0] for line in lines] == ["2/4", "4/4"]
  assert ["| running 2 |" in lines[0], "| running 0 |" in lines[1]] == [True, True]


def test_a_ctrl_c_closes_only_an_attempt_that_is_open(tmp_path):
  """The local executor's Ctrl-C closes the attempt of each busy slot. Before, a slot interrupted before its
  unit's first attempt was opened gave an IndexError traceback, and one interrupted after a failed attempt was
  closed rewrote it as stopped (exit code None): the failure no longer counted against the unit's retries."""
  log = tmp_path / "train.log"
  log.write_text("error: boom\n")
  unit_lib.record_end(str(tmp_path), str(log), None)
  assert progress.attempts(str(tmp_path)) == []
  unit_lib.record_start(str(tmp_path), os.getpid())
  unit_lib.record_end(str(tmp_path), str(log), 1)
  closed = progress.attempts(str(tmp_path))
  unit_lib.record_end(str(tmp_path), str(log), None)  # the Ctrl-C before the retry's attempt opens
  assert progress.attempts(str(tmp_path)) == closed and closed[0]["exit_code"] == 1 and closed[0]["error"] == "boom"
  assert progress.failures(str(tmp_path)) == 1


def test_a_trainer_stopped_by_a_signal_is_resumable_not_a_failed_attempt(tmp_path):
  """A runner (xm, slurm) whose trainer exits 130 (SIGTERM at a scheduler's time limit or preemption) records the
  attempt as stopped and waits for a relaunch; before, each 130 used up a retry and the next attempt started."""
  stopped = tmp_path / "python"
  stopped.write_text("#!/bin/sh\nexit 130\n")
  stopped.chmod(0o755)
  workdir = tmp_path / "unit"
  code = (f"from launch import unit; print(unit.run(['gin/qkln.gin'], ['lr=0.1'], {str(workdir)!r}, max_retries=2, "
          f"python={str(stopped)!r}))")  # in a process without JAX: the runner forks its trainer
  result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
  assert result.stdout.strip() == "130", result.stderr
  [attempt] = progress.attempts(str(workdir))
  assert attempt["exit_code"] is None and progress.failures(str(workdir)) == 0
