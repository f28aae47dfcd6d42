"""Fig E.2: Fig 7 (width vs depth scaling) without qk-layernorm: logit growth at scale either way."""

from launch.sweeps import grid

SWEEPS = grid.width_depth_sweeps("figE2", __doc__, "no_qkln")
