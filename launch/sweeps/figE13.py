"""Fig E.13: gradient and unscaled update RMS of the first MLP layer during training, over LRs and
sizes: the update falls as the gradient RMS nears AdamW's epsilon 1e-8."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("figE13", __doc__)
