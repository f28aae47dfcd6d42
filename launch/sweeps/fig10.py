"""Fig 10: queries and keys forced to sqrt(kappa) z / RMS(z) in a ~10M model (no qk-layernorm) to
find the max attention logit that inhibits learning, against the zero-layer bigram baseline; default LR."""

from launch.hyper import product, sweep, zipit
from launch.sweeps import grid

_KAPPAS = sweep("ModelConfig.kappa", (1.0, 10.0, 100.0, 1e3, 3e3, 1e4, 1e5))
# The bigram baseline at the transplant model's width (gin/ablations/kappa_transplant.gin).
_WIDTH_512 = zipit(sweep("d_model", (512,)), sweep("num_heads", (8,)))

SWEEPS = grid.pair(
    "fig10", __doc__,
    ["gin/no_qkln.gin", "{variant}"],
    product(grid.files("variant", ("kappa_transplant",)), _KAPPAS)
    + product(grid.files("variant", ("bigram",)), _WIDTH_512),
    ["gin/no_qkln.gin", "{variant}", grid.LOCAL],
    # num_layers=0 bound, not left to bigram.gin: gin/local.gin, last, sets num_layers = 2 over it.
    product(grid.files("variant", ("kappa_transplant",)), _KAPPAS)
    + product(grid.files("variant", ("bigram",)), sweep("num_layers", (0,))))
