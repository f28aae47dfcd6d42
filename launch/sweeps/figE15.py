"""Fig E.15: AdamW epsilon 1e-6 instead of 1e-8 diverges a 4.8B model at LR 0.3; qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.eps_sweeps("figE15", __doc__, (None, "adam_eps_1e-6"))
