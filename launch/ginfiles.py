"""Reads gin files with gin's own parser, without importing the model or the trainer.

The launcher checks a sweep's axes against the macros its gin files define, following
`include`s the way the trainer resolves them: relative to the working directory, else to the
repository root.
"""

import tokenize
from collections.abc import Iterable, Iterator, Sequence

from gin import config_parser

from launch.errors import LaunchError
from launch.spec import Unit
from rundir.bindings import REPO_ROOT, resolve


class _Delegate(config_parser.ParserDelegate):
  """Stands in for references and macros: only the statements' names matter here."""

  def configurable_reference(self, scoped_configurable_name, evaluate):
    return f"@{scoped_configurable_name}"

  def macro(self, macro_name):
    return f"%{macro_name}"


def _statements(path: str, chain: tuple[str, ...]) -> Iterator[config_parser.BindingStatement]:
  found = resolve(path)
  if found is None:
    via = f" (included by {chain[-1]})" if chain else ""
    raise LaunchError(f"gin file {path!r}{via} not found: expected a path relative to the "
                      f"working directory or to {REPO_ROOT}")
  if path in chain:
    raise LaunchError(f"gin file {path!r} includes itself via {' -> '.join(chain)}")
  with open(found) as f:
    try:
      statements = list(config_parser.ConfigParser(f, _Delegate()))
    except (SyntaxError, ValueError, tokenize.TokenError) as e:  # UnicodeDecodeError is a ValueError
      raise LaunchError(f"gin file {path!r} does not parse: {' '.join(str(e).split())}") from e
  for statement in statements:
    if isinstance(statement, config_parser.IncludeStatement):
      yield from _statements(statement.filename, chain + (path,))
    elif isinstance(statement, config_parser.BindingStatement):
      yield statement


def bound_names(gin_files: Iterable[str]) -> tuple[set[str], set[str]]:
  """(macros defined, configurables bound) by the files and everything they include."""
  macros, configurables = set(), set()
  for path in gin_files:
    for statement in _statements(path, ()):
      if statement.arg_name:
        configurables.add(statement.selector)
      elif not statement.scope:
        macros.add(statement.selector)
  return macros, configurables


def _check_key(key: str, gin_files: Sequence[str], macros: set[str], configurables: set[str]) -> None:
  selector, _, param = key.rpartition(".")
  if not param or (not selector and "." in key):
    raise LaunchError(f"sweep key {key!r} is malformed: expected a macro or Configurable.param")
  if not selector and key not in macros:
    raise LaunchError(f"sweep key {key!r} is not a gin macro of {list(gin_files)}: "
                      f"expected one of {', '.join(sorted(macros))}")
  if selector and selector not in configurables:
    raise LaunchError(f"sweep key {key!r} names configurable {selector!r}, which "
                      f"{list(gin_files)} never bind: expected one of {', '.join(sorted(configurables))}")


def check_units(units: Sequence[Unit], slots: Sequence[str], fixed: Iterable[str] = ()) -> None:
  """Every gin file parses; every swept or fixed key (but file slots) is a macro or a bound
  configurable's parameter (the trainer alone knows the parameters: it refuses unknown ones, exit 2)."""
  cache: dict[tuple[str, ...], tuple[set[str], set[str]]] = {}
  for unit in units:
    if unit.gin_files not in cache:
      cache[unit.gin_files] = bound_names(unit.gin_files)
    for key in [*unit.point, *fixed]:
      if key not in slots:
        _check_key(key, unit.gin_files, *cache[unit.gin_files])
