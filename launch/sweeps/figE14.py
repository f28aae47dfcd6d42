"""Fig E.14: each parameter's LR scaled by max(RMS(p), 1e-3) as in Adafactor; qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("figE14", __doc__, slots={"lr_scaling": (None, "param_rms_lr_scaling")})
