"""A sweep and its work units: one unit is one `train.main` run in `ROOT/<unit name>`.

A sweep's gin files may hold `{slot}` entries: each unit takes that entry from its point (a
gin file path, or None for no file). Every other point key becomes a gin binding, after the
sweep's fixed bindings. A unit's name is its point, `key=value` joined by commas, in axis order:
`arch=no_qkln,size=9.4M,lr=0.01`.
"""

import dataclasses
import re
from collections.abc import Mapping, Sequence

from launch.errors import LaunchError
from launch.hyper import Point, Value
from rundir import bindings

_SLOT = re.compile(r"^\{(\w+)\}$")
_UNSAFE = re.compile(r"[^\w.+-]")


@dataclasses.dataclass(frozen=True)
class Sweep:
  """A named sweep: gin files ({slot} entries filled per unit), fixed bindings, axis points."""
  name: str
  gin_files: Sequence[str]
  points: Sequence[Point]
  bindings: Mapping[str, Value] = dataclasses.field(default_factory=dict)
  description: str = ""

  def slots(self) -> list[str]:
    return [m.group(1) for m in map(_SLOT.match, self.gin_files) if m]

  def to_json(self) -> dict:
    return {"name": self.name, "description": self.description, "gin_files": list(self.gin_files),
            "bindings": dict(self.bindings)}


@dataclasses.dataclass(frozen=True)
class Unit:
  """One `train.main` invocation: its directory name, gin files and gin bindings."""
  name: str
  gin_files: tuple[str, ...]
  gin_bindings: tuple[str, ...]
  point: Mapping[str, Value]

  def to_json(self) -> dict:
    return {"name": self.name, "gin_files": list(self.gin_files),
            "gin_bindings": list(self.gin_bindings), "point": dict(self.point)}

  @classmethod
  def from_json(cls, obj: Mapping) -> "Unit":
    return cls(obj["name"], tuple(obj["gin_files"]), tuple(obj["gin_bindings"]), dict(obj["point"]))


def gin_value(value: Value) -> str:
  """The value as gin parses it back: Python literal syntax (strings quoted)."""
  return repr(value)


def name_value(value: Value, is_file: bool = False) -> str:
  """A short, filesystem-safe rendering: a file's stem, 0.001, 1000 (not 1000.0), none."""
  if value is None or is_file:
    value = bindings.file_stem(value)
  text = repr(value) if isinstance(value, float) else str(value)
  text = text.removesuffix(".0") if isinstance(value, float) else text
  return _UNSAFE.sub("_", text)


def unit_name(point: Mapping[str, Value], slots: Sequence[str]) -> str:
  if not point:
    return "default"
  return ",".join(f"{key}={name_value(value, key in slots)}" for key, value in point.items())


def _unit(sweep: Sweep, point: Point, slots: list[str]) -> Unit:
  files = []
  for entry in sweep.gin_files:
    match = _SLOT.match(entry)
    if not match:
      files.append(entry)
    elif match.group(1) not in point:
      raise LaunchError(f"sweep {sweep.name!r}: gin file slot {entry} has no axis: expected an "
                        f"axis with key {match.group(1)!r}")
    elif point[match.group(1)] is not None:
      files.append(str(point[match.group(1)]))
  overlap = sorted(sweep.bindings.keys() & point.keys())
  if overlap:
    raise LaunchError(f"sweep {sweep.name!r}: {overlap[0]!r} is both a fixed binding and an axis: "
                      "expected one or the other")
  fixed = [f"{key}={gin_value(value)}" for key, value in sweep.bindings.items()]
  swept = [f"{key}={gin_value(value)}" for key, value in point.items() if key not in slots]
  return Unit(unit_name(point, slots), tuple(files), tuple(fixed + swept), dict(point))


def expand(sweep: Sweep) -> list[Unit]:
  """The sweep's units in axis order; raises LaunchError on an empty sweep or clashing names."""
  if not sweep.points:
    raise LaunchError(f"sweep {sweep.name!r} has no units: an axis has no values")
  slots = sweep.slots()
  units = [_unit(sweep, point, slots) for point in sweep.points]
  seen: dict[str, Unit] = {}
  for unit in units:
    if unit.name in seen:
      raise LaunchError(f"sweep {sweep.name!r} gives two units the name {unit.name!r}: expected "
                        "distinct points (a repeated value, or two files with one stem)")
    seen[unit.name] = unit
  return units
