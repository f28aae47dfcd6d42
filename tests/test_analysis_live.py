"""analysis/live.py: the live page's data for a sweep with one unit running, then finished."""

import json
import math
import os

import pytest

from analysis import live
from rundir import scale
from tests import live_sweep


@pytest.fixture
def root(tmp_path):
  live_sweep.write_sweep(str(tmp_path))
  return str(tmp_path)


def _settings(snapshot):
  return {s["label"]: s for s in snapshot["settings"]}


def test_settings_points_sensitivity_running_and_warnings(root):
  snap = live.snapshot(root)
  assert snap["totals"] == {"pending": 0, "running": 1, "completed": 4, "diverged": 1, "warned": 0, "failed": 0}
  settings = _settings(snap)
  assert sorted(settings) == ["d_model=32", "d_model=64"]
  narrow, wide = settings["d_model=32"], settings["d_model=64"]
  # Section 2.2 by hand: the diverged lr=1e-1 counts as l0 = 8; mean(5, 4, 8) - 4.
  assert narrow["complete"] and math.isclose(narrow["lr_sensitivity"], (5 + 4 + 8) / 3 - 4)
  assert narrow["best_lr"] == 1e-2
  assert [(p["lr"], p["final_loss"], p["scored_loss"], p["clipped"]) for p in narrow["points"]] == [
      (1e-3, 5.0, 5.0, False), (1e-2, 4.0, 4.0, False), (1e-1, None, 8.0, True)]
  # Peak over blocks and steps: block 1 at the last log, 40 x lr / 1e-3 x step / 10 (diverged at step 4).
  assert [p["peak_max_logit"] for p in narrow["points"]] == pytest.approx([40.0, 400.0, 1600.0])
  assert not wide["complete"] and wide["lr_sensitivity"] is None
  assert [p["lr"] for p in wide["points"]] == [1e-3, 1e-2]
  assert snap["lr_note"].endswith("else over the LRs the sweep runs it at.")
  # Finished units took 60 s each; the running one is half way: 30 s left, for it and for the sweep.
  [running] = snap["running"]
  assert (running["unit"], running["step"], running["total_steps"], running["eta"]) == (
      live_sweep.unit_name(64, 1e-1), 5, 10, "0m30s")
  assert snap["eta"] == "0m30s"
  # one row per warned unit: its first warning and its count by kind
  assert [(w["unit"], w["step"], w["kind"], w["kinds"]) for w in snap["warnings"]] == [
      (live_sweep.unit_name(32, 1e-2), 6, "loss_spike", "3: loss_spike 1, attention_trend 2")]


def test_a_finished_unit_completes_its_setting(root):
  live_sweep.finish_running(root, 3.0)
  snap = live.snapshot(root)
  wide = _settings(snap)["d_model=64"]
  assert wide["complete"] and math.isclose(wide["lr_sensitivity"], (4.5 + 3.5 + 3.0) / 3 - 3.0)
  assert wide["points"][-1]["peak_max_logit"] == pytest.approx(6000.0)
  assert snap["running"] == [] and snap["eta"] == "done"


def test_a_final_loss_above_l0_is_drawn_at_l0_and_marked(root):
  live_sweep.finish_running(root, 64.0)
  last = _settings(live.snapshot(root))["d_model=64"]["points"][-1]
  assert (last["final_loss"], last["scored_loss"], last["clipped"], last["state"]) == (64.0, 8.0, True, "completed")


def test_each_setting_is_scored_over_the_lrs_the_sweep_runs_it_at(root):
  """Without d_model=64 at lr=1e-3 in sweep.json (its folder from an earlier sweep stays), that setting is
  scored over {1e-2, 1e-1}: mean(3.5, 3.0) - 3.0, not over the other setting's three LRs."""
  manifest = json.loads(open(os.path.join(root, "sweep.json")).read())
  manifest["units"] = [u for u in manifest["units"] if u["name"] != live_sweep.unit_name(64, 1e-3)]
  with open(os.path.join(root, "sweep.json"), "w") as f:
    json.dump(manifest, f)
  live_sweep.finish_running(root, 3.0)
  settings = _settings(live.snapshot(root))
  assert math.isclose(settings["d_model=64"]["lr_sensitivity"], (3.5 + 3.0) / 2 - 3.0)
  assert math.isclose(settings["d_model=32"]["lr_sensitivity"], (5 + 4 + 8) / 3 - 4)


def _bind_coupled(root: str, width: int, lrs) -> None:
  """The setting's runs as trained with coupled weight decay (run.json's bindings)."""
  for lr in lrs:
    run_json = os.path.join(root, live_sweep.unit_name(width, lr), "run.json")
    info = json.loads(open(run_json).read())
    info["bindings"]["weight_decay_mode"] = "coupled"
    with open(run_json, "w") as f:
      json.dump(info, f)


@pytest.mark.parametrize("grid", ["suite's scale", "paper's grid"])
def test_a_setting_is_scored_over_the_report_s_ranges_not_every_lr_it_shares(root, grid, monkeypatch):
  """d_model=32 also runs at 1e-4 (coupled decay's second range starts there, as in repro_cpu). Scored as the
  report scores it: over the three-LR range, and with coupled decay the minimum with (1e-4, 1e-3, 1e-2); before,
  the live page averaged over all four LRs, which no report gives."""
  low = 1e-4
  live_sweep._write_unit(root, 32, low, "completed", live_sweep.STEPS, 6.0)
  path = os.path.join(root, "sweep.json")
  manifest = json.loads(open(path).read())
  manifest["units"].append({"name": live_sweep.unit_name(32, low), "gin_files": ["gin/qkln.gin", "gin/repro.gin"],
                            "gin_bindings": [f"lr={low}", "d_model=32"], "point": {"lr": low, "d_model": 32}})
  if grid == "suite's scale":
    manifest["report"] = {"scale": scale.Scale("tiny", "tiny", live_sweep.WIDTHS, (32,), live_sweep.LRS, low,
                                               (1, 2, 3)).to_json(), "findings": []}
  else:  # no scale: a setting run at every LR of the paper's grid gets the paper's ranges
    monkeypatch.setattr(live, "LRS", live_sweep.LRS)
    monkeypatch.setattr(live, "COUPLED_LRS", scale.coupled(live_sweep.LRS, low))
  with open(path, "w") as f:
    json.dump(manifest, f)
  narrow = lambda: next(s for s in live.snapshot(root)["settings"] if "d_model=32" in s["label"])
  assert math.isclose(narrow()["lr_sensitivity"], (5 + 4 + 8) / 3 - 4)  # not (6 + 5 + 4 + 8) / 4 - 4
  _bind_coupled(root, 32, (low, *live_sweep.LRS))  # the minimum with mean(6, 5, 4) - 4 over (1e-4, 1e-3, 1e-2)
  assert math.isclose(narrow()["lr_sensitivity"], (6 + 5 + 4) / 3 - 4)


def test_a_coupled_setting_the_sweep_does_not_run_at_both_paper_ranges_is_scored_over_its_own_lrs(root, monkeypatch):
  """As repro_long_seeds_cpu's coupled cells before their sweep.json carried a scale: the paper's ranges wanted
  1e-4, which the sweep never runs, so the page showed no sensitivity however far the sweep went."""
  monkeypatch.setattr(live, "LRS", live_sweep.LRS)
  monkeypatch.setattr(live, "COUPLED_LRS", scale.coupled(live_sweep.LRS, 1e-4))
  live_sweep.finish_running(root, 3.0)
  _bind_coupled(root, 64, live_sweep.LRS)
  wide = next(s for s in live.snapshot(root)["settings"] if "d_model=64" in s["label"])
  assert wide["complete"] and math.isclose(wide["lr_sensitivity"], (4.5 + 3.5 + 3.0) / 3 - 3.0)


def test_a_root_without_runs_yet_is_an_empty_sweep(tmp_path):
  snap = live.snapshot(str(tmp_path))
  assert (snap["units"], snap["settings"], snap["running"]) == (0, [], [])
  assert "no run directories" in snap["problems"][0]


def test_a_corrupt_sweep_json_is_a_problem_on_the_page_not_a_crash(root):
  """Before rundir.manifests the root was read as a folder of runs, its sweep's unit count lost unsaid."""
  with open(os.path.join(root, "sweep.json"), "w") as f:
    f.write('{"sweep": {"name": "inline"}, "units": [{"na')
  snap = live.snapshot(root)
  assert snap["units"] == 0 and any("sweep.json is unreadable" in p for p in snap["problems"])
  assert sorted(_settings(snap)) == ["d_model=32", "d_model=64"]  # the runs themselves are still drawn
