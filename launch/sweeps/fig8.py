"""Fig 8: muParam (simple) stabilizes the optimal LR but neither lowers loss nor LR sensitivity;
qk-layernorm. Fig E.4 is this without qk-layernorm. `fig8_seeds_cpu` is the CPU variant at seeds 1 and 2
(docs/reproduction_rules.md, Fig 8 seeds)."""

from launch.sweeps import grid

FIG8, FIG8_CPU = grid.mup_base_at_smallest_cpu_width(
    grid.lr_size_sweeps("fig8", __doc__, slots={"param": (None, "mup_simple")}))
SWEEPS = [FIG8, FIG8_CPU, grid.seeded(FIG8_CPU, "fig8_seeds_cpu")]
