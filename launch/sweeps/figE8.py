"""Fig E.8: qk-layernorm per head (the default) against over the whole model dimension."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("figE8", __doc__, slots={"qkln": (None, "qkln_full")})
