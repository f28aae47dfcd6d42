"""A Dataset over in-memory token streams (one per split): the trainer's view of the data.

Shape letters: B this process's rows, L seq_len.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from train.data import packing as packing_lib
from train.data.errors import DataError
from train.data.interface import Batch
from train.data.sampler import EpochSampler, process_rows


@dataclasses.dataclass(frozen=True)
class TokenStreams:
  """A source's tokenized splits: documents concatenated in order, each closed by EOS."""
  train_tokens: np.ndarray
  eval_tokens: np.ndarray
  vocab_size: int
  eos_id: int
  description: dict[str, Any]


class StepBatches:
  """The batches of steps n, n+1, ... of a dataset whose batch is a function of the step."""

  def __init__(self, batch_of_step: Callable[[int], Batch], step: int):
    self._batch_of_step, self._step = batch_of_step, step

  def __iter__(self) -> "StepBatches":
    return self

  def __next__(self) -> Batch:
    batch = self._batch_of_step(self._step)
    self._step += 1
    return batch

  def position(self) -> dict[str, int]:
    return {"step": self._step}


class TokenStreamDataset:
  """Train batches by seeded per-epoch permutation of rows; eval batches are the first eval rows."""

  def __init__(self, streams: TokenStreams, *, batch_size: int, seq_len: int, seed: int,
               num_eval_batches: int, packing: str, process_index: int, process_count: int):
    self.vocab_size = streams.vocab_size
    self._streams = streams
    self._seq_len = seq_len
    self._packing = packing
    self._process = (process_index, process_count)
    self._batch_size = batch_size
    self._seed = seed
    self._num_eval_batches = num_eval_batches
    self._sampler = EpochSampler(packing_lib.num_rows(len(streams.train_tokens), seq_len),
                                 batch_size, seed)
    eval_rows = packing_lib.num_rows(len(streams.eval_tokens), seq_len)
    if eval_rows < num_eval_batches * batch_size:
      raise DataError(f"num_eval_batches={num_eval_batches} needs {num_eval_batches * batch_size} rows "
                      f"but the validation split has {eval_rows} rows of seq_len+1={seq_len + 1} "
                      "tokens; expected fewer eval batches or a larger held-out split")

  def _batch(self, tokens_N: np.ndarray, global_rows: np.ndarray) -> Batch:
    rows_B = process_rows(global_rows, *self._process)
    rows_BL1 = packing_lib.take_rows(tokens_N, rows_B, self._seq_len)
    return packing_lib.row_features(rows_BL1, self._packing, self._streams.eos_id)

  def train_batches(self, start_step: int = 0, position: dict[str, int] | None = None) -> "StepBatches":
    """Batches of steps start_step, start_step+1, ... forever; O(1) to start at any step, so the
    position is the step itself (`position`, if given, must say so)."""
    if start_step < 0:
      raise DataError(f"start_step={start_step} is negative; expected the number of updates done (>= 0)")
    if position is not None and position != {"step": start_step}:
      raise DataError(f"data position {position!r} is not this dataset's position at step {start_step}; "
                      f"expected {{'step': {start_step}}}")
    return StepBatches(lambda step: self._batch(self._streams.train_tokens, self._sampler.global_rows(step)),
                       start_step)

  def eval_batches(self) -> list[Batch]:
    """The same num_eval_batches held-out batches every call: the first rows of the eval stream."""
    size = self._batch_size
    return [self._batch(self._streams.eval_tokens, np.arange(i * size, (i + 1) * size))
            for i in range(self._num_eval_batches)]

  def describe(self) -> dict[str, Any]:
    return {**self._streams.description, "packing": self._packing, "seq_len": self._seq_len,
            "batch_size": self._batch_size, "seed": self._seed,
            "steps_per_epoch": self._sampler.steps_per_epoch,
            "process_count": self._process[1]}
