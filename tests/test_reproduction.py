"""The CPU reproduction suite: its definition expands to the units the report reads, the report's
verdict rules on hand-made runs, and the smoke suite trained for real and reported end to end."""

import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from analysis import registry
from analysis import reproduction
from analysis import findings
from analysis.runs import find_runs
from analysis.synthetic import write_run
from launch import spec
from launch import sweeps
from launch.sweeps import repro
from tests.trainer_utils import REPO
from train import ginparse

HIGH_PENALTY = {  # final loss above the width's best at the largest LR (+1 at d=128), by cell; the
    # last entry is the warm-up: 0 short, 1 default, 2 long
    ("no_qkln", "none", "none", 1): 4.0, ("qkln", "none", "none", 1): 1.0,
    ("qkln", "no_z_loss", "weight_decay_0", 1): 3.0, ("qkln", "none", "weight_decay_0", 1): 1.2,
    ("qkln", "no_z_loss", "none", 1): 1.5, ("qkln", "none", "none", 0): 2.0,
    ("qkln", "none", "none", 2): 0.8, ("qkln", "none", "coupled_weight_decay", 1): 3.0,
}


def _units(scale: repro.Scale, finding: repro.Finding | None = None) -> list[spec.Unit]:
  points = finding.points if finding else repro.suite(scale).points
  return spec.expand(spec.Sweep("s", [*repro.GIN_FILES, scale.preset], list(points)))


def test_full_suite_is_the_union_of_its_findings_without_repeats():
  suite = _units(repro.FULL)
  names = [u.name for u in suite]
  assert len(names) == len(set(names)) == 130
  per_finding = {f.key: {u.name for u in _units(repro.FULL, f)} for f in repro.findings(repro.FULL)}
  # qk-LN on/off x 3 widths x 7 LRs; z-loss x decay 4 cells, warm-up 3, decay 2 (8 LRs) at 2 widths
  assert {k: len(v) for k, v in per_finding.items()} == {
      "attention_logits": 42, "sensitivity_size": 42, "output_logits": 56, "warmup": 42,
      "weight_decay": 32, "grad_rms": 42}
  assert set().union(*per_finding.values()) == set(names)
  default = ("arch=qkln,z_loss=none,weight_decay=none,warmup_steps=20,d_model=128,num_heads=2,lr=0.01")
  assert all(default in units for units in per_finding.values())
  assert all(u.gin_files[-1] == "gin/repro.gin" for u in suite)
  coupled = [u for u in suite if "gin/ablations/coupled_weight_decay.gin" in u.gin_files]
  assert sorted({u.point["lr"] for u in coupled}) == [1e-4, *repro.FULL.lrs]


def test_long_suite_holds_the_late_findings_at_ten_times_the_steps():
  suite = _units(repro.LONG)
  assert len({u.name for u in suite}) == len(suite) == 32
  per_finding = {f.key: {u.name for u in _units(repro.LONG, f)} for f in repro.findings(repro.LONG)}
  # z-loss x decay 4 cells x 6 LRs; independent vs coupled decay 2 cells x 7 LRs (3e-4 added)
  assert {k: len(v) for k, v in per_finding.items()} == {"output_logits": 24, "weight_decay": 14}
  assert {u.point["d_model"] for u in suite} == {128} and {u.point["warmup_steps"] for u in suite} == {200}
  assert all(u.gin_files[-1] == "gin/repro_long.gin" for u in suite)
  bindings = ginparse.parse(["gin/qkln.gin", "gin/repro_long.gin"], [])["bindings"]
  assert bindings["steps"] == 10 * ginparse.parse(["gin/qkln.gin", "gin/repro.gin"], [])["bindings"]["steps"]


def test_named_sweep_dry_run_lists_the_suite(tmp_path):
  result = subprocess.run([sys.executable, "-m", "launch.sweep", "--sweep_name=repro_cpu", "--dry_run",
                           f"--root={tmp_path / 'r'}"], cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  assert "130 units" in result.stdout
  assert not (tmp_path / "r").exists()


def _fake_suite(root, scale: repro.Scale, penalty=HIGH_PENALTY, no_qkln_peak=1e4) -> None:
  """A run per unit: best loss at lr 1e-2, worse at the largest LR by the cell's penalty, a logit peak
  and output-logit drift where the paper has them, grad RMS falling with LR and width."""
  for unit in _units(scale):
    p = unit.point
    cell = (tuple(spec.name_value(p[k], k in repro.SLOTS) for k in repro.SLOTS)
            + (scale.warmups.index(p["warmup_steps"]),))
    width, lr = p["d_model"], p["lr"]
    base = 5.0 if width == 64 else 4.8
    extra = {0.3: penalty[cell] + (1.0 if width == 128 else 0.0),
             1e-4: 1.5 if cell[2] == "coupled_weight_decay" else 2.0}.get(lr, 0.0)
    peak = no_qkln_peak if cell[0] == "no_qkln" and lr == 0.3 else 8.0
    drift = -50.0 if cell[1:3] == ("no_z_loss", "weight_decay_0") and lr == 0.3 else -1.0
    grad = 1e-3 * (64 / width) * (0.01 / lr) ** 0.5
    metrics = [{"step": 0, "eval/loss": 10.0}] + [
        {"step": s, "train/loss": base + extra, "attn/max_logit/block_0": peak * s / 8,
         "logits/mean": drift * s / 8, "grad/rms/block_0/mlp/dense_in/w": grad} for s in (4, 8)]
    bindings = {"d_model": width}
    if cell[2] == "coupled_weight_decay":
      bindings["OptimizerConfig.weight_decay_mode"] = "coupled"
    write_run(str(root / unit.name), lr=lr, gin_files=unit.gin_files, bindings=bindings,
              gin_bindings=[b for b in unit.gin_bindings if not b.startswith("lr=")], init_loss=10.0,
              final_loss=base + extra, params=1e5 * width / 64, step=8, metrics=metrics)


def _verdicts(root, scale: repro.Scale) -> dict[str, list[str]]:
  """Each finding's verdicts, read as analysis reads them: from the report the launcher puts in sweep.json."""
  runs = {r.name: r for r in find_runs([str(root)])[0]}
  report = repro.report(scale)
  read = findings.Scale.from_json(report["scale"])
  out = {}
  for finding in report["findings"]:
    cells, _ = reproduction.cells(finding, runs, read)
    out[finding["key"]] = [c.verdict for c in registry.finding(finding["key"]).claims(cells, read)[0]]
  return out


TWO_WIDTHS = dataclasses.replace(repro.SMOKE, widths=(64, 128), ablation_widths=(64, 128))


def test_verdict_rules_on_hand_made_runs(tmp_path):
  _fake_suite(tmp_path, TWO_WIDTHS)
  assert _verdicts(tmp_path, TWO_WIDTHS) == {
      "attention_logits": ["reproduced"],  # peak 1e4 vs 8, loss 9 vs 6
      # each sensitivity claim then its instability twin (S_above); where the only penalty is at the top
      # LR 0.3 (above the best 1e-2), the twin is the claim itself
      "sensitivity_size": ["reproduced"] * 4,  # 0.5/1.0 vs 2.0/2.5; both rise with width
      "output_logits": ["reproduced"] * 5,  # 1.5 vs 0.6; drift -50 vs -1 (3b has no twin); decay 1.25 < 2.0
      "warmup": ["reproduced"] * 2,  # 0.4 vs 1.0
      # d=64: 0.5 < 0.75; d=128: 1.0 > 0.75 (min over the two ranges). Coupled decay's minimum is the range
      # without 0.3, its penalty at 1e-4 below the best: its S_above is 0, below independent's
      "weight_decay": ["partly", "not reproduced"],
      "grad_rms": ["reproduced"],  # falls with lr and with width
  }


def test_verdicts_fail_and_go_unmeasured_when_the_runs_say_so(tmp_path):
  flat = {**HIGH_PENALTY, ("no_qkln", "none", "none", 1): 1.0}
  _fake_suite(tmp_path, TWO_WIDTHS, penalty=flat, no_qkln_peak=8.0)
  found = _verdicts(tmp_path, TWO_WIDTHS)
  assert found["attention_logits"] == ["not reproduced"]
  assert found["sensitivity_size"][0] == "not reproduced"  # equal sensitivities are not lower
  for name in os.listdir(tmp_path):
    if "warmup_steps=4" in name and "lr=0.3" in name:
      os.remove(tmp_path / name / "status.json")  # no final loss: that sweep is incomplete
  assert _verdicts(tmp_path, TWO_WIDTHS)["warmup"] == ["not measured"] * 2  # the claim and its twin


def _report(root, manifest: dict) -> subprocess.CompletedProcess:
  write_run(str(root / "a"), lr=0.1, final_loss=5.0)
  (root / "sweep.json").write_text(json.dumps(manifest))
  return subprocess.run([sys.executable, "-m", "analysis.reproduction", str(root), f"--out={root}/o"],
                        cwd=REPO, capture_output=True, text=True, timeout=120)


def test_root_of_another_sweep_is_one_line_exit_2(tmp_path):
  result = _report(tmp_path, {"version": 2, "sweep": {"name": "fig1_cpu"}, "units": []})
  assert result.returncode == 2 and not (tmp_path / "o").exists()
  assert result.stderr.strip().splitlines() == [
      f"error: {tmp_path} holds sweep 'fig1_cpu', which this report does not cover: expected the root of one of "
      f"{', '.join(registry.COVERED)}"]


def test_root_of_the_old_launcher_asks_for_a_relaunch(tmp_path):
  result = _report(tmp_path, {"sweep": {"name": "repro_cpu"}, "units": []})  # sweep.json before `report`
  assert result.returncode == 2 and not (tmp_path / "o").exists()
  assert result.stderr.strip().splitlines() == [
      f"error: {tmp_path}/sweep.json was written by an older launcher and lists no findings: relaunch the same "
      f"command (python -m launch.sweep --sweep_name=repro_cpu --root={tmp_path}); it rewrites sweep.json and "
      "skips finished units"]


def test_report_in_the_manifest_names_each_findings_units():
  for scale in repro.SCALES.values():
    sweep = repro.suite(scale)
    manifest = sweeps.manifest(sweep, spec.expand(sweep))
    units = {u["name"]: u for u in manifest["units"]}
    for finding, entry in zip(repro.findings(scale), manifest["report"]["findings"]):
      assert [u["name"] for u in entry["units"]] == [u.name for u in _units(scale, finding)]
      for unit in entry["units"]:
        assert unit["name"] == ",".join(f"{k}={v}" for k, v in unit["labels"].items())
        assert units[unit["name"]]["point"].keys() == unit["labels"].keys()
    assert findings.Scale.from_json(manifest["report"]["scale"]) == findings.Scale(
        scale.name, scale.preset, scale.widths, scale.ablation_widths, scale.lrs, scale.low_lr, scale.warmups)


def test_analysis_imports_no_launch():
  for path in pathlib.Path(REPO, "analysis").glob("*.py"):
    assert not re.search(r"^\s*(from|import) (launch|train|model)\b", path.read_text(), re.M), path


@pytest.mark.slow
def test_smoke_suite_trains_and_reports_every_section(tmp_path):
  root, out = tmp_path / "smoke", tmp_path / "report"
  launched = subprocess.run([sys.executable, "-m", "launch.sweep", "--sweep_name=repro_smoke_cpu",
                             f"--root={root}", "--parallel=2"], cwd=REPO, capture_output=True,
                            text=True, timeout=900)
  assert launched.returncode == 0, launched.stderr[-2000:]
  assert "failed 0" in launched.stdout + launched.stderr
  events = list(root.glob("*/events.out.tfevents.*"))
  # gin/repro.gin turns the per-step scalars off; every unit still writes its HParams (train/hparams.py)
  assert events and all(e.name.endswith(".hparams") for e in events)
  assert list((pathlib.Path(os.environ["PROXIES_CACHE_DIR"]) / "jax").iterdir())  # compiled programs kept
  result = subprocess.run([sys.executable, "-m", "analysis.reproduction", str(root), f"--out={out}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  page = (out / "README.md").read_text()
  assert "from 18 of the suite's 18 units" in page
  for finding in repro.findings(repro.SMOKE):
    assert f"## {finding.title}" in page
  images = [line.split("](")[1][:-1] for line in page.splitlines() if line.startswith("![")]
  assert len(images) == 12 and all((out / image).is_file() for image in images)
  assert "skipped" not in page
