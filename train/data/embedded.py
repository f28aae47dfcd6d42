"""The "embedded" source: the offline corpus, its trained vocabulary and token streams, cached.

First use trains the vocabulary and tokenizes both splits through the seqio Task (tens of seconds,
each step printed with its time); later runs load the cached .npy streams without importing TensorFlow.
Python's SentencePiece would tokenize in a sixth of the time but splits some whitespace runs differently
from TensorFlow Text's op (24k of 3.2M tokens), so it would change the data every run trained on.
"""

import contextlib
import functools
import hashlib
import pathlib
import platform
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

import gin
import numpy as np

from train.data import cache
from train.data import embedded_corpus
from train.data import vocabulary
from train.data.dataset import TokenStreams
from train.data.errors import DataError, require_int


@gin.configurable
def embedded_source(vocab_size: int = 8192, eval_fraction: float = 0.05,
                    cache_dir: str | None = None) -> TokenStreams:
  """Token streams of the embedded corpus with a vocabulary of `vocab_size` pieces trained on its train split.

  Args:
    vocab_size: SentencePiece pieces (= model vocabulary size).
    eval_fraction: share of documents held out for eval, chosen by hash of the document name.
    cache_dir: where the vocabulary and token streams are kept; None: $PROXIES_CACHE_DIR or
      ~/.cache/proxies.
  """
  require_int("embedded_source.vocab_size", vocab_size, 1)
  if isinstance(eval_fraction, bool) or not isinstance(eval_fraction, (int, float)) or not 0 < eval_fraction < 1:
    raise DataError(f"eval_fraction={eval_fraction!r} is out of range; expected 0 < eval_fraction < 1")
  documents = embedded_corpus.embedded_documents()
  fingerprint = embedded_corpus.fingerprint(documents)
  by_split = embedded_corpus.split_documents(documents, eval_fraction)
  if not all(by_split.values()):
    raise DataError(f"eval_fraction={eval_fraction} leaves a split of the embedded corpus empty; "
                    "expected a value that holds out some but not all documents")
  # The vocabulary is trained on the train split, so it depends on which documents are held out.
  root = cache.resolve_cache_dir(cache_dir) / f"embedded-{fingerprint[:16]}-heldout{eval_fraction:g}"

  def train_vocabulary(f: BinaryIO) -> None:
    lines = vocabulary.training_lines(by_split["train"])
    with _progress(f"training its {vocab_size}-piece SentencePiece vocabulary on {len(lines):,} lines"):
      f.write(vocabulary.train_sentencepiece(lines, vocab_size))

  vocab_path = cache.build_once(root / f"spm_unigram_{vocab_size}.model", train_vocabulary)
  processor = vocabulary.load_sentencepiece(vocab_path)

  @functools.cache
  def tokenized() -> dict[str, np.ndarray]:
    with _progress(f"importing TensorFlow and tokenizing its {len(documents)} documents through the seqio Task"):
      from train.data import tasks  # pylint: disable=import-outside-toplevel  # TensorFlow only on a cold cache
      task = tasks.register_embedded_task(by_split, str(vocab_path))
      return {split: tasks.token_stream(task, split) for split in embedded_corpus.SPLITS}

  streams = {split: _load_stream(root / f"tokens_{split}_spm{vocab_size}.npy",
                                 lambda split=split: tokenized()[split], processor.get_piece_size())
             for split in embedded_corpus.SPLITS}
  description = {
      "name": "embedded_python_docs",
      "source": "embedded",
      "fingerprint": fingerprint,
      "python": platform.python_version(),
      "vocabulary": {"path": str(vocab_path), "size": processor.get_piece_size(),
                     "sha256": hashlib.sha256(vocab_path.read_bytes()).hexdigest(),
                     "kind": "sentencepiece unigram trained on the train split"},
      "eval_fraction": eval_fraction,
      "splits": {split: {"documents": len(by_split[split]), "tokens": int(len(streams[split]))}
                 for split in embedded_corpus.SPLITS},
  }
  return TokenStreams(train_tokens=streams["train"], eval_tokens=streams["validation"],
                      vocab_size=processor.get_piece_size(), eos_id=processor.eos_id(),
                      description=description)


@contextlib.contextmanager
def _progress(step: str) -> Iterator[None]:
  """One line before and after a first-use build step: it takes tens of seconds, once per cache dir."""
  print(f"embedded corpus, first use: {step} ...", flush=True)
  start = time.perf_counter()
  yield
  print(f"embedded corpus, first use: done in {time.perf_counter() - start:.1f} s", flush=True)


def _load_stream(path: pathlib.Path, compute: Callable[[], np.ndarray], vocab_size: int) -> np.ndarray:
  tokens = cache.cached_array(path, compute)
  if tokens.dtype != np.int32 or tokens.ndim != 1 or (tokens.size and tokens.max() >= vocab_size):
    raise DataError(f"cached token stream {str(path)!r} does not match the vocabulary; expected int32 "
                    f"ids < {vocab_size}: delete it to rebuild")
  return tokens
