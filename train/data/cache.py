"""Build-once cache files, safe when several processes of a sweep start at the same time.

A file is built under an exclusive lock and published by an atomic rename, so a reader
never sees a half-written file and concurrent starters build it once.
"""

import contextlib
import fcntl
import os
import pathlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

import numpy as np

from train import cachedir
from train.data.errors import DataError


def resolve_cache_dir(cache_dir: str | None) -> pathlib.Path:
  """The bound directory, else $PROXIES_CACHE_DIR, else ~/.cache/proxies; created if missing."""
  path = cachedir.root(cache_dir)
  try:
    path.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise DataError(f"cache dir {str(path)!r} cannot be created ({e.strerror}); "
                    f"expected a writable directory (bind cache_dir or set ${cachedir.CACHE_DIR_ENV})") from None
  return path


@contextlib.contextmanager
def _exclusive_lock(lock_path: pathlib.Path) -> Iterator[None]:
  # flock is released by the kernel if the holder dies, so a crashed builder never blocks others.
  with open(lock_path, "a") as lock_file:
    fcntl.flock(lock_file, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(lock_file, fcntl.LOCK_UN)


def build_once(path: pathlib.Path, write: Callable[[BinaryIO], None]) -> pathlib.Path:
  """Returns `path`, first calling `write` on a temporary file and renaming it there if it is missing."""
  if path.exists():
    return path
  path.parent.mkdir(parents=True, exist_ok=True)
  with _exclusive_lock(path.with_name(path.name + ".lock")):
    if path.exists():
      return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
      with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
      os.replace(tmp, path)
    finally:
      tmp.unlink(missing_ok=True)
  return path


def cached_array(path: pathlib.Path, compute: Callable[[], np.ndarray]) -> np.ndarray:
  """Loads the .npy at `path`, computing and saving it first if it is missing."""
  build_once(path, lambda f: np.save(f, compute(), allow_pickle=False))
  try:
    return np.load(path, allow_pickle=False)
  except (ValueError, OSError) as e:
    raise DataError(f"cache file {str(path)!r} is unreadable ({e}); expected a .npy written by this "
                    "pipeline: delete it to rebuild") from None
