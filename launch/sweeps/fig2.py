"""Fig 2: attention logit growth (max logit of block 0) at two sizes three orders of magnitude
apart, with and without qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("fig2", __doc__, archs=grid.ARCHS, size_names=("2.4M", "1.2B"),
                             cpu_widths=(64, 256))
