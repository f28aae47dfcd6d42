"""The CPU reproduction suite (docs/reproduction.md): the paper's five findings at a scale a 2-core
machine runs in about 40 minutes, as one sweep whose findings share their common units.

  python -m launch.sweep --sweep_name=repro_cpu --root=runs/repro --parallel=2
  python -m analysis.reproduction runs/repro --out docs/reproduction

Every unit names the same keys in the same order (arch, the z-loss and weight-decay file slots,
warm-up, width, LR), so a unit shared by two findings (qk-layernorm at the defaults is in all of them)
is one run. qk-layernorm on/off uses three widths; the ablations (z-loss x weight decay, warm-up,
coupled decay) use the two smaller ones to fit the budget. `repro_smoke_cpu` is the same suite at a
few steps, for CI.

`repro_long_cpu` (gin/repro_long.gin: 2000 steps, 10x) holds only the late-training findings that 200
steps cannot show (Fig 3, 4, 6; docs/reproduction.md 3b-3c, 4b), under the same keys and so the same
verdict rules: one width (d=128, where z-loss's effect reproduced at 200 steps), the z-loss x
weight-decay cells and coupled decay, LRs from 1e-3 up (below it the cells did not differ at 200 steps)
plus 3e-4 for coupled decay's second range; 32 units, sized for at most 3 hours on 2 cores.

  python -m launch.sweep --sweep_name=repro_long_cpu --root=runs/repro_long --parallel=2
  python -m analysis.reproduction runs/repro_long --out docs/reproduction_long

`repro_seeds_cpu` reruns, at seeds 1 and 2, the cells of the claims whose verdict hinged on a
sensitivity difference under 0.1 (docs/reproduction_rules.md, Seeds); seed 0 is repro_cpu's run. The
full report (`python -m analysis.reproduction runs/repro runs/repro_seeds ... --out DIR`) averages them.
`repro_long_seeds_cpu` does the same for `repro_long_cpu`, whose every claim reads such a difference.
"""

import dataclasses

from launch.hyper import Point, product, sweep
from launch.spec import Sweep, name_value, unit_name
from launch.sweeps import grid
from rundir.scale import LOW_LR, Scale

SLOTS = ("arch", "z_loss", "weight_decay")  # gin-file axes; the rest are bindings
GIN_FILES = tuple(f"{{{slot}}}" for slot in SLOTS)

FULL = Scale("repro_cpu", "gin/repro.gin", grid.CPU_WIDTHS, (64, 128), grid.LRS, LOW_LR, (10, 20, 50))
SMOKE = Scale("repro_smoke_cpu", "gin/repro_smoke.gin", (64,), (64,), (1e-2, 3e-1), LOW_LR, (1, 2, 4))
LONG = Scale("repro_long_cpu", "gin/repro_long.gin", (128,), (128,), (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
             3e-4, (200, 200, 200))
SCALES = {scale.name: scale for scale in (FULL, SMOKE, LONG)}
LATE_FINDINGS = ("output_logits", "weight_decay")  # what repro_long_cpu holds


@dataclasses.dataclass(frozen=True)
class Finding:
  """One claim of the paper and the points that test it."""
  key: str
  title: str
  points: tuple[Point, ...]


def points(scale: Scale, archs=("qkln",), z_loss=(None,), weight_decay=(None,), warmups=None,
            widths=None, lrs=None) -> tuple[Point, ...]:
  """Arch x z-loss file x weight-decay file x warm-up x width x LR; defaults: the suite's defaults."""
  return tuple(product(grid.files("arch", archs, "gin"), grid.files("z_loss", z_loss),
                       grid.files("weight_decay", weight_decay),
                       sweep("warmup_steps", warmups or scale.warmups[1:2]),
                       grid.cpu_sizes(widths or scale.widths), sweep("lr", lrs or scale.lrs)))


def findings(scale: Scale) -> list[Finding]:
  """The suite's findings in report order; findings 1, 2 and 5 read the same runs."""
  qk = points(scale, archs=("no_qkln", "qkln"))
  small = scale.ablation_widths
  every = [
      Finding("attention_logits", "1. Attention logit growth and qk-layernorm (Fig 1, 2)", qk),
      Finding("sensitivity_size", "2. qk-layernorm lowers LR sensitivity; sensitivity grows with size (Fig 1)",
              qk),
      Finding("output_logits", "3. Output logit divergence without weight decay; z-loss prevents it (Fig 3, 4)",
              points(scale, z_loss=(None, "no_z_loss"), weight_decay=(None, "weight_decay_0"), widths=small)),
      Finding("warmup", "4a. Longer warm-up lowers LR sensitivity (Fig 5)",
              points(scale, warmups=scale.warmups, widths=small)),
      Finding("weight_decay", "4b. Independent weight decay lowers LR sensitivity (Fig 6)",
              points(scale, weight_decay=(None, "coupled_weight_decay"), widths=small,
                      lrs=(scale.low_lr,) + scale.lrs)),
      Finding("grad_rms", "5. Gradient RMS falls with model size and LR (Fig 11)", qk),
  ]
  return [f for f in every if f.key in LATE_FINDINGS] if scale is LONG else every


def suite(scale: Scale, findings_: list[Finding] | None = None) -> Sweep:
  """Every finding's points once, in finding order (default: this suite's findings)."""
  unique, seen = [], set()
  for finding in findings_ or findings(scale):
    for point in finding.points:
      if tuple(point.items()) not in seen:
        seen.add(tuple(point.items()))
        unique.append(point)
  return Sweep(scale.name, [*GIN_FILES, scale.preset], unique, description=__doc__.split("\n\n")[0])


def report(scale: Scale) -> dict:
  """What the reproduction report needs of this suite, for ROOT/sweep.json: the scale, and each finding's
  units by name with their point as names render it (a file slot by its stem)."""
  return {"scale": scale.to_json(),
          "findings": [{"key": f.key, "title": f.title,
                        "units": [{"name": unit_name(p, SLOTS),
                                   "labels": {k: name_value(v, k in SLOTS) for k, v in p.items()}}
                                  for p in f.points]} for f in findings(scale)]}


SEEDS_NAMES = {FULL.name: "repro_seeds_cpu", LONG.name: "repro_long_seeds_cpu"}  # by the suite they seed
# The cells each seeded claim's rule reads (docs/reproduction_rules.md, Seeds), by finding; a point's
# file slots by stem. 2b reads all of its finding; 3a the no-decay pair, 3c no z-loss with and without
# decay at the largest width; 4a the short and long warm-ups (default: 2b's); 4b coupled decay.
SEEDED = {
    "sensitivity_size": lambda scale, p: True,
    "output_logits": lambda scale, p: (p["weight_decay"] == "weight_decay_0" or (
        p["z_loss"] == "no_z_loss" and p["d_model"] == scale.ablation_widths[-1])),
    "warmup": lambda scale, p: p["warmup_steps"] != scale.warmups[1],
    "weight_decay": lambda scale, p: p["weight_decay"] == "coupled_weight_decay",
}


def seeded_points(scale: Scale) -> list[Point]:
  """The seeded claims' points, once each, in finding order. At 2000 steps every claim (3a, 3c, 4b) reads
  a difference under 0.1 and there is no 2b to share 4b's independent-decay cell with: every point."""
  if scale is LONG:
    return list(suite(LONG).points)
  out, seen = [], set()
  for finding in findings(scale):
    for point in finding.points:
      stems = {k: name_value(v, True) if k in SLOTS else v for k, v in point.items()}
      if finding.key in SEEDED and SEEDED[finding.key](scale, stems) and tuple(point.items()) not in seen:
        seen.add(tuple(point.items()))
        out.append(point)
  return out


def seeds_suite(scale: Scale) -> Sweep:
  """The seeded points at each of grid.SEEDS, seed by seed (a finished seed is a complete replicate)."""
  claims = Sweep(scale.name, [*GIN_FILES, scale.preset], seeded_points(scale))
  return grid.seeded(claims, SEEDS_NAMES[scale.name],
                     description=f"{scale.name}'s cells whose verdicts hinge on differences under 0.1, at seeds 1 and 2")


def seeds_report(scale: Scale) -> dict:
  """For ROOT/sweep.json: which repro_cpu unit each seed unit replicates, so analysis pairs them by name."""
  return {"seeds_of": scale.name, "scale": scale.to_json(), "seeds": list(grid.SEEDS), "claims": sorted(SEEDED),
          "units": [{"name": unit_name(p, SLOTS), "base": unit_name({k: v for k, v in p.items() if k != "seed"},
                                                                    SLOTS), "seed": p["seed"]}
                    for p in seeds_suite(scale).points]}


SWEEPS = [suite(FULL), suite(SMOKE), suite(LONG), seeds_suite(FULL), seeds_suite(LONG)]
REPORTS = {**{scale.name: report(scale) for scale in SCALES.values()},
           **{SEEDS_NAMES[scale.name]: seeds_report(scale) for scale in (FULL, LONG)}}
