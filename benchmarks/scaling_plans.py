r"""The size presets' plans (`train.main --plan`, train/plan.py) at several device counts, and the tables
of docs/scaling.md rendered from them: memory per device against TPU v4 and H100 memory, and the step time
each would take at a stated MFU.

  python benchmarks/scaling_plans.py --plans=docs/scaling --run      # compile what is missing (slow)
  python benchmarks/scaling_plans.py --plans=docs/scaling > tables.md  # render what is there

A plan whose compile does not finish within --timeout_s is the analytic model alone (`--noplan_compile`),
with `compile_timeout_s` recorded; its FLOPs are the analytic ones.
"""

import json
import pathlib
import subprocess
import sys
import time

from absl import app, flags

from rundir import flag_parser

REPO = pathlib.Path(__file__).resolve().parents[1]
SIZES = ("151M", "1.2B", "4.8B")
DEVICES = (8, 64, 256)
# Dense bf16 peak per chip and memory per chip, from the vendors' data sheets.
ACCELERATORS = {"TPU v4": {"peak_flops": 275e12, "memory_gib": 32},
                "H100 SXM": {"peak_flops": 989e12, "memory_gib": 80}}
MFU = 0.4  # model FLOPs utilisation assumed for the step-time estimate

flags.DEFINE_string("plans", "docs/scaling", "Folder of <size>-<devices>.json plans.")
flags.DEFINE_bool("run", False, "Compute the missing plans first (one train.main --plan each, in turn).")
flags.DEFINE_integer("timeout_s", 900, "With --run: give up on one plan's compile after this long (then "
                     "analytic only).")
FLAGS = flags.FLAGS


def _plan(size: str, devices: int, *flags: str, timeout_s: float | None = None) -> dict:
  command = [sys.executable, "-m", "train.main", "--gin_file=gin/qkln.gin", f"--gin_file=gin/sizes/{size}.gin",
             "--plan", f"--plan_devices={devices}", *flags]
  result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout_s)
  if result.returncode:
    raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {result.stderr[-2000:]}")
  return json.loads(result.stdout.strip().splitlines()[-1])


def _run_plan(size: str, devices: int, path: pathlib.Path) -> None:
  """The compiled plan, or the analytic one marked with the compile's timeout."""
  start = time.time()
  try:
    plan = {**_plan(size, devices, timeout_s=FLAGS.timeout_s), "wall_s": round(time.time() - start, 1)}
  except subprocess.TimeoutExpired:
    plan = {**_plan(size, devices, "--noplan_compile"), "compile_timeout_s": FLAGS.timeout_s}
  path.write_text(json.dumps(plan) + "\n")


def _gib(n: float) -> str:
  return f"{n / 2**30:.1f}"


def render(plans: dict[tuple[str, int], dict]) -> str:
  """docs/scaling.md's tables from the plans."""
  names = list(ACCELERATORS)
  lines = ["| preset | devices | params | FLOPs/step (XLA) | XLA / (6N + attn) | lower + compile s | "
           "state GiB/dev | activations GiB/dev (remat) | need GiB/dev (remat) | XLA:CPU temporaries GiB/dev | "
           + " | ".join(f"{a} headroom GiB (remat) | {a} step s" for a in names) + " |",
           "|" + " --- |" * (10 + 2 * len(names))]
  for (size, devices), plan in sorted(plans.items(), key=lambda kv: (SIZES.index(kv[0][0]), kv[0][1])):
    mem = plan["bytes_per_device"]
    state = mem["params"] + mem["optimizer_state"]
    need, need_remat = mem["analytic_total"], mem["analytic_total_remat"]
    compiled = plan["flops_per_step"] is not None
    flops = plan["flops_per_step"] if compiled else plan["flops_analytic"]["total"]
    cells = [size, str(devices), f"{plan['params'] / 1e6:.0f}M",
             f"{flops:.3g}" if compiled else f"{flops:.3g} (analytic)",
             f"{plan['flops_ratio_to_analytic']:.3f}" if compiled else "-",
             f"{plan['lower_s'] + plan['compile_s']:.0f}" if compiled else
             f"> {plan['compile_timeout_s']}" if "compile_timeout_s" in plan else "not compiled",
             _gib(state),
             f"{_gib(mem['activations_analytic'])} ({_gib(mem['activations_remat_analytic'])})",
             f"{_gib(need)} ({_gib(need_remat)})", _gib(mem["xla"]["temporaries"]) if compiled else "-"]
    for accelerator in ACCELERATORS.values():
      memory = accelerator["memory_gib"] * 2**30
      seconds = flops / (devices * accelerator["peak_flops"] * MFU)
      cells += [f"{_gib(memory - need)} ({_gib(memory - need_remat)})", f"{seconds:.3g}"]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  folder = pathlib.Path(FLAGS.plans)
  folder.mkdir(parents=True, exist_ok=True)
  if FLAGS.run:
    for devices in DEVICES:  # every preset at the fewest devices first: the larger meshes compile longer
      for size in SIZES:
        path = folder / f"{size}-{devices}.json"
        if not path.exists():
          _run_plan(size, devices, path)
  plans = {}
  for path in folder.glob("*.json"):
    size, devices = path.stem.rsplit("-", 1)
    plans[size, int(devices)] = json.loads(path.read_text())
  print(render(plans))


if __name__ == "__main__":
  app.run(main, flags_parser=flag_parser.parse_flags)
