r"""Fault injection (issue 10): random kill -9 of trainers and of the launcher during a 4-unit sweep.

  python benchmarks/fault_injection.py --kills=20 [--seed=0] [--out=/tmp/faults]

Runs the sweep once uninterrupted, then again under KILLS random SIGKILLs (a running trainer or the
launcher, chosen at random, each after a random delay), relaunching after each, until it finishes.
Prints one row per kill and the verdict: every unit's metrics (all but timing) bit-identical to the
uninterrupted sweep, one line per logged step. Exit 1 when any unit differs. Slow: not a test.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINDINGS = ["d_model=32", "num_layers=2", "num_heads=1", "batch_size=8", "seq_len=32", "warmup_steps=2",
            "steps=40", "TrainConfig.num_eval_batches=2", "TrainConfig.log_every=2", "TrainConfig.eval_every=10",
            "TrainConfig.checkpoint_every=5", "TrainConfig.tensorboard=False"]
AXIS = "lr=[0.003,0.01,0.03,0.1]"


def launcher(root: str) -> subprocess.Popen:
  command = [sys.executable, "-m", "launch.sweep", "--gin_file=gin/qkln.gin", "--gin_file=gin/local.gin",
             f"--sweep={AXIS}", f"--root={root}", "--parallel=2", "--max_retries=1000",
             *[f"--gin_bindings={b}" for b in BINDINGS]]
  return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def units(root: str) -> list[str]:
  return sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))) if os.path.isdir(root) else []


def live_trainers(root: str) -> list[tuple[str, int]]:
  found = []
  for unit in units(root):
    try:
      with open(os.path.join(root, unit, "launch.json")) as f:
        attempts = json.load(f).get("attempts", [])
    except (OSError, ValueError):
      continue
    for a in attempts:
      if "end" not in a and "pid" in a:
        try:
          os.kill(a["pid"], 0)
          found.append((unit, a["pid"]))
        except OSError:
          pass
  return found


def metrics(root: str) -> dict[str, list[dict]]:
  out = {}
  for unit in units(root):
    with open(os.path.join(root, unit, "metrics.jsonl")) as f:
      out[unit] = [{k: v for k, v in json.loads(line).items() if k != "perf/tokens_per_s"} for line in f]
  return out


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--kills", type=int, default=20)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--out", default="/tmp/fault_injection")
  args = parser.parse_args()
  rng = random.Random(args.seed)
  shutil.rmtree(args.out, ignore_errors=True)
  reference_root, faulted_root = os.path.join(args.out, "reference"), os.path.join(args.out, "faulted")
  start = time.time()
  assert launcher(reference_root).wait() == 0, "the uninterrupted sweep failed"
  print(f"reference sweep: {time.time() - start:.0f} s", flush=True)
  print("| kill | after s | target | launcher rc |\n| --- | --- | --- | --- |")
  kills = 0
  proc = launcher(faulted_root)
  while kills < args.kills:
    time.sleep(rng.uniform(1.0, 6.0))
    if proc.poll() is not None:
      if proc.returncode == 0 and len(units(faulted_root)) == 4 and not live_trainers(faulted_root):
        break  # finished before every kill was spent: the remaining kills have nothing to hit
      proc = launcher(faulted_root)
      continue
    trainers = live_trainers(faulted_root)
    if trainers and rng.random() < 0.6:
      unit, pid = rng.choice(trainers)
      target = f"trainer {unit}"
    else:
      pid, target = proc.pid, "launcher"
    try:
      os.kill(pid, signal.SIGKILL)
    except OSError:
      continue
    kills += 1
    if target == "launcher":
      proc.wait()
    print(f"| {kills} | {time.time() - start:.0f} | {target} | {proc.poll()} |", flush=True)
    if proc.poll() is not None:
      proc = launcher(faulted_root)
  while proc.wait() != 0 or live_trainers(faulted_root):
    time.sleep(1)
    proc = launcher(faulted_root)
  reference, faulted = metrics(reference_root), metrics(faulted_root)
  bad = [u for u in reference if reference[u] != faulted.get(u)]
  dupes = [u for u, rows in faulted.items() if len({r["step"] for r in rows}) != len(rows)]
  print(f"\n{kills} kills, {len(reference)} units, wall {time.time() - start:.0f} s; "
        f"units differing from the uninterrupted sweep: {bad or 'none'}; units with duplicate lines: {dupes or 'none'}")
  for unit in sorted(reference):
    print(f"  {unit}: {len(faulted.get(unit, []))} lines, final eval loss {faulted.get(unit, [{}])[-1].get('eval/loss')!r} "
          f"(reference {reference[unit][-1].get('eval/loss')!r})")
  sys.exit(1 if bad or dupes else 0)


if __name__ == "__main__":
  main()
