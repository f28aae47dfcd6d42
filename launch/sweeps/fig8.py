"""Fig 8: muParam (simple) stabilizes the optimal LR but neither lowers loss nor LR sensitivity;
qk-layernorm. Fig E.4 is this without qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.mup_base_at_smallest_cpu_width(
    grid.lr_size_sweeps("fig8", __doc__, slots={"param": (None, "mup_simple")}))
