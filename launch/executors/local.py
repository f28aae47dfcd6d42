"""Runs the units on this machine: `parallel` long-lived trainer workers (`python -m train.worker`).

Each slot keeps one worker that trains unit after unit, so units of one shape (the queue keeps them
together) share its imports and compiled programs. Per unit it is what launch/unit.py does for the
other executors: finished units are skipped, interrupted ones resume, failed attempts are retried up to
--max_retries (counted in launch.json, one attempt record per try with the worker's pid), exit code 2
is not retried. A worker that dies mid-unit fails that attempt with its exit code and is replaced.
With several GPUs each slot owns its own devices through CUDA_VISIBLE_DEVICES; on the CPU, with no more
slots than cores, each owns its share of the cores (its worker's affinity). With
--processes_per_unit=N a slot runs each unit as N `train.main` processes of one JAX job instead
(launch/group.py), splitting the slot's devices between them. A unit's output goes to
its train.log; a worker's own output between units to ROOT/.workers/slot<N>.log. Ctrl-C or SIGTERM
stops the workers, leaving their units resumable; relaunching resumes.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from launch import executors
from launch import unit as unit_lib
from launch.executors import Options
from launch.group import ProcessGroup
from launch.spec import Unit
from launch.worker_handle import Worker
from rundir.bindings import TRACED_OPTIMIZER_FIELDS
from rundir import cores as rundir_cores, progress
from rundir.files import LOG_FILE
from rundir.display import duration

WORKERS_DIR = ".workers"


def visible_gpus() -> list[str]:
  """GPU ids this process may use: CUDA_VISIBLE_DEVICES when set, else what nvidia-smi lists."""
  if "CUDA_VISIBLE_DEVICES" in os.environ:
    return [d for d in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if d.strip()]
  if shutil.which("nvidia-smi") is None:
    return []
  listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
  return [str(i) for i, line in enumerate(listing.stdout.splitlines()) if line.startswith("GPU ")]


def device_sets(gpus: Sequence[str], parallel: int, per_unit: int | None) -> list[str | None]:
  """CUDA_VISIBLE_DEVICES for each worker slot; None (inherit) without GPUs."""
  if not gpus:
    return [None] * parallel
  per_unit = per_unit or max(1, len(gpus) // parallel)
  return [",".join(gpus[(slot * per_unit + i) % len(gpus)] for i in range(per_unit))
          for slot in range(parallel)]


def core_sets(cores: Sequence[int], parallel: int, gpus: Sequence[str]) -> list[tuple[int, ...] | None]:
  """The CPU cores each worker slot runs on: equal disjoint shares when the workers train on the CPU and
  each can have one, else None (all of them). XLA:CPU gives a process one compute thread per core it may
  use; unpinned, two workers on two cores run four busy threads (docs/performance.md, "Workers pinned")."""
  return [None] * parallel if gpus else unit_lib.core_shares(cores, parallel)


def _environment(devices: str | None, shared: bool) -> dict[str, str]:
  env = dict(os.environ)
  if devices is not None:
    env["CUDA_VISIBLE_DEVICES"] = devices
    if shared:  # workers share a GPU: JAX must not grab 75% of its memory each
      env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
  return env


def _progress(units: Sequence[Unit], root: str, done: int, running: int, start: float) -> str:
  totals = executors.summary(units, root)
  elapsed = time.time() - start
  remaining = len(units) - done
  eta = duration(elapsed / done * remaining) if done else "?"
  return (f"[{duration(elapsed)}] {done}/{len(units)} done: completed {totals['completed']} diverged "
          f"{totals['diverged']} failed {totals['failed']} | running {running} | eta {eta}")


# Bindings that change no compiled program (traced floats, loop settings, seeds): units that differ only
# in these share a worker's programs, so the queue keeps them together. An ordering hint, nothing more.
_VALUE_ONLY = {"lr", "steps", "warmup_steps", "seed"} | {f"OptimizerConfig.{n}" for n in TRACED_OPTIMIZER_FIELDS}
_SHAPED_TRAIN = {"TrainConfig.batch_size", "TrainConfig.seq_len"}


def shape_key(unit: Unit) -> tuple:
  """What likely decides the unit's compiled programs: its gin files and its shape-changing bindings."""
  def changes_program(binding: str) -> bool:
    name = binding.split("=", 1)[0].strip()
    return name not in _VALUE_ONLY and (not name.startswith("TrainConfig.") or name in _SHAPED_TRAIN)

  return tuple(unit.gin_files), tuple(b for b in unit.gin_bindings if changes_program(b))


class _Slot:
  """A worker slot: its devices or cores, its long-lived worker and the unit it runs."""

  def __init__(self, number: int, devices: str | None, shared: bool, cores: tuple[int, ...] | None):
    self.number, self.env, self.cores = number, _environment(devices, shared), cores
    self.worker: Worker | None = None
    self.unit: Unit | None = None
    self.attempt = 0  # the running unit's attempt number
    self.key: tuple | None = None  # shape key of the worker's last unit


def _take(pending: list[Unit], key: tuple | None) -> Unit:
  """The next unit, preferring one of the shape the slot's worker has compiled."""
  for i, unit in enumerate(pending):
    if shape_key(unit) == key:
      return pending.pop(i)
  return pending.pop(0)


def _log_path(root: str, unit: Unit) -> str:
  return os.path.join(executors.workdir(root, unit), LOG_FILE)


def _submit(slot: _Slot, root: str, options: Options) -> None:
  """Starts the slot's unit's next attempt on its worker (a new worker when it has none)."""
  if options.processes_per_unit > 1:  # a JAX job lives as long as its unit: a new group each time
    slot.worker = ProcessGroup(options.python, slot.env, options.processes_per_unit, slot.cores)
  elif slot.worker is None or not slot.worker.alive():
    slot.worker = Worker(options.python, slot.env, os.path.join(root, WORKERS_DIR, f"slot{slot.number}.log"),
                         slot.cores)
  unit, workdir = slot.unit, executors.workdir(root, slot.unit)
  os.makedirs(workdir, exist_ok=True)
  flags = unit_lib.train_command(unit.gin_files, unit.gin_bindings, workdir)[3:]  # past `python -m train.main`
  where = (f"{options.processes_per_unit} train.main processes" if options.processes_per_unit > 1
           else f"train.worker pid {slot.worker.pid}")
  unit_lib.log_header(_log_path(root, unit), slot.attempt, options.max_retries + 1, f"{where}: {' '.join(flags)}")
  slot.worker.submit(unit.gin_files, unit.gin_bindings, workdir, _log_path(root, unit))
  unit_lib.record_start(workdir, slot.worker.pid)
  slot.key = shape_key(unit)


def _stop(signum, frame) -> None:
  raise KeyboardInterrupt


def launch(units: Sequence[Unit], root: str, options: Options) -> int:
  """Runs every unit; 0 when all finished, 1 when some failed, 130 when interrupted."""
  gpus = visible_gpus()
  devices = device_sets(gpus, options.parallel, options.gpus_per_unit)
  cores = core_sets(rundir_cores.usable(), options.parallel, gpus)  # none known (not Linux): none pinned
  shared = len(set(devices)) < len(devices)
  slots = [_Slot(i, d, shared, c) for i, (d, c) in enumerate(zip(devices, cores))]
  pending = sorted(units, key=shape_key)  # stable: a sweep's order within each shape
  done, failed, start = 0, 0, time.time()

  reported = 0  # units finished as of the last progress line

  def finish(slot: _Slot, ok: bool) -> None:
    nonlocal done, failed
    done, failed = done + 1, failed + (not ok)
    print(f"{slot.unit.name}: {'finished' if ok else 'failed'}", flush=True)
    slot.unit = None

  def report() -> None:
    """The progress line once the free slots are refilled, so 'running' counts the units in flight."""
    nonlocal reported
    if done > reported:
      reported = done
      print(_progress(units, root, done, sum(s.unit is not None for s in slots), start), flush=True)

  previous = signal.signal(signal.SIGTERM, _stop)
  try:
    while pending or any(s.unit for s in slots):
      for slot in slots:
        while slot.unit is None and pending:
          slot.unit = _take(pending, slot.key)
          workdir = executors.workdir(root, slot.unit)
          number = unit_lib.next_attempt(workdir, options.max_retries)
          if progress.is_finished(workdir) or number is None:
            finish(slot, number is not None)
          else:
            slot.attempt = number
            _submit(slot, root, options)
      report()
      for slot in slots:
        if slot.unit is None:
          continue
        ended, code = slot.worker.poll()
        if not ended:
          continue
        workdir = executors.workdir(root, slot.unit)
        code = None if code == unit_lib.INTERRUPTED else code  # stopped by a signal: resumable, not a failure
        unit_lib.record_end(workdir, _log_path(root, slot.unit), code)
        number = unit_lib.next_attempt(workdir, options.max_retries)
        if code == 0 and progress.is_finished(workdir):
          finish(slot, True)
        elif code == 2 or number is None:  # bad input fails the same way again
          finish(slot, False)
        else:  # the same slot retries it (on a new worker when the old one died)
          slot.attempt = number
          _submit(slot, root, options)
      time.sleep(0.2)
    report()
  except KeyboardInterrupt:
    busy = [s for s in slots if s.unit is not None]
    for slot in slots:
      if slot.worker is not None:
        slot.worker.stop()
    for slot in busy:  # stopped by the launcher: no exit code, the run resumes on relaunch
      unit_lib.record_end(executors.workdir(root, slot.unit), _log_path(root, slot.unit), None)
    print(f"interrupted with {len(busy) + len(pending)} units unfinished: rerun the same command "
          "to resume", file=sys.stderr, flush=True)
    return 130
  finally:
    signal.signal(signal.SIGTERM, previous)
  for slot in slots:
    if slot.worker is not None:
      slot.worker.close()
  return 1 if failed else 0
