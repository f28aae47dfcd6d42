"""Fig 11-13: gradient RMS of the first MLP layer falls with size and LR towards AdamW's epsilon; at
4.8B and LR 0.3, epsilon 1e-15 helps and 1e-6 diverges (Fig 12, 13). qk-layernorm. `fig12_13_seeds_cpu`
is the CPU variant's epsilon units (d=512, LR 0.3) at seeds 1 and 2 (docs/reproduction_rules.md, issue 24:
the missing seeds)."""

from launch.sweeps import grid

FIG11_13, FIG11_13_CPU = grid.eps_sweeps("fig11_13", __doc__, (None, "adam_eps_1e-15", "adam_eps_1e-6"),
                                        all_sizes=True)
EPS_WIDTH = 512  # the CPU stand-in for 4.8B, where only the epsilon units run
SWEEPS = [FIG11_13, FIG11_13_CPU,
          grid.seeded(FIG11_13_CPU, "fig12_13_seeds_cpu", lambda p: p["d_model"] == EPS_WIDTH,
                      f"fig11_13_cpu's epsilon units (d={EPS_WIDTH}, LR 0.3) at seeds 1, 2 (12a, 12b)")]
