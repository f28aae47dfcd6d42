"""Fig 3, 4: output logit divergence without z-loss, mitigated by z-loss or (at larger sizes) by
weight decay; Fig 4 is the 2.4M model at LR 0.1 without z-loss. qk-layernorm throughout."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("fig3_4", __doc__, slots={"z_loss": (None, "no_z_loss"),
                                                      "weight_decay": (None, "weight_decay_0")})
