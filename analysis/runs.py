"""Run directories (docs/run_directory.md) loaded into `Run` objects.

Analysis reads only what a run wrote to disk: run.json (its inputs and the resolved `config` the trainer
builds from them), status.json and metrics.jsonl. It never imports the trainer and reads values, not gin:
only a run directory written before run.json carried `config` is read through its gin text (Run.setting).
"""

import collections
import dataclasses
import json
import math
import os
import re
import sys
import time
from typing import Any, Sequence

import numpy as np

from rundir import bindings as binding_lib
from rundir.files import CONFIG_GIN, METRICS_FILE, RUN_FILE, STATUS_FILE, read_jsonl

# muParam variants whose LR multipliers and head init are exactly 1 at d_model == mup_base_width, so the
# run is the standard model bit for bit (model/config.py; tests/test_model.py, Fig 8's d=64 check).
MUP_AT_BASE_IS_STANDARD = ("simple", "intermediate")

_CONFIG_LINE = re.compile(r"^([A-Za-z_][\w./]*)\s*=\s*(.+)$")
# run.json's config sections by the gin configurable that builds each (train/identity.py).
_SECTIONS = {"TrainConfig": "train", "OptimizerConfig": "optimizer", "ModelConfig": "model"}
_NO_STEPS = np.zeros(0, dtype=np.int64)
_NO_VALUES = np.zeros(0)


class InputError(ValueError):
  """Input analysis cannot use; CLIs print the message as one line and exit 2."""


def is_number(value: Any) -> bool:
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_gin_bindings(bindings: Sequence[str]) -> dict[str, Any]:
  """`--gin_bindings` strings ('ModelConfig.kappa=1e3') as {name: value}; later bindings win, as in gin."""
  return {name: binding_lib.value(value) for name, value in filter(None, map(binding_lib.split, bindings))}


def parse_operative_config(text: str) -> dict[str, Any]:
  """The one-line `name = value` entries of a gin operative config (multi-line values are not needed)."""
  parsed = {}
  for line in text.splitlines():
    match = _CONFIG_LINE.match(line)
    if match:
      parsed[match.group(1)] = binding_lib.value(match.group(2))
  return parsed


def operative_macros(text: str) -> set[str] | None:
  """The names in a gin operative config's `# Macros:` section (the macros the run read); None without one."""
  lines = text.splitlines()
  if "# Macros:" not in lines:
    return None
  names = set()
  for line in lines[lines.index("# Macros:") + 1:]:
    if line.startswith("# Parameters for"):
      break
    match = _CONFIG_LINE.match(line)
    if match:
      names.add(match.group(1))
  return names


def read_metrics(path: str) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int]:
  """metrics.jsonl as {key: (steps, values)} sorted by step, and the number of unreadable lines.

  A run killed mid-write leaves a truncated last line; it is skipped and counted. Non-numeric values
  are dropped; NaN and inf (as Python's json writes them) are kept: they mark a divergence.
  """
  records, unreadable = read_jsonl(path)
  columns: dict[str, dict[int, float]] = {}
  for record in records:
    step = int(record["step"])
    for key, value in record.items():
      if key != "step" and is_number(value):
        columns.setdefault(key, {})[step] = float(value)  # a rewritten step keeps its last value
  table = {}
  for key, by_step in columns.items():
    steps = np.array(sorted(by_step), dtype=np.int64)
    table[key] = (steps, np.array([by_step[s] for s in steps.tolist()]))
  return table, unreadable


@dataclasses.dataclass(eq=False)
class Run:
  """One run directory. `settings` are its inputs: run.json's macro values overlaid with its command-line
  gin_bindings (what a sweep varies); `config` is the resolved configuration (None in a run directory
  written before run.json carried one)."""

  path: str
  name: str
  gin_files: tuple[str, ...]
  gin_bindings: tuple[str, ...]
  bindings: dict[str, Any]
  status: dict[str, Any]
  config: dict[str, Any] | None = None
  settings: dict[str, Any] = dataclasses.field(init=False)
  _operative: dict[str, Any] | None = dataclasses.field(default=None, init=False, repr=False)
  _metrics: dict[str, tuple[np.ndarray, np.ndarray]] | None = dataclasses.field(
      default=None, init=False, repr=False)
  unreadable_lines: int = dataclasses.field(default=0, init=False)

  def __post_init__(self):
    self.settings = {**self.bindings, **parse_gin_bindings(self.gin_bindings)}

  def setting(self, *names: str, default: Any = None) -> Any:
    """The value of the first of `names` ('ModelConfig.kappa', or a bare field such as 'kappa') in the
    resolved config; None values count as unset, and give `default`."""
    if self.config is None:
      return self._legacy_setting(*names, default=default)
    for name in names:
      configurable, _, field = name.rpartition(".")
      sections = [_SECTIONS.get(configurable)] if configurable else list(_SECTIONS.values())
      for section in sections:
        value = self.config.get(section or "", {}).get(field)
        if value is not None:
          return value
    return default

  def _operative_config(self) -> dict[str, Any]:
    if self._operative is None:
      try:
        with open(os.path.join(self.path, CONFIG_GIN)) as f:
          self._operative = parse_operative_config(f.read())
      except (OSError, UnicodeDecodeError):
        self._operative = {}
    return self._operative

  def _legacy_setting(self, *names: str, default: Any = None) -> Any:
    """`setting` for a run.json without `config`: the first of `names` matched whole or as a dotted
    suffix among the command-line bindings, then in config.gin (values set inside gin files)."""
    for source in (self.settings, self._operative_config()):
      for name in names:
        for key, value in source.items():
          if key == name or key.endswith("." + name):
            if isinstance(value, str) and value.startswith("%"):
              value = self.settings.get(value[1:], self._operative_config().get(value[1:], value))
            return value
    return default

  @property
  def experiment(self) -> str | None:
    """What the run trains, as a key two suites' copies of one run share: its resolved config, where
    muParam at its base width reads as the standard model and the base width without muParam is
    dropped (MUP_AT_BASE_IS_STANDARD); None without a config."""
    if self.config is None or not isinstance(self.config.get("model"), dict):
      return None
    model = dict(self.config["model"])
    if model.get("mup") in MUP_AT_BASE_IS_STANDARD and model.get("d_model") == model.get("mup_base_width"):
      model["mup"] = "none"
    if model.get("mup") == "none":
      model.pop("mup_base_width", None)
    return json.dumps({**self.config, "model": model}, sort_keys=True)

  @property
  def lr(self) -> float | None:
    value = self.setting("lr")
    return float(value) if is_number(value) else None

  @property
  def state(self) -> str:
    return str(self.status.get("state", "unknown"))

  @property
  def reason(self) -> str:
    return str(self.status.get("reason") or "")

  @property
  def params(self) -> float | None:
    """Non-embedding parameters, the paper's model size (Kaplan et al.)."""
    value = self.status.get("num_nonembedding_params")
    return float(value) if is_number(value) and value > 0 else None

  @property
  def eps(self) -> float:
    """AdamW epsilon; 1e-8 (the paper's default) unless bound."""
    value = self.setting("OptimizerConfig.eps")
    return float(value) if is_number(value) else 1e-8

  @property
  def init_loss(self) -> float | None:
    """l0: eval loss at initialization, from status.json, else the step-0 eval in metrics.jsonl."""
    value = self.status.get("init_eval_loss")
    if is_number(value) and math.isfinite(value):
      return float(value)
    steps, losses = self.series("eval/loss")
    at_zero = losses[steps == 0]
    return float(at_zero[0]) if at_zero.size and math.isfinite(at_zero[0]) else None

  @property
  def final_loss(self) -> float | None:
    """Final eval loss; NaN for a diverged run; None when unknown (running, failed, no final eval)."""
    if self.state == "diverged":
      return math.nan
    if self.state != "completed":
      return None
    value = self.status.get("final_eval_loss")
    if is_number(value):
      return float(value)
    total = self.status.get("total_steps")
    steps, losses = self.series("eval/loss")
    if losses.size and steps[-1] > 0 and (not is_number(total) or steps[-1] >= total):
      return float(losses[-1])
    return None

  def missing_final_loss_reason(self) -> str:
    """Why `final_loss` is None, in a few words."""
    if self.state == "unknown":
      return self.reason or "no status.json"
    if self.state == "completed":
      return "completed without a final eval loss"
    return self.state + (f": {self.reason}" if self.reason else "")

  def metrics(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """All logged series, read once."""
    if self._metrics is None:
      self._metrics, self.unreadable_lines = read_metrics(os.path.join(self.path, METRICS_FILE))
    return self._metrics

  def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one metric; empty arrays when the run never logged it."""
    return self.metrics().get(key, (_NO_STEPS, _NO_VALUES))

  def window_mean(self, key: str, window: int) -> float | None:
    """Mean of the finite values of `key` logged within `window` steps of the run's last log of it."""
    steps, values = self.series(key)
    if not steps.size:
      return None
    recent = values[(steps > steps[-1] - window) & np.isfinite(values)]
    return float(recent.mean()) if recent.size else None

  def realised_max_logit(self) -> float | None:
    """The largest finite max attention logit the run logged, over every block and step."""
    peaks = [np.max(values[np.isfinite(values)]) for key, (_, values) in self.metrics().items()
             if key.startswith("attn/max_logit/") and np.isfinite(values).any()]
    return float(max(peaks)) if peaks else None


def _read_json(path: str) -> Any:
  with open(path) as f:
    return json.load(f)


def load_run(path: str, name: str) -> Run:
  """The run in `path`; InputError naming the file when run.json is unusable."""
  run_file = os.path.join(path, RUN_FILE)
  try:
    info = _read_json(run_file)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise InputError(f"{run_file}: unreadable ({e}); expected the JSON object of docs/run_directory.md")
  if not (isinstance(info, dict) and isinstance(info.get("bindings", {}), dict)
          and isinstance(info.get("config", {}), dict)
          and all(isinstance(v, list) for v in (info.get("gin_files", []), info.get("gin_bindings", [])))):
    raise InputError(f"{run_file}: expected "
                     "{'gin_files': [...], 'gin_bindings': [...], 'bindings': {...}}")
  status_file = os.path.join(path, STATUS_FILE)
  try:
    status = _read_json(status_file)
  except FileNotFoundError:
    status = {}
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:  # named, so the user can rerun the trainer
    status = {"reason": f"{status_file} is unreadable ({type(e).__name__}); rerun train.main to rebuild it"}
  bindings = dict(info.get("bindings", {}))
  try:
    with open(os.path.join(path, CONFIG_GIN)) as f:
      used = operative_macros(f.read())
  except (OSError, UnicodeDecodeError):
    used = None
  if used is not None:  # older trainers listed every macro defined, e.g. C4's vocab_path on the embedded corpus
    bindings = {k: v for k, v in bindings.items() if k in used}
  return Run(path=path, name=name, gin_files=tuple(map(str, info.get("gin_files", []))),
             gin_bindings=tuple(map(str, info.get("gin_bindings", []))),
             bindings=bindings, status=status if isinstance(status, dict) else {},
             config=info.get("config"))


def find_runs(roots: Sequence[str]) -> tuple[list[Run], list[str]]:
  """Every run directory (a folder holding run.json) under `roots`, at any depth, sorted by name, and
  one message per folder skipped. InputError when a root is missing or holds no run at all."""
  runs, problems = [], []
  for root in roots:
    if not os.path.isdir(root):
      raise InputError(f"{root}: not a directory; expected a run directory or a folder of them")
    for dirpath, dirnames, filenames in os.walk(root):
      dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
      if RUN_FILE not in filenames:
        continue
      dirnames[:] = []  # a run's subfolders (checkpoints/) hold no runs
      name = os.path.relpath(dirpath, root)
      if len(roots) > 1:
        name = os.path.normpath(os.path.join(root, name))
      try:
        runs.append(load_run(dirpath, name))
      except InputError as e:
        problems.append(str(e))
  if not runs:
    raise InputError(f"no run directories (folders holding {RUN_FILE}) under {', '.join(roots)}")
  return sorted(runs, key=lambda r: r.name), problems


def state_summary(runs: Sequence[Run]) -> str:
  """'125 completed, 5 diverged': how many runs are in each state."""
  counts = collections.Counter(run.state for run in runs)
  return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def load_metrics(runs: Sequence[Run], every_s: float = 2.0) -> None:
  """Reads every run's metrics.jsonl now, reporting progress on stderr (large trees take a while)."""
  last = time.monotonic()
  for i, run in enumerate(runs, 1):
    run.metrics()
    if time.monotonic() - last > every_s or i == len(runs):
      print(f"read metrics of {i}/{len(runs)} runs", file=sys.stderr, flush=True)
      last = time.monotonic()
