"""A run's identity: the resolved configuration that determines its computation, and its fingerprint.

run.json records both; every start compares the new configuration with the recorded one before
touching the directory, so a workdir never mixes two configurations (docs/run_directory.md).
"""

import dataclasses
import hashlib
import json
from typing import Any

# TrainConfig fields that change what is written or when, or when a diverging or warned run stops
# early (a decision on the recorded losses), never the numbers computed: they may change on resume.
RESUMABLE_TRAIN_FIELDS = ("log_every", "eval_every", "checkpoint_every", "keep_checkpoints", "tensorboard",
                          "divergence_threshold", "divergence_margin", "divergence_window", "stop_on_warning")

# Keys of `data` that say where the data lies, not what it is (the data's fingerprint and the
# vocabulary's sha256 say that): they may change on resume, e.g. on another machine or cache dir.
DATA_LOCATION_KEYS = ("data.vocabulary.path", "data.tfds_data_dir", "data.splits.train.first_shard",
                      "data.splits.validation.first_shard")


def resolved_config(train_cfg: Any, opt_cfg: Any, model_cfg: Any, data: dict) -> dict:
  """{'train', 'optimizer', 'model', 'data'} as plain JSON values."""
  train = {k: v for k, v in dataclasses.asdict(train_cfg).items() if k not in RESUMABLE_TRAIN_FIELDS}
  return json.loads(json.dumps({"train": train, "optimizer": dataclasses.asdict(opt_cfg),
                                "model": dataclasses.asdict(model_cfg), "data": data}))


def field_defaults(train_cfg: Any, opt_cfg: Any, model_cfg: Any) -> dict[str, Any]:
  """{'section.field': default} (JSON values) of the config fields that have a default: a field added
  later at its default computes what the code before it computed (`check`)."""
  defaults = {}
  for section, cfg in (("train", train_cfg), ("optimizer", opt_cfg), ("model", model_cfg)):
    for field in dataclasses.fields(cfg):
      default = (field.default_factory() if field.default_factory is not dataclasses.MISSING
                 else field.default)
      if default is not dataclasses.MISSING and _is_json(default):
        defaults.update(_flatten({section: {field.name: json.loads(json.dumps(default))}}))
  return defaults


def _is_json(value: Any) -> bool:
  try:
    json.dumps(value)
  except TypeError:  # e.g. gin.REQUIRED: no default
    return False
  return True


def fingerprint(config: dict) -> str:
  """A short hash of the canonical JSON of `config`."""
  text = json.dumps(config, sort_keys=True, separators=(",", ":"))
  return hashlib.sha256(text.encode()).hexdigest()[:16]


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      flat.update(_flatten(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def differences(old: dict, new: dict, defaults: dict[str, Any] | None = None) -> list[str]:
  """'key: old -> new' for each dotted key whose value differs (missing shows as <absent>); a key
  absent from `old` whose new value is its field's default in `defaults`, or a DATA_LOCATION_KEYS
  key, is no difference."""
  flat_old, flat_new, defaults = _flatten(old), _flatten(new), defaults or {}
  absent = "<absent>"
  return [f"{k}: {flat_old.get(k, absent)!r} -> {flat_new.get(k, absent)!r}"
          for k in sorted(set(flat_old) | set(flat_new))
          if flat_old.get(k, absent) != flat_new.get(k, absent) and k not in DATA_LOCATION_KEYS
          and not (k not in flat_old and k in defaults and flat_new.get(k, absent) == defaults[k])]


def check(workdir: str, recorded: dict | None, config: dict, defaults: dict[str, Any]) -> None:
  """Raises ValueError (one line) when run.json records another configuration than `config`.

  A run.json without a 'config' (written before identities existed) is accepted as is; one written
  before a field existed (the key absent) matches that field at its default (`field_defaults`).
  """
  if not recorded or "config" not in recorded:
    return
  if recorded.get("fingerprint") == fingerprint(config):
    return
  old = json.loads(json.dumps(recorded["config"]))
  for field in RESUMABLE_TRAIN_FIELDS:  # a run.json written when fewer fields were resumable
    old.get("train", {}).pop(field, None)
  diffs = differences(old, config, defaults)
  if diffs:
    raise ValueError(f"workdir {workdir} holds a run of another configuration ({'; '.join(diffs)}): "
                     "expected the same configuration to resume it; pick another --workdir")
