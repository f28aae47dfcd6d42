"""Whether a rerun has nothing to do, decided from the run directory before the trainer's imports (jax,
TensorFlow: seconds), so rerunning a finished command answers at once.

Only when unambiguous: the run was started with exactly these gin files and bindings, and no gin file it
read (includes followed) changed since; anything else goes through the trainer's full check
(train/identity.py), which also refuses a changed configuration.
"""

import os
import tokenize

from gin import config_parser

from rundir.bindings import resolve
from rundir.files import FINISHED, RUN_FILE, RunDir


class _Names(config_parser.ParserDelegate):
  """Only `include` statements matter here: references and macros stay unevaluated."""

  def configurable_reference(self, scoped_configurable_name, evaluate):
    return None

  def macro(self, macro_name):
    return None


def _gin_mtimes(paths: list[str]) -> list[float] | None:
  """Modification times of the gin files and everything they include; None when one is missing or
  does not parse (the full check names it)."""
  mtimes, pending, seen = [], list(paths), set()
  while pending:
    found = resolve(pending.pop())
    if found is None:
      return None
    if found in seen:
      continue
    seen.add(found)
    try:
      with open(found) as f:
        statements = list(config_parser.ConfigParser(f, _Names()))
      mtimes.append(os.path.getmtime(found))
    except (OSError, SyntaxError, ValueError, tokenize.TokenError):  # UnicodeDecodeError is a ValueError
      return None
    pending += [s.filename for s in statements if isinstance(s, config_parser.IncludeStatement)]
  return mtimes


def state(gin_files: list[str], gin_bindings: list[str], workdir: str) -> str | None:
  """The run's finished state (completed, diverged, warned) when `workdir` holds this command's run,
  finished; None when it does not or cannot be told without the trainer."""
  run_dir = RunDir(workdir, writer=False)
  finished = run_dir.status().get("state")
  run_info = run_dir.read_json(RUN_FILE) or {}
  if (finished not in FINISHED or run_info.get("gin_files") != list(gin_files)
      or run_info.get("gin_bindings") != list(gin_bindings)):
    return None
  mtimes = _gin_mtimes(list(gin_files))
  if mtimes is None or max(mtimes, default=0.0) >= os.path.getmtime(run_dir.file(RUN_FILE)):
    return None
  return finished


def nothing_to_do(workdir: str, finished: str) -> str:
  return f"{workdir}: already {finished}; nothing to do"
