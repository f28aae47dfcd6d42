"""The run directory (docs/run_directory.md): status, run info and the metrics file.

Every file is written so a SIGKILL at any instant leaves a readable directory:
JSON files are replaced atomically and metrics.jsonl is only appended to, one
line per flush.
"""

import json
import math
import os
import time
from typing import Any

STATES = ("running", "completed", "diverged", "warned", "failed")
FINISHED = ("completed", "diverged", "warned")  # warned: stopped by TrainConfig.stop_on_warning


def _to_json(value: Any) -> Any:
  """Floats stay floats (NaN/inf as Python's json writes them); arrays become scalars."""
  if hasattr(value, "item"):
    value = value.item()
  return value


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

  def write_json(self, name: str, obj: dict) -> None:
    if not self.writer:
      return
    tmp = self.file(f".{name}.tmp")
    with open(tmp, "w") as f:
      json.dump({k: _to_json(v) for k, v in obj.items()}, f, indent=1)
    os.replace(tmp, self.file(name))

  def write_text(self, name: str, text: str) -> None:
    if self.writer:
      tmp = self.file(f".{name}.tmp")
      with open(tmp, "w") as f:
        f.write(text)
      os.replace(tmp, self.file(name))

  def read_json(self, name: str) -> dict | None:
    try:
      with open(self.file(name)) as f:
        return json.load(f)
    except (OSError, json.JSONDecodeError):
      return None

  def status(self) -> dict:
    return self.read_json("status.json") or {}

  def update_status(self, **fields) -> None:
    status = self.status()
    status.update(fields, updated=time.time())
    self.write_json("status.json", status)

  def append_metrics(self, metrics: dict[str, Any], name: str = "metrics.jsonl") -> None:
    """Appends one line to metrics.jsonl (or to `name`, e.g. warnings.jsonl)."""
    if self.writer:
      line = json.dumps({k: _to_json(v) for k, v in metrics.items()})
      with open(self.file(name), "a") as f:
        f.write(line + "\n")

  def metrics_records(self, name: str = "metrics.jsonl") -> list[dict]:
    """The complete lines of metrics.jsonl or `name` (a line cut by a kill mid-write is skipped)."""
    try:
      with open(self.file(name)) as f:
        lines = [line for line in f if line.endswith("\n")]
    except OSError:
      return []
    records = []
    for line in lines:
      try:
        records.append(json.loads(line))
      except json.JSONDecodeError:
        continue
    return records

  def truncate_metrics(self, last_step: int) -> None:
    """Keeps the complete lines with step <= last_step in metrics.jsonl and warnings.jsonl: a resumed
    run rewrites what comes after."""
    for name in ("metrics.jsonl", "warnings.jsonl"):
      self._truncate(name, last_step)

  def _truncate(self, name: str, last_step: int) -> None:
    if not self.writer or not os.path.exists(self.file(name)):
      return
    kept = []
    with open(self.file(name)) as f:
      for line in f:
        try:
          record = json.loads(line)
        except json.JSONDecodeError:
          continue  # a line cut by a kill mid-write
        if line.endswith("\n") and record.get("step", math.inf) <= last_step:
          kept.append(line)
    self.write_text(name, "".join(kept))
