"""TensorFlow (seqio's engine, TensorBoard's writer) prints its C++ start-up lines (oneDNN, CUDA stubs)
on stderr whatever TF_CPP_MIN_LOG_LEVEL says, and TensorFlow Text's SentencePiece op logs
`normalizer.cc(51) LOG(INFO)` for a vocabulary without a normalizer (the embedded corpus's): they are
hidden unless asked for (-v / PROXIES_VERBOSE=1)."""

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator

VERBOSE_ENV = "PROXIES_VERBOSE"
_SENTENCEPIECE_INFO = re.compile(rb"^normalizer\.cc\(\d+\) LOG\(INFO\) ")


def _verbose() -> bool:
  return os.environ.get(VERBOSE_ENV, "0") not in ("", "0")


@contextlib.contextmanager
def parked_stderr(keep: Callable[[bytes], bool]) -> Iterator[None]:
  """Runs the block with file descriptor 2 (C++ writes there too) parked in a temporary file, then writes
  back the lines `keep` accepts; all of them when the block raises (an error keeps its output)."""
  if _verbose():
    yield
    return
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as parked:
    os.dup2(parked.fileno(), 2)
    failed = True
    try:
      yield
      failed = False
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      parked.seek(0)
      os.write(2, b"".join(line for line in parked if failed or keep(line)))


def import_tensorflow() -> None:
  """Imports TensorFlow once, its start-up lines dropped."""
  if "tensorflow" not in sys.modules:
    with parked_stderr(keep=lambda line: False):
      import tensorflow  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import


def without_sentencepiece_info() -> contextlib.AbstractContextManager[None]:
  """For a block that runs TensorFlow Text's SentencePiece op: its INFO lines dropped, the rest kept."""
  return parked_stderr(keep=lambda line: not _SENTENCEPIECE_INFO.match(line))
