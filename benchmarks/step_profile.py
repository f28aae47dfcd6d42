r"""Where the project's train step spends its time on XLA:CPU: dots off YNNPACK, and per-op wall time.

  python benchmarks/step_profile.py [--shape=B] [--profile_steps=2] [--top=25]

Builds the step as benchmarks/peer_benchmark.py does (train/programs.py, every probe on), then prints
(1) the dots in the optimised HLO that XLA:CPU did not hand to YNNPACK (those run in its generic,
much slower dot emitter), with the jax op that made each; (2) a jax.profiler trace of `profile_steps` steps:
time per HLO op summed over XLA's threads, grouped by the jax op name (blocks merged). Shares of the
total, not absolute times, are what survive a loaded machine.
"""

import collections
import glob
import os
import re
import sys
import tempfile

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_benchmark  # noqa: E402  (its CONFIGS and step builder)

# peer_benchmark already defines --config and --steps (its own meanings).
flags.DEFINE_string("shape", "B", "Config to profile (A, B, C: benchmarks/peer_benchmark.py).")
flags.DEFINE_integer("profile_steps", 2, "Profiled steps.")
flags.DEFINE_integer("top", 25, "Op groups to print.")
FLAGS = flags.FLAGS


def _op_names(hlo: str) -> dict[str, str]:
  """HLO instruction name -> the jax op that made it (block index merged)."""
  names = {}
  for m in re.finditer(r"^\s+%(\S+) = .*?op_name=\"([^\"]*)\"", hlo, re.M):
    names[m.group(1)] = re.sub(r"block_\d+", "block_*", m.group(2).split("/", 1)[-1])
  return names


def _computations(hlo: str) -> dict[str, list[str]]:
  """HLO computation name -> its instruction lines."""
  out, computation = {}, None
  for line in hlo.splitlines():
    header = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{$", line)
    if header:
      computation = header.group(1)
      out[computation] = []
    elif computation is not None:
      out[computation].append(line)
  return out


def _ynn_fusions(hlo: str) -> dict[str, str]:
  """YNNPACK fusion instruction name -> the computation it calls."""
  return {m.group(1): m.group(2) for m in
          re.finditer(r"^\s+(?:ROOT )?%(\S+) = .*calls=%([\w.\-]+).*__ynn_fusion", hlo, re.M)}


def _slow_dots(hlo: str) -> list[str]:
  """Dots inside computations that no YNNPACK fusion calls."""
  ynn = set(_ynn_fusions(hlo).values())
  slow = []
  for computation, lines in _computations(hlo).items():
    for line in lines:
      if " dot(" in line and computation not in ynn:
        shape = re.search(r"= (\S+) dot", line).group(1)
        op = re.search(r'op_name="([^"]*)"', line)
        slow.append(f"{shape} {op.group(1) if op else ''}")
  return slow


def _dot_fusions(hlo: str) -> set[str]:
  """Names of the YNNPACK fusions that hold a dot (the rest of the step is XLA's own loops)."""
  with_dot = {name for name, lines in _computations(hlo).items() if any(" dot(" in line for line in lines)}
  return {name for name, called in _ynn_fusions(hlo).items() if called in with_dot}


def main(argv):
  del argv
  import jax
  step, lower, state, batch = peer_benchmark._proxies_step(os.getcwd(), FLAGS.shape)
  hlo = lower(state, batch).compile().as_text()
  slow = _slow_dots(hlo)
  print(f"config {FLAGS.shape}: {hlo.count('__ynn_fusion')} YNNPACK fusions; "
        f"{len(slow)} dots outside them")
  for line in slow:
    print("  " + line)
  for _ in range(2):  # compile and warm up outside the trace
    state, metrics = step(state, batch)
    jax.block_until_ready((state, metrics))
  with tempfile.TemporaryDirectory() as trace_dir:
    with jax.profiler.trace(trace_dir):
      for _ in range(FLAGS.profile_steps):
        state, metrics = step(state, batch)
        jax.block_until_ready((state, metrics))
    profile = jax.profiler.ProfileData.from_file(
        glob.glob(f"{trace_dir}/**/*.xplane.pb", recursive=True)[0])
  names = _op_names(hlo)
  dot_fusions = _dot_fusions(hlo)
  per_group, dot_ns = collections.Counter(), 0
  for plane in profile.planes:
    for line in plane.lines:
      if "XLAEigen" not in line.name:  # XLA:CPU's compute threads; one event per HLO op run
        continue
      for event in line.events:
        if "ThunkExecutor" not in event.name:
          per_group[names.get(event.name, event.name)] += event.duration_ns
          dot_ns += event.duration_ns if event.name in dot_fusions else 0
  total = sum(per_group.values())
  print(f"op time summed over threads: {total / 1e6 / FLAGS.profile_steps:.0f} ms/step "
        f"(loadavg {os.getloadavg()[0]:.1f}); YNNPACK dot fusions {100 * dot_ns / total:.1f}%, "
        f"everything else {100 - 100 * dot_ns / total:.1f}%")
  for name, ns in per_group.most_common(FLAGS.top):
    print(f"  {100 * ns / total:5.1f}%  {ns / 1e6 / FLAGS.profile_steps:8.1f} ms  {name}")


if __name__ == "__main__":
  app.run(main)
