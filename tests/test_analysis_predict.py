"""analysis/predict.py: Section 3.3's fit per LR, extrapolation, threshold flags and step matching."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from analysis import predict
from analysis import synthetic
from analysis.runs import InputError, find_runs
from tests.trainer_utils import REPO

SIZES = (1e5, 1e6, 1e7)
KEY = "attn/max_logit/block_0"


def _log_quadratic(params: float, lr: float) -> float:
  u = math.log10(params)
  return 10 ** (0.05 * u**2 + 0.1 * u + math.log10(lr * 1e3) - 2)


def _write_sweep(root) -> None:
  """Max logit at step 100 follows a known log-log quadratic; a later, larger value must be ignored."""
  for lr in (1e-3, 1e-1):
    for params in SIZES:
      value = _log_quadratic(params, lr)
      synthetic.write_run(os.path.join(root, f"lr{lr}", f"p{params:g}"), lr=lr, params=params,
                          bindings={"d_model": int(params**0.5)}, step=300,
                          metrics=[{"step": 50, KEY: value / 2}, {"step": 100, KEY: value},
                                   {"step": 300, KEY: value * 100}])


def test_fit_extrapolation_and_threshold(tmp_path):
  _write_sweep(tmp_path)
  runs, _ = find_runs([str(tmp_path)])
  low, high = predict.predict(runs, params=4.8e9, step=200, threshold=1e4)
  assert (low.lr, high.lr) == (1e-3, 1e-1)
  for p in (low, high):
    assert [q.step for q in p.points] == [100, 100, 100]  # last value at a step <= 200
    u = np.log10(SIZES)
    expected = np.polyfit(u, np.log10([_log_quadratic(s, p.lr) for s in SIZES]), 2)
    np.testing.assert_allclose(p.fit.coeffs, expected, rtol=1e-8)
    assert p.predicted == pytest.approx(_log_quadratic(4.8e9, p.lr), rel=1e-6)
  assert low.predicted < 1e4 <= high.predicted
  assert (low.crosses, high.crosses) == (False, True)
  assert high.to_json()["crosses_threshold"] is True


def test_too_few_sizes_is_a_note_not_an_error(tmp_path):
  synthetic.write_run(str(tmp_path / "a"), lr=1e-2, params=1e6, metrics=[{"step": 10, KEY: 5.0}])
  runs, _ = find_runs([str(tmp_path)])
  [p] = predict.predict(runs, step=10)
  assert p.fit is None and p.crosses is None and "3 distinct model sizes" in p.notes[-1]
  assert "3 distinct model sizes" in predict.table([p])


def test_no_run_logged_the_block_is_an_input_error(tmp_path):
  synthetic.write_run(str(tmp_path / "a"), lr=1e-2, metrics=[{"step": 10, KEY: 5.0}])
  runs, _ = find_runs([str(tmp_path)])
  with pytest.raises(InputError, match="attn/max_logit/block_3"):
    predict.predict(runs, block=3)


def test_value_at_is_the_runs_own_value_at_the_step(tmp_path):
  synthetic.write_run(str(tmp_path / "a"), lr=1e-2, step=40, metrics=[
      {"step": 10, KEY: 1.0}, {"step": 20, KEY: math.nan}, {"step": 30, KEY: 3.0}, {"step": 40, KEY: 4.0}])
  [run], _ = find_runs([str(tmp_path)])
  assert predict.value_at(run, KEY, 15) == (10, 1.0)
  assert predict.value_at(run, KEY, 35) == (30, 3.0)
  assert predict.value_at(run, KEY, 5) == f"no {KEY} at a step <= 5"
  assert predict.value_at(run, KEY, 25) == f"{KEY} is nan at step 20"  # never the earlier 1.0


def test_a_run_stopped_before_the_step_contributes_no_earlier_value(tmp_path):
  """Fig 9: a run that diverged at step 100 has no value at step 200; its step-50 logit is not one."""
  for params in SIZES:
    stopped = params == SIZES[-1]
    synthetic.write_run(str(tmp_path / f"p{params:g}"), lr=1e-1, params=params, step=100 if stopped else 300,
                        state="diverged" if stopped else "completed",
                        bindings={"d_model": int(params**0.5)},
                        metrics=[{"step": 50, KEY: 10.0}, {"step": 100, KEY: 20.0}]
                        + ([] if stopped else [{"step": 200, KEY: 30.0}]))
  runs, _ = find_runs([str(tmp_path)])
  [p] = predict.predict(runs, step=200)
  assert [q.params for q in p.points] == list(SIZES[:2]) and p.fit is None
  assert any("stopped at step 100 (diverged), before step 200" in n for n in p.notes)


def _unit(name, lr, step=200, params=4.8e9, **bindings):
  """A planned unit as launch.sweep sends it: run.json's keys as the trainer would write them."""
  bindings = {"lr": lr, "d_model": 70000, **bindings}
  return {"name": name, "gin_files": ["gin/qkln.gin"], "gin_bindings": [f"lr={lr}", "d_model=70000"],
          "bindings": bindings, "params": params, "step": step}


def test_planned_units_get_the_fit_at_their_lr_params_and_step(tmp_path):
  _write_sweep(tmp_path)
  # A running run at lr 1e-1 with a fourth size and a wild logit: unfinished, so never part of the fit.
  synthetic.write_run(str(tmp_path / "running"), lr=1e-1, params=1e8, state="running", step=300,
                      bindings={"d_model": 10000}, metrics=[{"step": 100, KEY: 1e9}])
  runs, _ = find_runs([str(tmp_path)])
  units = [_unit("high", 1e-1), _unit("low", 1e-3), _unit("early", 1e-1, step=50, params=1e8),
           _unit("other_lr", 1e-2), _unit("other_arch", 1e-1, qk_layernorm="none"), _unit("too_early", 1e-1, step=20)]
  got = {p.name: p for p in predict.predict_units(runs, units)}
  assert got["high"].prediction.predicted == pytest.approx(_log_quadratic(4.8e9, 1e-1), rel=1e-6)
  assert got["low"].prediction.predicted == pytest.approx(_log_quadratic(4.8e9, 1e-3), rel=1e-6)
  assert (got["high"].crosses, got["low"].crosses) == (True, False)
  assert got["early"].prediction.predicted == pytest.approx(_log_quadratic(1e8, 1e-1) / 2, rel=1e-6)  # step 50's
  assert got["other_lr"].prediction is None and got["other_lr"].note.startswith("no finished run at lr 0.01")
  assert got["other_arch"].prediction is None and "shares its settings" in got["other_arch"].note
  assert got["too_early"].crosses is None and "3 runs left out" in got["too_early"].note
  assert got["high"].to_json()["crosses_threshold"] is True and got["other_lr"].to_json()["crosses_threshold"] is None


def test_planned_units_without_a_finished_run_is_an_input_error(tmp_path):
  synthetic.write_run(str(tmp_path / "a"), lr=1e-1, state="running", metrics=[{"step": 10, KEY: 5.0}])
  runs, _ = find_runs([str(tmp_path)])
  with pytest.raises(InputError, match="none of the 1 runs is finished"):
    predict.predict_units(runs, [_unit("u", 1e-1)])


def test_units_cli_reads_stdin_and_refuses_a_global_step(tmp_path):
  _write_sweep(tmp_path)
  cmd = [sys.executable, "-m", "analysis.predict", str(tmp_path), "--units=-", "--json"]
  result = subprocess.run(cmd, input=json.dumps([_unit("high", 1e-1)]), cwd=REPO, capture_output=True,
                          text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  [out] = json.loads(result.stdout)
  assert out["name"] == "high" and out["crosses_threshold"] is True and out["fit_sizes"] == 3
  result = subprocess.run(cmd + ["--step=10"], input="[]", cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode == 2 and result.stderr.strip() == "error: --step with --units: expected each unit's own step in the units file"


@pytest.mark.parametrize("key, value, expected", [
    ("params", "x", "a number > 0"), ("params", None, "a number > 0"), ("params", 0, "a number > 0"),
    ("step", 1.5, "an integer >= 0"), ("step", True, "an integer >= 0"), ("gin_files", 5, "a list of strings"),
    ("bindings", [], "an object")])
def test_a_unit_with_a_badly_typed_field_is_one_line_exit_2(tmp_path, key, value, expected):
  """Before, these gave a traceback (ValueError, TypeError) once the unit was predicted."""
  _write_sweep(tmp_path)
  unit = {**_unit("high", 1e-1), key: value}
  result = subprocess.run([sys.executable, "-m", "analysis.predict", str(tmp_path), "--units=-"],
                          input=json.dumps([_unit("ok", 1e-1), unit]), cwd=REPO, capture_output=True, text=True,
                          timeout=120)
  assert result.returncode == 2 and result.stdout == "", result.stderr
  assert result.stderr.strip() == f"error: --units=-: unit 1 has {key}={json.dumps(value)}: expected {expected}"
