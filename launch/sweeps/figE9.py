"""Fig E.9: batch 256 (default), 512, 1024 with the steps cut to keep the tokens seen; qk-layernorm.
At CPU scale: batch 16, 32, 64 for 200, 100, 50 steps."""

from launch.hyper import sweep, zipit
from launch.sweeps import grid

SWEEPS = grid.macro_ablation_sweeps("figE9", __doc__, "batch", (None, "batch_512", "batch_1024"),
                                    zipit(sweep("batch_size", (16, 32, 64)), sweep("steps", (200, 100, 50))))
