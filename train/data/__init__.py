"""The data pipeline: `make_dataset` builds the Dataset the trainer reads batches from.

Sources: "embedded" (offline corpus of the running Python's stdlib and docs, own vocabulary,
tokenized once and cached), "c4" (TFDS c4/en) and "c4_local" (allenai/c4 JSON-lines shards),
both streamed with the T5 vocabulary.
"""

from collections.abc import Callable

import gin

from train.data import packing as packing_lib
from train.data.c4 import c4_local_source, c4_source
from train.data.dataset import TokenStreamDataset, TokenStreams
from train.data.embedded import embedded_source
from train.data.errors import DataError, require_int
from train.data.interface import Batch, Dataset
from train.data.streaming import StreamingDataset, StreamingSource

SOURCES: dict[str, Callable[[], TokenStreams | StreamingSource]] = {
    "embedded": embedded_source, "c4": c4_source, "c4_local": c4_local_source}


def _jax_process() -> tuple[int, int]:
  import jax  # pylint: disable=import-outside-toplevel  # only when the caller did not say

  return jax.process_index(), jax.process_count()


def bound_source() -> list[Callable[[], TokenStreams | StreamingSource]]:
  """The source configurable make_dataset calls under the current gin bindings (none if unknown)."""
  try:
    name = gin.query_parameter("make_dataset.source")
  except ValueError:  # unbound: the default
    name = "embedded"
  return [SOURCES[name]] if name in SOURCES else []


@gin.configurable
def make_dataset(batch_size: int, seq_len: int, seed: int, num_eval_batches: int, *,
                 source: str = "embedded", packing: str = "concat",
                 process_index: int | None = None, process_count: int | None = None) -> Dataset:
  """The dataset for one training run; batches hold this process's rows of each global batch.

  Args:
    batch_size: global batch size (rows per step over all processes).
    seq_len: tokens per row.
    seed: data order seed; the batch of step n depends only on (seed, n).
    num_eval_batches: fixed held-out batches returned by eval_batches().
    source: one of SOURCES; its own knobs are bound on its configurable (embedded_source,
      c4_source, c4_local_source).
    packing: "concat" (documents joined by EOS, the paper's) or "segment" (adds segment_ids and
      positions, zero weight where the target is in the next document).
    process_index, process_count: this process's place among the readers; None: from JAX.
  """
  if source not in SOURCES:
    raise DataError(f"source={source!r} is unknown; expected one of {sorted(SOURCES)}")
  if packing not in packing_lib.PACKINGS:
    raise DataError(f"packing={packing!r} is unknown; expected one of {list(packing_lib.PACKINGS)}")
  require_int("batch_size", batch_size, 1)
  require_int("seq_len", seq_len, 1)
  require_int("seed", seed, 0)
  require_int("num_eval_batches", num_eval_batches, 0)
  if process_index is None or process_count is None:
    process_index, process_count = _jax_process()
  require_int("process_count", process_count, 1)
  if not 0 <= process_index < process_count:
    raise DataError(f"process_index={process_index} is invalid; expected 0 <= index < {process_count}")
  if batch_size % process_count:
    raise DataError(f"batch_size={batch_size} does not split over {process_count} processes; "
                    "expected a multiple of jax.process_count()")
  built = SOURCES[source]()
  dataset_class = TokenStreamDataset if isinstance(built, TokenStreams) else StreamingDataset
  return dataset_class(built, batch_size=batch_size, seq_len=seq_len, seed=seed,
                       num_eval_batches=num_eval_batches, packing=packing,
                       process_index=process_index, process_count=process_count)


__all__ = ["Batch", "DataError", "Dataset", "make_dataset", "embedded_source", "c4_source",
           "c4_local_source"]
