"""Shared test set-up: one embedded-corpus cache for every test and subprocess."""

import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("PROXIES_CACHE_DIR", str(REPO / ".cache" / "test"))
