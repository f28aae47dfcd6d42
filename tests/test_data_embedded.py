"""The embedded corpus end to end through make_dataset (vocabulary, seqio Task, cache, batches).

The first run trains the vocabulary and tokenizes (~25 s); later runs reuse $PROXIES_CACHE_DIR
(default here: <repo>/.cache/test, git-ignored).
"""

import itertools
import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import numpy.testing as npt
import pytest

from train.data import DataError, embedded_corpus, make_dataset
from train.data.embedded import embedded_source

REPO = pathlib.Path(__file__).parents[1]
os.environ.setdefault("PROXIES_CACHE_DIR", str(REPO / ".cache" / "test"))

B, L = 8, 64
EOS = 1


def _make(**overrides):
  kwargs = dict(batch_size=B, seq_len=L, seed=0, num_eval_batches=2, process_index=0, process_count=1)
  kwargs.update(overrides)
  return make_dataset(**kwargs)


@pytest.fixture(scope="session")
def streams():
  return embedded_source()


@pytest.fixture(scope="session")
def dataset(streams):
  del streams  # built first so the cache is warm
  return _make()


@pytest.fixture(scope="session")
def documents():
  return embedded_corpus.split_documents(embedded_corpus.embedded_documents(), 0.05)


@pytest.fixture(scope="session")
def vocabulary(streams):
  import seqio  # pylint: disable=import-outside-toplevel

  return seqio.SentencePieceVocabulary(streams.description["vocabulary"]["path"])


def test_corpus_is_real_text_of_millions_of_tokens(streams, documents):
  assert len(documents["train"]) > 500
  assert len(streams.train_tokens) > 2_000_000
  assert len(streams.eval_tokens) > 50_000
  assert streams.vocab_size == 8192
  assert any(d.name == "stdlib/argparse.py" for d in documents["train"] + documents["validation"])


def test_batch_shapes_dtypes_and_shift(dataset):
  batch = next(dataset.train_batches(0))
  assert set(batch) == {"inputs", "targets", "weights"}
  for key, dtype in (("inputs", np.int32), ("targets", np.int32), ("weights", np.float32)):
    assert batch[key].shape == (B, L) and batch[key].dtype == dtype, key
  npt.assert_array_equal(batch["inputs"][:, 1:], batch["targets"][:, :-1])
  npt.assert_array_equal(batch["weights"], 1.0)
  assert batch["inputs"].min() > 0 and batch["targets"].min() > 0  # pad id 0 never appears
  assert batch["inputs"].max() < dataset.vocab_size


def test_stream_is_documents_joined_by_eos(streams, documents, vocabulary):
  # Compared as text: TF's and Python's SentencePiece break Viterbi ties (runs of spaces) differently.
  eos_at = np.flatnonzero(streams.eval_tokens == EOS)
  assert len(eos_at) == len(documents["validation"]) and eos_at[-1] == len(streams.eval_tokens) - 1
  pieces = np.split(streams.eval_tokens, eos_at + 1)[:-1]
  for document, tokens in zip(documents["validation"], pieces):
    assert tokens[-1] == EOS
    assert vocabulary.decode(tokens[:-1].tolist()) == document.text, document.name
  assert int(np.sum(streams.train_tokens == EOS)) == len(documents["train"])


def test_decode_encode_round_trip(vocabulary, documents):
  text = "class A:\n    def f(self, x):\n\treturn  x ** 2  # café, 日本語, emoji 🙂\n\n"
  assert vocabulary.decode(vocabulary.encode(text)) == text
  source = documents["validation"][0].text
  assert vocabulary.decode(vocabulary.encode(source)) == source


def test_same_seed_same_batches_other_seed_other_order(dataset):
  again = _make()
  for a, b in zip(itertools.islice(dataset.train_batches(0), 3), itertools.islice(again.train_batches(0), 3)):
    npt.assert_array_equal(a["inputs"], b["inputs"])
  other = next(_make(seed=1).train_batches(0))
  assert not np.array_equal(other["inputs"], next(dataset.train_batches(0))["inputs"])


def test_resume_yields_the_uninterrupted_batches(dataset):
  uninterrupted = list(itertools.islice(dataset.train_batches(0), 8))[5:8]
  resumed = list(itertools.islice(_make().train_batches(5), 3))
  for expected, got in zip(uninterrupted, resumed, strict=True):
    for key in expected:
      npt.assert_array_equal(got[key], expected[key])


def test_train_and_eval_documents_disjoint(documents):
  train = {d.name for d in documents["train"]}
  validation = {d.name for d in documents["validation"]}
  assert train.isdisjoint(validation)
  assert len(train) + len(validation) == len(embedded_corpus.embedded_documents())
  assert validation  # and every process agrees: membership hashes the name only
  assert all(embedded_corpus.is_heldout(name, 0.05) for name in validation)


def test_two_processes_read_disjoint_covering_shards(dataset):
  whole = next(dataset.train_batches(11))
  parts = [next(_make(process_index=i, process_count=2).train_batches(11)) for i in range(2)]
  assert parts[0]["inputs"].shape == (B // 2, L)
  npt.assert_array_equal(np.concatenate([p["inputs"] for p in parts]), whole["inputs"])
  assert not np.array_equal(parts[0]["inputs"], parts[1]["inputs"])


def test_segment_packing_on_the_corpus(streams):
  batch = next(_make(packing="segment").train_batches(0))
  npt.assert_array_equal(batch["weights"] == 0, batch["inputs"] == EOS)
  first = batch["segment_ids"][:, :1]
  npt.assert_array_equal(first, 1)
  starts = np.diff(batch["segment_ids"], axis=1) == 1
  npt.assert_array_equal(batch["positions"][:, 1:][starts], 0)
  del streams


def test_eval_batches_fixed_and_describe_is_json(dataset, streams):
  eval_a, eval_b = dataset.eval_batches(), _make().eval_batches()
  assert len(eval_a) == 2
  npt.assert_array_equal(eval_a[1]["targets"], eval_b[1]["targets"])
  npt.assert_array_equal(eval_a[0]["inputs"][0], streams.eval_tokens[:L])
  description = json.loads(json.dumps(dataset.describe()))
  assert description["fingerprint"] == embedded_corpus.fingerprint(embedded_corpus.embedded_documents())
  assert description["vocabulary"]["size"] == 8192
  assert description["splits"]["train"]["tokens"] == len(streams.train_tokens)
  assert description["packing"] == "concat"


@pytest.mark.parametrize("overrides, message", [
    (dict(source="c5"), "source='c5' is unknown"),
    (dict(packing="pad"), "packing='pad' is unknown"),
    (dict(seq_len=0), "seq_len=0 is invalid"),
    (dict(batch_size=3, process_count=2), "batch_size=3 does not split over 2 processes"),
    (dict(process_index=2, process_count=2), "process_index=2 is invalid"),
])
def test_bad_arguments_are_one_line_errors(overrides, message):
  with pytest.raises(DataError, match=message) as error:
    _make(**overrides)
  # gin appends "In call to configurable ..." lines; the CLI prints the first line, which is ours.
  assert "expected" in str(error.value).splitlines()[0]


@pytest.mark.parametrize("kwargs, message", [
    ({"eval_fraction": 1.5}, "eval_fraction=1.5 is out of range"),
    ({"eval_fraction": "x"}, "eval_fraction='x' is out of range"),  # before: a TypeError
    ({"vocab_size": "x"}, "embedded_source.vocab_size='x' is invalid; expected an integer >= 1")])
def test_bad_source_arguments_are_a_clear_error(kwargs, message):
  with pytest.raises(DataError, match=re.escape(message)):
    embedded_source(**kwargs)


_TOKENIZE_A_FEW_DOCUMENTS = """
import pathlib, sys
from train.data import embedded_corpus, tasks, vocabulary
documents = embedded_corpus.stdlib_documents()[:20]
path = pathlib.Path(sys.argv[1]) / "spm.model"
path.write_bytes(vocabulary.train_sentencepiece(vocabulary.training_lines(documents), 512))
task = tasks.register_embedded_task({"train": documents, "validation": documents[:1]}, str(path))
print(tasks.token_stream(task, "train").size)
"""


@pytest.mark.slow
def test_tokenizing_with_a_fresh_vocabulary_is_quiet(tmp_path):
  """A cold cache runs TensorFlow Text's SentencePiece op on the trained (identity-normalized) vocabulary,
  which logs `normalizer.cc(51) LOG(INFO) precompiled_charsmap is empty` on stderr: hidden, as TF's lines."""
  env = {k: v for k, v in os.environ.items() if k != "PROXIES_VERBOSE"}
  result = subprocess.run([sys.executable, "-c", _TOKENIZE_A_FEW_DOCUMENTS, str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert int(result.stdout) > 1000
  assert result.stderr == ""
