"""2b with depth scaled as the paper scales it (issue 24; docs/reproduction_rules.md, Depth co-scaling):
the paper's size presets grow depth, width and heads together, and its Fig 7 finds depth the stronger
driver of LR sensitivity, while repro_cpu's 2b grows width alone at 2 layers. Here (d_model, layers) =
(64, 1), (128, 2), (256, 4), head dim 64, qk-layernorm on and off, the paper's 7 LRs, on 2b's preset
(gin/repro.gin). `depth_scaling_seeds_cpu` is every unit at seeds 1 and 2."""

from launch.hyper import product, sweep, zipit
from launch.spec import Sweep
from launch.sweeps import grid

DEPTHS = {64: 1, 128: 2, 256: 4}  # d_model: num_layers; (128, 2) is repro_cpu's d=128 configuration

DEPTH_SCALING = Sweep(
    "depth_scaling_cpu", ["{arch}", "gin/repro.gin"],
    product(grid.files("arch", grid.ARCHS, "gin"),
            zipit(grid.cpu_sizes(tuple(DEPTHS)), sweep("num_layers", tuple(DEPTHS.values()))), grid.lrs()),
    description=__doc__.split("\n\n")[0].strip())
SWEEPS = [DEPTH_SCALING, grid.seeded(DEPTH_SCALING, "depth_scaling_seeds_cpu")]
