"""Source checks that keep each fact in one place: the run states in rundir/ only."""

import ast
import pathlib

from rundir import files

REPO = pathlib.Path(__file__).resolve().parent.parent
CODE = ("analysis", "launch", "train", "instability", "model")
STATES = {files.COMPLETED, files.DIVERGED, files.WARNED, files.FAILED, "pending", "running"}


def _sources(*folders: str) -> list[pathlib.Path]:
  return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


def test_run_states_are_listed_only_in_rundir():
  """No collection of two or more state names outside rundir/: a list there is the one to import."""
  found = []
  for path in _sources(*CODE):
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        names = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if len(names) >= 2 and len(names) == len(node.elts) and set(names) <= STATES:
          found.append(f"{path.relative_to(REPO)}:{node.lineno}")
  assert not found, found
  assert set(files.FINAL) == {"completed", "diverged", "warned", "failed"}
