"""Fig 1: qk-layernorm enables stable training across three orders of magnitude of LR; LR
sensitivity grows with size, with and without it.

Fig E.1 (attention logits grow with the query and key norms, not their cosine similarity; with and
without qk-layernorm) reads the same runs: `figE1` is an alias of this sweep, trained once in its root."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("fig1", __doc__.split("\n\n")[0], archs=grid.ARCHS)
ALIASES = {"figE1": "fig1"}
