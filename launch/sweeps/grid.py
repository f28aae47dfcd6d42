"""Axes and sweep shapes the figures share: LR x model size x intervention (Section 2.2).

A full sweep puts its architecture file first, then `{size}` (gin/sizes/*.gin), then one
`{slot}` per intervention (gin/ablations/*.gin, None for the default). Its CPU variant drops the
size files for d_model/num_heads bindings (head dim 64) and puts gin/local.gin last, so an
intervention that sets a macro (warm-up, steps, batch) is swept as a binding at CPU scale instead.
"""

import dataclasses
from collections.abc import Callable, Mapping, Sequence

from launch.hyper import Point, product, sweep, zipit
from launch.spec import Sweep
from rundir.scale import LRS
SEEDS = (1, 2)  # gin/base.gin's `seed` macro; seed 0, the default, is the seeded sweep's own run
SIZES = ("2.4M", "9.4M", "19M", "42M", "85M", "151M", "302M", "604M", "1.2B")
CPU_WIDTHS = (64, 128, 256)
LOCAL = "gin/local.gin"
ARCHS = ("qkln", "no_qkln")


def files(key: str, stems: Sequence[str | None], folder: str = "gin/ablations") -> list[Point]:
  """A gin-file axis filling `{key}`; None leaves the slot empty (the default)."""
  return sweep(key, [None if stem is None else f"{folder}/{stem}.gin" for stem in stems])


def sizes(names: Sequence[str] = SIZES) -> list[Point]:
  return files("size", names, "gin/sizes")


def cpu_sizes(widths: Sequence[int] = CPU_WIDTHS) -> list[Point]:
  """CPU stand-ins for the size files: widths with head dim 64, depth from gin/local.gin."""
  return zipit(sweep("d_model", widths), sweep("num_heads", [w // 64 for w in widths]))


def lrs(values: Sequence[float] = LRS) -> list[Point]:
  return sweep("lr", values)


def pair(name: str, description: str, gin_files: Sequence[str], points: Sequence[Point],
         cpu_gin_files: Sequence[str], cpu_points: Sequence[Point]) -> list[Sweep]:
  """The figure's sweep and its `_cpu` variant."""
  return [Sweep(name, list(gin_files), list(points), description=description.strip()),
          Sweep(f"{name}_cpu", list(cpu_gin_files), list(cpu_points),
                description=f"{description.strip()} (CPU scale)")]


def lr_size_sweeps(name: str, description: str, slots: Mapping[str, Sequence[str | None]] | None = None,
                   archs: Sequence[str] = ("qkln",), lr_values: Sequence[float] = LRS,
                   size_names: Sequence[str] = SIZES, cpu_widths: Sequence[int] = CPU_WIDTHS) -> list[Sweep]:
  """LR x size x one gin-file axis per slot (configurable-only ablations), both scales.

  One arch is a fixed first file; several become an `{arch}` axis.
  """
  arch_files = ["{arch}"] if len(archs) > 1 else [f"gin/{archs[0]}.gin"]
  arch_axes = [files("arch", archs, "gin")] if len(archs) > 1 else []
  slots = slots or {}
  slot_files = [f"{{{key}}}" for key in slots]
  slot_axes = [files(key, stems) for key, stems in slots.items()]
  return pair(name, description,
              arch_files + ["{size}"] + slot_files,
              product(*arch_axes, *slot_axes, sizes(size_names), lrs(lr_values)),
              arch_files + slot_files + [LOCAL],
              product(*arch_axes, *slot_axes, cpu_sizes(cpu_widths), lrs(lr_values)))


def mup_base_at_smallest_cpu_width(sweeps: list[Sweep]) -> list[Sweep]:
  """Section 3.2.4 takes muParam's base fan-ins from the smallest model tested (width 256, the default
  ModelConfig.mup_base_width); at CPU scale the smallest width is 64, so the `_cpu` variant binds it."""
  return [dataclasses.replace(s, bindings={**s.bindings, "ModelConfig.mup_base_width": min(CPU_WIDTHS)})
          if s.name.endswith("_cpu") else s for s in sweeps]


def macro_ablation_sweeps(name: str, description: str, slot: str, stems: Sequence[str | None],
                          cpu_axis: Sequence[Point]) -> list[Sweep]:
  """LR x size x ablation files that set macros (steps, warm-up, batch): swept as bindings on CPU,
  where gin/local.gin, last, would override the files."""
  return pair(name, description,
              ["gin/qkln.gin", "{size}", f"{{{slot}}}"], product(files(slot, stems), sizes(), lrs()),
              ["gin/qkln.gin", LOCAL], product(cpu_axis, cpu_sizes(), lrs()))


def width_depth_sweeps(name: str, description: str, arch: str, joint: bool = False) -> list[Sweep]:
  """Depth alone (d_model 512), width alone (6 layers, head dim 64) and, with joint, the size presets.

  On CPU: depth 1-8 at d_model 128, widths 64-256 at 2 layers, joint (64, 1) and (256, 4); the
  (128, 2) point is shared by all three.
  """
  full = (product(files("scaling", ("depth_only",)), sweep("num_layers", (3, 6, 12, 24, 48)), lrs())
          + product(files("scaling", ("width_only",)),
                    zipit(sweep("d_model", (256, 512, 1024, 2048)), sweep("num_heads", (4, 8, 16, 32))), lrs()))
  cpu = (product(cpu_sizes((128,)), sweep("num_layers", (1, 4, 8)), lrs())
         + product(cpu_sizes(), sweep("num_layers", (2,)), lrs()))
  if joint:
    full += product(files("scaling", SIZES[:7], "gin/sizes"), lrs())
    cpu += product(zipit(cpu_sizes((64, 256)), sweep("num_layers", (1, 4))), lrs())
  return pair(name, description, [f"gin/{arch}.gin", "{scaling}"], full, [f"gin/{arch}.gin", LOCAL], cpu)


def eps_sweeps(name: str, description: str, eps_stems: Sequence[str | None],
               all_sizes: bool = False) -> list[Sweep]:
  """The largest model (4.8B; d_model 512 on CPU) at LR 0.3 for each AdamW epsilon file, after, with
  all_sizes, LR x size at the default epsilon."""
  largest = product(files("adam_eps", eps_stems), sizes(("4.8B",)), lrs((0.3,)))
  cpu_largest = product(files("adam_eps", eps_stems), cpu_sizes((512,)), lrs((0.3,)))
  if all_sizes:
    largest = product(files("adam_eps", (None,)), sizes(), lrs()) + largest
    cpu_largest = product(files("adam_eps", (None,)), cpu_sizes(), lrs()) + cpu_largest
  return pair(name, description, ["gin/qkln.gin", "{size}", "{adam_eps}"], largest,
              ["gin/qkln.gin", "{adam_eps}", LOCAL], cpu_largest)


def seeded(of: Sweep, name: str, keep: Callable[[Point], bool] = lambda point: True,
           description: str | None = None) -> Sweep:
  """`of`'s points that `keep` selects, at each of SEEDS, seed by seed (a finished seed is a complete
  replicate); same files and bindings, so a unit differs from the one it replicates only by its seed."""
  return dataclasses.replace(
      of, name=name, points=[{**p, "seed": seed} for seed in SEEDS for p in of.points if keep(p)],
      description=description or f"{of.name}'s units at seeds {', '.join(map(str, SEEDS))} "
                                 "(docs/reproduction_rules.md)")
