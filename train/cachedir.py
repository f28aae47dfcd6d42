"""Where the project keeps what it builds once and reuses: the data pipeline's vocabularies and token
arrays (train/data/cache.py) and XLA's compiled programs (<root>/jax, train/run.py)."""

import os
import pathlib

CACHE_DIR_ENV = "PROXIES_CACHE_DIR"


def root(bound: str | None = None) -> pathlib.Path:
  """The bound directory, else $PROXIES_CACHE_DIR, else ~/.cache/proxies (not created here)."""
  return pathlib.Path(bound or os.environ.get(CACHE_DIR_ENV) or "~/.cache/proxies").expanduser()
