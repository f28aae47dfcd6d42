"""The analysis CLIs end to end (subprocesses): JSON and tables, and one line + exit 2 on bad input."""

import json
import os
import re
import subprocess
import sys

import pytest

from analysis import synthetic

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(module: str, *args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", f"analysis.{module}", *map(str, args)], cwd=REPO,
                        capture_output=True, text=True, timeout=120)


@pytest.fixture
def sweep(tmp_path):
  """Two sizes over lr {1e-3, 1e-2}; the small one diverged at 1e-2 and its other run was killed
  mid-write; the large one lacks 1e-2; the max logit grows with size."""
  root = tmp_path / "sweep"
  for d_model, params in ((32, 1e5), (64, 1e6), (128, 1e7)):
    for lr, loss in ((1e-3, 5.0), (1e-2, 4.0)):
      if d_model == 128 and lr == 1e-2:
        continue
      diverged = d_model == 32 and lr == 1e-2
      synthetic.write_run(str(root / f"d{d_model}" / f"lr{lr}"), lr=lr, params=params,
                          bindings={"d_model": d_model}, state="diverged" if diverged else "completed",
                          final_loss=loss, metrics=[{"step": 0, "eval/loss": 10.0},
                                                    {"step": 10, "attn/max_logit/block_0": params**0.5}])
  with open(root / "d32" / "lr0.001" / "metrics.jsonl", "a") as f:
    f.write('{"step": 20, "attn/max_')
  return root


def test_sensitivity_json(sweep):
  result = _cli("sensitivity", sweep, "--json", "--lrs=1e-3,1e-2")
  assert result.returncode == 0, result.stderr
  rows = json.loads(result.stdout)
  assert [r["group"] for r in rows] == [{"gin_files": ["gin/qkln.gin"], "d_model": d} for d in (32, 64, 128)]
  small, medium, large = rows
  assert set(small) >= {"group", "lr_sensitivity", "best_lr", "best_loss", "init_loss", "lrs", "final_losses"}
  assert small["lrs"] == [1e-3, 1e-2] and small["final_losses"] == [5.0, None]
  assert small["lr_sensitivity"] == pytest.approx(2.5)  # [5, 10] -> l* 5, mean(0, 5)
  assert (small["best_lr"], small["best_loss"], small["init_loss"]) == (1e-3, 5.0, 10.0)
  assert medium["lr_sensitivity"] == pytest.approx(0.5)
  assert large["lr_sensitivity"] is None and large["missing_lrs"] == [1e-2]


def test_sensitivity_table(sweep):
  result = _cli("sensitivity", sweep, "--lrs=1e-3,1e-2")
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert lines[1].split()[:2] == ["group", "params"]
  assert [line.split()[0] for line in lines[2:]] == ["d_model=32", "d_model=64", "d_model=128"]
  assert lines[-1].endswith("incomplete: missing lr 1e-2")


def test_predict_states_its_axes_and_flags_crossings(sweep):
  result = _cli("predict", sweep, "--params=4.8e9", "--step=100", "--threshold=1e4")  # the runs end at 100
  assert result.returncode == 0, result.stderr
  assert "u = log10(non-embedding params)" in result.stdout
  rows = {row[2]: row for row in map(str.split, result.stdout.splitlines()) if row[:2] == ["all", "runs"]}
  assert rows["1e-3"][-2:] == ["6.928e+04", "YES"]  # sqrt(4.8e9)


@pytest.mark.parametrize("module, args, message", [
    ("sensitivity", ["{empty}"], "no run directories"),
    ("sensitivity", ["{empty}/missing"], "not a directory"),
    ("sensitivity", [], "expected one or more roots"),
    ("sensitivity", ["{sweep}", "--lrs=1e-3,fast"], "--lrs=1e-3,fast: expected comma-separated numbers"),
    ("sensitivity", ["{sweep}", "--no_such_flag"], "no_such_flag"),
    ("sensitivity", ["{sweep}", "--lrs=1e-3,1e-2,0.01"], "--lrs=1e-3,1e-2,0.01: an LR is given twice"),
    ("report", ["{sweep}", "--out={empty}/report", "--coupled_lrs=1e-4,1e-4"], "--coupled_lrs=1e-4,1e-4: an LR"),
    ("predict", ["{sweep}", "--block=4"], "none of the 5 runs logged attn/max_logit/block_4"),
    ("predict", ["{sweep}", "--params=-1"], "--params=-1.0: expected a positive number"),
    ("report", ["{sweep}"], "--out"),
    ("report", ["{empty}", "--out={empty}/report"], "no run directories"),
    ("report", ["{sweep}", "--out={empty}/report", "--rms_window=0"], "--rms_window=0 --output_block=2: expected"),
    ("report", ["{sweep}", "--out={empty}/report", "--params=-1"], "--params=-1.0: expected a positive number"),
    ("report", ["{sweep}", "--out={empty}/report", "--units=plan.json"], "Unknown command line flag 'units'"),
    ("synthetic", [], "arguments []: expected one, a folder"),
    ("synthetic", ["README.md"], "['README.md']: expected one, a folder"),
])
def test_bad_input_is_one_line_and_exit_2(module, args, message, sweep, tmp_path):
  (tmp_path / "empty").mkdir()
  args = [a.format(empty=tmp_path / "empty", sweep=sweep) for a in args]
  result = _cli(module, *args)
  assert result.returncode == 2, result.stderr
  assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
  assert "Traceback" not in result.stderr


def test_report_help_lists_the_flags_it_reads_and_exits_0():
  """--lrs, --params and --step are defined by analysis.sensitivity and analysis.predict; absl listed only
  report's own three."""
  result = _cli("report", "--helpshort")
  assert result.returncode == 0, result.stderr
  listed = set(re.findall(r"^  --(\w+):", result.stdout, re.M))
  assert listed == {"lrs", "coupled_lrs", "params", "step", "block", "threshold", "out", "rms_window", "output_block"}


def test_analysis_never_imports_the_trainer_or_the_model():
  code = ("import sys, analysis.report, analysis.synthetic; "
          "print(sorted({m.split('.')[0] for m in sys.modules} & {'model', 'train', 'launch', 'jax'}))")
  result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == "[]"
