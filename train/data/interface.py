"""What the trainer may rely on, whichever source backs the dataset."""

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

Batch = dict[str, np.ndarray]


class TrainBatches(Protocol):
  """The train batches of steps n, n+1, ...; position() is where the next one comes from, as JSON
  integers: what the trainer saves with each checkpoint to resume there (train/checkpoint.py)."""

  def __iter__(self) -> Iterator[Batch]:
    ...

  def __next__(self) -> Batch:
    ...

  def position(self) -> dict[str, int]:
    ...


class Dataset(Protocol):
  """Batches hold this process's rows of the global batch: `inputs`, `targets` int32 [b, L], `weights`
  float32 [b, L], and with segment packing also `segment_ids`, `positions` int32 [b, L].

  The batch of step n is fixed by (seed, n) and the source. `train_batches(n, position)` starts at
  step n from the position its batches reported there, without reading what came before; without a
  position a streaming source reads its stream from step 0 to find it.
  """

  vocab_size: int

  def train_batches(self, start_step: int = 0, position: dict[str, int] | None = None) -> TrainBatches:
    ...

  def eval_batches(self) -> list[Batch]:
    ...

  def describe(self) -> dict[str, Any]:
    ...
