"""Fig 1: qk-layernorm enables stable training across three orders of magnitude of LR; LR
sensitivity grows with size, with and without it."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("fig1", __doc__, archs=grid.ARCHS)
