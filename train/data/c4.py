"""The C4 sources (Raffel et al.; the paper's training data) with the T5 SentencePiece vocabulary.

"c4": the prepared TFDS dataset c4/en (local or gs:// data dir). "c4_local": the allenai/c4
JSON-lines shards. Both stream (train/data/streaming.py); nothing is tokenized up front.

Model vocabulary size = the file's pieces plus T5's 100 sentinel ids unless the file already
holds them, never padded: /work/shared/vocab's copy of cc_all.32000.100extra has 32101 pieces
(pad, eos, bos, unk, 31997 pieces, 100 `<extra_id_*>`), the size the paper reports.
"""

import hashlib
import os

import gin

from train.data import jsonl_shards, remote, shards
from train.data.errors import DataError, require_int
from train.data.streaming import StreamingSource
from train.data.vocabulary import load_sentencepiece_proto

T5_VOCABULARY = "gs://t5-data/vocabs/cc_all.32000.100extra/sentencepiece.model"
T5_EXTRA_IDS = 100
DEFAULT_WINDOW_DOCS = 1024  # ~0.5M tokens per window: rows are shuffled within it
_OFFLINE_REMEDY = ("or local allenai/c4 shards with gin/data/c4_local.gin, or the offline embedded "
                   "corpus with gin/local.gin")


def _read_bytes(path: str, what: str) -> bytes:
  from train.data.tasks import tf  # pylint: disable=import-outside-toplevel  # gfile reads gs:// too

  try:
    with tf.io.gfile.GFile(path, "rb") as f:
      return f.read()
  except (tf.errors.OpError, OSError) as e:
    raise DataError(f"{what} {path!r} cannot be read ({type(e).__name__}); expected an existing "
                    "file") from None


def _vocabulary(path: str) -> tuple[str, int, dict]:
  """The checked vocabulary path, the sentinel ids seqio must add, and its description."""
  if remote.is_remote(path):
    remote.require_reachable(path, "vocab_path", "expected a local copy: bind vocab_path to a local "
                             "sentencepiece.model file")
  else:
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
      raise DataError(f"vocab_path {path!r} does not exist; expected a SentencePiece model file "
                      "(e.g. T5's cc_all.32000.100extra/sentencepiece.model)")
  proto = _read_bytes(path, "vocab_path")
  processor = load_sentencepiece_proto(proto, path)
  if processor.eos_id() < 0:
    raise DataError(f"vocab_path {path!r} has no EOS piece; expected a T5-style vocabulary (eos id 1)")
  has_sentinels = any("<extra_id_0>" in processor.id_to_piece(i)
                      for i in range(processor.get_piece_size() - T5_EXTRA_IDS, processor.get_piece_size()))
  extra_ids = 0 if has_sentinels else T5_EXTRA_IDS
  return path, extra_ids, {"path": path, "sha256": hashlib.sha256(proto).hexdigest(),
                           "pieces": processor.get_piece_size(), "extra_ids_added": extra_ids,
                           "size": processor.get_piece_size() + extra_ids}


def _streaming_source(task, train: shards.ShardSet, validation: shards.ShardSet, window_docs: int,
                      description: dict) -> StreamingSource:
  from train.data import tasks  # pylint: disable=import-outside-toplevel  # TensorFlow

  require_int("window_docs", window_docs, 1)
  vocabulary = task.output_features["targets"].vocabulary
  description["task"] = task.name
  return StreamingSource(train=train, validation=validation, tokenize=tasks.TaskTokenizer(task),
                         vocab_size=vocabulary.vocab_size, eos_id=vocabulary.eos_id,
                         window_docs=window_docs, description=description)


@gin.configurable
def c4_local_source(train_files: str | list[str] | None = None,
                    validation_files: str | list[str] | None = None,
                    vocab_path: str = T5_VOCABULARY,
                    window_docs: int = DEFAULT_WINDOW_DOCS) -> StreamingSource:
  """allenai/c4 shards (c4-train.*-of-01024.json.gz, c4-validation.*-of-00008.json.gz), streamed.

  Args:
    train_files, validation_files: glob pattern(s) of local .json.gz shards.
    vocab_path: SentencePiece model (local path or gs://).
    window_docs: records tokenized and shuffled together.
  """
  files = {}
  for split, patterns in (("train", train_files), ("validation", validation_files)):
    if patterns is None:
      raise DataError(f"c4_local_source.{split}_files is unset; expected a glob of allenai/c4 shards "
                      f"(bind c4_{split}_files with gin/data/c4_local.gin)")
    files[split] = jsonl_shards.expand_patterns(patterns, f"c4_{split}_files")
  vocab_path, extra_ids, vocab_description = _vocabulary(vocab_path)
  listing = hashlib.sha256()
  for split in ("train", "validation"):
    for f in files[split]:
      listing.update(f"{split}/{os.path.basename(f)}:{os.path.getsize(f)}\n".encode())
  by_split = {split: shards.JsonlShardSet(f) for split, f in files.items()}
  from train.data import tasks  # pylint: disable=import-outside-toplevel  # TensorFlow

  task = tasks.register_c4_local_task(by_split, vocab_path, extra_ids)
  description = {
      "name": "c4_en_local", "source": "c4_local",
      "fingerprint": listing.hexdigest(),
      "fingerprint_of": "shard file names and sizes (hashing C4's content would take hours)",
      "vocabulary": vocab_description,
      "splits": {split: {"shards": len(f), "bytes": sum(os.path.getsize(x) for x in f),
                         "first_shard": f[0]} for split, f in files.items()},
  }
  return _streaming_source(task, by_split["train"], by_split["validation"], window_docs, description)


@gin.configurable
def c4_source(version: str = "3.1.0", tfds_data_dir: str | None = None,
              vocab_path: str = T5_VOCABULARY,
              window_docs: int = DEFAULT_WINDOW_DOCS) -> StreamingSource:
  """TFDS c4/en:<version>, prepared under tfds_data_dir (None: $TFDS_DATA_DIR or ~/tensorflow_datasets).

  The other arguments are c4_local_source's.
  """
  data_dir = tfds_data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
  data_dir = data_dir if remote.is_remote(data_dir) else os.path.expanduser(data_dir)
  builder_dir = f"{data_dir.rstrip('/')}/c4/en/{version}"
  remedy = f"expected a c4_source.tfds_data_dir holding c4/en/{version}, {_OFFLINE_REMEDY}"
  # Checked before importing TensorFlow, so an offline machine is told in well under a second.
  if not remote.is_remote(data_dir) and not os.path.isfile(f"{builder_dir}/dataset_info.json"):
    raise DataError(f"TFDS c4/en:{version} is not prepared under tfds_data_dir {data_dir!r} "
                    f"(no {builder_dir}/dataset_info.json); {remedy}")
  remote.require_reachable(data_dir, "tfds_data_dir", remedy)
  vocab_path, extra_ids, vocab_description = _vocabulary(vocab_path)
  from train.data import tasks  # pylint: disable=import-outside-toplevel  # TensorFlow
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

  try:
    builder = tfds.builder_from_directory(builder_dir)
  except Exception as e:  # pylint: disable=broad-except  # tfds raises many types for a bad directory
    raise DataError(f"TFDS c4/en:{version} under {data_dir!r} cannot be opened ({type(e).__name__}); "
                    f"{remedy}") from None
  missing = {"train", "validation"} - set(builder.info.splits.keys())
  if missing:
    raise DataError(f"TFDS dataset at {builder_dir!r} lacks split(s) {sorted(missing)}; expected C4's "
                    "train and validation")
  task = tasks.register_c4_tfds_task(version, data_dir, vocab_path, extra_ids)
  description = {
      "name": f"c4/en:{version}", "source": "c4",
      "fingerprint": hashlib.sha256(_read_bytes(f"{builder_dir}/dataset_info.json", "TFDS info")).hexdigest(),
      "fingerprint_of": "the TFDS dataset_info.json (shard lengths and checksums)",
      "tfds_data_dir": data_dir,
      "vocabulary": vocab_description,
      "splits": {split: {"documents": builder.info.splits[split].num_examples,
                         "shards": len(builder.info.splits[split].shard_lengths)}
                 for split in ("train", "validation")},
  }
  return _streaming_source(task, shards.TfdsShardSet(builder, "train"),
                           shards.TfdsShardSet(builder, "validation"), window_docs, description)
