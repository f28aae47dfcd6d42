"""Corpora as numbered shards of numbered records, each shard readable from any record on.

A record is one line of a JSON-lines file or one TFDS example; (shard, record) is the position
the streaming dataset checkpoints.
"""

import os
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from train.data import jsonl_shards

Record = tuple[int, str | None]  # (record index within the shard, text or None if unusable)


class ShardSet(Protocol):
  names: Sequence[str]

  def read(self, shard: int, start: int) -> Iterator[Record]:
    """The shard's records from index `start` on, in file order."""


class JsonlShardSet:
  """Local allenai/c4 .json.gz files, one shard per file."""

  def __init__(self, files: Sequence[str]):
    self.names = [os.path.basename(f) for f in files]
    self._files = list(files)

  def read(self, shard: int, start: int) -> Iterator[Record]:
    return jsonl_shards.read_records(self._files[shard], start)


class TfdsShardSet:
  """A prepared TFDS split; shard k holds the records of its k-th file (TFDS slicing seeks there)."""

  def __init__(self, builder, split: str):
    self._builder = builder
    self._split = split
    lengths = builder.info.splits[split].shard_lengths
    self._offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(int).tolist()
    self.names = [f"{split}[{a}:{b}]" for a, b in zip(self._offsets[:-1], self._offsets[1:])]

  def read(self, shard: int, start: int) -> Iterator[Record]:
    first, end = self._offsets[shard] + start, self._offsets[shard + 1]
    if first >= end:
      return
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel  # loaded with the builder

    # No autocache: a small split would be cached in memory, and each window reads only part of it.
    dataset = self._builder.as_dataset(split=f"{self._split}[{first}:{end}]", shuffle_files=False,
                                       read_config=tfds.ReadConfig(try_autocache=False))
    for index, text in enumerate(dataset.map(lambda ex: ex["text"]).as_numpy_iterator(), start):
      yield index, text.decode("utf-8", errors="replace")
