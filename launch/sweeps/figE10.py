"""Fig E.10: independent weight decay 0, 1e-5, 1e-4 (default), 1e-3; more decay shifts the optimal
LR right."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("figE10", __doc__, slots={"weight_decay": ("weight_decay_0", "weight_decay_1e-5",
                                                                        None, "weight_decay_1e-3")})
