"""Fig E.11: the logit growth instability without softmax: squared-ReLU (pointwise) attention, with
and without qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("figE11", __doc__, slots={"attention": (None, "pointwise_attention")},
                             archs=grid.ARCHS)
