"""Fail-fast checks for gs:// paths: offline, TF's GCS client would retry for a long time."""

import socket
import threading

from train.data.errors import DataError

_GCS_HOST = ("storage.googleapis.com", 443)
_PROBE_SECONDS = 5.0


def is_remote(path: str) -> bool:
  return "://" in path


def _gcs_unreachable_reason() -> str | None:
  """None if a TCP connection to GCS opens within a few seconds, else why not."""
  outcome: list[str | None] = []

  def probe() -> None:
    try:
      socket.create_connection(_GCS_HOST, timeout=_PROBE_SECONDS).close()
      outcome.append(None)
    except OSError as e:
      outcome.append(f"{type(e).__name__}: {e}")

  # A thread bounds DNS resolution too, which socket timeouts do not cover.
  thread = threading.Thread(target=probe, daemon=True)
  thread.start()
  thread.join(_PROBE_SECONDS + 1.0)
  return outcome[0] if outcome else f"no answer from {_GCS_HOST[0]} in {_PROBE_SECONDS:g} s"


def require_reachable(path: str, what: str, remedy: str) -> None:
  """Raises a one-line DataError naming `path` if it is remote and cannot be reached."""
  if not is_remote(path):
    return
  if not path.startswith("gs://"):
    raise DataError(f"{what} {path!r} uses an unsupported scheme; expected a local path or gs://")
  reason = _gcs_unreachable_reason()
  if reason is not None:
    raise DataError(f"{what} {path!r} is on Google Cloud Storage, which is unreachable ({reason}); "
                    f"{remedy}")
