"""Fig E.4: muParam (simple) without qk-layernorm: it does not remove the need for qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.mup_base_at_smallest_cpu_width(
    grid.lr_size_sweeps("figE4", __doc__, slots={"param": (None, "mup_simple")}, archs=("no_qkln",)))
