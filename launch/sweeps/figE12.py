"""Fig E.12: Fig 11's gradient RMS trends read from the key projection instead of the first MLP layer;
the default qk-layernorm model."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("figE12", __doc__)
