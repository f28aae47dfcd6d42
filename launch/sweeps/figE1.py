"""Fig E.1: attention logits grow with the query and key norms, not their cosine similarity; with and
without qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("figE1", __doc__, archs=grid.ARCHS)
