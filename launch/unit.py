"""Runs one work unit: `python -m train.main` for one run directory, retrying failures (the XManager and
SLURM executors; the local one runs units in long-lived workers with the same records, see
launch/executors/local.py).

A finished unit (completed or diverged) is left alone. Otherwise the trainer runs (it resumes
from its own checkpoint) until it finishes, up to 1 + max_retries failed attempts counted over
all launches (an interrupted attempt does not count); exit code 2 (bad input) is not retried.
Output goes to WORKDIR/train.log, attempts to WORKDIR/launch.json.
A signal that stops the runner stops the trainer too and leaves the run resumable.
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from rundir import bindings, progress
from rundir.files import LOG_FILE, RECORD_FILE, read_json, write_json

_PR_SET_PDEATHSIG = 1
INTERRUPTED = 130  # train.main's exit code when SIGINT or SIGTERM stopped it (resumable)

try:
  _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: orphans are not reaped automatically
  _prctl = None


def die_with_parent() -> None:
  """Asks Linux to SIGTERM this process when its parent dies, so a killed launcher leaves no trainer."""
  if _prctl is not None:
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def core_shares(cores: Sequence[int], parts: int) -> list[tuple[int, ...] | None]:
  """`parts` disjoint, equal shares of `cores` (a remainder stays unused: a unit retried on another share
  must get as many threads, or its last bits change); None for each when there are fewer cores than parts
  or one part."""
  if parts < 2 or parts > len(cores):
    return [None] * parts
  share = len(cores) // parts
  return [tuple(cores[i * share:(i + 1) * share]) for i in range(parts)]


def trainer_setup(cores: Sequence[int] | None) -> Callable[[], None]:
  """A trainer's preexec_fn: it dies with its parent and, given cores, runs on those alone. XLA:CPU sizes
  its thread pool by the cores a process may use, so workers on disjoint cores do not oversubscribe them."""
  def setup() -> None:
    die_with_parent()
    if cores is not None:
      os.sched_setaffinity(0, cores)
  return setup


def train_command(gin_files: Sequence[str], gin_bindings: Sequence[str], workdir: str,
                  python: str = sys.executable) -> list[str]:
  return ([python, "-m", "train.main"] + [f"--gin_file={f}" for f in gin_files]
          + [f"--gin_bindings={b}" for b in gin_bindings] + [f"--workdir={workdir}"])


def _record(workdir: str, update) -> None:
  path = os.path.join(workdir, RECORD_FILE)
  record = read_json(path) or {"attempts": []}
  update(record["attempts"])
  write_json(path, record)


def _last_error(log_path: str) -> str | None:
  """The trainer's one-line error (`error: ...`), read from the end of its log."""
  try:
    with open(log_path, "rb") as f:
      f.seek(max(0, os.path.getsize(log_path) - 8192))
      lines = f.read().decode(errors="replace").splitlines()
  except OSError:
    return None
  errors = [line for line in lines if line.startswith("error: ")]
  return errors[-1].removeprefix("error: ")[:500] if errors else None


def log_header(log_path: str, number: int, total: int, what: str) -> None:
  """The line in train.log that opens an attempt."""
  with open(log_path, "a") as log:
    log.write(f"=== launch.unit attempt {number}/{total} on {socket.gethostname()} at "
              f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {what}\n")


def record_start(workdir: str, pid: int) -> None:
  """Opens an attempt in launch.json; pid is the process that trains it (trainer or worker)."""
  start = {"host": socket.gethostname(), "pid": pid, "start": time.time()}
  _record(workdir, lambda attempts: attempts.append(start))


def record_end(workdir: str, log_path: str, code: int | None) -> None:
  """Closes the open attempt: its exit code (None: stopped by the launcher, resumable) and error line. With
  none open (a Ctrl-C before the attempt was opened, or after it was closed) nothing changes: a closed
  attempt's exit code counts against the unit's retries."""
  attempts = progress.attempts(workdir)
  if attempts and "end" not in attempts[-1]:
    error = _last_error(log_path) if code else None
    _record(workdir, lambda attempts: attempts[-1].update(end=time.time(), exit_code=code, error=error))


def next_attempt(workdir: str, max_retries: int) -> int | None:
  """The number of the unit's next attempt, None when its retries are used up."""
  number = progress.failures(workdir) + 1
  return number if number <= max_retries + 1 else None


def _attempt(command: list[str], workdir: str, log_name: str, number: int, total: int) -> int | None:
  """One trainer process; its exit code, or None when a signal stopped it (exit 130: SIGTERM or SIGINT, a
  scheduler's time limit or preemption) or this runner: resumable, not a failure."""
  log_path = os.path.join(workdir, log_name)
  log_header(log_path, number, total, " ".join(command))
  with open(log_path, "a") as log:
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
                               cwd=bindings.REPO_ROOT)
  record_start(workdir, process.pid)
  code = None
  try:
    code = process.wait()
  finally:
    if code is None:  # this runner interrupted: stop the trainer, leave the run resumable
      process.terminate()
      try:
        process.wait(timeout=30)
      except subprocess.TimeoutExpired:
        process.kill()
    code = None if code == INTERRUPTED else code
    record_end(workdir, log_path, code)
  return code


def run(gin_files: Sequence[str], gin_bindings: Sequence[str], workdir: str, max_retries: int,
        python: str = sys.executable, log_name: str = LOG_FILE) -> int:
  """Runs the unit to the end; 0 when it finished (completed, diverged or warned), INTERRUPTED when a signal
  stopped its trainer (resumable), 1 when it failed."""
  workdir = os.path.abspath(workdir)
  if progress.is_finished(workdir):
    return 0
  os.makedirs(workdir, exist_ok=True)
  command = train_command(gin_files, gin_bindings, workdir, python)
  for number in range(progress.failures(workdir) + 1, max_retries + 2):
    code = _attempt(command, workdir, log_name, number, max_retries + 1)
    if code == 0 and progress.is_finished(workdir):
      return 0
    if code is None:  # a stopped trainer waits for a relaunch
      return INTERRUPTED
    if code == 2:  # bad input: another attempt would fail the same way
      break
  return 1
