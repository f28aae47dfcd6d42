"""TensorFlow (seqio's engine, TensorBoard's writer) prints its C++ start-up lines (oneDNN, CUDA stubs)
on stderr whatever TF_CPP_MIN_LOG_LEVEL says: they are hidden unless asked for (-v / PROXIES_VERBOSE=1)."""

import os
import sys
import tempfile

VERBOSE_ENV = "PROXIES_VERBOSE"


def import_tensorflow() -> None:
  """Imports TensorFlow once with file descriptor 2 parked in a temporary file: dropped when the import
  works, replayed when it fails (so an import error keeps its output)."""
  if "tensorflow" in sys.modules or os.environ.get(VERBOSE_ENV, "0") not in ("", "0"):
    return
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as parked:
    os.dup2(parked.fileno(), 2)
    try:
      import tensorflow  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import
    except BaseException:
      os.dup2(saved, 2)
      parked.seek(0)
      os.write(2, parked.read())
      raise
    finally:
      os.dup2(saved, 2)
      os.close(saved)
