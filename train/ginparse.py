"""Parses gin files and bindings into the run's config, rejecting what gin would silently accept.

gin accepts any `name = value` as a new macro, so a typo such as `lrr=0.1`
would be ignored; here a binding must name a macro the files define or a
Configurable.parameter.
"""

import ast
import os
import tokenize
from collections.abc import Callable, Sequence

import gin

from rundir import bindings as binding_lib
from rundir.bindings import REPO_ROOT
# Every configurable the gin files bind, registered before a file is parsed.
from train import configs, data  # noqa: F401  # pylint: disable=unused-import

MACROS = ("lr", "steps", "warmup_steps", "batch_size", "seq_len", "d_model", "num_layers",
          "num_heads", "seed")


def defined_macros() -> dict[str, object]:
  """{macro: value} of every macro bound so far (gin stores `x = v` as `x/macro.value`)."""
  config = gin.config._CONFIG  # gin has no public listing of macros
  return {scope: params["value"] for (scope, selector), params in config.items()
          if selector == "gin.macro" and "value" in params}


def macros_read(bindings: dict[str, object], also: Sequence[Callable] = ()) -> dict[str, object]:
  """The entries of `bindings` whose macro the run reads: one a configurable called so far has read (gin's
  operative config) or one bound to a parameter of a configurable in `also` (called later, or never by a
  launcher's check). What run.json records, so runs on the embedded corpus do not list C4's vocab_path."""
  read = {scope for scope, selector in gin.config._OPERATIVE_CONFIG if selector == "gin.macro"}
  for fn in also:
    for value in gin.config._CONFIG.get(("", f"{fn.__module__}.{fn.__name__}"), {}).values():
      if isinstance(value, gin.config.ConfigurableReference) and value.selector == "gin.macro":
        read.update(value.scopes)
  return {name: value for name, value in bindings.items() if name in read}


def _one_line(e: BaseException) -> str:
  text = " ".join(str(e).split())
  return text if len(text) < 400 else text[:400] + "..."


def _unreadable_value(name: str, text: str, current: object) -> str | None:
  """What is wrong with a value gin cannot read (a bare word: `lr=abc`), said as the sweep path says it;
  None when the value itself reads (the error is elsewhere: gin's own message then)."""
  text = text.strip()
  if text.startswith(("@", "%")):
    return None
  try:
    ast.literal_eval(text)
    return None
  except (ValueError, SyntaxError):
    pass
  if isinstance(current, (int, float)) and not isinstance(current, bool):
    return f"{text!r} is not a number: expected a number (the gin files set {name} = {current!r})"
  return (f"{text!r} is not a gin value: expected a number, True/False/None, a quoted string "
          f"('{text}'), a list or a @configurable / %macro reference")


def parse(gin_files: list[str], gin_bindings: list[str]) -> dict:
  """Parses files then bindings; returns run.json's object or raises ValueError (one line)."""
  gin.clear_config()
  gin.add_config_file_search_path(REPO_ROOT)
  for path in gin_files:
    if binding_lib.resolve(path) is None:
      what = "is a folder" if any(map(os.path.isdir, binding_lib.candidates(path))) else "not found"
      raise ValueError(f"gin file {path!r} {what}: expected a .gin file's path relative to the working "
                       f"directory or to {REPO_ROOT}")
  try:
    gin.parse_config_files_and_bindings(gin_files, None, finalize_config=False)
  except (ValueError, SyntaxError, OSError, TypeError) as e:
    raise ValueError(f"bad gin file among {gin_files}: {_one_line(e)}") from e
  macros = defined_macros()
  for binding in gin_bindings:
    parts = binding_lib.split(binding)
    if parts is None:
      raise ValueError(f"gin binding {binding!r} is malformed: expected NAME=VALUE, "
                       "e.g. lr=0.1 or ModelConfig.qk_layernorm='none'")
    name = parts[0]
    if "." not in name and "/" not in name and name not in macros:
      raise ValueError(f"unknown gin binding {name!r} in {binding!r}: expected one of the macros "
                       f"{', '.join(sorted(macros))} or Configurable.parameter")
    try:
      gin.parse_config(binding)
    except (ValueError, SyntaxError, TypeError, KeyError, tokenize.TokenError) as e:  # TokenError: 'lr=[1,'
      reason = _unreadable_value(name, parts[1], macros.get(name)) or _one_line(e)
      raise ValueError(f"bad gin binding {binding!r}: {reason}") from e
  gin.finalize()
  bindings = defined_macros()
  missing = [m for m in MACROS if m not in bindings]
  if missing:
    raise ValueError(f"gin macros {', '.join(missing)} are not defined by {gin_files}: expected "
                     "gin/base.gin (via gin/qkln.gin or gin/no_qkln.gin) among the gin files")
  return {"gin_files": list(gin_files), "gin_bindings": list(gin_bindings), "bindings": bindings}


def validate(units: list[dict]) -> list[str]:
  """'unit NAME: reason' for each unit ({"name", "gin_files", "gin_bindings"}) whose gin config or
  config values are bad: a launcher checks a whole sweep in one process before anything trains (here,
  beside the parser, so that process imports no trainer, checkpointer or model)."""
  errors = []
  for unit in units:
    try:
      parse(unit["gin_files"], unit["gin_bindings"])
      configs.from_gin()
    except ValueError as e:
      errors.append(f"unit {unit['name']!r}: {str(e).splitlines()[0]}")
  return errors
