"""Gin inputs as the trainer and the launcher both name them: where a gin file is, and what a
`NAME=VALUE` binding says (gin itself parses them in train/; this is only their shape)."""

import ast
import os
import re
from typing import Any

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BINDING = re.compile(r"^\s*([A-Za-z_][\w./]*)\s*=(.*)$", re.S)
# OptimizerConfig's fields that reach the compiled step only as values (train/optimizer.Hyper; `decay` there
# is weight_decay's lambda): units differing only in these can share a program. tests/test_launch_local.py
# holds this list to Hyper's fields.
TRACED_OPTIMIZER_FIELDS = ("lr", "min_lr", "weight_decay", "b1", "b2", "eps", "clip_norm", "warmup_steps", "steps")


def candidates(path: str) -> tuple[str, str]:
  """Where a gin path may name a file: relative to the working directory, else to the repository root (as
  the trainer adds REPO_ROOT to gin's search path)."""
  return path, os.path.join(REPO_ROOT, path)


def resolve(path: str) -> str | None:
  """The file a gin path names (the first of its candidates that is a file); None when there is none."""
  return next((candidate for candidate in candidates(path) if os.path.isfile(candidate)), None)


def file_stem(value: Any) -> str:
  """A gin-file slot's value as unit names render it: the file's stem ('gin/x/mup_simple.gin' ->
  'mup_simple'), 'none' for no file (the default)."""
  return "none" if value is None else os.path.splitext(os.path.basename(str(value)))[0]


def split(binding: str) -> tuple[str, str] | None:
  """'ModelConfig.kappa = 1e3' -> ('ModelConfig.kappa', ' 1e3'); None when it is not NAME=VALUE."""
  match = _BINDING.match(binding)
  return (match.group(1), match.group(2)) if match else None


def value(text: str) -> Any:
  """A binding's value as Python ('1e-3' -> 0.001, "'none'" -> 'none'); anything else stays text."""
  try:
    return ast.literal_eval(text.strip())
  except (ValueError, SyntaxError):
    return text.strip()


def default_workdir(gin_files: list[str], gin_bindings: list[str]) -> str:
  """runs/<gin file stems>[,<bindings>]: readable and distinct for distinct configs (train.main's default)."""
  stems = [os.path.splitext(os.path.basename(f))[0] for f in gin_files]
  parts = ["+".join(stems) or "run"] + [b.replace(" ", "") for b in gin_bindings]
  return os.path.join("runs", re.sub(r"[^\w.,=+-]", "_", ",".join(parts)))
