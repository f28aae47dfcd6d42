"""launch.sweep --predict_from: the scaling fit's verdict per planned unit, in --dry_run, in predictions.json
and as launch.status's column; bad input is one line and exit 2."""

import json
import math
import subprocess
import sys

import pytest

from analysis.synthetic import write_run
from launch import predicted_units
from tests.trainer_utils import REPO, TINY

GIN = ["gin/qkln.gin", "gin/local.gin"]
KEY = "attn/max_logit/block_0"
FIT_WIDTHS, NEW_WIDTH = (32, 64, 128), 256
LRS = (1e-3, 1e-1)
BASE = [b for b in TINY if not b.startswith("d_model=")]  # the width is swept


def log_logit(params: float, lr: float) -> float:
  """log10 of the finished runs' max logit: quadratic in log10(params), so the fit is exact."""
  u = math.log10(params)
  return 0.1 * u**2 + math.log10(lr) + 2


def describe(widths) -> list[dict]:
  """The trainer's description (run.json bindings, steps, non-embedding params) of a TINY unit per width."""
  units = [{"name": f"d{w}", "gin_files": GIN, "gin_bindings": [*BASE, f"d_model={w}"]} for w in widths]
  result = subprocess.run([sys.executable, "-m", "train.main", "--validate=-", "--describe"], input=json.dumps(units),
                          cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr
  return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  """A root of finished runs at three widths and two LRs; the params of the new, wider unit."""
  root = tmp_path_factory.mktemp("finished")
  facts = describe((*FIT_WIDTHS, NEW_WIDTH))
  for fact in facts[:-1]:
    for lr in LRS:
      bindings = {**fact["bindings"], "lr": lr}
      write_run(str(root / f"{fact['name']},lr={lr}"), lr=lr, gin_files=fact["gin_files"],
                gin_bindings=fact["gin_bindings"], bindings=bindings, params=fact["num_nonembedding_params"],
                step=fact["steps"], metrics=[{"step": fact["steps"], KEY: 10 ** log_logit(
                    fact["num_nonembedding_params"], lr)}])
  return root, facts[-1]["num_nonembedding_params"]


def sweep(root, source, *extra) -> list[str]:
  return ([sys.executable, "-m", "launch.sweep", *(f"--gin_file={f}" for f in GIN), f"--root={root}",
           *(f"--gin_bindings={b}" for b in BASE), f"--sweep=d_model=[{NEW_WIDTH}]", "--sweep=lr=[0.001,0.01,0.1]",
           f"--predict_from={source}", *extra])


def names() -> dict[float, str]:
  return {lr: f"d_model={NEW_WIDTH},lr={text}" for lr, text in ((1e-3, "0.001"), (1e-2, "0.01"), (1e-1, "0.1"))}


def test_dry_run_marks_the_units_the_fit_predicts_to_cross(finished, tmp_path):
  source, params = finished
  result = subprocess.run(sweep(tmp_path / "new", source, "--dry_run"), cwd=REPO, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  line = {lr: next(l for l in lines if l.startswith(name + "  ")) for lr, name in names().items()}
  high, low = 10 ** log_logit(params, 1e-1), 10 ** log_logit(params, 1e-3)
  assert high >= 1e4 > low  # the fixture's curve puts the two LRs on either side of the threshold
  assert line[1e-1].endswith(f"predicted YES {high:.2g}") and line[1e-3].endswith(f"predicted no {low:.2g}")
  assert line[1e-2].endswith("predicted no fit")
  assert lines[-1] == (f"predicted from {source}: 1 of 3 units pass max attention logit 1e+04; 1 have no fit "
                       f"(e.g. {names()[1e-2]}: no finished run at lr 0.01 among the 6 with its settings)")
  assert not (tmp_path / "new").exists()  # a dry run writes nothing


def test_launch_keeps_the_predictions_for_status(finished, tmp_path):
  """The units are already finished here, so the launch only records the predictions and trains nothing."""
  source, params = finished
  root = tmp_path / "new"
  for name in names().values():
    (root / name).mkdir(parents=True)
    (root / name / "status.json").write_text(json.dumps({"state": "completed", "step": 200, "total_steps": 200}))
  result = subprocess.run(sweep(root, source, "--force"), cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr
  saved = json.loads((root / predicted_units.PREDICTIONS_FILE).read_text())
  entry = saved["units"][names()[1e-1]]
  assert entry["predicted_max_logit"] == pytest.approx(10 ** log_logit(params, 1e-1), rel=1e-6)
  assert entry["params"] == params and entry["step"] == 200 and entry["fit_sizes"] == 3
  status = subprocess.run([sys.executable, "-m", "launch.status", str(root)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
  assert status.returncode == 0, status.stderr
  lines = status.stdout.splitlines()
  assert lines[0].split()[-1] == "predicted"
  row = {lr: next(l for l in lines if l.startswith(name + " ")) for lr, name in names().items()}
  assert row[1e-1].endswith("YES " + f"{entry['predicted_max_logit']:.2g}") and row[1e-2].endswith("no fit")
  assert lines[-1].startswith(f"predicted from {source}: 1 of 3 units")


@pytest.mark.parametrize("case", ["missing", "unfinished"])
def test_bad_prediction_source_is_one_line_exit_2(finished, tmp_path, case):
  source = tmp_path / "nope"
  if case == "unfinished":
    write_run(str(source / "a"), lr=0.1, state="running", metrics=[{"step": 10, KEY: 5.0}])
  result = subprocess.run(sweep(tmp_path / "new", source), cwd=REPO, capture_output=True, text=True, timeout=300)
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2 and len(lines) == 1, result.stderr
  expected = ("not a directory: expected the root of a sweep with finished runs" if case == "missing"
              else "none of the 1 runs is finished (completed or diverged)")
  assert lines[0].startswith(f"error: --predict_from={source}: {expected}")
  assert not (tmp_path / "new").exists()


def test_cell_and_read(tmp_path):
  assert predicted_units.cell(None) == "-"
  assert predicted_units.cell({"crosses_threshold": None, "note": "x"}) == "no fit"
  assert predicted_units.cell({"crosses_threshold": True, "predicted_max_logit": 23456.0}) == "YES 2.3e+04"
  assert predicted_units.cell({"crosses_threshold": False, "predicted_max_logit": 312.0}) == "no 3.1e+02"
  assert predicted_units.read(str(tmp_path)) is None
  (tmp_path / predicted_units.PREDICTIONS_FILE).write_text('{"units": [1]}')
  assert predicted_units.read(str(tmp_path)) is None  # a broken file shows no column rather than a crash
