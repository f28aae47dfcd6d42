"""Fig 5: longer warm-up lowers LR sensitivity, most for the larger models (1e5 steps, qk-layernorm).
At CPU scale the warm-ups are 5%, 10% and 25% of gin/local.gin's 200 steps, as 5e3, 1e4, 2.5e4 of 1e5."""

from launch.hyper import sweep
from launch.sweeps import grid

SWEEPS = grid.macro_ablation_sweeps("fig5", __doc__, "warmup", ("warmup_5000", "warmup_10000", "warmup_25000"),
                                    sweep("warmup_steps", (10, 20, 50)))
