"""Which runs belong together: every grouping of runs (or of a suite's units) in analysis is `group_by`.

A sweep is the runs that differ only in `lr` (same gin files, same bindings otherwise); an intervention
is a sweep with the model size also left free (size macros, and gin files under a `sizes/` folder, as
in gin/sizes/). Labels name only what varies among the runs at hand, so tables and legends stay short.
"""

import json
import os
from typing import Any, Callable, Hashable, Iterable, Sequence, TypeVar

from analysis import fmt
from analysis.runs import Run

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
SIZE_SETTINGS = frozenset({"d_model", "num_layers", "num_heads", "d_head", "mlp_ratio"})
GIN_FILES = "gin_files"


def short(key: str) -> str:
  """'ModelConfig.qk_layernorm' -> 'qk_layernorm'."""
  return key.rsplit(".", 1)[-1]


def is_size_file(path: str) -> bool:
  return "sizes" in os.path.normpath(path).split(os.sep)[:-1]


def config(run: Run, *, with_size: bool = True) -> dict[str, Any]:
  """What a sweep holds fixed: gin files and settings, without lr (and without the model size)."""
  gin_files = [f for f in run.gin_files if with_size or not is_size_file(f)]
  settings = {k: v for k, v in run.settings.items()
              if short(k) != "lr" and (with_size or short(k) not in SIZE_SETTINGS)}
  return {GIN_FILES: gin_files, **settings}


def freeze(value: Any) -> str:
  """A hashable, order-independent stand-in for a JSON-like value."""
  return json.dumps(value, sort_keys=True, default=str)


def group_by(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
  """The items by key(item): keys in order of first appearance, each group in the items' order."""
  groups: dict[K, list[T]] = {}
  for item in items:
    groups.setdefault(key(item), []).append(item)
  return groups


def config_key(run: Run, *, with_size: bool = True) -> str:
  """A sweep's (with_size) or an intervention's (without) identity: its `config`, frozen."""
  return freeze(config(run, with_size=with_size))


def partition(runs: Sequence[Run], *, with_size: bool = True) -> list[list[Run]]:
  """Runs grouped by `config`, in order of first appearance."""
  return list(group_by(runs, lambda run: config_key(run, with_size=with_size)).values())


def varying_keys(configs: Sequence[dict[str, Any]]) -> list[str]:
  """Keys whose value (absence included) is not the same in every config; gin files first."""
  keys = sorted(set().union(*configs), key=lambda k: (k != GIN_FILES, k)) if configs else []
  return [k for k in keys if len({freeze(c.get(k)) for c in configs}) > 1]


def describe(config_: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
  """The entries of `keys` that the config has (an absent binding is left out, not shown as None)."""
  return {k: config_[k] for k in keys if k in config_}


def label(description: dict[str, Any]) -> str:
  """'qkln, qk_layernorm=none': gin files by base name, settings by short name."""
  parts = []
  for key, value in description.items():
    if key == GIN_FILES:
      parts.append("+".join(os.path.splitext(os.path.basename(f))[0] for f in value or []) or "no gin file")
    elif key == "params":
      parts.append(f"{fmt.count(value)} params")
    else:
      parts.append(f"{short(key)}={value}")
  return ", ".join(parts)


def interventions(runs: Sequence[Run]) -> list[tuple[str, list[Run]]]:
  """Runs split by everything but lr and model size, each with a label naming what sets it apart."""
  groups = partition(runs, with_size=False)
  configs = [config(g[0], with_size=False) for g in groups]
  keys = varying_keys(configs)
  return [(label(describe(c, keys)) or "all runs", g) for c, g in zip(configs, groups)]


def _grouped_by(runs: Sequence[Run],
                value_of: Callable[[Run], float | None]) -> list[tuple[float, list[Run]]]:
  """Runs grouped by a value, smallest first; runs without one are left out."""
  return sorted(group_by([r for r in runs if value_of(r) is not None], value_of).items())


def by_size(runs: Sequence[Run]) -> list[tuple[float, list[Run]]]:
  """Runs with a known size, grouped by non-embedding parameter count."""
  return _grouped_by(runs, lambda r: r.params)


def by_lr(runs: Sequence[Run]) -> list[tuple[float, list[Run]]]:
  """Runs with an lr binding grouped by lr."""
  return _grouped_by(runs, lambda r: r.lr)
