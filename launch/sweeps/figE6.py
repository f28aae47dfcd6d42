"""Fig E.6: attention logits scaled by 1/d_h instead of 1/sqrt(d_h), with and without qk-layernorm."""

from launch.sweeps import grid

SWEEPS = grid.lr_size_sweeps("figE6", __doc__, slots={"attn_scale": (None, "attn_scale_inv_head_dim")},
                             archs=grid.ARCHS)
