"""Fig C.1: RMS of the block outputs against size, LR and block index (averaged over the last 500
steps); the default qk-layernorm model."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("figC1", __doc__)
