"""Step -> rows: seeded per-epoch permutations, resumable, split over processes."""

import numpy as np
import numpy.testing as npt
import pytest

from train.data.errors import DataError
from train.data.sampler import EpochSampler, process_rows


def test_epoch_visits_each_row_at_most_once():
  sampler = EpochSampler(num_rows=10, batch_size=3, seed=0)
  assert sampler.steps_per_epoch == 3
  epoch0 = np.concatenate([sampler.global_rows(step) for step in range(3)])
  assert len(set(epoch0.tolist())) == 9
  assert set(epoch0.tolist()) <= set(range(10))


def test_epochs_and_seeds_differ():
  sampler = EpochSampler(num_rows=1000, batch_size=10, seed=0)
  assert not np.array_equal(sampler.global_rows(0), sampler.global_rows(100))  # epoch 1, index 0
  other = EpochSampler(num_rows=1000, batch_size=10, seed=1)
  assert not np.array_equal(sampler.global_rows(0), other.global_rows(0))


def test_pure_function_of_seed_and_step():
  a = EpochSampler(num_rows=50, batch_size=4, seed=3)
  b = EpochSampler(num_rows=50, batch_size=4, seed=3)
  later = [b.global_rows(step) for step in (30, 12, 29)]  # any order, across epochs
  npt.assert_array_equal(later[1], a.global_rows(12))
  npt.assert_array_equal(later[2], a.global_rows(29))
  npt.assert_array_equal(later[0], a.global_rows(30))


def test_process_rows_disjoint_and_covering():
  rows = np.arange(8) * 7
  parts = [process_rows(rows, index, 4) for index in range(4)]
  npt.assert_array_equal(np.concatenate(parts), rows)


def test_too_few_rows_is_a_clear_error():
  with pytest.raises(DataError, match="fewer than batch_size=8"):
    EpochSampler(num_rows=5, batch_size=8, seed=0)
