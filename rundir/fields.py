"""Config values checked against their annotations. gin binds any Python value, so `ModelConfig.kappa='x'`
or `MonitorThresholds.dense_steps=2.5` would otherwise fail as a TypeError deep in the run, after its
directory is written, or not at all."""

import dataclasses
import types
import typing
from typing import Any

_EXPECTED = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _allows(kind: type, value: Any) -> bool:
  if kind is float:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
  if kind is int:
    return isinstance(value, int) and not isinstance(value, bool)
  return isinstance(value, kind)


def _check(label: str, hint: Any, value: Any) -> None:
  """ValueError unless `value` is one its annotation (int, float, bool, str, or one of them | None)
  allows; other annotations (typing.Optional among them: the configs write `X | None`) are not checked."""
  kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
  scalars = [k for k in kinds if k is not type(None)]
  if not all(k in _EXPECTED for k in scalars):
    return
  if value is None and type(None) in kinds or any(_allows(k, value) for k in scalars):
    return
  expected = " or ".join([_EXPECTED[k] for k in scalars] + (["None"] if type(None) in kinds else []))
  raise ValueError(f"{label}={value!r}: expected {expected}")


def check(config: Any, name: str) -> None:
  """Each field of the dataclass `config`; `name` is its configurable's, as gin binds it."""
  hints = typing.get_type_hints(type(config))
  for field in dataclasses.fields(config):
    _check(f"{name}.{field.name}", hints[field.name], getattr(config, field.name))
