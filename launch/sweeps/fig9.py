"""Fig 9: max attention logit (block 0, step 2e3) against size at each LR without qk-layernorm, and
the extrapolated 4.8B model at LR 1e-2 that confirms the predicted divergence.

The held-out CPU version is two sweeps run in order: fig9_fit_cpu (widths 64-256, every LR), then the
prediction for d=512 is written (docs/reproduction_rules.md, Fig 9), then fig9_heldout_cpu trains
d=512 at every LR to check it."""

from launch.hyper import product
from launch.spec import Sweep
from launch.sweeps import grid

_CPU_FILES = ["gin/no_qkln.gin", grid.LOCAL]
HELDOUT_WIDTH = 512

SWEEPS = grid.pair(
    "fig9", __doc__.split("\n\n")[0],
    ["gin/no_qkln.gin", "{size}"],
    product(grid.sizes(), grid.lrs()) + product(grid.sizes(("4.8B",)), grid.lrs((1e-2,))),
    _CPU_FILES,
    product(grid.cpu_sizes(), grid.lrs()) + product(grid.cpu_sizes((HELDOUT_WIDTH,)), grid.lrs((1e-2,)))) + [
    Sweep("fig9_fit_cpu", _CPU_FILES, product(grid.cpu_sizes(), grid.lrs()),
          description="Fig 9 held out, step 1: the fitted widths 64-256 at every LR (CPU scale)"),
    Sweep("fig9_heldout_cpu", _CPU_FILES, product(grid.cpu_sizes((HELDOUT_WIDTH,)), grid.lrs()),
          description=f"Fig 9 held out, step 2: d={HELDOUT_WIDTH} at every LR, trained after its prediction"),
]
