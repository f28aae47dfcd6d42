"""The project's seqio Tasks: a text source mapped to "targets", tokenized, with EOS appended.

Registered when a dataset is built (their vocabularies and files are gin-bound), under the names
below; `seqio.get_mixture_or_task(name)` then works for inspection.

Imported lazily (it pulls in TensorFlow, ~8 s) only when something must be tokenized.
"""

import functools
from collections.abc import Iterator

import numpy as np

from train import quiet

quiet.import_tensorflow()  # before seqio, which imports it loudly
import seqio  # noqa: E402
import tensorflow as tf  # noqa: E402

from train.data.embedded_corpus import Document
from train.data.shards import ShardSet

try:
  with quiet.parked_stderr(keep=lambda line: False):  # looking for GPUs logs cuInit's failure on a CPU host
    tf.config.set_visible_devices([], "GPU")  # TF only reads text here; the accelerator belongs to JAX
except RuntimeError:
  pass  # TF was initialised by someone else first; its device choice stands

EMBEDDED_TASK = "embedded_python_docs"


def register_text_task(name: str, source: seqio.DataSource,
                       vocabulary: seqio.Vocabulary) -> seqio.Task:
  """Registers (or replaces, so one process can build datasets with several vocabularies) a Task."""
  if name in seqio.TaskRegistry.names():
    seqio.TaskRegistry.remove(name)
  return seqio.TaskRegistry.add(
      name,
      source=source,
      preprocessors=[
          functools.partial(seqio.preprocessors.rekey, key_map={"targets": "text"}),
          seqio.preprocessors.tokenize,
          seqio.preprocessors.append_eos,
      ],
      output_features={"targets": seqio.Feature(vocabulary, add_eos=True, dtype=tf.int32)})


def register_embedded_task(documents_by_split: dict[str, list[Document]],
                           vocabulary_path: str) -> seqio.Task:
  """The embedded corpus as a Task whose splits are the given document lists."""

  def dataset_fn(split: str, shuffle_files: bool) -> tf.data.Dataset:
    del shuffle_files  # order is part of the corpus definition; batches are shuffled downstream
    texts = [document.text for document in documents_by_split[split]]
    return tf.data.Dataset.from_tensor_slices({"text": tf.constant(texts, dtype=tf.string)})

  source = seqio.FunctionDataSource(
      dataset_fn, splits=list(documents_by_split),
      num_input_examples={split: len(docs) for split, docs in documents_by_split.items()})
  return register_text_task(EMBEDDED_TASK, source, seqio.SentencePieceVocabulary(vocabulary_path))


def token_stream(task: seqio.Task, split: str) -> np.ndarray:
  """All of a split's tokenized examples (each ending in EOS) concatenated in order, int32 [N]."""
  dataset = task.get_dataset(sequence_length=None, split=split, shuffle=False, num_epochs=1,
                             try_in_mem_cache=False)
  with quiet.without_sentencepiece_info():
    pieces = [tokens for tokens in dataset.map(lambda ex: ex["targets"]).as_numpy_iterator()]
  return np.concatenate(pieces).astype(np.int32) if pieces else np.zeros([0], np.int32)


C4_TFDS_TASK = "c4_en"
C4_LOCAL_TASK = "c4_en_local"


def register_c4_tfds_task(version: str, data_dir: str, vocabulary_path: str, extra_ids: int) -> seqio.Task:
  """C4 (en) from a prepared TFDS directory: text -> targets, tokenize, append EOS."""
  source = seqio.TfdsDataSource(tfds_name=f"c4/en:{version}", tfds_data_dir=data_dir,
                                splits=("train", "validation"))
  return register_text_task(C4_TFDS_TASK, source,
                            seqio.SentencePieceVocabulary(vocabulary_path, extra_ids=extra_ids))


def register_c4_local_task(shards_by_split: dict[str, ShardSet], vocabulary_path: str,
                           extra_ids: int) -> seqio.Task:
  """C4 (en) from local allenai/c4 JSON-lines shards, read by the same reader the pipeline uses."""

  def dataset_fn(split: str, shuffle_files: bool) -> tf.data.Dataset:
    del shuffle_files  # file order; the streaming dataset does its own seeded shuffling
    shards = shards_by_split[split]

    def texts() -> Iterator[str]:
      for shard in range(len(shards.names)):
        yield from (text for _, text in shards.read(shard, 0) if text is not None)

    return tf.data.Dataset.from_generator(
        lambda: ({"text": text} for text in texts()),
        output_signature={"text": tf.TensorSpec([], tf.string)})

  source = seqio.FunctionDataSource(dataset_fn, splits=list(shards_by_split))
  return register_text_task(C4_LOCAL_TASK, source,
                            seqio.SentencePieceVocabulary(vocabulary_path, extra_ids=extra_ids))


class TaskTokenizer:
  """Texts -> token arrays ending in EOS, through a Task's own preprocessors.

  The tf.data pipeline is traced once over a generator of the current texts; each call only opens
  a new iterator (~0.2 s, mostly loading the SentencePiece op), so callers pass many texts at once.
  """

  def __init__(self, task: seqio.Task):
    self._texts: list[str] = []
    dataset = tf.data.Dataset.from_generator(
        lambda: ({"text": text} for text in self._texts),
        output_signature={"text": tf.TensorSpec([], tf.string)})
    dataset = task.preprocess_postcache(task.preprocess_precache(dataset), sequence_length=None)
    self._tokens = dataset.map(lambda ex: ex["targets"])

  def __call__(self, texts: list[str]) -> list[np.ndarray]:
    if not texts:
      return []
    self._texts = texts
    return list(self._tokens.as_numpy_iterator())
