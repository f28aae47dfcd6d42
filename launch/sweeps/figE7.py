"""Fig E.7: 5e4, 1e5 (default) or 2e5 total steps barely change the LR vs loss curves; qk-layernorm.
At CPU scale: 100, 200, 400 steps."""

from launch.hyper import sweep
from launch.sweeps import grid

SWEEPS = grid.macro_ablation_sweeps("figE7", __doc__, "steps", ("steps_5e4", None, "steps_2e5"),
                                    sweep("steps", (100, 200, 400)))
