"""Parses gin files and bindings into the run's config, rejecting what gin would silently accept.

gin accepts any `name = value` as a new macro, so a typo such as `lrr=0.1`
would be ignored; here a binding must name a macro the files define or a
Configurable.parameter.
"""

import ast
import inspect
import os
import tokenize
from collections.abc import Callable, Sequence

import gin

from rundir import bindings as binding_lib
from rundir.bindings import REPO_ROOT
# Every configurable the gin files bind, registered before a file is parsed.
from train import configs, data  # noqa: F401  # pylint: disable=unused-import

_OWN = ("train.", "model.", "instability.")  # the packages whose configurables the gin files bind
MACROS = ("lr", "steps", "warmup_steps", "batch_size", "seq_len", "d_model", "num_layers",
          "num_heads", "seed")


def defined_macros() -> dict[str, object]:
  """{macro: value} of every macro bound so far (gin stores `x = v` as `x/macro.value`)."""
  config = gin.config._CONFIG  # gin has no public listing of macros
  return {scope: params["value"] for (scope, selector), params in config.items()
          if selector == "gin.macro" and "value" in params}


def _macros_in(config: object, into: set[str]) -> None:
  """Adds to `into` every macro `config` refers to, in lists and dicts too, and the macros those refer to."""
  for reference in gin.config.iterate_references(config):
    if reference.selector == "gin.macro":
      for name in set(reference.scopes) - into:
        into.add(name)
        _macros_in(gin.config._CONFIG.get((name, "gin.macro"), {}), into)


def _called() -> tuple[set[str], set[str], Callable | None]:
  """(configurables, macros, source): the configurables called so far and the macros they read (gin's
  operative config, which has no public listing), plus make_dataset and the data source it will call (None
  if unknown), and the macros their bindings refer to (they are called after configs.from_gin(), or never by
  a launcher's check)."""
  sources = data.bound_source()
  later = {f"{fn.__module__}.{fn.__name__}" for fn in [data.make_dataset, *sources]}
  configurables = set(later)
  macros: set[str] = set()
  for scope, selector in gin.config._OPERATIVE_CONFIG:
    if selector == "gin.macro":
      macros.add(scope)
    else:
      configurables.add(selector)
  for selector in later:
    _macros_in(gin.config._CONFIG.get(("", selector), {}), macros)
  return configurables, macros, sources[0] if sources else None


def macros_read(bindings: dict[str, object]) -> dict[str, object]:
  """The entries of `bindings` whose macro the run reads (see _called): what run.json records."""
  read = _called()[1]
  return {name: value for name, value in bindings.items() if name in read}


def read_configs(gin_bindings: Sequence[str]) -> configs.RunConfigs:
  """configs.from_gin(), refusing (ValueError) a binding that sets what the run never reads, which gin accepts
  and the run would silently ignore: a macro no configurable it calls reads, a parameter of a configurable it
  never calls (C4's vocab_path or c4_source.version on the embedded corpus), or any scoped binding (no
  configurable is called in a scope)."""
  cfgs = configs.from_gin()
  called, read, source = _called()
  under = f"the data source is {source.__name__}" if source else "under these gin files"
  for binding in gin_bindings:
    name = binding_lib.split(binding)[0]
    scope, _, bare = name.rpartition("/")
    if scope:
      raise ValueError(f"gin binding {binding!r} is scoped to {scope!r}, and this run calls no configurable in a "
                       f"scope: expected it without the scope ({bare}=...)")
    if "." not in name and name not in read:
      raise ValueError(f"gin binding {binding!r} sets macro {name!r}, which this run never reads ({under}): "
                       f"expected one of the macros it reads: {', '.join(sorted(read))}")
    configurable = gin.config._REGISTRY.get_match(name.rsplit(".", 1)[0]) if "." in name else None
    if configurable is not None and configurable.selector not in called:
      names = ", ".join(sorted(c.rsplit(".", 1)[-1] for c in called))
      raise ValueError(f"gin binding {binding!r} sets a parameter of {configurable.name}, which this run never "
                       f"calls ({under}): expected a parameter of {names}")
  return cfgs


def _one_line(e: BaseException) -> str:
  text = " ".join(str(e).split())
  return text if len(text) < 400 else text[:400] + "..."


def _unknown_parameter(name: str) -> str | None:
  """What is wrong with `Configurable.parameter` when gin knows no such configurable or parameter, with
  the names it does know (gin's own message names neither); None when gin knows it."""
  configurable_name, parameter = name.rsplit("/", 1)[-1].rsplit(".", 1)
  configurable = gin.config._REGISTRY.get_match(configurable_name)
  if configurable is None or not configurable.selector.startswith(_OWN):  # gin's own: constant, macro, ...
    known = sorted({c.name for selector, c in gin.config._REGISTRY.items() if selector.startswith(_OWN)})
    return f"no configurable {configurable_name!r}: expected one of {', '.join(known)}"
  parameters = [p for p in inspect.signature(configurable.wrapped).parameters
                if p not in (configurable.denylist or ()) and p in (configurable.allowlist or [p])]
  if parameter not in parameters:
    return f"{configurable.name} has no parameter {parameter!r}: expected one of {', '.join(parameters)}"
  return None


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
  except (ValueError, SyntaxError, OSError, TypeError, tokenize.TokenError) as e:  # TokenError: 'lr = (1,'
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
    if reason := "." in name and _unknown_parameter(name):
      raise ValueError(f"bad gin binding {binding!r}: {reason}")
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
      read_configs(unit["gin_bindings"])
    except ValueError as e:
      errors.append(f"unit {unit['name']!r}: {str(e).splitlines()[0]}")
  return errors
