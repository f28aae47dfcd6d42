"""Output-logit divergence, positive control (Section 3.1.2, Figs 3-4; issue 23): does the instability
appear at all at CPU scale, and in which setting? qk-layernorm, d=64, 2 layers, no weight decay, 2000
steps (gin/logit_divergence.gin), at the LRs where the paper sees it (0.1 and up; 1.0 is safe with
qk-layernorm per Fig E.5), with and without z-loss 1e-4, in float32 and bfloat16 compute, on the
2048- and 8192-piece vocabularies of the embedded corpus. One seed: a screen whose rule
(docs/reproduction_rules.md, Output-logit divergence) picks the setting the mitigation suite then tests
on 3 seeds. Its seeds suite replicates the 2048-piece screen at seeds 1-2 (the 3-seed rule).
"""

from launch.hyper import product, sweep
from launch.spec import Sweep
from launch.sweeps import grid

SCREEN = Sweep(
    "logit_divergence_cpu", ["gin/qkln.gin", "gin/logit_divergence.gin"],
    product(sweep("embedded_source.vocab_size", (2048, 8192)),
            sweep("ModelConfig.compute_dtype", ("float32", "bfloat16")),
            sweep("TrainConfig.z_loss_coef", (1e-4, 0.0)),
            sweep("lr", (0.1, 0.3, 1.0))),
    description=__doc__.strip())
SWEEPS = [SCREEN, grid.seeded(SCREEN, "logit_divergence_seeds_cpu",
                             keep=lambda point: point["embedded_source.vocab_size"] == 2048)]
