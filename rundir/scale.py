"""The reproduction suite's scale: what launch writes into sweep.json's report entry and analysis reads
back, one definition for both sides."""

import dataclasses

# The paper's LR grid, over which LR sensitivity is measured (Section 2.2).
LRS = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
LOW_LR = 1e-4  # Fig 6 starts one LR lower, for coupled decay's second range [1e-4, 1e-1] (Section 3.2.2)


def coupled(lrs: tuple[float, ...], low_lr: float = LOW_LR) -> tuple[float, ...]:
  """Coupled decay's second LR range: the grid moved one LR down."""
  return (low_lr,) + lrs[:-1]


COUPLED_LRS = coupled(LRS)


@dataclasses.dataclass(frozen=True)
class Scale:
  """The sizes and LRs of one version of the suite; warm-ups are (short, default, long)."""
  name: str
  preset: str
  widths: tuple[int, ...]
  ablation_widths: tuple[int, ...]
  lrs: tuple[float, ...]
  low_lr: float  # the bottom of coupled decay's second range (LOW_LR at every scale so far)
  warmups: tuple[int, int, int]

  @property
  def coupled_lrs(self) -> tuple[float, ...]:
    return coupled(self.lrs, self.low_lr)

  def to_json(self) -> dict:
    """sweep.json's report.scale, as launch writes it."""
    return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)}

  @classmethod
  def from_json(cls, raw: dict) -> "Scale":
    """The scale from sweep.json's report.scale, as analysis reads it."""
    return cls(**{f.name: tuple(raw[f.name]) if isinstance(raw[f.name], list) else raw[f.name]
                  for f in dataclasses.fields(cls)})
