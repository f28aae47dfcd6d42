"""Fig E.5: muParam simple / intermediate / full, with and without qk-layernorm, up to LR 1 (where
full muParam with qk-layernorm still trains)."""

from launch.sweeps import grid

SWEEPS = grid.mup_base_at_smallest_cpu_width(grid.lr_size_sweeps(
    "figE5", __doc__, slots={"param": ("mup_simple", "mup_intermediate", "mup_full")}, archs=grid.ARCHS,
    lr_values=grid.LRS + (1.0,)))
