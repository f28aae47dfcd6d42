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


def resolved_config(train_cfg: Any, opt_cfg: Any, model_cfg: Any, data: dict) -> dict:
  """{'train', 'optimizer', 'model', 'data'} as plain JSON values."""
  train = {k: v for k, v in dataclasses.asdict(train_cfg).items() if k not in RESUMABLE_TRAIN_FIELDS}
  return json.loads(json.dumps({"train": train, "optimizer": dataclasses.asdict(opt_cfg),
                                "model": dataclasses.asdict(model_cfg), "data": data}))


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


def differences(old: dict, new: dict) -> list[str]:
  """'key: old -> new' for each dotted key whose value differs (missing shows as <absent>)."""
  flat_old, flat_new = _flatten(old), _flatten(new)
  absent = "<absent>"
  return [f"{k}: {flat_old.get(k, absent)!r} -> {flat_new.get(k, absent)!r}"
          for k in sorted(set(flat_old) | set(flat_new)) if flat_old.get(k, absent) != flat_new.get(k, absent)]


def check(workdir: str, recorded: dict | None, config: dict) -> None:
  """Raises ValueError (one line) when run.json records another configuration than `config`.

  A run.json without a 'config' (written before identities existed) is accepted as is.
  """
  if not recorded or "config" not in recorded:
    return
  if recorded.get("fingerprint") == fingerprint(config):
    return
  old = json.loads(json.dumps(recorded["config"]))
  for field in RESUMABLE_TRAIN_FIELDS:  # a run.json written when fewer fields were resumable
    old.get("train", {}).pop(field, None)
  diffs = differences(old, config)
  if diffs:
    raise ValueError(f"workdir {workdir} holds a run of another configuration ({'; '.join(diffs)}): "
                     "expected the same configuration to resume it; pick another --workdir")
