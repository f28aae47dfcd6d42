r"""Launches a sweep: one `train.main` run per unit in ROOT/<unit name>, restartable.

  python -m launch.sweep --gin_file=gin/qkln.gin --gin_file=gin/local.gin \
      --sweep='lr=[1e-3,1e-2,1e-1]' --sweep='num_layers=[2,4]' --root=runs/demo --parallel=2
  python -m launch.sweep --sweep_name=fig1_cpu --root=runs/fig1
  python -m launch.sweep --sweep_name=fig9_heldout_cpu --root=runs/f9h --predict_from=runs/fig9_fit_cpu --dry_run

`--sweep` flags multiply; `k1=[..];k2=[..]` in one flag ties its keys (zip); a key named in a
`--gin_file='{key}'` entry chooses that gin file (None for none). ROOT/sweep.json records the
sweep: relaunching the same command skips finished units, resumes interrupted ones and retries
failed ones up to --max_retries; a root holding another sweep is refused unless --force.
--predict_from=ROOT marks the units Section 3.3's fit on ROOT's finished runs predicts to pass the max
attention logit threshold (launch/predicted_units.py): a column in --dry_run, kept in predictions.json for launch.status.
Exit codes: 0 all units finished, 1 some failed, 2 bad input, 130 interrupted.
"""

import dataclasses
import os
import shlex
import sys

from absl import app, flags

from launch import executors, ginfiles, inline, predicted_units, spec, sweeps, validate
from launch.errors import LaunchError
from launch.hyper import product
from launch.unit import train_command
from rundir import bindings, flag_parser, manifests, progress
from rundir.files import MANIFEST_FILE, unwritable, write_json
from rundir.lock import LOCK_FILE, DirLock, InUse

flags.DEFINE_multi_string("gin_file", [], "Gin files in order; '{key}' is filled by the axis named key.")
flags.DEFINE_multi_string("gin_bindings", [], "Bindings every unit gets, after the files (e.g. steps=50).")
flags.DEFINE_multi_string("sweep", [], "An axis KEY=[V1,V2,...]; 'K1=[..];K2=[..]' zips. Flags multiply.")
flags.DEFINE_string("sweep_name", None, "A named sweep of launch/sweeps/ (fig1, fig1_cpu, ...).")
flags.DEFINE_string("root", None, "The sweep's directory; default runs/<sweep name>.")
flags.DEFINE_enum("executor", "local", executors.NAMES, "Where units run.")
flags.DEFINE_integer("parallel", 1, "Units at once (local workers, SLURM array tasks at once).")
flags.DEFINE_integer("max_retries", 1, "Attempts after the first for a unit whose trainer fails.")
flags.DEFINE_bool("dry_run", False, "Print each unit and the train.main command that trains it alone; run and "
                  "write nothing.")
flags.DEFINE_bool("force", False, "Take over a root that holds another sweep (nothing is deleted).")
flags.DEFINE_bool("list", False, "List the named sweeps and exit.")
flags.DEFINE_string("python", sys.executable, "Python that runs the units (e.g. the project's venv).")
flags.DEFINE_integer("gpus_per_unit", None, "GPUs per unit (local: default splits them over workers).")
flags.DEFINE_integer("processes_per_unit", 1, "local: run each unit as this many JAX processes of one job, "
                     "sharing the unit's devices (GPUs, or XLA_FLAGS' CPU device count); xm, slurm: 1.")
flags.DEFINE_enum("xm_target", "local", ("local", "vertex"), "xm: run on this machine or on Vertex AI.")
flags.DEFINE_string("xm_accelerator", "", "xm vertex: job requirements, e.g. tpu_v4=8 or a100=8.")
flags.DEFINE_string("slurm_partition", "", "slurm: the partition.")
flags.DEFINE_integer("slurm_timeout_min", 24 * 60, "slurm: time limit of one unit.")
flags.DEFINE_enum("slurm_cluster", None, ("slurm", "local"), "slurm: submitit's cluster; default: SLURM when "
                  "sbatch exists, else local processes.")
flags.DEFINE_string("predict_from", None, "A root of finished runs: predict which units pass max attention "
                    "logit 1e4 from their scaling fit (analysis.predict).")
flags.DEFINE_integer("predict_step", None, "With --predict_from: the step of the fitted max logit (default: "
                     "each unit's own steps).")
FLAGS = flags.FLAGS


def build_sweep() -> spec.Sweep:
  """The sweep the flags describe: a named one, or --gin_file with --sweep axes."""
  bindings = dict(map(inline.parse_binding, FLAGS.gin_bindings))
  if FLAGS.sweep_name:
    if FLAGS.gin_file or FLAGS.sweep:
      raise LaunchError("--sweep_name comes with its own gin files and axes: expected no --gin_file "
                        "or --sweep with it")
    named = sweeps.get(FLAGS.sweep_name)
    return dataclasses.replace(named, bindings={**named.bindings, **bindings})
  if not FLAGS.gin_file:
    raise LaunchError("no sweep given: expected --sweep_name=NAME or --gin_file=F [--sweep=KEY=[...]]")
  points = product(*[inline.parse_sweep(text) for text in FLAGS.sweep])
  return spec.Sweep("inline", FLAGS.gin_file, points, bindings)


def _repo_relative(path: str) -> str:
  """Gin paths as the workers (run from the repository root) find them."""
  found = os.path.abspath(bindings.resolve(path) or path)
  relative = os.path.relpath(found, bindings.REPO_ROOT)
  return found if relative.startswith("..") else relative


def units_of(sweep: spec.Sweep) -> list[spec.Unit]:
  """The sweep's units, checked: gin files exist and parse, axes name macros or bound configurables."""
  units = spec.expand(sweep)
  ginfiles.check_units(units, sweep.slots(), sweep.bindings)
  return [dataclasses.replace(u, gin_files=tuple(map(_repo_relative, u.gin_files))) for u in units]


def check_root(root: str, sweep: spec.Sweep, units: list[spec.Unit], force: bool) -> None:
  """Refuses a root holding another sweep: another name, or units this sweep lacks or defines otherwise."""
  if not os.path.isdir(root) or force:
    return
  try:
    manifest = manifests.read(root)
  except manifests.ManifestError as e:
    raise LaunchError(f"root {root}: {e} (--force to launch anyway; nothing is deleted)") from None
  if manifest is None:
    if set(os.listdir(root)) - {LOCK_FILE}:
      raise LaunchError(f"root {root} is not empty and holds no {MANIFEST_FILE}: expected a new directory "
                        "or a sweep's root (--force to use it anyway; nothing is deleted)")
    return
  ours = {u.name: u.to_json() for u in units}
  foreign = [u["name"] for u in manifest["units"] if ours.get(u["name"]) != u]
  if manifests.sweep_name(manifest) != sweep.name or foreign:
    what = f"unit {foreign[0]!r}" if foreign else f"sweep {manifests.sweep_name(manifest)!r}"
    raise LaunchError(f"root {root} holds another sweep ({what} differs from this one): expected "
                      "the same sweep or one that extends it (--force to launch anyway; nothing is deleted)")


def check_root_writable(root: str) -> None:
  """Refuses a root that is a file or cannot be created and written, before anything is written."""
  why = unwritable(root)
  if why:
    raise LaunchError(f"--root={root} {why}: expected a new or existing sweep directory this user can create "
                      "and write")


def _print_units(units: list[spec.Unit], root: str, options: executors.Options, predictions: dict | None) -> None:
  for unit in units:
    status = progress.unit_status(executors.workdir(root, unit), unit.name)
    column = f"  predicted {predicted_units.cell(predictions['units'].get(unit.name))}" if predictions else ""
    command = train_command(unit.gin_files, unit.gin_bindings, executors.workdir(root, unit), options.python)
    print(f"{unit.name}  [{status.state}]{column}\n  {shlex.join(command)}")
  print(f"{len(units)} units in {root}")
  if predictions:
    print(predicted_units.summary(predictions))


def main(argv: list[str]) -> None:
  if FLAGS.verbosity > 0:  # absl's -v: the trainers show TensorFlow's start-up lines (train/quiet.py)
    os.environ["PROXIES_VERBOSE"] = "1"
  if len(argv) > 1:
    print(f"error: unexpected arguments {argv[1:]}: expected only --flags", file=sys.stderr)
    sys.exit(2)
  if FLAGS.list:
    for name, sweep in sweeps.all_sweeps().items():
      print(f"{name:14s} {len(spec.expand(sweep)):4d} units  {sweep.description.splitlines()[0]}")
    for alias, name in sweeps.aliases().items():
      print(f"{alias:14s} = {name} (the same units, trained once in its root)")
    return
  try:
    sweep = build_sweep()
    units = units_of(sweep)
    if FLAGS.predict_step is not None and not FLAGS.predict_from:
      raise LaunchError(f"--predict_step={FLAGS.predict_step} without --predict_from: expected both or neither")
    predictions = None
    if FLAGS.predict_from:  # validates the configs too, in the same trainer process
      predictions = predicted_units.predict(units, FLAGS.python, FLAGS.predict_from, FLAGS.predict_step)
    else:
      validate.check_configs(units, FLAGS.python)
    if FLAGS.parallel < 1 or FLAGS.max_retries < 0:
      raise LaunchError(f"--parallel={FLAGS.parallel} --max_retries={FLAGS.max_retries}: expected "
                        "parallel >= 1 and max_retries >= 0")
    if FLAGS.processes_per_unit < 1 or (FLAGS.processes_per_unit > 1 and FLAGS.executor != "local"):
      raise LaunchError(f"--processes_per_unit={FLAGS.processes_per_unit} with --executor={FLAGS.executor}: "
                        "expected >= 1, and 1 unless the executor is local (xm and slurm start one process "
                        "per host)")
    executor = executors.load(FLAGS.executor)
    if FLAGS.xm_accelerator and (FLAGS.executor, FLAGS.xm_target) != ("xm", "vertex"):
      raise LaunchError(f"--xm_accelerator={FLAGS.xm_accelerator} with --executor={FLAGS.executor} "
                        f"--xm_target={FLAGS.xm_target}: expected it only with --executor=xm --xm_target=vertex")
    if FLAGS.xm_accelerator:
      executor.requirements(FLAGS.xm_accelerator)  # a bad one is refused here, before anything is written
    root = os.path.abspath(FLAGS.root or os.path.join("runs", sweep.name))
    check_root_writable(root)
    check_root(root, sweep, units, FLAGS.force)
  except LaunchError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
  options = executors.Options(
      name=sweep.name, parallel=FLAGS.parallel, max_retries=FLAGS.max_retries, python=FLAGS.python,
      gpus_per_unit=FLAGS.gpus_per_unit, processes_per_unit=FLAGS.processes_per_unit, xm_target=FLAGS.xm_target, xm_accelerator=FLAGS.xm_accelerator,
      slurm_partition=FLAGS.slurm_partition, slurm_timeout_min=FLAGS.slurm_timeout_min,
      slurm_cluster=FLAGS.slurm_cluster)
  if FLAGS.dry_run:
    _print_units(units, root, options, predictions)
    return
  os.makedirs(root, exist_ok=True)
  try:
    lock = DirLock(root, "root").acquire()  # held until this launcher exits; the kernel drops it on kill -9
  except InUse as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
  write_json(os.path.join(root, MANIFEST_FILE), sweeps.manifest(sweep, units))
  if predictions:  # a relaunch without --predict_from keeps the earlier predictions
    predicted_units.write(root, predictions)
    print(predicted_units.summary(predictions), flush=True)
  todo, exhausted = [], 0
  for unit in units:
    workdir = executors.workdir(root, unit)
    if progress.is_finished(workdir):
      continue
    if progress.failures(workdir) > FLAGS.max_retries:
      exhausted += 1
    else:
      todo.append(unit)
  print(f"{sweep.name}: {len(units)} units in {root}; {len(units) - len(todo) - exhausted} finished, "
        f"{exhausted} failed (retries used up), launching {len(todo)} on {FLAGS.executor}", flush=True)
  with lock:
    code = executor.launch(todo, root, options) if todo else 0
  sys.exit(code if code else (1 if exhausted else 0))


if __name__ == "__main__":
  app.run(main, flags_parser=flag_parser.parse_flags)
