r"""A long-lived trainer: runs many units in one process, so units of one shape share imports, data
set-up and compiled programs (train/programs.py). The local executor (launch/executors/local.py)
starts one per slot.

  python -m train.worker

Reads one request per line on stdin, a JSON object
  {"gin_files": [...], "gin_bindings": [...], "workdir": DIR, "log": PATH}
and, when the unit ends, answers one line on stdout {"workdir": DIR, "exit_code": N} with train.main's
exit codes (0 completed or diverged, 1 failed, 2 bad input). While a unit runs, all output of the
process (Python's and XLA's) goes to the end of its log; between units to this process's stderr.
An exception fails only its unit; gin's state is cleared between units. Ends at end of input.
"""

import contextlib
import gc
import json
import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow (seqio's engine) is noisy on import

from absl import app, logging

# A relaunched sweep's worker may start a unit while its killed predecessor is still exiting.
LOCK_WAIT_S = 30.0
REQUEST_KEYS = {"gin_files": list, "gin_bindings": list, "workdir": str, "log": str}


def parse_request(line: str) -> dict:
  """The request's object; ValueError (one line) naming what is wrong."""
  try:
    request = json.loads(line)
  except ValueError as e:
    raise ValueError(f"request {line.strip()[:200]!r} is not JSON: {e}") from e
  if not isinstance(request, dict):
    raise ValueError(f"request {line.strip()[:200]!r}: expected a JSON object")
  for key, kind in REQUEST_KEYS.items():
    if not isinstance(request.get(key), kind):
      raise ValueError(f"request {key}={request.get(key)!r}: expected a {kind.__name__}")
  for key in ("gin_files", "gin_bindings"):
    if not all(isinstance(x, str) for x in request[key]):
      raise ValueError(f"request {key}={request[key]!r}: expected a list of strings")
  return request


@contextlib.contextmanager
def output_to(path: str):
  """Points file descriptors 1 and 2 (Python's and C++'s output) at the end of `path`, then back."""
  sys.stdout.flush()
  sys.stderr.flush()
  saved = os.dup(1), os.dup(2)
  fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
  try:
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    yield
  finally:
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    for f in (fd, *saved):
      os.close(f)


def train_request(request: dict) -> int:
  """One unit's exit code; an exception other than Ctrl-C is this unit's failure (1), not the worker's."""
  from train import run  # pylint: disable=import-outside-toplevel
  import gin  # pylint: disable=import-outside-toplevel
  try:
    return run.run(request["gin_files"], request["gin_bindings"], request["workdir"], LOCK_WAIT_S)
  except KeyboardInterrupt:
    raise
  except Exception as e:  # outside Trainer.train (which records its own crash), e.g. in set-up
    traceback.print_exc()
    print(f"error: run failed: {type(e).__name__}: {' '.join(str(e).split())[:500]}", file=sys.stderr,
          flush=True)
    return 1
  finally:
    gin.clear_config()
    gc.collect()  # the unit's arrays go before the next unit allocates its own


def serve(requests, answers) -> None:
  """Runs each request line's unit, answering one line per request."""
  for line in requests:
    if not line.strip():
      continue
    try:
      request = parse_request(line)
    except ValueError as e:
      print(f"error: {e}", file=sys.stderr, flush=True)
      answers.write(json.dumps({"workdir": None, "exit_code": 2, "error": str(e)}) + "\n")
      answers.flush()
      continue
    os.makedirs(os.path.dirname(os.path.abspath(request["log"])), exist_ok=True)
    with output_to(request["log"]):
      code = train_request(request)
    answers.write(json.dumps({"workdir": request["workdir"], "exit_code": code}) + "\n")
    answers.flush()


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    print(f"error: unexpected arguments {argv[1:]}: expected requests on stdin", file=sys.stderr)
    sys.exit(2)
  logging.set_verbosity(logging.WARNING)  # orbax and jax log every save at INFO
  # Answers go to a private copy of stdout; fd 1 then joins stderr so no stray print reaches the launcher.
  answers = os.fdopen(os.dup(1), "w")
  sys.stdout.flush()
  os.dup2(2, 1)
  serve(sys.stdin, answers)


if __name__ == "__main__":
  app.run(main)
