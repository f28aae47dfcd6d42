"""Fig 6: weight decay independent of the LR (lambda 1e-4) against optax/PyTorch-style coupled decay
(lambda 0.1). LRs from 1e-4: the coupled curve's sensitivity is also measured over [1e-4, 1e-1]."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("fig6", __doc__, slots={"weight_decay": (None, "coupled_weight_decay")},
                             lr_values=(1e-4,) + grid.LRS)
