"""One training run from gin files, bindings and a run directory, as an exit code: the body shared by
`python -m train.main` (one run per process) and `python -m train.worker` (many runs per process).

Exit codes: 0 completed or diverged, 1 crashed (status 'failed'), 2 bad input (one line `error: ...`).
"""

import os
import shutil
import sys
import traceback

from rundir.lock import LOCK_FILE
from train import config
from train.data.errors import DataError
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


def validate(units: list[dict]) -> list[str]:
  """'unit NAME: reason' for each unit ({"name", "gin_files", "gin_bindings"}) whose gin config or
  config values are bad: a launcher checks a whole sweep in one process before anything trains."""
  errors = []
  for unit in units:
    try:
      config.parse(unit["gin_files"], unit["gin_bindings"])
      trainer.configs()
    except ValueError as e:
      errors.append(f"unit {unit['name']!r}: {str(e).splitlines()[0]}")
  return errors


# Any vocabulary will do: the non-embedding count leaves out the embedding and the head, its only users.
_DESCRIBE_VOCAB = 256


def describe(units: list[dict]) -> list[dict]:
  """What a launcher needs of each valid unit without training it: run.json's object (gin_files,
  gin_bindings, bindings, as the trainer would write it), steps and non-embedding parameter count."""
  import dataclasses
  import jax
  import jax.numpy as jnp
  from model.params import count_params
  from train.step import transformed_model
  out = []
  for unit in units:
    run_info = config.parse(unit["gin_files"], unit["gin_bindings"])
    model_cfg, _, train_cfg = trainer.configs()
    model = transformed_model(dataclasses.replace(model_cfg, vocab_size=_DESCRIBE_VOCAB))
    abstract = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, train_cfg.seq_len), jnp.int32))
    run_info["bindings"] = config.macros_read(run_info["bindings"], data.bound_source())  # as the trainer writes it
    out.append({"name": unit["name"], **run_info, "steps": train_cfg.steps,
                "num_nonembedding_params": count_params(abstract)[1]})
  return out


def _first_missing(path: str) -> str | None:
  """The outermost directory of `path` that does not exist yet (what creating it would add)."""
  path, missing = os.path.abspath(path), None
  while not os.path.exists(path):
    path, missing = os.path.dirname(path), path
  return missing


def _remove_if_unused(created: str) -> None:
  """A set-up refused as bad input leaves no directory behind: removes `created` (which this run
  made) when it holds no file but the lock."""
  for _, _, files in os.walk(created):
    if set(files) - {LOCK_FILE}:
      return
  shutil.rmtree(created, ignore_errors=True)


def run(gin_files: list[str], gin_bindings: list[str], workdir: str | None = None,
        lock_wait_s: float = 0.0) -> int:
  """Trains (or resumes, or leaves alone a finished) run; its exit code. Clears gin's state first.
  lock_wait_s: how long to wait for another process to let go of the workdir (0: refuse at once)."""
  try:
    run_info = config.parse(gin_files, gin_bindings)
  except ValueError as e:
    return _fail(str(e), 2)
  _prepare_process()
  workdir = workdir or config.default_workdir(run_info)
  created = _first_missing(workdir)
  try:
    job = trainer.Trainer(workdir, run_info, lock_wait_s)
  except (ValueError, OSError) as e:
    if created:
      _remove_if_unused(created)
    return _fail(str(e).splitlines()[0], 2)  # gin appends its call context on later lines
  try:
    job.train()
  except KeyboardInterrupt:
    raise
  except DataError as e:  # bad data met mid-run (e.g. a truncated shard): a retry would meet it again
    message = str(e).splitlines()[0]
    job.run_dir.update_status(state="failed", reason=message)
    return _fail(message, 2)
  except Exception as e:  # a crash is recorded, then reported
    traceback.print_exc()
    job.run_dir.update_status(state="failed", reason=f"{type(e).__name__}: {' '.join(str(e).split())[:500]}")
    return _fail(f"run failed: {type(e).__name__}: {e}", 1)
  finally:
    job.release()
  return 0
