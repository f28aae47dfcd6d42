r"""Trains one model; the run directory is the result.

  python -m train.main --gin_file=gin/qkln.gin --gin_file=gin/local.gin \
      --gin_bindings=lr=0.1 [--workdir=DIR]

  python -m train.main --validate=UNITS.json [--describe]  # a launcher's check of a sweep's configs

Exit codes: 0 completed, diverged or warned, 1 crashed (status 'failed'), 2 bad input.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow (seqio's engine) is noisy on import

from absl import app, flags, logging

from rundir import bindings, cli

flags.DEFINE_multi_string("gin_file", [], "Gin files, applied in order (later ones override).")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. lr=0.1, applied after the files.")
flags.DEFINE_string("workdir", None, "Run directory; default runs/<name from the config>.")
flags.DEFINE_bool("print_config", False, "Validate the config, print run.json's object and exit.")
flags.DEFINE_string("validate", None, "Validate the configs of a JSON list of units ({name, gin_files, "
                    "gin_bindings}) read from this file ('-': stdin), one error line per bad unit; exit 2 if any.")
flags.DEFINE_bool("describe", False, "With --validate: when every unit is valid, print a JSON list of each "
                  "unit's run.json object, steps and non-embedding parameter count (launch.sweep --predict_from).")
FLAGS = flags.FLAGS


def _fail(message: str, code: int) -> None:
  print(f"error: {message}", file=sys.stderr, flush=True)
  sys.exit(code)


def _validate(path: str) -> None:
  from train import ginparse  # pylint: disable=import-outside-toplevel  # not the trainer: a launcher waits on this
  try:
    with (open(0) if path == "-" else open(path)) as f:
      units = json.load(f)
  except (OSError, ValueError) as e:
    _fail(f"--validate={path}: {e}: expected a JSON list of units", 2)
  errors = ginparse.validate(units)
  for line in errors:
    print(f"error: {line}", file=sys.stderr)
  if errors:
    sys.exit(2)
  if FLAGS.describe:
    from train import run  # pylint: disable=import-outside-toplevel
    print(json.dumps(run.describe(units)))


def main(argv: list[str]) -> None:
  if FLAGS.verbosity > 0:  # absl's -v: everything, TensorFlow's start-up lines included
    os.environ["PROXIES_VERBOSE"] = "1"  # train/quiet.py
  else:
    logging.set_verbosity(logging.WARNING)  # orbax and jax log every save at INFO
  if len(argv) > 1:
    _fail(f"unexpected arguments {argv[1:]}: expected only --flags", 2)
  if not (FLAGS.validate or FLAGS.print_config):
    from train import finished  # reads the run directory only: a finished rerun answers before jax loads
    workdir = FLAGS.workdir or bindings.default_workdir(FLAGS.gin_file, FLAGS.gin_bindings)
    if state := finished.state(FLAGS.gin_file, FLAGS.gin_bindings, workdir):
      print(finished.nothing_to_do(workdir, state), flush=True)
      return
  if FLAGS.validate:
    _validate(FLAGS.validate)
    return
  from train import ginparse, run  # imported late so --help stays fast
  if FLAGS.print_config:
    try:
      print(json.dumps(ginparse.parse(FLAGS.gin_file, FLAGS.gin_bindings)))
    except ValueError as e:
      _fail(str(e), 2)
    return
  code = run.run(FLAGS.gin_file, FLAGS.gin_bindings, FLAGS.workdir)
  if code:
    sys.exit(code)


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
