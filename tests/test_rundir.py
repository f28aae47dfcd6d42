"""rundir/: the run-directory package train, launch and analysis share, and the import graph around it."""

import ast
import json
import math
import pathlib
import sys

import numpy as np
import pytest

from rundir import bindings, display, files
from rundir.files import RunDir

REPO = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("rundir", "train", "launch", "analysis", "model")


def imported_packages(package: str) -> dict[str, set[str]]:
  """{top-level module imported anywhere in `package` (function bodies too): files importing it}."""
  found: dict[str, set[str]] = {}
  for path in sorted((REPO / package).rglob("*.py")):
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
      elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        names = [node.module]
      else:
        continue
      for name in names:
        found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(REPO)))
  return found


@pytest.mark.parametrize("package, forbidden", [
    ("rundir", {"train", "launch", "analysis", "model", "instability"}),
    ("analysis", {"train", "launch", "model"}),
    ("launch", {"train", "model"}),
    ("model", {"train", "launch", "analysis"}),
])
def test_layering(package, forbidden):
  imports = imported_packages(package)
  assert {name: sorted(imports[name]) for name in forbidden & set(imports)} == {}


@pytest.mark.parametrize("package", ["train", "launch", "analysis"])
def test_each_side_reads_the_run_directory_through_rundir(package):
  assert "rundir" in imported_packages(package)


def test_rundir_needs_only_the_standard_library():
  """absl (flag errors, rundir/flag_parser.py) aside: launch and analysis must stay free of JAX."""
  third_party = set(imported_packages("rundir")) - set(sys.stdlib_module_names) - {"rundir"}
  assert third_party == {"absl"}


def test_json_is_replaced_whole_and_read_tolerantly(tmp_path):
  path = str(tmp_path / "status.json")
  files.write_json(path, {"loss": np.float32(0.5), "step": np.int64(3), "nan": math.nan})
  assert files.read_json(path) == {"loss": 0.5, "step": 3, "nan": pytest.approx(math.nan, nan_ok=True)}
  assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temporary file left
  (tmp_path / "half.json").write_text('{"step": 3, "lo')
  (tmp_path / "list.json").write_text("[1, 2]")
  assert [files.read_json(str(tmp_path / n)) for n in ("half.json", "list.json", "missing.json")] == [None] * 3


def test_jsonl_keeps_complete_records_and_counts_the_rest(tmp_path):
  path = tmp_path / "metrics.jsonl"
  path.write_text('{"step": 0, "eval/loss": 9.0}\n\n[1]\n{"loss": 1}\n{"step": true}\nnot json\n'
                  '{"step": 5, "train/loss": 4.0}\n{"step": 10, "train/lo')
  records, unreadable = files.read_jsonl(str(path))
  assert [r["step"] for r in records] == [0, 5]
  assert unreadable == 5  # [1], no step, a bool step, not json, the cut last line
  assert files.read_jsonl(str(tmp_path / "missing.jsonl")) == ([], 0)


def test_truncation_keeps_complete_lines_up_to_the_step(tmp_path):
  run_dir = RunDir(str(tmp_path / "run"))
  for step in (0, 5, 10):
    run_dir.append_metrics({"step": step, "train/loss": np.float32(step)})
  with open(run_dir.file(files.METRICS_FILE), "a") as f:
    f.write('{"step": 3, "train/loss"')  # a kill mid-write
  assert [r["step"] for r in run_dir.metrics_records()] == [0, 5, 10]
  run_dir.truncate_metrics(5)
  assert pathlib.Path(run_dir.file(files.METRICS_FILE)).read_text() == (
      '{"step": 0, "train/loss": 0.0}\n{"step": 5, "train/loss": 5.0}\n')


def test_a_reader_writes_nothing(tmp_path):
  RunDir(str(tmp_path), writer=True).write_json(files.STATUS_FILE, {"state": "running"})
  reader = RunDir(str(tmp_path), writer=False)
  reader.update_status(state="completed")
  reader.append_metrics({"step": 1})
  assert reader.status() == {"state": "running"} and reader.metrics_records() == []


@pytest.mark.parametrize("text, expected", [
    ("lr=0.1", ("lr", "0.1")),
    (" ModelConfig.qk_layernorm = 'none'", ("ModelConfig.qk_layernorm", " 'none'")),
    ("scope/Config.x=a=b", ("scope/Config.x", "a=b")),
    ("lr", None), ("=1", None), ("1lr=2", None), ("l r=2", None),
])
def test_binding_shape(text, expected):
  assert bindings.split(text) == expected


def test_binding_values():
  assert [bindings.value(t) for t in (" 1e-3", "'none'", "True", "None", "%lr", "gin/x.gin")] == [
      0.001, "none", True, None, "%lr", "gin/x.gin"]


def test_gin_paths_resolve_from_the_working_directory_or_the_repository(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert bindings.resolve("gin/qkln.gin") == str(REPO / "gin/qkln.gin")
  (tmp_path / "mine.gin").write_text("lr = 0.1\n")
  assert bindings.resolve("mine.gin") == "mine.gin"
  assert bindings.resolve("gin/missing.gin") is None and bindings.resolve("gin") is None


def test_default_workdir_is_readable():
  assert bindings.default_workdir(["gin/qkln.gin", "gin/local.gin"], ["lr=0.1"]) == "runs/qkln+local,lr=0.1"
  assert bindings.default_workdir([], ["ModelConfig.mup = 'full'"]) == "runs/run,ModelConfig.mup=_full_"


@pytest.mark.parametrize("seconds, text", [(0, "0m00s"), (187.9, "3m07s"), (3900, "1h05m"), (math.inf, "?"),
                                           (math.nan, "?")])
def test_duration(seconds, text):
  assert display.duration(seconds) == text


def test_tables():
  rows = [["unit", "step", ""], ["a", "10/20", "why"], ["long-name", "-", ""]]
  assert display.columns(rows, right={1}).splitlines() == [
      "unit        step  ", "a          10/20  why", "long-name      -  "]
  assert display.markdown([["a", "b"], [1, "x"]]) == "| a | b |\n| --- | --- |\n| 1 | x |\n"
  assert display.markdown([]) == ""
  assert display.html_table(["<h>"], [["a&b"]]) == "<table><tr><th>&lt;h&gt;</th></tr><tr><td>a&amp;b</td></tr></table>"


def test_json_written_by_rundir_is_plain_json(tmp_path):
  RunDir(str(tmp_path)).write_json(files.RUN_FILE, {"config": {"lr": np.float64(0.1)}, "n": np.int32(2)})
  assert json.loads((tmp_path / files.RUN_FILE).read_text()) == {"config": {"lr": 0.1}, "n": 2}
