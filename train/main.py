r"""Trains one model; the run directory is the result.

  python -m train.main --gin_file=gin/qkln.gin --gin_file=gin/local.gin \
      --gin_bindings=lr=0.1 [--workdir=DIR]

  python -m train.main --validate=UNITS.json [--describe]  # a launcher's check of a sweep's configs

  python -m train.main ... --coordinator_address=HOST:PORT --num_processes=N --process_id=I
      # one of N processes of one run: the same command and --workdir in each, only the id differs

  python -m train.main ... --plan [--plan_devices=N] [--plan_device_memory_gib=G]
      # the train step compiled from abstract shapes on N (fake CPU) devices: one JSON object of
      # parameters, bytes per device and FLOPs per step (train/plan.py); nothing trained or written

Exit codes: 0 completed, diverged or warned, 1 crashed (status 'failed'), 2 bad input.
"""

import json
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow (seqio's engine) is noisy on import

from absl import app, flags, logging

from rundir import bindings, flag_parser

flags.DEFINE_multi_string("gin_file", [], "Gin files, applied in order (later ones override).")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. lr=0.1, applied after the files.")
flags.DEFINE_string("workdir", None, "Run directory; default runs/<name from the config>.")
flags.DEFINE_bool("print_config", False, "Check the config as the trainer's set-up does, print run.json's "
                  "gin_files, gin_bindings and bindings, and exit.")
flags.DEFINE_string("validate", None, "Validate the configs of a JSON list of units ({name, gin_files, "
                    "gin_bindings}) read from this file ('-': stdin), one error line per bad unit; exit 2 if any.")
flags.DEFINE_bool("describe", False, "With --validate: when every unit is valid, print a JSON list of each "
                  "unit's run.json object, steps and non-embedding parameter count (launch.sweep --predict_from).")
flags.DEFINE_string("coordinator_address", None, "HOST:PORT of process 0's JAX coordination service: run "
                    "as one of --num_processes processes (default: one process, or as SLURM / Cloud TPU / "
                    "JAX_COORDINATOR_ADDRESS say).")
flags.DEFINE_integer("num_processes", None, "With --coordinator_address: how many processes run this command.")
flags.DEFINE_integer("process_id", None, "With --coordinator_address: this process's index, 0 .. N-1 (0 writes "
                     "the run directory).")
flags.DEFINE_integer("heartbeat_timeout_s", None, "With --coordinator_address: a process silent this long "
                     "counts as dead and the others end (default: JAX's, 100).")
flags.DEFINE_bool("plan", False, "Compile the run's train step from abstract shapes on its mesh and print one "
                  "JSON object: params, devices, bytes_per_device, flops_per_step (train/plan.py); trains nothing.")
flags.DEFINE_integer("plan_devices", None, "With --plan: a mesh of this many fake CPU devices (default: the "
                     "devices this process sees).")
flags.DEFINE_float("plan_device_memory_gib", None, "With --plan: each device's memory; adds `fits` and "
                   "`headroom_gib` by the analytic memory model.")
flags.DEFINE_bool("plan_compile", True, "With --plan: compile the step for XLA's figures; --noplan_compile: "
                  "the analytic model alone (seconds, where a large mesh's compile takes too long).")
flags.DEFINE_integer("plan_vocab_size", None, "With --plan: the vocabulary size (default: the embedded "
                     "corpus's bound size on that source, else the paper's 32101).")
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


def _cluster():
  """The job --coordinator_address, --num_processes and --process_id describe; None without them."""
  from train import distributed
  given = {name: FLAGS[name].value for name in ("num_processes", "process_id", "heartbeat_timeout_s")
           if FLAGS[name].value is not None}
  if FLAGS.coordinator_address is None:
    if given:
      _fail(f"--{next(iter(given))} needs --coordinator_address: expected all of --coordinator_address, "
            "--num_processes and --process_id, or none", 2)
    return None
  if FLAGS.num_processes is None or FLAGS.process_id is None:
    _fail("--coordinator_address needs --num_processes and --process_id: expected all three, or none", 2)
  try:
    return distributed.Cluster(FLAGS.coordinator_address, **given)
  except ValueError as e:
    _fail(str(e), 2)


def _fake_cpu_devices(count: int) -> None:
  """Before JAX starts its backend: `count` CPU devices and no accelerator, for --plan_devices."""
  if count < 1:
    _fail(f"--plan_devices={count}: expected an integer >= 1", 2)
  os.environ["JAX_PLATFORMS"] = "cpu"
  kept = [f for f in os.environ.get("XLA_FLAGS", "").split()
          if not f.startswith("--xla_force_host_platform_device_count=")]
  os.environ["XLA_FLAGS"] = " ".join([*kept, f"--xla_force_host_platform_device_count={count}"])


def _bound_vocab_size(data) -> int:
  """The vocabulary the bound source would build: the embedded corpus's trained size, else C4's (T5's)."""
  import inspect
  import gin
  from train import plan
  if data.bound_source() != [data.embedded_source]:
    return plan.PAPER_VOCAB_SIZE
  try:
    return gin.query_parameter("embedded_source.vocab_size")
  except ValueError:  # unbound: its default
    return inspect.signature(data.embedded_source).parameters["vocab_size"].default


def _plan() -> None:
  """--plan: parses the gin, compiles the step, prints the plan's JSON."""
  for name in ("plan_vocab_size", "plan_device_memory_gib"):  # None: the default; 0 is not
    if FLAGS[name].value is not None and not FLAGS[name].value > 0:
      _fail(f"--{name}={FLAGS[name].value}: expected a number > 0", 2)
  if FLAGS.plan_devices is not None:
    _fake_cpu_devices(FLAGS.plan_devices)
  import jax
  from train import data, ginparse, plan
  try:
    ginparse.parse(FLAGS.gin_file, FLAGS.gin_bindings)
    cfgs = ginparse.read_configs(FLAGS.gin_bindings)
    vocab_size = FLAGS.plan_vocab_size if FLAGS.plan_vocab_size is not None else _bound_vocab_size(data)
    devices = jax.devices()
    if FLAGS.plan_devices is not None and len(devices) != FLAGS.plan_devices:
      raise ValueError(f"--plan_devices={FLAGS.plan_devices}: JAX started with {len(devices)} devices before "
                       "the flag could set them; expected a process that had not touched JAX yet")
    print(json.dumps(plan.plan(cfgs.with_vocab_size(vocab_size), devices, FLAGS.plan_device_memory_gib,
                               FLAGS.plan_compile)))
  except ValueError as e:
    _fail(str(e).splitlines()[0], 2)


def _interrupt(signum, frame) -> None:
  """SIGTERM (a scheduler's time limit or preemption, a launcher stopping its trainer) ends the run as Ctrl-C
  does: resumable, exit 130, not a crash that uses up a retry."""
  raise KeyboardInterrupt


def main(argv: list[str]) -> None:
  signal.signal(signal.SIGTERM, _interrupt)  # from the first moment: a SIGTERM in the imports is a stop too
  try:
    _main(argv)
  except KeyboardInterrupt:  # Ctrl-C or SIGTERM: README's exit 130, one line instead of Python's traceback
    print("interrupted: rerunning the same command resumes from the newest checkpoint", file=sys.stderr,
          flush=True)
    sys.exit(130)


def _main(argv: list[str]) -> None:
  if FLAGS.verbosity > 0:  # absl's -v: everything, TensorFlow's start-up lines included
    os.environ["PROXIES_VERBOSE"] = "1"  # train/quiet.py
  else:
    logging.set_verbosity(logging.WARNING)  # orbax and jax log every save at INFO
  if len(argv) > 1:
    _fail(f"unexpected arguments {argv[1:]}: expected only --flags", 2)
  if FLAGS.workdir is not None and not FLAGS.workdir.strip():
    _fail(f"--workdir={FLAGS.workdir!r}: expected a folder (or no --workdir, for runs/<name from the config>)", 2)
  if FLAGS.plan:
    _plan()
    return
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
      run_info = ginparse.parse(FLAGS.gin_file, FLAGS.gin_bindings)
      ginparse.read_configs(FLAGS.gin_bindings)
      print(json.dumps({**run_info, "bindings": ginparse.macros_read(run_info["bindings"])}))
    except ValueError as e:
      _fail(str(e).splitlines()[0], 2)
    return
  code = run.run(FLAGS.gin_file, FLAGS.gin_bindings, FLAGS.workdir, cluster=_cluster())
  if code:
    sys.exit(code)


if __name__ == "__main__":
  app.run(main, flags_parser=flag_parser.parse_flags)
