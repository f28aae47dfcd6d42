"""Fig 7: scaling depth alone (d_model 512) raises LR sensitivity faster than scaling width alone
(6 layers, head dim 64); qk-layernorm. Fig E.2 is this without qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.width_depth_sweeps("fig7", __doc__, "qkln")
