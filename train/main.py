r"""Trains one model; the run directory is the result.

  python -m train.main --gin_file=gin/qkln.gin --gin_file=gin/local.gin \
      --gin_bindings=lr=0.1 [--workdir=DIR]

Exit codes: 0 completed or diverged, 1 crashed (status 'failed'), 2 bad input.
"""

import json
import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow (seqio's engine) is noisy on import

from absl import app, flags, logging

flags.DEFINE_multi_string("gin_file", [], "Gin files, applied in order (later ones override).")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. lr=0.1, applied after the files.")
flags.DEFINE_string("workdir", None, "Run directory; default runs/<name from the config>.")
flags.DEFINE_bool("print_config", False, "Validate the config, print run.json's object and exit.")
FLAGS = flags.FLAGS


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


def _fail(message: str, code: int) -> None:
  print(f"error: {message}", file=sys.stderr, flush=True)
  sys.exit(code)


def main(argv: list[str]) -> None:
  logging.set_verbosity(logging.WARNING)  # orbax and jax log every save at INFO
  if len(argv) > 1:
    _fail(f"unexpected arguments {argv[1:]}: expected only --flags", 2)
  from train import config  # imported late so --help stays fast
  from train import data, optimizer, trainer  # noqa: F401  (registers the gin configurables)
  try:
    run_info = config.parse(FLAGS.gin_file, FLAGS.gin_bindings)
  except ValueError as e:
    _fail(str(e), 2)
  if FLAGS.print_config:
    print(json.dumps(run_info))
    return
  _maybe_initialize_distributed()
  _enable_compilation_cache()
  workdir = FLAGS.workdir or config.default_workdir(run_info)
  try:
    run = trainer.Trainer(workdir, run_info)
  except (ValueError, OSError) as e:
    _fail(str(e).splitlines()[0], 2)  # gin appends its call context on later lines
  try:
    run.train()
  except KeyboardInterrupt:
    raise
  except Exception as e:  # a crash is recorded, then reported
    traceback.print_exc()
    run.run_dir.update_status(state="failed", reason=f"{type(e).__name__}: {' '.join(str(e).split())[:500]}")
    _fail(f"run failed: {type(e).__name__}: {e}", 1)


if __name__ == "__main__":
  app.run(main)
