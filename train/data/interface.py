"""What the trainer may rely on, whichever source backs the dataset."""

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

Batch = dict[str, np.ndarray]


class Dataset(Protocol):
  """Batches hold this process's rows of the global batch: `inputs`, `targets` int32 [b, L], `weights`
  float32 [b, L], and with segment packing also `segment_ids`, `positions` int32 [b, L].

  The batch of step n is fixed by (seed, n) and the source, and `train_batches(n)` starts at step
  n without reading what came before (streaming sources keep an index of their read positions).
  """

  vocab_size: int

  def train_batches(self, start_step: int = 0) -> Iterator[Batch]:
    ...

  def eval_batches(self) -> list[Batch]:
    ...

  def describe(self) -> dict[str, Any]:
    ...
