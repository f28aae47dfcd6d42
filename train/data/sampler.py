"""Which rows make up the batch of step n: a pure function of (seed, step).

Each epoch visits the rows in a fresh seeded permutation and drops the last incomplete batch, so
the batch for any step is computable directly; resuming at step n needs no replay.
"""

import numpy as np

from train.data.errors import DataError


class EpochSampler:
  """Global row indices per step; one permutation per epoch, seeded by (seed, epoch)."""

  def __init__(self, num_rows: int, batch_size: int, seed: int, split: str = "train"):
    if num_rows < batch_size:
      raise DataError(f"{split} split has {num_rows} rows of seq_len+1 tokens, fewer than "
                      f"batch_size={batch_size}; expected a larger corpus or a smaller batch/seq_len")
    self.num_rows = num_rows
    self.batch_size = batch_size
    self.seed = seed
    self.steps_per_epoch = num_rows // batch_size
    self._epoch_permutation: tuple[int, np.ndarray] | None = None

  def _permutation(self, epoch: int) -> np.ndarray:
    if self._epoch_permutation is None or self._epoch_permutation[0] != epoch:
      self._epoch_permutation = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.num_rows))
    return self._epoch_permutation[1]

  def global_rows(self, step: int) -> np.ndarray:
    """int64 [global batch]: the row indices of step `step`'s batch."""
    epoch, index = divmod(step, self.steps_per_epoch)
    return self._permutation(epoch)[index * self.batch_size:(index + 1) * self.batch_size]


def process_rows(global_rows: np.ndarray, process_index: int, process_count: int) -> np.ndarray:
  """This process's contiguous block of the global batch (the order make_array_from_process_local_data expects)."""
  per_process = len(global_rows) // process_count
  return global_rows[process_index * per_process:(process_index + 1) * per_process]
