"""Fig E.4: muParam (simple) without qk-layernorm: it does not remove the need for qk-layernorm.
`figE4_seeds_cpu` is the CPU variant's muParam cells above the base width (8d's no-qk-layernorm arm) at
seeds 1 and 2 (docs/reproduction_rules.md, issue 24: the missing seeds)."""

from launch.sweeps import grid

FIGE4, FIGE4_CPU = grid.mup_base_at_smallest_cpu_width(
    grid.lr_size_sweeps("figE4", __doc__, slots={"param": (None, "mup_simple")}, archs=("no_qkln",)))
SWEEPS = [FIGE4, FIGE4_CPU,
          grid.seeded(FIGE4_CPU, "figE4_seeds_cpu",
                      lambda p: p["param"] is not None and p["d_model"] > min(grid.CPU_WIDTHS),
                      "figE4_cpu's muParam cells at d=128, 256 (8d's no-qk-LN arm) at seeds 1, 2")]
