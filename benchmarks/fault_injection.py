r"""Fault injection on a real 4-unit local sweep: kill -9 of trainer workers and of the launcher
(relaunching it each time), plus a garbage newest checkpoint, a truncated status.json, a cut metrics
line, a second launcher and a second trainer; then every unit's metrics must equal an uninterrupted
sweep's bit for bit (timing excepted), with no duplicated or missing line. Prints a markdown table
(docs/reliability.md holds a measured one).

  python benchmarks/fault_injection.py [--kills=20] [--seed=0] [--workdir=DIR]

Kills are timed by progress, not by the clock, so they land where they are meant to whatever the
machine's load: a worker once the unit it trains has logged past a step drawn at random (mid-step), a
worker the moment a new checkpoint of its unit appears (mid-write or just written), the launcher once a
unit has logged past a random step. Each kind is in every campaign of 3 kills or more.

Exit code 0 when every check passed and every kind of kill was injected, 1 otherwise.
"""

import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rundir import progress  # noqa: E402  # pylint: disable=wrong-import-position
from rundir.files import read_json  # noqa: E402  # pylint: disable=wrong-import-position

flags.DEFINE_integer("kills", 20, "kill -9 of workers or the launcher, each at a random point of progress.")
flags.DEFINE_integer("seed", 0, "Seed of the kill schedule.")
flags.DEFINE_string("workdir", None, "Where the two sweeps go; default a new temporary directory.")
FLAGS = flags.FLAGS

LRS = "lr=[0.01,0.003,0.001,0.03]"
BINDINGS = ["d_model=32", "num_layers=2", "num_heads=1", "batch_size=8", "seq_len=32", "warmup_steps=2",
            "TrainConfig.num_eval_batches=2", "steps=600", "TrainConfig.log_every=5",
            "TrainConfig.eval_every=50", "TrainConfig.checkpoint_every=25", "TrainConfig.tensorboard=False"]
LOG_STEPS = [0] + list(range(5, 601, 5))
WORKER_MID_STEP, WORKER_AT_CHECKPOINT, LAUNCHER_MID_STEP = KINDS = (
    "worker mid-step", "worker at a checkpoint", "launcher mid-step")
WAIT_S = 300.0  # for the progress a kill waits on, under any load


def sweep_command(root: pathlib.Path) -> list[str]:
  return ([sys.executable, "-m", "launch.sweep", "--gin_file=gin/qkln.gin", "--gin_file=gin/local.gin",
           f"--sweep={LRS}", f"--root={root}", "--parallel=2", "--max_retries=1000"]
          + [f"--gin_bindings={b}" for b in BINDINGS])


def start_launcher(root: pathlib.Path, log) -> subprocess.Popen:
  return subprocess.Popen(sweep_command(root), cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


def units(root: pathlib.Path) -> list[pathlib.Path]:
  return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("lr="))


def open_attempts(root: pathlib.Path) -> list[tuple[pathlib.Path, int]]:
  """(unit, worker pid) of the units training now: latest attempt open and its worker alive (a killed
  launcher's workers leave open attempts behind until the next launcher resumes their units)."""
  found = []
  for unit in units(root) if root.exists() else []:
    if progress.unit_status(str(unit)).state == "running":
      found.append((unit, int(progress.attempts(str(unit))[-1]["pid"])))
  return found


def step_of(unit: pathlib.Path) -> str:
  status = read_json(str(unit / "status.json")) or {}
  return str(status.get("step", "-"))


def metrics(unit: pathlib.Path) -> list[dict]:
  with open(unit / "metrics.jsonl") as f:
    return [{k: v for k, v in json.loads(line).items() if k != "perf/tokens_per_s"} for line in f]


def kill_schedule(rng: random.Random, kills: int) -> list[str]:
  """`kills` kinds of kill in random order, each kind at least once when there is room."""
  kinds = list(KINDS[:kills]) + [rng.choice(KINDS) for _ in range(kills - len(KINDS))]
  rng.shuffle(kinds)
  return kinds


def wait_for(condition, launcher: subprocess.Popen):
  """condition()'s first truthy value, polled every 10 ms; None when the launcher ends or WAIT_S passes."""
  deadline = time.time() + WAIT_S
  while time.time() < deadline and launcher.poll() is None:
    found = condition()
    if found:
      return found
    time.sleep(0.01)
  return None


def logged_step(unit: pathlib.Path) -> int:
  step = (read_json(str(unit / "status.json")) or {}).get("step")
  return step if isinstance(step, int) else -1


def checkpoint_entries(unit: pathlib.Path) -> set[str]:
  """Names in checkpoints/: finished steps and orbax's temporary directories of a save in progress."""
  try:
    return {p.name for p in (unit / "checkpoints").iterdir() if p.name != "corrupt_checkpoints"}
  except OSError:
    return set()


def still_training(root: pathlib.Path, unit: pathlib.Path, pid: int) -> bool:
  return (unit, pid) in open_attempts(root)


def aim(kind: str, root: pathlib.Path, rng: random.Random, launcher: subprocess.Popen):
  """Waits for a unit in training, then for the moment `kind` names; (unit, worker pid, where) or None."""
  training = wait_for(lambda: open_attempts(root), launcher)
  if not training:
    return None
  unit, pid = rng.choice(training)
  if kind == WORKER_AT_CHECKPOINT:
    before = checkpoint_entries(unit)
    new = wait_for(lambda: (checkpoint_entries(unit) - before) or not still_training(root, unit, pid), launcher)
    if not isinstance(new, set):
      return None
    name = sorted(new)[0]
    return unit, pid, (f"checkpoint {name.split('.')[0]} being written ({name})" if not name.isdigit()
                       else f"checkpoint {name} just written")
  target = max(logged_step(unit), 0) + rng.randrange(5, 100)
  reached = wait_for(lambda: logged_step(unit) >= target or not still_training(root, unit, pid), launcher)
  if not reached or not still_training(root, unit, pid):
    return None
  return unit, pid, f"logged past step {target} (status step {step_of(unit)})"


def aim_until(kind: str, root: pathlib.Path, rng: random.Random, launcher: subprocess.Popen):
  """aim(), again while the unit aimed at ends or moves on first; None when the sweep ends or stalls."""
  aimed, give_up = None, time.time() + WAIT_S
  while aimed is None and launcher.poll() is None and time.time() < give_up:
    aimed = aim(kind, root, rng, launcher)
  return aimed


def second_writer(command: list[str]) -> str:
  """What a second launcher or trainer on a directory in use did: its exit code and last error line."""
  try:
    second = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
  except subprocess.TimeoutExpired:
    return "still running after 300 s: it was not refused"
  return f"exit {second.returncode}: `{(second.stderr.strip().splitlines() or [''])[-1][:110]}`"


def damage_checkpoint(unit: pathlib.Path) -> str:
  steps = sorted(int(p.name) for p in (unit / "checkpoints").iterdir() if p.name.isdigit())
  if not steps:
    return ""
  for path in (unit / "checkpoints" / str(steps[-1])).rglob("*"):
    if path.is_file():
      path.write_bytes(b"garbage")
  return str(steps[-1])


def main(argv: list[str]) -> None:
  del argv
  base = pathlib.Path(FLAGS.workdir or os.path.join("/tmp", f"fault_injection_{os.getpid()}"))
  base.mkdir(parents=True, exist_ok=True)
  reference, faulted = base / "reference", base / "faulted"
  log = open(base / "launchers.log", "a")
  start = time.time()
  subprocess.run(sweep_command(reference), cwd=REPO, stdout=log, stderr=subprocess.STDOUT, check=True)
  reference_s = time.time() - start
  rng = random.Random(FLAGS.seed)
  rows: list[tuple[str, str]] = []
  start = time.time()
  launcher = start_launcher(faulted, log)
  kills = extras = 0
  injected = dict.fromkeys(KINDS, 0)
  for kind in kill_schedule(rng, FLAGS.kills):
    if launcher.poll() is not None:
      rows.append(("(the sweep finished before all kills)", f"launcher exit {launcher.returncode}"))
      break
    # A second writer, once the launcher's own worker is seen training (so the launcher holds the root).
    training = (extras == 0 and kills >= 5) or (extras == 1 and kills >= 8)
    training = training and aim_until(WORKER_MID_STEP, faulted, rng, launcher)
    if training and extras == 0:
      rows.append(("a second launch.sweep on the root while the first runs", second_writer(sweep_command(faulted))))
      extras += 1
    elif training:
      unit = training[0]
      flags_ = [f"--gin_file=gin/qkln.gin", "--gin_file=gin/local.gin", f"--workdir={unit}"] + [
          f"--gin_bindings={b}" for b in BINDINGS + [unit.name]]
      rows.append((f"a second train.main on {unit.name} while its worker trains it",
                   second_writer([sys.executable, "-m", "train.main", *flags_])))
      extras += 1
    aimed = aim_until(kind, faulted, rng, launcher)
    if aimed is None:
      rows.append((f"(no moment for a {kind} kill: the sweep ended or stalled)", "not injected"))
      continue
    unit, pid, where = aimed
    if kind != LAUNCHER_MID_STEP:
      try:
        os.kill(pid, signal.SIGKILL)
      except ProcessLookupError:
        rows.append((f"(the worker of {unit.name} ended before its {kind} kill)", "not injected"))
        continue
      kills += 1
      injected[kind] += 1
      rows.append((f"kill -9 of the worker training {unit.name}, {where}",
                   "attempt recorded as -9; the unit resumed on a new worker"))
    else:
      launcher.send_signal(signal.SIGKILL)
      launcher.wait()
      kills += 1
      injected[kind] += 1
      what = "; ".join(f"{u.name} at {step_of(u)}" for u, _ in open_attempts(faulted))
      if extras == 2 and len(units(faulted)) >= 3:
        time.sleep(1.0)  # the workers' SIGTERM (parent death) lands
        unfinished = [u for u in units(faulted) if not progress.is_finished(str(u))]
        if len(unfinished) >= 1:
          at = damage_checkpoint(unfinished[0])
          rows.append((f"garbage written over the newest checkpoint ({at}) of {unfinished[0].name}",
                       "moved to corrupt_checkpoints/, resumed from the previous one" if at else "no checkpoint yet"))
        if len(unfinished) >= 2:
          status = unfinished[1] / "status.json"
          if status.exists():
            status.write_text(status.read_text()[:30])
            rows.append((f"status.json of {unfinished[1].name} truncated to 30 bytes",
                         "rebuilt from metrics.jsonl by the next trainer"))
        if unfinished and (unfinished[-1] / "metrics.jsonl").exists():
          with open(unfinished[-1] / "metrics.jsonl", "a") as f:
            f.write('{"step": 99999, "train/lo')
          rows.append((f"a cut line appended to metrics.jsonl of {unfinished[-1].name}",
                       "dropped when the unit resumed"))
        extras += 1
      rows.append((f"kill -9 of the launcher, {unit.name} {where} ({what})",
                   "workers stopped with it; relaunched, units resumed"))
      launcher = start_launcher(faulted, log)
  code = launcher.wait()
  relaunches = 0
  while code != 0 and relaunches < 3:  # a launcher killed last may have left units interrupted
    relaunches += 1
    code = start_launcher(faulted, log).wait()
  faulted_s = time.time() - start

  missing = [kind for kind in KINDS[:FLAGS.kills] if not injected[kind]]
  failures = []
  for unit in units(reference):
    mine = faulted / unit.name
    expected, got = metrics(unit), metrics(mine)
    steps = [r["step"] for r in got]
    if steps != LOG_STEPS:
      failures.append(f"{unit.name}: logged steps differ (duplicated or missing lines)")
    elif got != expected:
      failures.append(f"{unit.name}: metrics differ from the uninterrupted sweep")
    if (read_json(str(mine / "status.json")) or {}).get("final_eval_loss") != (
        read_json(str(unit / "status.json")) or {}).get("final_eval_loss"):
      failures.append(f"{unit.name}: final eval loss differs")
  lost = "none" if not failures else "SEE FAILURES"
  print("| # | what was done | what happened | data lost |\n| --- | --- | --- | --- |")
  for number, (what, happened) in enumerate(rows, 1):
    print(f"| {number} | {what} | {happened} | {lost} |")
  print(f"\nkills: {kills} ({', '.join(f'{kind}: {n}' for kind, n in injected.items())}); final launcher exit {code} after {relaunches} extra relaunches; reference sweep "
        f"{reference_s:.0f} s, faulted sweep {faulted_s:.0f} s; load {open('/proc/loadavg').read().split()[:3]}")
  for unit in units(faulted):
    print(f"{unit.name}: {len(metrics(unit))} metrics lines, final eval loss "
          f"{(read_json(str(unit / 'status.json')) or {}).get('final_eval_loss')}, "
          f"{len(progress.attempts(str(unit)))} attempts, corrupt_checkpoints: {(unit / 'corrupt_checkpoints').exists()}")
  for failure in failures:
    print(f"FAILED: {failure}")
  for kind in missing:
    print(f"FAILED: no {kind} kill was injected, though the campaign promises one")
  sys.exit(1 if failures or missing or code != 0 else 0)


if __name__ == "__main__":
  app.run(main)
