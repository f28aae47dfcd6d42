"""The C4 pipeline on small allenai/c4-format shards written here, with the real T5 vocabulary."""

import dataclasses
import gzip
import json
import pathlib

import numpy as np
import pytest

from train.data import streaming
from train.data.c4 import c4_local_source, c4_source
from train.data.errors import DataError
from train.data.shards import JsonlShardSet

REPO = pathlib.Path(__file__).resolve().parents[1]
T5_VOCAB = REPO.parent / "shared" / "vocab" / "t5_cc_all.32000.100extra.spm.model"
EOS = 1
WORDS = ("the of and to in is that for it as was with be by on not this are or from at which but have "
         "an they you were there been one all we their more time café über weather garden river city "
         "music history market science energy water people school winter summer").split()

needs_vocab = pytest.mark.skipif(not T5_VOCAB.exists(),
                                 reason=f"the T5 vocabulary is not at {T5_VOCAB} (see the README's Data section)")


def document(rng: np.random.Generator) -> str:
  """~300 tokens of single-spaced words (C4's mean is ~480): text SentencePiece round-trips exactly."""
  sentences = [" ".join(rng.choice(WORDS, rng.integers(4, 16))).capitalize() + "."
               for _ in range(rng.integers(2, 40))]
  return " ".join(sentences)


def write_shards(directory: pathlib.Path, split: str, num_shards: int, docs_per_shard: int,
                 seed: int = 0) -> list[list[str]]:
  """allenai/c4 files c4-<split>.<k>-of-<n>.json.gz; returns each shard's texts."""
  rng = np.random.default_rng([seed, num_shards])
  total = 1024 if split == "train" else 8
  texts = []
  for k in range(num_shards):
    texts.append([document(rng) for _ in range(docs_per_shard)])
    with gzip.open(directory / f"c4-{split}.{k:05d}-of-{total:05d}.json.gz", "wt", encoding="utf-8") as f:
      for i, text in enumerate(texts[-1]):
        f.write(json.dumps({"text": text, "timestamp": "2019-04-22T08:07:02Z",
                            "url": f"https://example.com/{split}/{k}/{i}"}) + "\n")
  return texts


@pytest.fixture(scope="module")
def c4_dir(tmp_path_factory) -> pathlib.Path:
  directory = tmp_path_factory.mktemp("c4")
  write_shards(directory, "train", num_shards=4, docs_per_shard=12)
  write_shards(directory, "validation", num_shards=2, docs_per_shard=8)
  return directory


def local_source(c4_dir: pathlib.Path, window_docs: int = 6):
  return c4_local_source(train_files=str(c4_dir / "c4-train.*.json.gz"),
                         validation_files=str(c4_dir / "c4-validation.*.json.gz"),
                         vocab_path=str(T5_VOCAB), window_docs=window_docs)


def dataset(source, *, batch_size: int = 8, seq_len: int = 32, seed: int = 0, packing: str = "concat",
            process_index: int = 0, process_count: int = 1) -> streaming.StreamingDataset:
  return streaming.StreamingDataset(source, batch_size=batch_size, seq_len=seq_len, seed=seed,
                                    num_eval_batches=2, packing=packing, process_index=process_index,
                                    process_count=process_count)


def take(iterator, count: int) -> list[dict]:
  return [next(iterator) for _ in range(count)]


class RecordingShards:
  """A ShardSet that remembers every (shard, start record) it was asked to read."""

  def __init__(self, inner: JsonlShardSet):
    self.names = inner.names
    self._inner = inner
    self.reads: list[tuple[int, int]] = []

  def read(self, shard: int, start: int):
    self.reads.append((shard, start))
    return self._inner.read(shard, start)


@pytest.fixture
def source(c4_dir):
  return local_source(c4_dir)


@needs_vocab
def test_vocabulary_is_the_papers_and_round_trips(source, c4_dir):
  import seqio  # pylint: disable=import-outside-toplevel

  vocabulary = seqio.get_mixture_or_task(source.description["task"]).output_features["targets"].vocabulary
  assert source.vocab_size == vocabulary.vocab_size == 32101  # the paper's size; the file holds the sentinels
  assert source.description["vocabulary"]["extra_ids_added"] == 0
  texts = [json.loads(line)["text"] for line in gzip.open(c4_dir / "c4-train.00000-of-01024.json.gz", "rt")]
  tokens = source.tokenize(texts[:8])
  for text, ids in zip(texts, tokens):
    assert ids[-1] == EOS and EOS not in ids[:-1] and 0 not in ids
    assert vocabulary.decode(ids[:-1].tolist()) == text


@needs_vocab
def test_rows_are_documents_joined_by_eos_without_padding(source, c4_dir):
  texts = [json.loads(line)["text"] for path in sorted(c4_dir.glob("c4-train.*"))
           for line in gzip.open(path, "rt")]
  documents = [tuple(tokens) for tokens in source.tokenize(texts)]  # each ends in EOS
  whole_documents = 0
  for batch in take(dataset(source, seq_len=256).train_batches(), 4):
    assert batch["inputs"].shape == batch["targets"].shape == (8, 256)
    assert (batch["weights"] == 1).all() and (batch["inputs"] != 0).all()
    np.testing.assert_array_equal(batch["inputs"][:, 1:], batch["targets"][:, :-1])
    for row in np.concatenate([batch["inputs"], batch["targets"][:, -1:]], axis=1).tolist():
      pieces = [tuple(piece) for piece in np.split(row, np.flatnonzero(np.equal(row, EOS)) + 1)]
      if len(pieces) == 1:
        continue  # inside one long document
      assert any(doc[-len(pieces[0]):] == pieces[0] for doc in documents)  # the end of a document
      assert all(piece in documents for piece in pieces[1:-1])  # whole documents, each closed by EOS
      assert any(doc[:len(pieces[-1])] == pieces[-1] for doc in documents)  # the start of the next one
      whole_documents += len(pieces) - 2
  assert whole_documents > 0


@needs_vocab
def test_segment_packing_ids_positions_and_weights(source):
  batch = next(dataset(source, packing="segment").train_batches())
  inputs_BL = batch["inputs"]
  eos_before_BL = np.cumsum(inputs_BL == EOS, axis=1) - (inputs_BL == EOS)
  np.testing.assert_array_equal(batch["segment_ids"], eos_before_BL + 1)
  np.testing.assert_array_equal(batch["weights"], (inputs_BL != EOS).astype(np.float32))
  for segments_L, positions_L in zip(batch["segment_ids"], batch["positions"]):
    starts_L = np.flatnonzero(np.diff(segments_L, prepend=0))
    for start, end in zip(starts_L, [*starts_L[1:], len(segments_L)]):
      np.testing.assert_array_equal(positions_L[start:end], np.arange(end - start))


@needs_vocab
def test_same_seed_same_batches_other_seed_other_order(source):
  first = take(dataset(source).train_batches(), 3)
  again = take(dataset(source).train_batches(), 3)
  other = take(dataset(source, seed=1).train_batches(), 3)
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a["inputs"], b["inputs"])
  assert not all(np.array_equal(a["inputs"], c["inputs"]) for a, c in zip(first, other))


@needs_vocab
def test_resume_from_a_saved_position_continues_at_the_exact_batch_without_rereading(source):
  batches = dataset(source).train_batches()
  reference, positions = [], []
  for _ in range(80):  # ~50 steps per epoch: crosses into epoch 1
    positions.append(batches.position())
    reference.append(next(batches))
  assert [p["step"] for p in positions] == list(range(80))
  first_of_epoch_1 = min(p["step"] for p in positions if p["epoch"] == 1)
  first_shard = streaming.process_shards(len(source.train.names), 0, 0, 0, 1)[0]
  for start in (13, first_of_epoch_1 + 2):
    recording = RecordingShards(source.train)
    resumed = take(dataset(dataclasses.replace(source, train=recording)).train_batches(start, positions[start]),
                   3)
    for want, got in zip(reference[start:start + 3], resumed):
      np.testing.assert_array_equal(want["inputs"], got["inputs"])
    assert recording.reads[0] != (first_shard, 0)  # started at the position, not from the beginning
  # Without a position (a checkpoint of older code) the stream is read from step 0: same batches.
  recording = RecordingShards(source.train)
  resumed = next(dataset(dataclasses.replace(source, train=recording)).train_batches(13))
  np.testing.assert_array_equal(resumed["inputs"], reference[13]["inputs"])
  assert recording.reads[0] == (first_shard, 0)


@needs_vocab
def test_a_position_of_another_step_or_shape_is_refused(source):
  position = {"step": 4, "epoch": 0, "shard_cursor": 0, "record": 0, "row": 3}
  with pytest.raises(DataError, match=r"data position .* is not the stream's position at step 5"):
    dataset(source).train_batches(5, position)
  with pytest.raises(DataError, match=r"data position .* is not the stream's position at step 4"):
    dataset(source).train_batches(4, {"step": 4, "row": 3})
  with pytest.raises(DataError, match=r"points past its window"):
    dataset(source).train_batches(4, {**position, "row": 10**6})


@needs_vocab
def test_two_processes_read_disjoint_shards_covering_the_split(source):
  shards_read = []
  for process_index in range(2):
    recording = RecordingShards(source.train)
    ds = dataset(dataclasses.replace(source, train=recording), process_index=process_index, process_count=2)
    batch = next(ds.train_batches())
    assert batch["inputs"].shape == (4, 32)  # half of the global batch of 8
    take(ds.train_batches(), 40)
    shards_read.append({shard for shard, _ in recording.reads})
  assert not shards_read[0] & shards_read[1]
  assert shards_read[0] | shards_read[1] == set(range(len(source.train.names)))
  for epoch in range(3):
    halves = [streaming.process_shards(7, 0, epoch, p, 2) for p in range(2)]
    assert not set(halves[0]) & set(halves[1]) and sorted(halves[0] + halves[1]) == list(range(7))


@needs_vocab
def test_eval_batches_are_fixed_and_describe_names_the_data(source):
  ds = dataset(source)
  first, again = ds.eval_batches(), ds.eval_batches()
  assert len(first) == 2 and first[0]["inputs"].shape == (8, 32)
  np.testing.assert_array_equal(first[1]["targets"], again[1]["targets"])
  description = ds.describe()
  assert description["source"] == "c4_local" and description["splits"]["train"]["shards"] == 4
  assert description["vocabulary"]["size"] == 32101


def prepare_tfds_c4(data_dir: pathlib.Path, docs: dict[str, int]) -> None:
  """A tiny c4/en:3.1.0 in the TFDS layout (3 shards per split), written by a TFDS builder named c4."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

  class TinyC4(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    name = "c4"
    VERSION = tfds.core.Version("3.1.0")
    BUILDER_CONFIGS = [tfds.core.BuilderConfig(name="en")]

    def _info(self):
      return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
          {"text": tfds.features.Text(), "url": tfds.features.Text()}))

    def _split_generators(self, dl_manager):
      return {split: self._generate_examples(split, count) for split, count in docs.items()}

    def _generate_examples(self, split, count):
      rng = np.random.default_rng(len(split))
      for i in range(count):
        yield f"{split}{i}", {"text": document(rng), "url": f"https://example.com/{i}"}

  TinyC4(config="en", data_dir=str(data_dir)).download_and_prepare(
      download_config=tfds.download.DownloadConfig(num_shards=3))


@needs_vocab
def test_tfds_c4_streams_resumes_and_splits_shards(tmp_path):
  prepare_tfds_c4(tmp_path / "tfds", {"train": 36, "validation": 12})
  source = c4_source(tfds_data_dir=str(tmp_path / "tfds"), vocab_path=str(T5_VOCAB), window_docs=4)
  assert source.description["splits"]["train"] == {"documents": 36, "shards": 3}
  assert source.vocab_size == 32101
  batches = dataset(source).train_batches()
  reference = take(batches, 12)
  position_12 = batches.position()
  reference += take(batches, 4)
  assert all((batch["inputs"] != 0).all() for batch in reference)
  np.testing.assert_array_equal(next(dataset(source).train_batches(12, position_12))["inputs"],
                                reference[12]["inputs"])
  assert dataset(source).eval_batches()[0]["inputs"].shape == (8, 32)
  shards_read = []
  for process_index in range(2):
    recording = RecordingShards(source.train)
    take(dataset(dataclasses.replace(source, train=recording), process_index=process_index,
                 process_count=2).train_batches(), 40)  # 160 rows: more than a shard holds
    shards_read.append({shard for shard, _ in recording.reads})
  assert not shards_read[0] & shards_read[1] and shards_read[0] | shards_read[1] == {0, 1, 2}
