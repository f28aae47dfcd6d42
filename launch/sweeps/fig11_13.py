"""Fig 11-13: gradient RMS of the first MLP layer falls with size and LR towards AdamW's epsilon; at
4.8B and LR 0.3, epsilon 1e-15 helps and 1e-6 diverges (Fig 12, 13). qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.eps_sweeps("fig11_13", __doc__, (None, "adam_eps_1e-15", "adam_eps_1e-6"), all_sizes=True)
