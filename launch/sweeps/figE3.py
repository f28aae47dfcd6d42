"""Fig E.3: best loss over LRs when scaling width, depth, or both (the size presets); qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.width_depth_sweeps("figE3", __doc__, "qkln", joint=True)
