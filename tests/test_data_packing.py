"""Rows, concat and segment features on hand-built token streams (EOS id 1)."""

import numpy as np
import numpy.testing as npt

from train.data import packing

EOS = 1


def test_num_rows_keeps_every_target():
  # 9 tokens, L=4: rows [0:5] and [4:9] cover targets 1..8, i.e. every token but the first.
  assert packing.num_rows(9, 4) == 2
  assert packing.num_rows(8, 4) == 1
  assert packing.num_rows(0, 4) == 0


def test_take_rows_overlap_by_one_token():
  tokens = np.arange(10, 30, dtype=np.int32)
  rows = packing.take_rows(tokens, np.array([2, 0]), seq_len=4)
  npt.assert_array_equal(rows, [[18, 19, 20, 21, 22], [10, 11, 12, 13, 14]])
  assert rows.dtype == np.int32


def test_concat_features_shift_and_full_weights():
  rows = np.array([[5, 6, EOS, 7, 8]], np.int32)
  features = packing.concat_features(rows)
  assert set(features) == {"inputs", "targets", "weights"}
  npt.assert_array_equal(features["inputs"], [[5, 6, EOS, 7]])
  npt.assert_array_equal(features["targets"], [[6, EOS, 7, 8]])
  npt.assert_array_equal(features["weights"], np.ones([1, 4], np.float32))
  assert features["weights"].dtype == np.float32


def test_segment_features_hand_built_example():
  rows = np.array([[5, 6, EOS, 7, 8, EOS, 9, 4, 3],
                   [EOS, 5, 6, EOS, 7, 8, 9, 4, 3]], np.int32)
  features = packing.segment_features(rows, EOS)
  npt.assert_array_equal(features["inputs"], rows[:, :-1])
  npt.assert_array_equal(features["targets"], rows[:, 1:])
  npt.assert_array_equal(features["segment_ids"], [[1, 1, 1, 2, 2, 2, 3, 3],
                                                   [1, 2, 2, 2, 3, 3, 3, 3]])
  npt.assert_array_equal(features["positions"], [[0, 1, 2, 0, 1, 2, 0, 1],
                                                 [0, 0, 1, 2, 0, 1, 2, 3]])
  # Predicting a document's EOS counts; predicting the next document's first token from EOS does not.
  npt.assert_array_equal(features["weights"], [[1, 1, 0, 1, 1, 0, 1, 1],
                                               [0, 1, 1, 0, 1, 1, 1, 1]])
  for key in ("inputs", "targets", "segment_ids", "positions"):
    assert features[key].dtype == np.int32, key
