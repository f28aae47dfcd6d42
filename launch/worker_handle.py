"""The launcher's handle on one long-lived `python -m train.worker` process (train/worker.py): send it a
unit, poll for its answer, notice when it died. launch never imports train: this is only a pipe."""

import json
import os
import select
import subprocess
from collections.abc import Sequence

from rundir import bindings
from launch.unit import trainer_setup


class Worker:
  """A trainer process that runs one unit at a time, many over its life."""

  def __init__(self, python: str, env: dict[str, str], log_path: str, cores: Sequence[int] | None = None):
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "a") as log:  # its output between units; a unit's goes to the unit's train.log
      self.process = subprocess.Popen([python, "-m", "train.worker"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=log, cwd=bindings.REPO_ROOT, env=env,
                                      preexec_fn=trainer_setup(cores), text=True)

  @property
  def pid(self) -> int:
    return self.process.pid

  def submit(self, gin_files: Sequence[str], gin_bindings: Sequence[str], workdir: str, log_path: str) -> None:
    request = {"gin_files": list(gin_files), "gin_bindings": list(gin_bindings), "workdir": workdir,
               "log": log_path}
    self.process.stdin.write(json.dumps(request) + "\n")
    self.process.stdin.flush()

  def poll(self) -> tuple[bool, int | None]:
    """(True, exit code) when the unit ended: the worker's answer, or the worker's own exit code when
    it died mid-unit (negative: killed by that signal); (False, None) while the unit runs."""
    if select.select([self.process.stdout], [], [], 0)[0]:
      line = self.process.stdout.readline()  # the worker writes each answer as one flushed line
      if line:
        return True, int(json.loads(line)["exit_code"])
      return True, self.process.wait()  # end of output: the worker is gone
    code = self.process.poll()
    return (False, None) if code is None else (True, code)

  def alive(self) -> bool:
    return self.process.poll() is None

  def stop(self, timeout: float = 30) -> None:
    """SIGTERM (a unit in progress stays resumable from its last checkpoint), SIGKILL after timeout."""
    if self.alive():
      self.process.terminate()
      try:
        self.process.wait(timeout=timeout)
      except subprocess.TimeoutExpired:
        self.process.kill()
        self.process.wait()

  def close(self) -> None:
    """End of input: an idle worker exits on its own."""
    try:
      self.process.stdin.close()
    except OSError:
      pass
    try:
      self.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
      self.stop()
