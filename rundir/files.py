"""The files of a run directory (docs/run_directory.md), read tolerantly and written so that a SIGKILL at
any instant leaves a readable directory: JSON files are replaced atomically, .jsonl files only appended to,
one complete line per record.
"""

import json
import os
import time
from collections.abc import Mapping
from typing import Any

RUN_FILE = "run.json"  # the trainer's inputs, resolved config and fingerprint
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
WARNINGS_FILE = "warnings.jsonl"
MONITOR_FILE = "monitor.jsonl"  # the every-step records the monitor saw between logs (MonitorThresholds.dense_steps)
CONFIG_GIN = "config.gin"  # gin's operative config, for people
DATA_FILE = "data.json"  # the dataset's description
RECORD_FILE = "launch.json"  # the launcher's attempts
LOG_FILE = "train.log"
MANIFEST_FILE = "sweep.json"  # ROOT/sweep.json: the sweep and its units, written by launch.sweep
# A run's states in status.json, the one list of them (docs/run_directory.md).
COMPLETED, DIVERGED, WARNED, FAILED = "completed", "diverged", "warned", "failed"
RAN_TO_END = (COMPLETED, DIVERGED)  # a final loss or a divergence: the outcome the paper scores
FINISHED = (*RAN_TO_END, WARNED)  # nothing left to run; warned: stopped by TrainConfig.stop_on_warning
FINAL = (*FINISHED, FAILED)  # no longer training: a suite whose units are all here is done
NO_FINAL_LOSS = (DIVERGED, FAILED)  # ended without a final eval loss (a warned run has one)
TOTALS = ("pending", "running", *FINISHED, FAILED)  # launch.status's buckets (interrupted counts as pending)


def _scalar(value: Any) -> Any:
  """json's fallback: a NumPy or JAX scalar as its Python value."""
  if hasattr(value, "item"):
    return value.item()
  raise TypeError(f"{type(value).__name__} is not JSON serializable")


def unwritable(folder: str) -> str | None:
  """Why `folder` cannot be created (if new) and written, checked before anything is written; None if it can."""
  if os.path.exists(folder) and not os.path.isdir(folder):
    return "is not a directory"
  existing = os.path.abspath(folder)
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
    return f"cannot be written ({existing} is not a writable directory)"
  return None


def write_bytes(path: str, data: bytes) -> None:
  """Atomic: a reader sees the old or the new file, never a partial one."""
  folder, name = os.path.split(path)
  tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
  with open(tmp, "wb") as f:
    f.write(data)
  os.replace(tmp, path)


def write_text(path: str, text: str) -> None:
  """Atomic, UTF-8."""
  write_bytes(path, text.encode())


def write_json(path: str, obj: Mapping) -> None:
  """Atomic; floats stay floats (NaN/inf as Python's json writes them), array scalars become numbers."""
  write_text(path, json.dumps(obj, indent=1, default=_scalar))


def read_json(path: str) -> dict | None:
  """The file's object; None when it is missing, half-written or not an object."""
  try:
    with open(path) as f:
      obj = json.load(f)
  except (OSError, ValueError):
    return None
  return obj if isinstance(obj, dict) else None


def complete_lines(path: str) -> list[str]:
  """The lines of a .jsonl file that end in a newline (a line cut by a kill mid-write does not)."""
  try:
    with open(path) as f:
      return [line for line in f if line.endswith("\n")]
  except OSError:
    return []


def record(line: str) -> dict | None:
  """One .jsonl line as its record (an object with a numeric step); None when it is not one."""
  try:
    obj = json.loads(line)
  except ValueError:
    return None
  step = obj.get("step") if isinstance(obj, dict) else None
  return obj if isinstance(step, (int, float)) and not isinstance(step, bool) else None


def read_jsonl(path: str) -> tuple[list[dict], int]:
  """The records of a .jsonl file's complete lines, and how many non-blank lines were not records (a
  last line cut by a kill mid-write among them)."""
  try:
    with open(path) as f:
      lines = f.readlines()
  except OSError:
    return [], 0
  records, unreadable = [], 0
  for line in lines:
    if line.strip():
      parsed = record(line) if line.endswith("\n") else None
      if parsed is None:
        unreadable += 1
      else:
        records.append(parsed)
  return records, unreadable


class RunDir:
  """Reads and writes the files of one run directory."""

  def __init__(self, path: str, writer: bool = True):
    self.path = path
    self.writer = writer  # only JAX process 0 writes
    if writer:
      try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".write_probe")
        with open(probe, "w") as f:
          f.write("ok")
        os.remove(probe)
      except OSError as e:
        raise ValueError(f"workdir {path!r} is not writable ({e.strerror}): "
                         "expected a directory this user can create and write") from e

  def file(self, name: str) -> str:
    return os.path.join(self.path, name)

  @property
  def checkpoint_dir(self) -> str:
    return os.path.abspath(self.file("checkpoints"))

  def write_json(self, name: str, obj: Mapping) -> None:
    if self.writer:
      write_json(self.file(name), obj)

  def write_text(self, name: str, text: str) -> None:
    if self.writer:
      write_text(self.file(name), text)

  def read_json(self, name: str) -> dict | None:
    return read_json(self.file(name))

  def status(self) -> dict:
    return self.read_json(STATUS_FILE) or {}

  def update_status(self, **fields) -> None:
    status = self.status()
    status.update(fields, updated=time.time())
    self.write_json(STATUS_FILE, status)

  def append_metrics(self, metrics: Mapping[str, Any], name: str = METRICS_FILE) -> None:
    """Appends one line to metrics.jsonl (or to `name`, e.g. warnings.jsonl)."""
    if self.writer:
      line = json.dumps(metrics, default=_scalar)
      with open(self.file(name), "a") as f:
        f.write(line + "\n")

  def metrics_records(self, name: str = METRICS_FILE) -> list[dict]:
    """The records of metrics.jsonl or `name`, complete lines only."""
    return read_jsonl(self.file(name))[0]

  def truncate_metrics(self, last_step: int) -> None:
    """Keeps the records with step <= last_step in metrics.jsonl, warnings.jsonl and monitor.jsonl: a
    resumed run rewrites what comes after."""
    for name in (METRICS_FILE, WARNINGS_FILE, MONITOR_FILE):
      if self.writer and os.path.exists(self.file(name)):
        kept = [line for line in complete_lines(self.file(name))
                if (parsed := record(line)) is not None and parsed["step"] <= last_step]
        self.write_text(name, "".join(kept))
