"""Fig 9: max attention logit (block 0, step 2e3) against size at each LR without qk-layernorm, and
the extrapolated 4.8B model at LR 1e-2 that confirms the predicted divergence."""

from launch.hyper import product
from launch.sweeps import grid

SWEEPS = grid.pair(
    "fig9", __doc__,
    ["gin/no_qkln.gin", "{size}"],
    product(grid.sizes(), grid.lrs()) + product(grid.sizes(("4.8B",)), grid.lrs((1e-2,))),
    ["gin/no_qkln.gin", grid.LOCAL],
    product(grid.cpu_sizes(), grid.lrs()) + product(grid.cpu_sizes((512,)), grid.lrs((1e-2,))))
