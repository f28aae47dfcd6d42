"""Sweep axes in the manner of XManager's `hyper`: an axis is a list of points {key: value}.

  product(sweep("lr", [1e-3, 1e-2]),
          zipit(sweep("steps", [100, 200]), sweep("warmup_steps", [10, 20])))

gives four points. A key is a gin macro (`lr`), a `Configurable.parameter`, or a gin-file slot
(a key that the sweep's gin files name as `{key}`; its values are gin file paths or None).
Point lists concatenate with `+` for a union of sub-sweeps.
"""

import itertools
from collections.abc import Iterable, Sequence

from launch.errors import LaunchError

Value = int | float | str | bool | None
Point = dict[str, Value]


def sweep(key: str, values: Iterable[Value]) -> list[Point]:
  """One axis: the key takes each value in turn."""
  return [{key: value} for value in values]


def _merge(points: Sequence[Point]) -> Point:
  merged: Point = {}
  for point in points:
    repeated = merged.keys() & point.keys()
    if repeated:
      raise LaunchError(f"sweep key {sorted(repeated)[0]!r} appears in two combined axes: "
                        "expected each key in one axis only")
    merged.update(point)
  return merged


def product(*axes: Sequence[Point]) -> list[Point]:
  """The cartesian product: every combination of one point per axis, first axis slowest."""
  return [_merge(combo) for combo in itertools.product(*axes)]


def zipit(*axes: Sequence[Point]) -> list[Point]:
  """Tied axes: the i-th points of every axis together; the axes must have equal lengths."""
  lengths = sorted({len(axis) for axis in axes})
  if len(lengths) > 1:
    raise LaunchError(f"zipped axes have lengths {lengths}: expected equal lengths")
  return [_merge(combo) for combo in zip(*axes)]
