"""Fig C.1: RMS of the block outputs against size, LR and block index (averaged over the last 500
steps); the default qk-layernorm model.

Figs E.12 (Fig 11's gradient RMS trends read from the key projection instead of the first MLP layer) and
E.13 (gradient and unscaled update RMS of the first MLP layer during training: the update falls as the
gradient RMS nears AdamW's epsilon 1e-8) read the same runs: `figE12` and `figE13` are aliases of this
sweep, trained once in its root."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("figC1", __doc__.split("\n\n")[0])
ALIASES = {"figE12": "figC1", "figE13": "figC1"}
