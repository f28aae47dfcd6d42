"""TokenStreamDataset on a hand-built stream: batches, resume, process shards, errors."""

import itertools

import numpy as np
import numpy.testing as npt
import pytest

from train.data import packing
from train.data.dataset import TokenStreamDataset, TokenStreams
from train.data.errors import DataError

EOS = 1


def _streams() -> TokenStreams:
  rng = np.random.default_rng(0)
  documents = [rng.integers(3, 50, size=rng.integers(1, 12)).tolist() + [EOS] for _ in range(60)]
  tokens = np.array([t for doc in documents for t in doc], np.int32)
  return TokenStreams(train_tokens=tokens[:-60], eval_tokens=tokens[-60:], vocab_size=50, eos_id=EOS,
                      description={"name": "hand_built"})


def _dataset(**overrides) -> TokenStreamDataset:
  kwargs = dict(batch_size=4, seq_len=6, seed=0, num_eval_batches=2, packing="concat",
                process_index=0, process_count=1)
  kwargs.update(overrides)
  return TokenStreamDataset(_streams(), **kwargs)


def test_batches_are_rows_of_the_stream():
  streams = _streams()
  dataset = _dataset()
  rows = {tuple(streams.train_tokens[i * 6:i * 6 + 7]) for i in range(packing.num_rows(len(streams.train_tokens), 6))}
  for batch in itertools.islice(dataset.train_batches(0), 5):
    for inputs, targets in zip(batch["inputs"], batch["targets"]):
      assert tuple(inputs) + (targets[-1],) in rows
      npt.assert_array_equal(inputs[1:], targets[:-1])


def test_resume_across_epoch_boundary():
  dataset = _dataset()
  per_epoch = dataset.describe()["steps_per_epoch"]
  start = per_epoch - 2
  uninterrupted = list(itertools.islice(dataset.train_batches(0), start + 4))[start:]
  resumed = list(itertools.islice(_dataset().train_batches(start), 4))
  for expected, got in zip(uninterrupted, resumed, strict=True):
    for key in expected:
      npt.assert_array_equal(got[key], expected[key])


def test_process_shards_split_the_global_batch():
  whole = next(_dataset(packing="segment").train_batches(7))
  halves = [next(_dataset(packing="segment", process_index=i, process_count=2).train_batches(7))
            for i in range(2)]
  for key in whole:
    assert halves[0][key].shape[0] == 2
    npt.assert_array_equal(np.concatenate([h[key] for h in halves]), whole[key])


def test_eval_batches_are_fixed_leading_rows():
  streams = _streams()
  batches = _dataset().eval_batches()
  assert len(batches) == 2
  npt.assert_array_equal(batches[1]["inputs"][0], streams.eval_tokens[4 * 6:4 * 6 + 6])
  npt.assert_array_equal(_dataset().eval_batches()[1]["targets"], batches[1]["targets"])


def test_segment_mode_keys_and_weights():
  batch = next(_dataset(packing="segment").train_batches(0))
  assert set(batch) == {"inputs", "targets", "weights", "segment_ids", "positions"}
  crosses = batch["inputs"] == EOS  # the input is a document's EOS, so the target starts the next one
  npt.assert_array_equal(batch["weights"] == 0, crosses)


def test_too_many_eval_batches_is_a_clear_error():
  with pytest.raises(DataError, match="num_eval_batches=5 needs 20 rows"):
    _dataset(num_eval_batches=5)


def test_negative_start_step_is_a_clear_error():
  with pytest.raises(DataError, match="start_step=-1"):
    next(_dataset().train_batches(-1))
