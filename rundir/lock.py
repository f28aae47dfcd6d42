"""Exclusive ownership of a directory: an fcntl.flock on DIR/.lock, held while a process writes DIR.

The kernel drops a flock when its process dies (kill -9 included), so a lock is never stale;
the file keeps the holder's pid only so the refusal can name it.
"""

import fcntl
import os
import time

LOCK_FILE = ".lock"


class InUse(ValueError):
  """Another live process holds the directory (a ValueError: callers report it as bad input)."""


class DirLock:
  """Context manager holding DIR/.lock; `what` names the directory in the refusal (e.g. 'workdir')."""

  def __init__(self, path: str, what: str = "directory"):
    self.path = path
    self.what = what
    self._fd: int | None = None

  def acquire(self, wait_s: float = 0.0) -> "DirLock":
    """Takes the lock, waiting up to wait_s seconds for a holder to let go (a relaunched sweep's
    worker may meet its killed predecessor still exiting); InUse after that."""
    fd = os.open(os.path.join(self.path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_s
    while True:
      try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
      except BlockingIOError:
        if time.monotonic() < deadline:
          time.sleep(0.1)
          continue
      holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
      os.close(fd)
      raise InUse(f"{self.what} {self.path} is in use by pid {holder}: expected one writer at a "
                  "time; wait for it or pick another directory") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    self._fd = fd
    return self

  def release(self) -> None:
    if self._fd is not None:
      os.close(self._fd)  # closing the descriptor drops the flock
      self._fd = None

  def __enter__(self) -> "DirLock":
    return self if self._fd is not None else self.acquire()

  def __exit__(self, *exc) -> None:
    self.release()
