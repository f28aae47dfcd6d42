"""analysis/runs.py: finding and reading run directories, including the damaged ones a crash leaves."""

import json
import math
import os

import pytest

from analysis import grouping
from analysis import runs as runs_lib
from analysis import synthetic


def _only_run(root) -> runs_lib.Run:
  [run], problems = runs_lib.find_runs([str(root)])
  assert problems == []
  return run


def test_truncated_last_line_is_skipped_and_counted(tmp_path):
  path = synthetic.write_run(str(tmp_path / "r"), lr=1e-2, metrics=[
      {"step": 0, "eval/loss": 10.0}, {"step": 5, "train/loss": 6.0}])
  with open(os.path.join(path, "metrics.jsonl"), "a") as f:
    f.write('{"step": 10, "train/lo')  # killed mid-write
  run = _only_run(tmp_path)
  steps, values = run.series("train/loss")
  assert steps.tolist() == [5] and values.tolist() == [6.0]
  assert run.unreadable_lines == 1
  assert run.init_loss == 10.0


def test_nan_is_kept_and_missing_keys_are_empty(tmp_path):
  synthetic.write_run(str(tmp_path / "r"), lr=1e-2, metrics=[
      {"step": 5, "train/loss": 6.0}, {"step": 10, "train/loss": math.nan, "eval/loss": 7.0}])
  run = _only_run(tmp_path)
  assert math.isnan(run.series("train/loss")[1][-1])
  assert run.series("eval/loss")[0].tolist() == [10]
  assert run.series("attn/max_logit/block_0")[0].size == 0


def test_finds_runs_at_any_depth_and_skips_bad_run_json(tmp_path):
  synthetic.write_run(str(tmp_path / "a"), lr=1e-3)
  synthetic.write_run(str(tmp_path / "sweep" / "x" / "y"), lr=1e-2)
  (tmp_path / "broken").mkdir()
  (tmp_path / "broken" / "run.json").write_text('{"gin_files": ')
  runs, problems = runs_lib.find_runs([str(tmp_path)])
  assert [r.name for r in runs] == ["a", os.path.join("sweep", "x", "y")]
  assert len(problems) == 1 and "broken" in problems[0] and "run.json" in problems[0]


def test_no_runs_and_missing_root_are_input_errors(tmp_path):
  with pytest.raises(runs_lib.InputError, match="no run directories"):
    runs_lib.find_runs([str(tmp_path)])
  with pytest.raises(runs_lib.InputError, match="not a directory"):
    runs_lib.find_runs([str(tmp_path / "missing")])


def test_settings_prefer_command_line_then_config_gin(tmp_path):
  config = "lr = 0.01\nOptimizerConfig.eps = 1e-12\nModelConfig.kappa = 1000.0\nOptimizerConfig.lr = %lr\n"
  synthetic.write_run(str(tmp_path / "r"), lr=1e-2, gin_bindings=["ModelConfig.kappa=10.0"],
                      config_gin=config)
  run = _only_run(tmp_path)
  assert run.setting("kappa") == 10.0  # a command-line binding wins over the gin file's value
  assert run.eps == 1e-12
  assert run.setting("OptimizerConfig.lr") == 0.01  # macro references resolve
  assert run.setting("weight_decay_mode", default="independent") == "independent"


def test_settings_are_read_from_the_resolved_config_not_gin(tmp_path):
  """run.json's `config` (what the trainer ran) is the only source once present; gin text is not read."""
  config = {"train": {"steps": 100, "seed": 0},
            "optimizer": {"lr": 0.03, "eps": 1e-15, "weight_decay_mode": "coupled", "steps": 100},
            "model": {"kappa": None, "num_layers": 0, "qk_layernorm": "none"}}
  synthetic.write_run(str(tmp_path / "r"), lr=1e-2, gin_bindings=["ModelConfig.kappa=10.0"], config=config,
                      config_gin="OptimizerConfig.eps = 1e-12\nModelConfig.num_layers = 6\n")
  run = _only_run(tmp_path)
  assert run.lr == 0.03 and run.eps == 1e-15
  assert run.setting("OptimizerConfig.weight_decay_mode", "weight_decay_mode") == "coupled"
  assert run.setting("ModelConfig.num_layers", "num_layers") == 0 and run.setting("num_layers") == 0
  assert run.setting("kappa", default="unset") == "unset"  # None in the config: not set
  assert run.setting("TrainConfig.lr", default="none") == "none"  # a field of another section
  assert run.setting("Unknown.steps", default="none") == "none"


def test_a_config_that_is_not_an_object_is_refused(tmp_path):
  synthetic.write_run(str(tmp_path / "r"), lr=1e-2)
  info = json.loads((tmp_path / "r" / "run.json").read_text())
  (tmp_path / "r" / "run.json").write_text(json.dumps({**info, "config": [1]}))
  with pytest.raises(runs_lib.InputError, match="no run directories"):
    runs_lib.find_runs([str(tmp_path)])


def test_a_macro_the_run_never_read_is_no_setting(tmp_path):
  """Older trainers recorded every defined macro (C4's vocab_path on the embedded corpus); config.gin's
  Macros section says which the run read, so runs of old and new trainers group together."""
  config = "# Macros:\n# ===\nlr = 0.01\nnum_layers = 2\n\n# Parameters for TrainConfig:\nTrainConfig.seed = 0\n"
  old = {"lr": 1e-2, "num_layers": 2, "vocab_path": "gs://t5-data/vocabs/cc_all.32000.100extra/sentencepiece.model"}
  synthetic.write_run(str(tmp_path / "old"), lr=1e-2, bindings=old, config_gin=config)
  synthetic.write_run(str(tmp_path / "new"), lr=1e-1, bindings={"lr": 1e-1, "num_layers": 2}, config_gin=config)
  synthetic.write_run(str(tmp_path / "no_config_gin"), lr=1e-3, bindings=old)
  runs = {r.name: r for r in runs_lib.find_runs([str(tmp_path)])[0]}
  assert "vocab_path" not in runs["old"].settings and runs["old"].settings["num_layers"] == 2
  assert runs["no_config_gin"].settings["vocab_path"] == old["vocab_path"]  # nothing says it was unused
  assert grouping.partition([runs["old"], runs["new"]]) == [[runs["old"], runs["new"]]]


def test_final_loss_by_state(tmp_path):
  synthetic.write_run(str(tmp_path / "done"), lr=1e-3, final_loss=4.0)
  synthetic.write_run(str(tmp_path / "diverged"), lr=1e-2, state="diverged", final_loss=None)
  synthetic.write_run(str(tmp_path / "running"), lr=1e-1, state="running")
  synthetic.write_run(str(tmp_path / "no_status_loss"), lr=3e-1, step=20,  # final_eval_loss null
                      metrics=[{"step": 0, "eval/loss": 9.0}, {"step": 20, "eval/loss": 5.0}])
  runs = {r.name: r for r in runs_lib.find_runs([str(tmp_path)])[0]}
  assert runs["done"].final_loss == 4.0
  assert math.isnan(runs["diverged"].final_loss)
  assert runs["running"].final_loss is None
  assert "running" in runs["running"].missing_final_loss_reason()
  assert runs["no_status_loss"].final_loss == 5.0  # the eval after the last update


def test_load_metrics_reports_progress(tmp_path, capsys):
  for lr in (1e-3, 1e-2):
    synthetic.write_run(str(tmp_path / f"lr{lr}"), lr=lr, metrics=[{"step": 0, "eval/loss": 10.0}])
  runs, _ = runs_lib.find_runs([str(tmp_path)])
  runs_lib.load_metrics(runs)
  assert "read metrics of 2/2 runs" in capsys.readouterr().err
