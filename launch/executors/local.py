"""Runs the units on this machine: a pool of `parallel` worker processes (launch.run_unit).

With several GPUs each worker slot owns its own devices through CUDA_VISIBLE_DEVICES. A worker's
own output goes to ROOT/<unit>/worker.log (the trainer's to train.log). Ctrl-C or SIGTERM stops
the workers, which stop their trainers; relaunching resumes.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from launch import executors, ginfiles, state
from launch.executors import Options
from launch.spec import Unit

WORKER_LOG = "worker.log"


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
  eta = state.duration(elapsed / done * remaining) if done else "?"
  return (f"[{state.duration(elapsed)}] {done}/{len(units)} done: completed {totals['completed']} diverged "
          f"{totals['diverged']} failed {totals['failed']} | running {running} | eta {eta}")


def _start(unit: Unit, root: str, options: Options, env: dict[str, str]) -> subprocess.Popen:
  """A worker for the unit, its output in the unit's worker.log."""
  workdir = executors.workdir(root, unit)
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, WORKER_LOG), "a") as log:
    return subprocess.Popen(executors.worker_command(unit, root, options), cwd=ginfiles.REPO_ROOT, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)


def _stop(signum, frame) -> None:
  raise KeyboardInterrupt


def launch(units: Sequence[Unit], root: str, options: Options) -> int:
  """Runs every unit; 0 when all finished, 1 when some failed, 130 when interrupted."""
  slots = device_sets(visible_gpus(), options.parallel, options.gpus_per_unit)
  shared = len(set(slots)) < len(slots)
  pending = list(reversed(units))
  running: dict[int, tuple[Unit, subprocess.Popen]] = {}
  done, failed, start = 0, 0, time.time()
  previous = signal.signal(signal.SIGTERM, _stop)
  try:
    while pending or running:
      for slot in range(len(slots)):
        if slot not in running and pending:
          unit = pending.pop()
          running[slot] = (unit, _start(unit, root, options, _environment(slots[slot], shared)))
      for slot, (unit, process) in list(running.items()):
        if process.poll() is not None:
          del running[slot]
          done += 1
          failed += process.returncode != 0
          print(f"{unit.name}: {'finished' if process.returncode == 0 else 'failed'}", flush=True)
          print(_progress(units, root, done, len(running), start), flush=True)
      time.sleep(0.2)
  except KeyboardInterrupt:
    for _, process in running.values():
      process.terminate()
    for _, process in running.values():
      process.wait()
    print(f"interrupted with {len(running) + len(pending)} units unfinished: rerun the same command "
          "to resume", file=sys.stderr, flush=True)
    return 130
  finally:
    signal.signal(signal.SIGTERM, previous)
  return 1 if failed else 0
