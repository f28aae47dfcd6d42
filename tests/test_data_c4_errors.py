"""Bad input to the C4 sources: one-line errors naming the file, counted warnings for bad lines, no hang."""

import gzip
import json
import logging
import time

import pytest

from tests.test_data_c4 import T5_VOCAB, dataset, local_source, needs_vocab, write_shards
from train.data import jsonl_shards, remote
from train.data.c4 import c4_local_source, c4_source
from train.data.errors import DataError

UNREACHABLE_GCS = ("gcs.invalid", 443)  # .invalid never resolves: an offline GCS wherever the test runs


def one_line_error(match: str, call, *args, **kwargs) -> str:
  """The error's own line (gin appends its call context on later lines, which train.main drops)."""
  with pytest.raises(DataError) as error:
    call(*args, **kwargs)
  message = str(error.value).splitlines()[0]
  assert match in message
  return message


def test_pattern_matching_nothing_names_the_pattern(tmp_path):
  pattern = str(tmp_path / "c4-train.*-of-01024.json.gz")
  message = one_line_error("matches no file", c4_local_source, train_files=pattern,
                           validation_files=pattern, vocab_path=str(T5_VOCAB))
  assert pattern in message and "bind c4_train_files" in message


def test_unset_and_remote_patterns_say_what_to_bind(tmp_path):
  one_line_error("c4_local_source.train_files is unset", c4_local_source)
  one_line_error("is remote", jsonl_shards.expand_patterns, "gs://bucket/c4-train.*", "c4_train_files")


def test_missing_vocabulary_names_the_path(tmp_path):
  write_shards(tmp_path, "train", 1, 2)
  missing = str(tmp_path / "no_such.model")
  message = one_line_error("does not exist", c4_local_source, train_files=str(tmp_path / "*.json.gz"),
                           validation_files=str(tmp_path / "*.json.gz"), vocab_path=missing)
  assert missing in message


def test_unreachable_gcs_fails_in_seconds(tmp_path, monkeypatch):
  monkeypatch.setattr(remote, "_GCS_HOST", UNREACHABLE_GCS)
  write_shards(tmp_path, "train", 1, 2)
  start = time.time()
  message = one_line_error("unreachable", c4_local_source, train_files=str(tmp_path / "*.json.gz"),
                           validation_files=str(tmp_path / "*.json.gz"),
                           vocab_path="gs://t5-data/vocabs/cc_all.32000.100extra/sentencepiece.model")
  assert "bind vocab_path" in message
  message = one_line_error("unreachable", c4_source, tfds_data_dir="gs://my-bucket/tfds")
  assert "gs://my-bucket/tfds" in message and "gin/data/c4_local.gin" in message
  assert time.time() - start < 15


def test_unprepared_tfds_dir_fails_before_importing_tensorflow(tmp_path):
  start = time.time()
  message = one_line_error("is not prepared", c4_source, tfds_data_dir=str(tmp_path))
  assert str(tmp_path) in message and "gin/data/c4_local.gin" in message and "gin/local.gin" in message
  assert time.time() - start < 1


def test_truncated_and_non_gzip_shards_are_named(tmp_path):
  write_shards(tmp_path, "train", 1, 50)
  (good,) = tmp_path.glob("*.json.gz")
  truncated = tmp_path / "truncated.json.gz"
  truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
  message = one_line_error("is truncated", lambda: list(jsonl_shards.read_records(str(truncated))))
  assert str(truncated) in message
  plain = tmp_path / "plain.json.gz"
  plain.write_text('{"text": "not compressed"}\n')
  assert str(plain) in one_line_error("not a readable .json.gz",
                                      lambda: list(jsonl_shards.read_records(str(plain))))


def test_bad_lines_are_skipped_with_a_counted_warning(tmp_path, caplog):
  shard = tmp_path / "c4-train.00000-of-01024.json.gz"
  lines = ['{"text": "first", "url": "u"}', "not json", '{"url": "no text"}', '["a", "list"]',
           '{"text": "last", "url": "u"}']
  with gzip.open(shard, "wt") as f:
    f.write("\n".join(lines) + "\n")
  with caplog.at_level(logging.WARNING):
    records = list(jsonl_shards.read_records(str(shard)))
  assert records == [(0, "first"), (1, None), (2, None), (3, None), (4, "last")]
  assert "skipped 3 bad line(s)" in caplog.text and str(shard) in caplog.text
  assert list(jsonl_shards.read_records(str(shard), start=4)) == [(4, "last")]


@needs_vocab
def test_a_truncated_shard_stops_training_data_with_its_name(tmp_path):
  shards_dir = tmp_path / "c4"
  shards_dir.mkdir()
  write_shards(shards_dir, "train", 2, 12)
  write_shards(shards_dir, "validation", 1, 8)
  for shard in shards_dir.glob("c4-train.*"):
    shard.write_bytes(shard.read_bytes()[:-20])
  with pytest.raises(DataError, match="truncated") as error:
    next(dataset(local_source(shards_dir, window_docs=64)).train_batches())
  assert "c4-train.0000" in str(error.value)


@needs_vocab
def test_too_few_shards_for_the_processes_is_a_clear_error(tmp_path):
  write_shards(tmp_path, "train", 1, 4)
  write_shards(tmp_path, "validation", 1, 4)
  source = local_source(tmp_path)
  one_line_error("fewer than the 2 processes", dataset, source, process_count=2)
  assert json.dumps(source.description)  # data.json must be writable
