"""analysis/synthetic.py writes the trainer's format: checked against docs/run_directory.md and against a
real (tiny) trainer run."""

import json
import os
import re

import pytest

from analysis import figures
from analysis import sensitivity
from analysis import synthetic
from analysis.runs import find_runs
from tests.trainer_utils import REPO, run_train

_BLOCK = re.compile(r"block_\d+")


def _documented_key_pattern() -> re.Pattern:
  """The metric keys of docs/run_directory.md, `{i}` and `<param>` expanded, as one regex."""
  doc = (REPO / "docs" / "run_directory.md").read_text()
  metrics_part, params_part = doc.split("## `metrics.jsonl`")[1].split("Parameter paths")
  cell = lambda line: re.findall(r"`([^`]+)`", line.split("|")[1])
  keys = [k for line in metrics_part.splitlines() if line.startswith("| `") for k in cell(line)]
  params = [p for line in params_part.splitlines() if line.startswith("| `") for p in cell(line)]
  param_re = "|".join(re.escape(p).replace(r"\{i\}", r"\d+") for p in params)
  alternatives = [re.escape(k).replace(r"\{i\}", r"\d+").replace("<param>", f"(?:{param_re})") for k in keys]
  return re.compile("|".join(alternatives))


def _keys(paths) -> set[str]:
  """Every key in the runs' metrics.jsonl."""
  keys = set()
  for path in paths:
    with open(os.path.join(path, "metrics.jsonl")) as f:
      keys.update(k for line in f for k in json.loads(line))
  return keys


def _demo_keys(tmp_path) -> set[str]:
  return _keys(synthetic.write_demo_tree(str(tmp_path), steps=20, log_every=10))


def test_demo_metric_keys_are_documented(tmp_path):
  pattern = _documented_key_pattern()
  undocumented = {k for k in _demo_keys(tmp_path) if not pattern.fullmatch(k)}
  assert not undocumented


def test_demo_run_files_follow_the_contract(tmp_path):
  path = synthetic.write_run(str(tmp_path / "r"), lr=1e-2, final_loss=4.0)
  with open(os.path.join(path, "run.json")) as f:
    assert set(json.load(f)) == {"gin_files", "gin_bindings", "bindings"}
  with open(os.path.join(path, "status.json")) as f:
    status = json.load(f)
  assert {"state", "step", "init_eval_loss", "final_eval_loss", "num_params",
          "num_nonembedding_params"} <= set(status)


@pytest.mark.slow
def test_real_trainer_run_has_every_key_analysis_reads(tmp_path):
  workdir = tmp_path / "runs" / "real"
  run_train(workdir, ["steps=6", "lr=0.01", "TrainConfig.log_every=3", "TrainConfig.eval_every=3"])
  [run], _ = find_runs([str(tmp_path / "runs")])
  real = {_BLOCK.sub("block_N", k) for k in _keys([workdir])}
  demo = {_BLOCK.sub("block_N", k) for k in _demo_keys(tmp_path / "demo")}
  assert demo <= real, demo - real
  assert run.params and run.init_loss and run.final_loss and run.eps == 1e-8
  [result], _ = sensitivity.sensitivities([run], lrs=(0.01,))
  assert result.complete and result.best_lr == 0.01
  assert figures.grad_update_rms_per_block([run], str(tmp_path / "fig13"))
