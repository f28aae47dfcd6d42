"""Axes given on the command line, one `--sweep` flag each; flags multiply (cartesian product).

  --sweep='lr=[1e-3,1e-2]'                          one axis
  --sweep='steps=[100,200];warmup_steps=[10,20]'    tied axes (zip): two points, not four
  --sweep='arch=[gin/qkln.gin,gin/no_qkln.gin]'     fills --gin_file='{arch}'

A value is a Python literal when it parses as one (1e-3, 32, 'none', True, None), else the bare
text (gin/ablations/mup_simple.gin).
"""

import ast
import re

from launch import hyper
from launch.errors import LaunchError
from rundir import bindings

_AXIS = re.compile(r"^\s*([A-Za-z_][\w./]*)\s*=\s*\[(.*)\]\s*$", re.S)
_BARE = re.compile(r"^[\w./+-]+$")  # an unquoted value must read as a path or a name


def _value(text: str) -> hyper.Value:
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    if not _BARE.match(text):
      raise LaunchError(f"sweep value {text!r} is neither a literal nor a path: expected e.g. 1e-3, "
                        "'per_head', None or gin/ablations/no_z_loss.gin") from None
    return text
  if not isinstance(value, (int, float, str, bool, type(None))):
    raise LaunchError(f"sweep value {text!r} is a {type(value).__name__}: expected a number, "
                      "string, bool, None or a gin file path")
  return value


def parse_axis(text: str) -> list[hyper.Point]:
  """`key=[v1,v2,...]` -> one axis."""
  match = _AXIS.match(text)
  if not match:
    raise LaunchError(f"sweep axis {text!r} is malformed: expected KEY=[V1,V2,...], e.g. "
                      "lr=[1e-3,1e-2]")
  key, body = match.groups()
  values = [_value(item.strip()) for item in body.split(",") if item.strip()]
  if not values:
    raise LaunchError(f"sweep axis {text!r} has no values: expected KEY=[V1,V2,...]")
  return hyper.sweep(key, values)


def parse_binding(text: str) -> tuple[str, hyper.Value]:
  """`key=value` -> (key, value), for the bindings every unit of a sweep gets."""
  parts = bindings.split(text)
  if parts is None:
    raise LaunchError(f"gin binding {text!r} is malformed: expected NAME=VALUE, e.g. steps=50")
  return parts[0], _value(parts[1].strip())


def parse_sweep(text: str) -> list[hyper.Point]:
  """One --sweep flag: an axis, or `k1=[...];k2=[...]` whose keys move together."""
  parts = [part for part in text.split(";") if part.strip()]
  if not parts:
    raise LaunchError(f"sweep {text!r} is empty: expected KEY=[V1,V2,...]")
  return hyper.zipit(*[parse_axis(part) for part in parts])
