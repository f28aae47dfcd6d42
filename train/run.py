"""One training run from gin files, bindings and a run directory, as an exit code: the body shared by
`python -m train.main` (one run per process) and `python -m train.worker` (many runs per process).

Exit codes: 0 completed or diverged, 1 crashed (status 'failed'), 2 bad input (one line `error: ...`).
"""

import os
import shutil
import sys
import traceback

import gin

from rundir import cores
from rundir.bindings import default_workdir
from rundir.files import CONFIG_GIN, DATA_FILE, FINISHED, RUN_FILE, RunDir
from rundir.lock import LOCK_FILE, DirLock
from train import allocator, cachedir, configs, data, distributed, finished, ginparse, identity, trainer
from train.data.errors import DataError
from train.phases import Phases

_process_ready = False


def _fail(message: str, code: int) -> int:
  print(f"error: {message}", file=sys.stderr, flush=True)
  return code


def _enable_compilation_cache() -> None:
  """Keeps XLA executables on disk: a sweep's runs of one shape share their init and eval programs
  (and resumed or repeated runs their step), which saves seconds of every short CPU run's start.
  $JAX_COMPILATION_CACHE_DIR wins; else <cache root>/jax (train/cachedir.py)."""
  import jax
  if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    path = cachedir.root() / "jax"
    try:
      path.mkdir(parents=True, exist_ok=True)
    except OSError:
      return  # no persistent cache; the data pipeline names an unwritable cache root as bad input
    jax.config.update("jax_compilation_cache_dir", str(path))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


def _prepare_process(cluster: distributed.Cluster | None) -> None:
  """Once per process, before the first run touches a device."""
  global _process_ready
  if not _process_ready:
    allocator.keep_step_buffers_mapped()  # before the backend's threads exist
    distributed.initialize(cluster)
    _enable_compilation_cache()
    _process_ready = True


# Any vocabulary will do: the non-embedding count leaves out the embedding and the head, its only users.
_DESCRIBE_VOCAB = 256


def describe(units: list[dict]) -> list[dict]:
  """What a launcher needs of each valid unit without training it: run.json's object (gin_files,
  gin_bindings, bindings, as the trainer would write it), steps and non-embedding parameter count."""
  import functools
  import jax
  from model.params import count_params
  from train.step import init_params, transformed_model
  out = []
  for unit in units:
    run_info = ginparse.parse(unit["gin_files"], unit["gin_bindings"])
    cfgs = configs.from_gin().with_vocab_size(_DESCRIBE_VOCAB)
    model = transformed_model(cfgs.model)
    abstract = jax.eval_shape(functools.partial(init_params, model, seq_len=cfgs.train.seq_len),
                              jax.random.PRNGKey(0))
    run_info["bindings"] = ginparse.macros_read(run_info["bindings"])  # as run.json has it
    out.append({"name": unit["name"], **run_info, "steps": cfgs.train.steps,
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


def _build(run_dir: RunDir, run_info: dict) -> trainer.Trainer | None:
  """The run's configs and dataset, built here once from the parsed gin (as t5x's train() does) and
  handed to the Trainer; None when the workdir holds this configuration's run, finished. ValueError
  (one line first) for bad input."""
  import jax
  cfgs = ginparse.read_configs(run_info["gin_bindings"])
  train_cfg = cfgs.train
  dataset = data.make_dataset(batch_size=train_cfg.batch_size, seq_len=train_cfg.seq_len, seed=train_cfg.seed,
                              num_eval_batches=train_cfg.num_eval_batches)
  cfgs = cfgs.with_vocab_size(dataset.vocab_size)
  config = identity.resolved_config(cfgs.train, cfgs.optimizer, cfgs.model, dataset.describe())
  identity.check(run_dir.path, run_dir.read_json(RUN_FILE), config,
                 identity.field_defaults(cfgs.train, cfgs.optimizer, cfgs.model))
  previous_status = run_dir.status()
  if previous_status.get("state") in FINISHED:
    print(finished.nothing_to_do(run_dir.path, previous_status["state"]), flush=True)
    return None
  # Read here (a streaming dataset keeps them; the in-memory one rebuilds them from memory): too little
  # validation data is bad input, refused before anything is written.
  dataset.eval_batches()
  job = trainer.Trainer(run_dir, cfgs, dataset, previous_status)
  bindings = ginparse.macros_read(run_info["bindings"])
  run_dir.write_json(RUN_FILE, {**run_info, "bindings": bindings, "config": config,
                                "fingerprint": identity.fingerprint(config),
                                "processes": jax.process_count(), "devices": job.mesh.size,
                                "cpu_cores": len(cores.usable()) or os.cpu_count()})
  run_dir.write_json(DATA_FILE, dataset.describe())
  run_dir.write_text(CONFIG_GIN, gin.operative_config_str())
  return job


def run(gin_files: list[str], gin_bindings: list[str], workdir: str | None = None,
        lock_wait_s: float = 0.0, cluster: distributed.Cluster | None = None) -> int:
  """Trains (or resumes, or leaves alone a finished) run; its exit code. Clears gin's state first.
  lock_wait_s: how long to wait for another process to let go of the workdir (0: refuse at once).
  cluster: this process's place in a job of several (None: one process, or as the environment says)."""
  import jax
  phases = Phases()
  try:
    run_info = ginparse.parse(gin_files, gin_bindings)
  except ValueError as e:
    return _fail(str(e), 2)
  _prepare_process(cluster)
  workdir = workdir or default_workdir(gin_files, gin_bindings)
  created = _first_missing(workdir)
  lock = None
  try:
    run_dir = RunDir(workdir, writer=jax.process_index() == 0)  # only JAX process 0 writes
    lock = DirLock(workdir, "workdir").acquire(lock_wait_s) if run_dir.writer else None
    job = _build(run_dir, run_info)
  except (ValueError, OSError) as e:
    _release(lock)
    if created:
      _remove_if_unused(created)
    return _fail(str(e).splitlines()[0], 2)  # gin appends its call context on later lines
  except BaseException:
    _release(lock)
    raise
  try:
    if job is not None:
      job.train(phases)
      print(phases.line(), flush=True)
  except KeyboardInterrupt:
    raise
  except DataError as e:  # bad data met mid-run (e.g. a truncated shard): a retry would meet it again
    message = str(e).splitlines()[0]
    run_dir.update_status(state="failed", reason=message)
    return _fail(message, 2)
  except Exception as e:  # a crash is recorded, then reported
    traceback.print_exc()
    run_dir.update_status(state="failed", reason=f"{type(e).__name__}: {' '.join(str(e).split())[:500]}")
    return _fail(f"run failed: {type(e).__name__}: {e}", 1)
  finally:
    _release(lock)  # a worker process runs further units after this one
  return 0


def _release(lock: DirLock | None) -> None:
  if lock is not None:
    lock.release()
