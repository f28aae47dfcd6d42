"""The reproduction suite's scale: what launch writes into sweep.json's report entry and analysis reads
back, one definition for both sides."""

import dataclasses

# The paper's LR grid, over which LR sensitivity is measured (Section 2.2).
LRS = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
COUPLED_LRS = (1e-4,) + LRS[:-1]  # Fig 6 starts one LR lower, for the coupled-decay range [1e-4, 1e-1]


@dataclasses.dataclass(frozen=True)
class Scale:
  """The sizes and LRs of one version of the suite; warm-ups are (short, default, long)."""
  name: str
  preset: str
  widths: tuple[int, ...]
  ablation_widths: tuple[int, ...]
  lrs: tuple[float, ...]
  low_lr: float  # Fig 6 starts one LR lower, for the coupled-decay range [1e-4, 1e-1]
  warmups: tuple[int, int, int]

  @property
  def coupled_lrs(self) -> tuple[float, ...]:
    return (self.low_lr,) + self.lrs[:-1]
