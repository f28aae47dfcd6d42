"""Datasets streamed from sharded corpora too large to tokenize up front (C4).

What this module does that seqio (0.0.20, train/data/tasks.py tokenizes through it) does not, and
so why it is not Task.get_dataset(shuffle=True, seed=..., shard_info=..., num_epochs=None) followed by
DecoderFeatureConverter(pack=True): (1) an exact, small resume position. seqio's on-the-fly pipeline is
tf.data (source shards -> preprocessors -> repeat -> shuffle buffer); where it stands is the
iterator's state, shuffle buffer included, and get_dataset takes no start position, so resuming at
step n means replaying n steps or checkpointing that iterator (tf.train.Checkpoint, buffer and all). Here a
Position (epoch, shard, record, row) is four integers and the batch of step n depends only on (data,
seed, shapes, n). (2) the paper's packing: DecoderFeatureConverter trims each document to the
sequence length, dropping its tail, and pads rows with segment ids; "concat" joins documents by EOS
and cuts full rows, dropping nothing ("segment" adds segment ids to the same rows, packing.py).
Reading a shard from any record (train/data/shards.py) serves (1); tokenizing is seqio's.

Each process reads whole shards: in epoch e the shard order is a permutation seeded by (seed, e)
and process p of P takes every P-th shard of it, so processes read disjoint shards that together
cover the split. A shard is read in windows of `window_docs` records; a window's documents are
tokenized by the seqio Task, joined (each ends in EOS), cut into rows of L+1 tokens overlapping by
one (the partial last row is dropped: under L tokens per window) and the rows are shuffled with a
seed of (seed, epoch, shard, window start). Where the next row comes from (a Position) is the
iterator's whole state: the trainer saves it with each checkpoint (train/checkpoint.py), so a
resumed run starts there without reading what came before, on any machine.

Shape letters: B this process's rows, L seq_len, R rows of a window, N tokens.
"""

import dataclasses
import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from train.data import packing as packing_lib
from train.data.errors import DataError, ShardError
from train.data.interface import Batch
from train.data.shards import ShardSet


@dataclasses.dataclass(frozen=True)
class StreamingSource:
  """A sharded corpus, its tokenizer (texts -> EOS-terminated token arrays) and its description."""
  train: ShardSet
  validation: ShardSet
  tokenize: Callable[[list[str]], list[np.ndarray]]
  vocab_size: int
  eos_id: int
  window_docs: int
  description: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Position:
  """Where the next row comes from: rows already taken from the window that starts at `record`."""
  epoch: int = 0
  shard_cursor: int = 0  # index into this process's shards of the epoch
  record: int = 0
  row: int = 0


def process_shards(num_shards: int, seed: int, epoch: int, process_index: int,
                   process_count: int) -> list[int]:
  """This process's shards in epoch `epoch`, in reading order."""
  order = np.random.default_rng([seed, epoch]).permutation(num_shards)
  return order[process_index::process_count].tolist()


def pack_rows(token_arrays: list[np.ndarray], seq_len: int) -> np.ndarray:
  """int32 [R, L+1]: the arrays joined and cut into rows overlapping by one token."""
  if not token_arrays:
    return np.zeros([0, seq_len + 1], np.int32)
  tokens_N = np.concatenate(token_arrays).astype(np.int32)
  return packing_lib.take_rows(tokens_N, np.arange(packing_lib.num_rows(len(tokens_N), seq_len)), seq_len)


class RowStream:
  """This process's training rows in order, from any Position on."""

  def __init__(self, source: StreamingSource, *, seq_len: int, seed: int, process_index: int,
               process_count: int, position: Position):
    self._source = source
    self._seq_len = seq_len
    self._seed = seed
    self._process = (process_index, process_count)
    self._reader: tuple[tuple[int, int], int, Iterator] | None = None  # ((epoch, shard), next record, records)
    self._window_start = position
    self._rows_RL1, self._window_records = self._load(position)
    if position.row > len(self._rows_RL1):
      raise DataError(f"{position} points past its window's {len(self._rows_RL1)} rows")
    self._row = position.row

  @property
  def position(self) -> Position:
    return dataclasses.replace(self._window_start, row=self._row)

  def _shards(self, epoch: int) -> list[int]:
    return process_shards(len(self._source.train.names), self._seed, epoch, *self._process)

  def _records(self, epoch: int, shard: int, start: int, count: int) -> list[tuple[int, str | None]]:
    """`count` records of the shard from `start` (fewer at its end), reusing the open reader."""
    if self._reader is None or self._reader[:2] != ((epoch, shard), start):
      self._reader = ((epoch, shard), start, self._source.train.read(shard, start))
    records = []
    for record in self._reader[2]:
      records.append(record)
      if len(records) == count:
        break
    self._reader = ((epoch, shard), start + len(records), self._reader[2])
    return records

  def _load(self, position: Position) -> tuple[np.ndarray, int]:
    """The shuffled rows of the window at `position` and the number of records it spans."""
    shards = self._shards(position.epoch)
    if position.shard_cursor >= len(shards):
      return np.zeros([0, self._seq_len + 1], np.int32), 0
    shard = shards[position.shard_cursor]
    records = self._records(position.epoch, shard, position.record, self._source.window_docs)
    texts = [text for _, text in records if text is not None]
    rows_RL1 = pack_rows(self._source.tokenize(texts), self._seq_len)
    rng = np.random.default_rng([self._seed, position.epoch, shard, position.record])
    return rows_RL1[rng.permutation(len(rows_RL1))], len(records)

  def _next_window(self) -> None:
    """Moves to the next window with rows, across shard and epoch ends."""
    start = self._window_start
    position = dataclasses.replace(start, record=start.record + self._window_records, row=0)
    epochs_without_rows = 0
    while True:
      if position.shard_cursor >= len(self._shards(position.epoch)):
        epochs_without_rows += 1
        if epochs_without_rows > 1:
          raise DataError(f"the train split yields no row of seq_len+1={self._seq_len + 1} tokens for "
                          f"process {self._process[0]} of {self._process[1]}; expected more text")
        position = Position(epoch=position.epoch + 1)
        continue
      rows_RL1, num_records = self._load(position)
      if num_records == 0:  # end of shard
        position = Position(epoch=position.epoch, shard_cursor=position.shard_cursor + 1)
        continue
      self._window_start, self._rows_RL1, self._window_records, self._row = (
          position, rows_RL1, num_records, 0)
      if len(rows_RL1):
        return
      position = dataclasses.replace(position, record=position.record + num_records)

  def take(self, count: int) -> np.ndarray:
    """int32 [count, L+1]: the next rows."""
    taken = []
    while count:
      if self._row == len(self._rows_RL1):
        self._next_window()
      rows = self._rows_RL1[self._row:self._row + count]
      self._row += len(rows)
      count -= len(rows)
      taken.append(rows)
    return np.concatenate(taken)


def _checked_position(position: dict[str, int], step: int) -> Position:
  """The Position saved for `step`; DataError if `position` is not one."""
  fields = {f.name for f in dataclasses.fields(Position)}
  if (not isinstance(position, dict) or set(position) != fields | {"step"} or position["step"] != step
      or not all(isinstance(v, int) and v >= 0 for v in position.values())):
    raise DataError(f"data position {position!r} is not the stream's position at step {step}; expected "
                    f"{{'step': {step}, {', '.join(repr(f) + ': int' for f in sorted(fields))}}}")
  return Position(**{k: v for k, v in position.items() if k in fields})


class StreamBatches:
  """Train batches from a RowStream; position() is where the next one comes from."""

  def __init__(self, stream: RowStream, step: int, rows: int, packing: str, eos_id: int):
    self._stream, self._step, self._rows, self._packing, self._eos_id = stream, step, rows, packing, eos_id

  def __iter__(self) -> "StreamBatches":
    return self

  def __next__(self) -> Batch:
    batch = packing_lib.row_features(self._stream.take(self._rows), self._packing, self._eos_id)
    self._step += 1
    return batch

  def position(self) -> dict[str, int]:
    return {"step": self._step, **dataclasses.asdict(self._stream.position)}


class StreamingDataset:
  """Train batches from a RowStream, resumable from a saved position; eval batches fixed."""

  def __init__(self, source: StreamingSource, *, batch_size: int, seq_len: int, seed: int,
               num_eval_batches: int, packing: str, process_index: int, process_count: int):
    num_shards = len(source.train.names)
    if num_shards < process_count:
      raise DataError(f"the train split has {num_shards} shard(s), fewer than the {process_count} "
                      "processes that read disjoint shards; expected at least one shard per process")
    self.vocab_size = source.vocab_size
    self._source = source
    self._seq_len = seq_len
    self._seed = seed
    self._packing = packing
    self._process = (process_index, process_count)
    self._rows_per_process = batch_size // process_count
    self._batch_size = batch_size
    self._num_eval_batches = num_eval_batches
    self._eval: list[Batch] | None = None

  def train_batches(self, start_step: int = 0, position: dict[str, int] | None = None) -> "StreamBatches":
    """Batches of steps start_step, start_step+1, ... forever, from `position` (what
    StreamBatches.position() said at start_step); None: found by reading the stream from step 0."""
    if start_step < 0:
      raise DataError(f"start_step={start_step} is negative; expected the number of updates done (>= 0)")
    start = Position() if position is None else _checked_position(position, start_step)
    try:
      stream = RowStream(self._source, seq_len=self._seq_len, seed=self._seed,
                         process_index=self._process[0], process_count=self._process[1], position=start)
    except ShardError:
      raise  # the shard is bad, not the position
    except DataError as e:
      raise DataError(f"data position {position} does not match the data at step {start_step} ({e}); "
                      "expected a position saved by a run on these shards") from None
    if position is None and start_step:
      logging.info("no saved data position: reading %d batches of the %s stream to reach step %d",
                   start_step, self._source.description["name"], start_step)
      for _ in range(start_step):
        stream.take(self._rows_per_process)
    return StreamBatches(stream, start_step, self._rows_per_process, self._packing, self._source.eos_id)

  def _eval_tokens(self, num_tokens: int) -> np.ndarray:
    """The first `num_tokens` tokens of this process's records of the validation split (every P-th)."""
    validation = self._source.validation
    index, process_index, process_count = 0, *self._process
    texts: list[str] = []
    token_arrays: list[np.ndarray] = []
    have = 0
    for shard in range(len(validation.names)):
      for _, text in validation.read(shard, 0):
        mine = index % process_count == process_index
        index += 1
        if text is None or not mine:
          continue
        texts.append(text)
        if len(texts) == self._source.window_docs:
          token_arrays += self._source.tokenize(texts)
          have, texts = sum(map(len, token_arrays)), []
          if have >= num_tokens:
            return np.concatenate(token_arrays)[:num_tokens]
    token_arrays += self._source.tokenize(texts)
    tokens_N = np.concatenate(token_arrays) if token_arrays else np.zeros([0], np.int32)
    if len(tokens_N) < num_tokens:
      raise DataError(f"num_eval_batches={self._num_eval_batches} needs {num_tokens} validation tokens "
                      f"per process but process {process_index} has {len(tokens_N)}; expected fewer eval "
                      "batches or more validation data")
    return tokens_N[:num_tokens]

  def eval_batches(self) -> list[Batch]:
    """The leading rows of this process's validation records; read once, then the same every call."""
    if self._eval is None and not self._num_eval_batches:
      self._eval = []
    if self._eval is None:
      rows = self._rows_per_process
      tokens_N = self._eval_tokens(self._num_eval_batches * rows * self._seq_len + 1).astype(np.int32)
      self._eval = [
          packing_lib.row_features(
              packing_lib.take_rows(tokens_N, np.arange(i * rows, (i + 1) * rows), self._seq_len),
              self._packing, self._source.eos_id)
          for i in range(self._num_eval_batches)]
    return self._eval

  def describe(self) -> dict[str, Any]:
    return {**self._source.description, "packing": self._packing, "seq_len": self._seq_len,
            "batch_size": self._batch_size, "seed": self._seed, "window_docs": self._source.window_docs,
            "process_count": self._process[1]}
