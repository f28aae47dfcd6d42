"""Fig 7: scaling depth alone (d_model 512) raises LR sensitivity faster than scaling width alone
(6 layers, head dim 64); qk-layernorm. Fig E.2 is this without qk-layernorm. `fig7_seeds_cpu` is the CPU
variant at seeds 1 and 2 (docs/reproduction_rules.md, issue 24: the missing seeds)."""

from launch.sweeps import grid

FIG7, FIG7_CPU = grid.width_depth_sweeps("fig7", __doc__, "qkln")
SWEEPS = [FIG7, FIG7_CPU, grid.seeded(FIG7_CPU, "fig7_seeds_cpu")]
