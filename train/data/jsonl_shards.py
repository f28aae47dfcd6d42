"""Reading allenai/c4 JSON-lines shards (`c4-train.00000-of-01024.json.gz`): one {"text", ...} per line.

Errors name the file. A bad line in an otherwise good shard is skipped with a counted warning; a
truncated or unreadable file is an error, since silently losing the rest of a shard would change
the data without anyone noticing.
"""

import glob
import gzip
import json
import logging
import os
import zlib
from collections.abc import Iterator, Sequence

from train.data.errors import DataError, ShardError

_WARNED_LINES_PER_FILE = 10


def expand_patterns(patterns: str | Sequence[str], what: str) -> list[str]:
  """Sorted local files matching the pattern(s); a DataError if none match."""
  patterns = [patterns] if isinstance(patterns, str) else list(patterns)
  if not patterns:
    raise DataError(f"{what} is empty; expected a file pattern such as /data/c4/en/c4-train.*-of-01024.json.gz")
  files = set()
  for pattern in patterns:
    if "://" in pattern:
      raise DataError(f"{what} pattern {pattern!r} is remote; c4_local reads local files "
                      "(use gin/data/c4.gin for TFDS on GCS)")
    matched = glob.glob(os.path.expanduser(pattern))
    if not matched:
      raise DataError(f"{what} pattern {pattern!r} matches no file; expected local allenai/c4 "
                      f"shards such as c4-train.00000-of-01024.json.gz: bind {what} to their glob")
    files.update(matched)
  return sorted(files)


def _text_of(line: bytes) -> str | None:
  try:
    record = json.loads(line)
  except ValueError:
    return None
  text = record.get("text") if isinstance(record, dict) else None
  return text if isinstance(text, str) else None


def read_records(path: str, start: int = 0) -> Iterator[tuple[int, str | None]]:
  """(line index, text) for every line from `start` on; text is None for a skipped bad line."""
  bad_lines = 0
  index = -1
  try:
    with gzip.open(path, "rb") as f:
      for index, line in enumerate(f):
        if index < start:
          continue
        text = _text_of(line)
        if text is None:
          bad_lines += 1
          if bad_lines <= _WARNED_LINES_PER_FILE:
            logging.warning("skipping line %d of %s: not a JSON object with a string \"text\" "
                            "(%d bad line(s) in this file so far)", index + 1, path, bad_lines)
        yield index, text
  except FileNotFoundError:
    raise ShardError(f"shard {path!r} does not exist (it was listed before; was it deleted?)") from None
  except PermissionError:
    raise ShardError(f"shard {path!r} is not readable (permission denied)") from None
  except EOFError:
    raise ShardError(f"shard {path!r} is truncated after line {index + 1}; expected a complete "
                    ".json.gz (re-download it)") from None
  except (gzip.BadGzipFile, zlib.error, OSError) as e:
    raise ShardError(f"shard {path!r} is not a readable .json.gz ({e}); expected gzip-compressed "
                    "JSON lines") from None
  if bad_lines:
    logging.warning("skipped %d bad line(s) of %s", bad_lines, path)
