"""One training run from gin files, bindings and a run directory, as an exit code: the body shared by
`python -m train.main` (one run per process) and `python -m train.worker` (many runs per process).

Exit codes: 0 completed or diverged, 1 crashed (status 'failed'), 2 bad input (one line `error: ...`).
"""

import os
import sys
import traceback

from train import config
from train import data, optimizer, trainer  # noqa: F401  (registers the gin configurables)

_process_ready = False


def _fail(message: str, code: int) -> int:
  print(f"error: {message}", file=sys.stderr, flush=True)
  return code


def _maybe_initialize_distributed() -> None:
  """Joins a multi-host job when the cluster environment describes one (SLURM, Cloud TPU, explicit)."""
  import jax
  multi_slurm = int(os.environ.get("SLURM_NTASKS", "1")) > 1
  multi_tpu = "," in os.environ.get("TPU_WORKER_HOSTNAMES", "")
  if os.environ.get("JAX_COORDINATOR_ADDRESS") or multi_slurm or multi_tpu:
    jax.distributed.initialize()


def _enable_compilation_cache() -> None:
  """Keeps XLA executables on disk: a sweep's runs of one shape share their init and eval programs
  (and resumed or repeated runs their step), which saves seconds of every short CPU run's start.
  $JAX_COMPILATION_CACHE_DIR wins; else <cache dir>/jax (see train/data/cache.py)."""
  import jax
  from train.data import cache
  if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    jax.config.update("jax_compilation_cache_dir", str(cache.resolve_cache_dir(None) / "jax"))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


def _prepare_process() -> None:
  """Once per process, before the first run touches a device."""
  global _process_ready
  if not _process_ready:
    _maybe_initialize_distributed()
    _enable_compilation_cache()
    _process_ready = True


def run(gin_files: list[str], gin_bindings: list[str], workdir: str | None = None) -> int:
  """Trains (or resumes, or leaves alone a finished) run; its exit code. Clears gin's state first."""
  try:
    run_info = config.parse(gin_files, gin_bindings)
  except ValueError as e:
    return _fail(str(e), 2)
  _prepare_process()
  workdir = workdir or config.default_workdir(run_info)
  try:
    job = trainer.Trainer(workdir, run_info)
  except (ValueError, OSError) as e:
    return _fail(str(e).splitlines()[0], 2)  # gin appends its call context on later lines
  try:
    job.train()
  except KeyboardInterrupt:
    raise
  except Exception as e:  # a crash is recorded, then reported
    traceback.print_exc()
    job.run_dir.update_status(state="failed", reason=f"{type(e).__name__}: {' '.join(str(e).split())[:500]}")
    return _fail(f"run failed: {type(e).__name__}: {e}", 1)
  finally:
    job.release()
  return 0
