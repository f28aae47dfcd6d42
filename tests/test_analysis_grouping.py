"""analysis/grouping.py: which runs form a sweep, which form an intervention, and their labels."""

import os

from analysis import grouping
from analysis import synthetic
from analysis.runs import find_runs


def _write(root, name, lr, gin_files=("gin/qkln.gin",), **bindings) -> None:
  synthetic.write_run(os.path.join(root, name), lr=lr, gin_files=gin_files, bindings=bindings)


def _names(groups) -> list[list[str]]:
  return [sorted(r.name for r in g) for g in groups]


def test_partition_groups_runs_that_differ_only_in_lr(tmp_path):
  _write(tmp_path, "a1", 1e-3, d_model=32, seed=0)
  _write(tmp_path, "a2", 1e-2, seed=0, d_model=32)
  _write(tmp_path, "b1", 1e-3, d_model=64, seed=0)
  _write(tmp_path, "c1", 1e-3, gin_files=("gin/no_qkln.gin",), d_model=32, seed=0)
  _write(tmp_path, "d1", 1e-3, d_model=32, seed=1)
  runs, _ = find_runs([str(tmp_path)])
  assert _names(grouping.partition(runs)) == [["a1", "a2"], ["b1"], ["c1"], ["d1"]]


def test_command_line_bindings_count_like_run_json_bindings(tmp_path):
  synthetic.write_run(str(tmp_path / "a"), lr=1e-3, gin_bindings=["ModelConfig.kappa=10.0"])
  synthetic.write_run(str(tmp_path / "b"), lr=1e-2, gin_bindings=["ModelConfig.kappa=100.0"])
  runs, _ = find_runs([str(tmp_path)])
  assert _names(grouping.partition(runs)) == [["a"], ["b"]]


def test_interventions_leave_size_free_and_label_what_varies(tmp_path):
  for size, d_model in (("2.4M", 256), ("9.4M", 512)):
    for name in ("qkln", "no_qkln"):
      _write(tmp_path, f"{name}{size}", 1e-2, gin_files=(f"gin/{name}.gin", f"gin/sizes/{size}.gin"),
             d_model=d_model, num_layers=3)
  runs, _ = find_runs([str(tmp_path)])
  labelled = grouping.interventions(runs)
  assert [(label, sorted(r.name for r in g)) for label, g in labelled] == [
      ("no_qkln", ["no_qkln2.4M", "no_qkln9.4M"]), ("qkln", ["qkln2.4M", "qkln9.4M"])]
  assert [size for size, _ in grouping.by_size(runs)] == sorted({r.params for r in runs})


def test_single_intervention_is_all_runs_and_by_lr_sorts(tmp_path):
  for lr in (1e-1, 1e-3, 1e-2):
    _write(tmp_path, f"lr{lr}", lr, d_model=32)
  runs, _ = find_runs([str(tmp_path)])
  [(label, members)] = grouping.interventions(runs)
  assert label == "all runs" and len(members) == 3
  assert [lr for lr, _ in grouping.by_lr(runs)] == [1e-3, 1e-2, 1e-1]


def test_label_and_varying_keys():
  configs = [{"gin_files": ["gin/qkln.gin", "gin/local.gin"], "ModelConfig.kappa": 1.0, "steps": 5},
             {"gin_files": ["gin/no_qkln.gin"], "ModelConfig.kappa": 2.0, "steps": 5}]
  keys = grouping.varying_keys(configs)
  assert keys == ["gin_files", "ModelConfig.kappa"]
  assert grouping.label(grouping.describe(configs[0], keys)) == "qkln+local, kappa=1.0"
