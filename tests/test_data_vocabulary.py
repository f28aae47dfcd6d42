"""SentencePiece training and loading: determinism, round trips, errors."""

import pytest
import sentencepiece as spm

from train.data import embedded_corpus, vocabulary
from train.data.errors import DataError


@pytest.fixture(scope="module")
def small_lines():
  documents = embedded_corpus.stdlib_documents()[:40]
  return vocabulary.training_lines(documents)


def test_training_is_deterministic_and_t5_layout(small_lines):
  first = vocabulary.train_sentencepiece(small_lines, 600)
  second = vocabulary.train_sentencepiece(small_lines, 600)
  assert first == second
  processor = spm.SentencePieceProcessor(model_proto=first)
  assert processor.get_piece_size() == 600
  assert (processor.pad_id(), processor.eos_id(), processor.unk_id(), processor.bos_id()) == (0, 1, 2, -1)


def test_indentation_and_unseen_characters_round_trip(small_lines):
  processor = spm.SentencePieceProcessor(model_proto=vocabulary.train_sentencepiece(small_lines, 600))
  text = "def f():\n        return 'Ωμέγα'\t\t# 🙂\n\n  trailing  \n"
  ids = processor.encode(text)
  assert processor.unk_id() not in ids  # byte fallback, never <unk>
  assert processor.decode(ids) == text


def test_too_small_vocab_is_a_clear_error(small_lines):
  with pytest.raises(DataError, match="vocab_size=100 is too small"):
    vocabulary.train_sentencepiece(small_lines, 100)


def test_missing_vocabulary_file_is_named(tmp_path):
  missing = tmp_path / "nope.model"
  with pytest.raises(DataError, match="nope.model"):
    vocabulary.load_sentencepiece(missing)
  garbage = tmp_path / "garbage.model"
  garbage.write_bytes(b"not a model")
  with pytest.raises(DataError, match="garbage.model"):
    vocabulary.load_sentencepiece(garbage)
