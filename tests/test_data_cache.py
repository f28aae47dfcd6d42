"""Build-once cache files: one build under concurrency, nothing left behind by a failed build."""

import threading
import time

import numpy as np
import numpy.testing as npt
import pytest

from train import cachedir
from train.data import cache
from train.data.errors import DataError


def test_concurrent_builders_build_once(tmp_path):
  path = tmp_path / "x.bin"
  calls = []

  def write(f):
    calls.append(1)
    f.write(b"part one ")
    time.sleep(0.2)  # a reader arriving now must wait, not see half a file
    f.write(b"part two")

  results = []
  threads = [threading.Thread(target=lambda: results.append(cache.build_once(path, write).read_bytes()))
             for _ in range(4)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert len(calls) == 1
  assert results == [b"part one part two"] * 4


def test_failed_build_leaves_nothing(tmp_path):
  path = tmp_path / "x.npy"

  def compute():
    raise RuntimeError("boom")

  with pytest.raises(RuntimeError):
    cache.cached_array(path, compute)
  assert not path.exists()
  assert [p.name for p in tmp_path.iterdir()] == ["x.npy.lock"]
  npt.assert_array_equal(cache.cached_array(path, lambda: np.arange(3, dtype=np.int32)), [0, 1, 2])


def test_corrupt_cache_file_is_named(tmp_path):
  path = tmp_path / "tokens.npy"
  path.write_bytes(b"\x93NUMPY garbage")
  with pytest.raises(DataError, match="tokens.npy"):
    cache.cached_array(path, lambda: np.zeros(1))


def test_cache_dir_from_environment(tmp_path, monkeypatch):
  monkeypatch.setenv(cachedir.CACHE_DIR_ENV, str(tmp_path / "c"))
  assert cache.resolve_cache_dir(None) == tmp_path / "c"
  assert (tmp_path / "c").is_dir()
  assert cache.resolve_cache_dir(str(tmp_path / "d")) == tmp_path / "d"
