"""analysis.early_warning: labels fixed before looking, detection / false alarm / lead time, the doc's table."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from analysis import bad_runs
from analysis import early_warning
from analysis.runs import find_runs
from analysis.synthetic import write_run
from instability.detectors import Thresholds
from tests.trainer_utils import REPO


def _records(losses, logits=None, eval_losses=None):
  out = [{"step": 0, "eval/loss": 10.0}]
  for i, loss in enumerate(losses):
    step = 10 * (i + 1)
    rec = {"step": step, "train/loss": loss}
    if logits:
      rec["attn/max_logit/block_0"] = logits[i]
    if eval_losses and step in eval_losses:
      rec["eval/loss"] = eval_losses[step]
    out.append(rec)
  return out


def _spiked(path, threshold, first_step):
  """Marks a written run as having spiked above `threshold` (status.json's keys, docs/run_directory.md)."""
  status_file = os.path.join(path, "status.json")
  with open(status_file) as f:
    status = json.load(f)
  status.update(spike_logs=1, divergence_threshold=threshold, last_spike_step=first_step)
  with open(status_file, "w") as f:
    json.dump(status, f)


def sweep(root):
  """One sweep (runs differing only in lr), best LR 1e-3: a good run, a good run within the margin, a run
  above the best LR that ends 0.5 above the best (bad; its eval loss leaves the good band at step 40), a run
  whose attention logit doubles from step 30 and diverges at step 60, a slow run below the best LR that ends
  0.8 above the best (good: slow, not unstable), and a run below the best LR that spiked above its
  divergence threshold at step 20 and recovered (bad at 20)."""
  flat = [4.0] * 6
  write_run(f"{root}/a", lr=1e-3, final_loss=3.0, step=60, metrics=_records(flat, eval_losses={20: 5.0, 40: 3.5, 60: 3.0}))
  write_run(f"{root}/b", lr=3e-3, final_loss=3.05, step=60, metrics=_records(flat, eval_losses={20: 5.0, 40: 3.6, 60: 3.05}))
  write_run(f"{root}/c", lr=1e-2, final_loss=3.5, step=60,
            metrics=_records([4.0, 4.0, 4.0, 7.0, 7.0, 7.0], eval_losses={20: 5.0, 40: 4.0, 60: 3.5}))
  write_run(f"{root}/d", lr=1e-1, state="diverged", step=60, reason="nan",
            metrics=_records([4.0] * 5 + [math.nan], logits=[100.0, 300.0, 1e3, 2.5e3, 6e3, 2e4]))
  write_run(f"{root}/e", lr=1e-4, final_loss=3.8, step=60, metrics=_records(flat, eval_losses={20: 5.0, 40: 4.5, 60: 3.8}))
  _spiked(write_run(f"{root}/f", lr=3e-4, final_loss=3.02, step=60,
                    metrics=_records([4.0, 7.0, 4.0, 4.0, 4.0, 4.0], eval_losses={60: 3.02})), 6.0, 20)


def test_labels_and_scores_by_hand(tmp_path):
  sweep(tmp_path)
  runs, _ = find_runs([str(tmp_path)])
  cases = {c.name: c for c in early_warning.cases(runs, [str(tmp_path)], margin=0.1)}
  assert {n: (c.bad, c.event_step, c.why) for n, c in cases.items()} == {
      "a": (False, None, ()), "b": (False, None, ()), "c": (True, 40, ("above best LR",)),
      "d": (True, 60, ("diverged",)), "e": (False, None, ()), "f": (True, 20, ("spiked",))}
  th = Thresholds(window=2, baseline=3, loss_spike=1.5)
  # c: loss 7 at step 40 vs median 4 -> warned at 40, lead 0; d: logit 1e3 at step 30 = 10x step 10's -> lead 30;
  # f: its spike at step 20 has only one earlier log, short of the 3-log baseline -> missed.
  warnings = {n: early_warning.first_warning(cases[n], th) for n in "abcdef"}
  assert [w and w["step"] for w in warnings.values()] == [None, None, 40, 30, None, None]
  assert [early_warning.outcome(cases[n], warnings[n]) for n in "abcdef"] == [
      "quiet", "quiet", "detected", "detected", "quiet", "missed"]
  assert warnings["d"]["kind"] == "attention_logits" and warnings["c"]["kind"] == "loss_spike"
  s = early_warning.score(list(cases.values()), [warnings[n] for n in cases])
  assert (s["bad"], s["detected"], s["false_alarms"], s["median_lead"]) == (3, 2, 0, 15)
  assert s["detection_rate"] == pytest.approx(2 / 3)
  assert s["why"] == {"diverged": 1, "spiked": 1, "above best LR": 1}
  eager = Thresholds(window=2, baseline=3, loss_spike=0.5)
  s = early_warning.score(list(cases.values()), early_warning.first_warnings(list(cases.values()), eager))
  assert (s["false_alarms"], s["false_alarm_rate"]) == (3, 1.0)  # loss 4 > 0.5 * 4 from step 40 on in a, b, e


def test_the_run_rows_list_bad_runs_and_false_alarms_with_their_first_warning(tmp_path):
  sweep(tmp_path)
  runs, _ = find_runs([str(tmp_path)])
  cases = early_warning.cases(runs, [str(tmp_path)], margin=0.1)
  eager = Thresholds(window=2, baseline=3, loss_spike=0.5)
  rows = early_warning.run_rows(cases, early_warning.first_warnings(cases, eager))
  by_run = {r.split(" | ")[0].lstrip("| "): r for r in rows[2:]}
  root = tmp_path.name
  # a, b, e are good but warned (loss 4 > 0.5 x 4 from step 40); c's first warning (step 40) is at the step
  # it went bad; f spiked at 20, before any warning; d warned at 30, before its divergence at 60.
  assert sorted(by_run) == [f"{root}/{n}" for n in "abcdef"]
  assert by_run[f"{root}/a"].endswith("| - | - | step 40: loss_spike (train/loss) | false alarm |")
  assert by_run[f"{root}/c"].endswith("| above best LR | 40 | step 40: loss_spike (train/loss) | detected |")
  assert by_run[f"{root}/f"].endswith("| spiked | 20 | step 40: loss_spike (train/loss) | late |")
  assert by_run[f"{root}/d"] == f"| {root}/d | diverged | 60 | step 30: attention_logits (block_0) | detected |"


def test_a_run_above_the_best_lr_and_spiked_goes_bad_at_the_earlier_step(tmp_path):
  write_run(f"{tmp_path}/a", lr=1e-3, final_loss=3.0, step=60, metrics=_records([4.0] * 6, eval_losses={40: 3.5}))
  _spiked(write_run(f"{tmp_path}/b", lr=1e-2, final_loss=3.5, step=60,
                    metrics=_records([4.0, 4.0, 8.0, 4.0, 4.0, 4.0], eval_losses={40: 4.0})), 6.0, 30)
  runs, _ = find_runs([str(tmp_path)])
  case = [c for c in early_warning.cases(runs, [str(tmp_path)], margin=0.1) if c.name == "b"][0]
  assert (case.bad, case.event_step, case.why) == (True, 30, ("spiked", "above best LR"))


def test_seen_roots_are_all_in_the_tuning_half(tmp_path):
  for root in ("new", "seen"):
    sweep(tmp_path / root)
  new, seen = str(tmp_path / "new"), str(tmp_path / "seen")
  runs, _ = find_runs([new, seen])
  cases = early_warning.cases(runs, [new], margin=0.1, seen=[seen])
  by_root = {r: [c.tuning for c in cases if c.name.startswith(r)] for r in (new, seen)}
  assert by_root[seen] == [True] * 6
  assert by_root[new] == [bad_runs.in_tuning_half(n) for n in "abcdef"]


def test_the_split_is_a_fixed_function_of_the_relative_path():
  halves = [bad_runs.in_tuning_half(f"sweep/run_{i}") for i in range(200)]
  assert halves == [bad_runs.in_tuning_half(f"sweep/run_{i}") for i in range(200)]
  assert 60 < sum(halves) < 140


def test_cli_rewrites_only_the_table_and_rejects_a_doc_without_markers(tmp_path):
  sweep(tmp_path / "runs")
  doc = tmp_path / "doc.md"
  doc.write_text(f"# Method\nprose\n{early_warning.BEGIN}\nstale table\n{early_warning.END}\nafter\n")
  cmd = [sys.executable, "-m", "analysis.early_warning", str(tmp_path / "runs"), f"--out={doc}"]
  result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  text = doc.read_text()
  assert text.startswith("# Method\nprose\n") and text.endswith("after\n") and "stale table" not in text
  assert "| held-out |" in text and "wall time" in result.stderr
  bare = tmp_path / "bare.md"
  bare.write_text("no markers\n")
  result = subprocess.run(cmd[:-1] + [f"--out={bare}"], cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode == 2 and result.stderr.startswith("error: --out=") and bare.read_text() == "no markers\n"
  twice = subprocess.run(cmd + [f"--seen={tmp_path / 'runs'}"], cwd=REPO, capture_output=True, text=True, timeout=120)
  assert twice.returncode == 2 and twice.stderr.startswith("error: --seen=") and "\n" not in twice.stderr.strip()


@pytest.mark.parametrize("flags, message", [
    (["--out={tmp}/no_folder/doc.md"], "--out={tmp}/no_folder/doc.md: expected a markdown file"),
    (["--out={tmp}"], "--out={tmp}: expected a markdown file"),
    (["--by_suite", "--out={tmp}"], "--out={tmp}: expected a markdown file"),
    (["--by_suite", "--out={tmp}/NOTES"], "--out={tmp}/NOTES: expected a markdown file (.md)"),  # was a traceback
    (["--predict_from={tmp}/runs"], "--predict_from and --predict_step without --by_suite"),
    (["--predict_step=4"], "--predict_from and --predict_step without --by_suite"),
])
def test_cli_bad_out_and_fit_flags_are_refused_before_any_run_is_read(tmp_path, flags, message):
  """They were: --out after the whole evaluation, as a traceback; the fit flags without --by_suite ignored."""
  sweep(tmp_path / "runs")
  cmd = [sys.executable, "-m", "analysis.early_warning", str(tmp_path / "runs"), *(f.format(tmp=tmp_path) for f in flags)]
  result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode == 2 and result.stderr.startswith(f"error: {message.format(tmp=tmp_path)}")
  assert "\n" not in result.stderr.strip() and result.stdout == ""


# Third and fourth definitions: onset from the train loss, AUROC, the scored CLI by suite.

def test_onset_rose_is_the_first_of_three_smoothed_logs_half_a_nat_above_their_running_best():
  from analysis import onset
  # Centred 5-log means of 4.0 x 6 then 5.0 x 6: 4.0 (i=2..3), 4.2, 4.4, 4.6, 4.8, 5.0, 5.0 (i=4..9); best
  # 4.0, so 4.6 at i=6 (step 70) starts three in a row > 4.5.
  step_up = list(zip(range(10, 130, 10), [4.0] * 6 + [5.0] * 6))
  assert [round(v, 9) for _, v in onset.smoothed(step_up)] == [4.0, 4.0, 4.2, 4.4, 4.6, 4.8, 5.0, 5.0]
  assert onset.rose(step_up) == 70
  assert onset.rose(step_up[:10]) is None  # smoothed to i=7 only: 4.6, 4.8, two logs
  curve = list(zip(range(10, 90, 10), [5.0, 4.0, 4.2, 4.6, 4.4, 4.6, 4.7, 4.8]))
  best = [(s, 4.0) for s in range(10, 90, 10)]
  assert onset.behind(curve, best, margin=0.1) == 30  # 4.2, 4.6, 4.4 all > 4.1


def test_onset_rose_ignores_batch_noise_on_a_plateau_but_not_a_level_shift_under_it():
  from analysis import onset
  # Zero-mean noise of period 4: each raw -0.6 sets a running best 0.6 below the level, and the three +0.2 logs
  # after it sit 0.8 above that (the third definition fired at step 20). A centred 5-log mean holds one period
  # plus one extra log: the level + (-0.12 or +0.04), so the plateau never rises 0.5.
  noise = [-0.6, 0.2, 0.2, 0.2] * 6
  plateau = [(10 * (i + 1), 4.0 + n) for i, n in enumerate(noise)]
  assert onset.rose(plateau) is None
  # A level shift to 5.0 at i=12 under the same noise: smoothed 4.44 at i=11 (levels 4.4, noise +0.04),
  # 4.64, 4.84 after; the best is 3.88 (4.0 - 0.12), so i=11, step 120, starts three in a row > 4.38.
  shifted = [(s, loss + (1.0 if i >= 12 else 0.0)) for i, (s, loss) in enumerate(plateau)]
  assert onset.rose(shifted) == 120


def test_onset_outcomes_of_a_sweep_by_hand(tmp_path):
  from analysis import onset
  flat = [8.0, 6.0, 5.0, 4.5, 4.2, 4.0]
  write_run(f"{tmp_path}/best", lr=1e-3, final_loss=3.0, step=60, metrics=_records(flat))
  # above the best LR, ends 0.5 behind; its train loss is > 0.1 above best's from step 30 on
  write_run(f"{tmp_path}/behind", lr=1e-2, final_loss=3.5, step=60,
            metrics=_records([8.0, 6.05, 5.2, 4.7, 4.4, 4.2]))
  # below the best LR: from 4.5 to 5.5 at step 70; smoothed 4.8, 4.7, 4.9, 5.1, 5.3, 5.5, 5.5 at steps 40-100,
  # best 4.7, so 5.3 at step 80 starts three in a row > 5.2 (rose), not above best LR
  write_run(f"{tmp_path}/rose", lr=1e-4, final_loss=3.9, step=120,
            metrics=_records([8.0, 6.0] + [4.5] * 4 + [5.5] * 6))
  # a NaN train log at step 50
  write_run(f"{tmp_path}/nan", lr=1e-1, state="diverged", step=50, metrics=_records([8.0, 6.0, 5.0, 4.5, math.nan]))
  # spikes over l0 + 1 = 11 at step 20, then recovers
  write_run(f"{tmp_path}/spike", lr=3e-4, final_loss=3.05, step=60, metrics=_records([8.0, 11.5, 5.0, 4.5, 4.2, 4.0]))
  runs, _ = find_runs([str(tmp_path)])
  records = {r.path: early_warning.read_records(r.path) for r in runs}
  got = {os.path.basename(p): (o.bad, o.onset, o.why) for p, o in onset.label(runs, records).items()}
  assert got == {"best": (False, None, ()), "behind": (True, 30, ("above best LR",)),
                 "rose": (True, 80, ("rose",)), "nan": (True, 50, ("diverged",)),
                 "spike": (True, 20, ("spiked",))}


def test_auroc_with_ties_alarm_level_and_interval_by_hand():
  from analysis import auroc
  # pairs (bad, good): 0.9 beats both; each 0.5 ties 0.5 (1/2) and beats 0.1: (2 + 1.5 + 1.5) / 6
  assert auroc.auroc([0.9, 0.5, 0.5], [0.5, 0.1]) == pytest.approx(5 / 6)
  assert auroc.auroc([-math.inf], [-math.inf, 1.0]) == pytest.approx(0.25)
  assert math.isnan(auroc.auroc([], [1.0]))
  assert auroc.interval([2.0, 3.0], [0.0, 1.0]) == (1.0, 1.0)
  lo, hi = auroc.interval([0.9, 0.5, 0.5, 0.2], [0.5, 0.1, 0.3])
  assert 0 <= lo < auroc.auroc([0.9, 0.5, 0.5, 0.2], [0.5, 0.1, 0.3]) < hi <= 1
  good = [float(x) for x in range(40)]  # 5% of 40 = 2 alarms allowed: 38 and 39 score above the level
  level = auroc.alarm_level(good, 0.05)
  assert sum(g >= level for g in good) == 2 and level > 37
  assert auroc.alarm_level([1.0] * 10, 0.05) > 1.0  # a tie at the level counts every tied run
  # ROC by hand: levels 3, 2, 1, 0 alarm on (bad, good) = (1/2, 0), (1/2, 1/2), (1, 1/2), (1, 1)
  false_rate, detected = auroc.roc([3.0, 1.0], [2.0, 0.0])
  np.testing.assert_array_equal(false_rate, [0, 0, 0.5, 0.5, 1])
  np.testing.assert_array_equal(detected, [0, 0.5, 0.5, 1, 1])
  rng = np.random.default_rng(0)  # with ties and -inf (no score yet), its area is the AUROC
  bad, good = rng.integers(0, 5, 30).astype(float), rng.integers(0, 4, 20).astype(float)
  bad[:3], good[:5] = -math.inf, -math.inf
  assert np.trapezoid(*auroc.roc(bad, good)[::-1]) == pytest.approx(auroc.auroc(bad, good), abs=1e-12)
  with pytest.raises(ValueError, match="needs bad and good runs, got 0 and 1"):
    auroc.roc([], [1.0])


def _manifest(root, name):
  os.makedirs(root, exist_ok=True)
  with open(os.path.join(root, "sweep.json"), "w") as f:
    json.dump({"version": 1, "sweep": {"name": name}, "units": []}, f)


def _scored_run(path, lr, final_loss, rate, steps=100, config=None):
  """A 100-step run (warm-up 10, a log every 10, every step to 50 in monitor.jsonl) whose max logit grows as
  exp(rate * step) and whose train loss falls from 8 to 4; `config` is run.json's resolved config."""
  logs, dense = [{"step": 0, "eval/loss": 9.0}], []
  for step in range(1, steps + 1):
    rec = {"step": step, "lr": lr * min(1.0, step / 10), "train/loss": 4.0 + 4.0 * math.exp(-step / 20),
           "attn/max_logit/block_0": 2.0 * math.exp(rate * step), "logits/log_z": 8.0}
    if step % 10 == 0:
      logs.append(rec)
    elif step <= 50:
      dense.append(rec)
  logs[-1]["eval/loss"] = final_loss
  write_run(path, lr=lr, final_loss=final_loss, step=steps, metrics=logs,
            gin_bindings=["warmup_steps=10", f"steps={steps}"], config=config)
  with open(os.path.join(path, "monitor.jsonl"), "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in dense)


def test_scored_cli_by_suite(tmp_path):
  """Two suites: in each, a best run and one ending 0.1 behind at a lower LR (good, flat logits), a run above
  the best LR ending 1 nat behind whose logit grows from step 1 (bad). Held out: the same with a second bad run."""
  for suite, root, bad_lrs in (("fig10_cpu", tmp_path / "tune", [1e-1]), ("fig7_cpu", tmp_path / "held", [1e-1, 3e-1])):
    _manifest(root, suite)
    _scored_run(f"{root}/best", 1e-2, 3.0, 0.0)
    _scored_run(f"{root}/slow", 1e-3, 3.1, 0.0)
    for lr in bad_lrs:
      _scored_run(f"{root}/lr{lr:g}", lr, 4.0, 0.2)
  doc = tmp_path / "doc.md"
  doc.write_text(f"intro\n{early_warning.SCORED_BEGIN}\nstale\n{early_warning.SCORED_END}\n")
  cmd = [sys.executable, "-m", "analysis.early_warning", "--by_suite", str(tmp_path / "tune"), str(tmp_path / "held"),
         f"--out={doc}"]
  result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr
  text = doc.read_text()
  assert text.startswith("intro\n") and "stale" not in text
  assert "Suites: tuning fig10_cpu; held out fig7_cpu." in text
  # at 25% (step 25) the bad runs' logits (2 e^(0.2 s)) are past 50 and projected further: all bad above all good
  row = next(line for line in text.splitlines() if line.startswith("| 25% | held-out |"))
  assert "| 2 / 2 |" in row and "| 1.00 (1.00-1.00) |" in row and "| 2/2 (100%) | 0/2 (0%) |" in row
  assert "| fig7_cpu/lr0.1 | above best LR |" in text
  assert "\n![ROC curves of the monitor's score at 10% and 25% of training on each half](doc/roc.png)\n" in text
  png, svg = (tmp_path / "doc" / "roc.png").read_bytes(), (tmp_path / "doc" / "roc.svg").read_text()
  assert png.startswith(b"\x89PNG") and "monitor, held out: AUROC 1.00 (2 bad, 2 good)" in svg
  held_only = subprocess.run(cmd[:4] + cmd[5:], cwd=REPO, capture_output=True, text=True, timeout=300)
  svg = (tmp_path / "doc" / "roc.svg").read_text()
  assert held_only.returncode == 0 and "monitor, tuning: no bad or good runs" in svg
  _manifest(tmp_path / "other", "fig5_cpu")
  bad = subprocess.run(cmd[:-1] + [str(tmp_path / "other")], cwd=REPO, capture_output=True, text=True, timeout=300)
  assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "'fig5_cpu' is in neither" in bad.stderr


def test_section_3_3_fit_scores_the_held_out_runs_it_covers(tmp_path):
  """The fit suite has d_model 32, 64, 128 (1e4, 1e5, 1e6 params) at two LRs; at lr 0.1 the max logit at step
  50 is 10 sqrt(params), at 1e-2 it is 5: extrapolated to 1e7 params, 3.16e4 and 5. The held-out lr 0.1 run is
  bad (above the best LR, 1 nat behind), the 1e-2 one is its sweep's best."""
  fit, held = tmp_path / "fit", tmp_path / "held"
  _manifest(fit, "fig9_fit_cpu")
  _manifest(held, "fig9_heldout_cpu")
  for d, params in ((32, 1e4), (64, 1e5), (128, 1e6)):
    for lr, logit in ((1e-1, 10 * math.sqrt(params)), (1e-2, 5.0)):
      write_run(f"{fit}/d{d}_lr{lr:g}", lr=lr, final_loss=3.0, step=100, params=params, bindings={"d_model": d},
                gin_bindings=["warmup_steps=10", "steps=100"],
                metrics=[{"step": 50, "train/loss": 4.0, "attn/max_logit/block_0": logit}])
  _scored_run(f"{held}/lr0.1", 1e-1, 4.0, 0.0)
  _scored_run(f"{held}/lr0.01", 1e-2, 3.0, 0.0)
  runs, _ = find_runs([str(held)])
  for run in runs:  # the held-out size: d_model 256, 1e7 params
    run.bindings["d_model"], run.settings["d_model"], run.status["num_nonembedding_params"] = 256, 256, 1e7
  fit_runs, _ = find_runs([str(fit)])
  scored = early_warning.scored_runs(runs, [str(held)], margin=0.1)
  early_warning.add_predictions(scored, runs, fit_runs, step=50)
  by_label = {s.label: s for s in scored}
  assert by_label["fig9_heldout_cpu/lr0.1"].predicted == pytest.approx(10 * math.sqrt(1e7), rel=1e-6)
  assert by_label["fig9_heldout_cpu/lr0.01"].predicted == pytest.approx(5.0, rel=1e-6)
  lines = early_warning.scored_table(scored, "fig9_fit_cpu", "doc/roc.png")
  assert "on each half, and of Section 3.3's fit before training](doc/roc.png)" in "\n".join(lines)
  early_warning.roc_figure.draw(early_warning.roc_panels(scored, "fig9_fit_cpu"), str(tmp_path / "roc"))
  assert "Section 3.3 fit, held out: AUROC 1.00 (1 bad, 1 good)" in (tmp_path / "roc.svg").read_text()
  line = next(l for l in lines if l.startswith("Section 3.3"))
  # the monitor's flat logits score the same in both runs: a tie, AUROC 0.5; the fit separates them
  assert "on the 2 of 2 held-out runs it covers (1 bad, 1 good): AUROC 1.00 (1.00-1.00)" in line
  assert "the monitor at 10% on the same runs: 0.50 (0.50-0.50)" in line


def test_a_sweep_is_one_suite_s_its_best_lr_is_not_shared_across_suites(tmp_path):
  # The same settings in both suites: the tuning suite's lr 1e-3 ends at 2.0, the held-out best (lr 1e-2) at
  # 3.0. Read as one sweep, the held-out run would be above a best LR of 1e-3 and 1 nat behind: bad.
  tune, held = tmp_path / "tune", tmp_path / "held"
  _manifest(tune, "repro_cpu")
  _manifest(held, "fig7_cpu")
  _scored_run(f"{tune}/lr0.001", 1e-3, 2.0, 0.0)
  _scored_run(f"{held}/lr0.01", 1e-2, 3.0, 0.0)
  runs, _ = find_runs([str(tune), str(held)])
  scored = early_warning.scored_runs(runs, [str(tune), str(held)], margin=0.1)
  assert {s.label: (s.tuning, s.outcome.bad) for s in scored} == {"repro_cpu/lr0.001": (True, False),
                                                                   "fig7_cpu/lr0.01": (False, False)}


@pytest.mark.parametrize("extra, message", [
    (["--seen={held}"], "error: --seen="),
    (["--predict_from={held}"], "error: --predict_from="),
    (["{bare}"], "error: "),
    (["--out={tmp}/figfile.md"], "error: --out={tmp}/figfile.md: {tmp}/figfile is a file; expected a folder"),
])
def test_scored_cli_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path, extra, message):
  held, bare = tmp_path / "held", tmp_path / "bare"
  _manifest(held, "fig7_cpu")
  _scored_run(f"{held}/lr0.01", 1e-2, 3.0, 0.0)
  _scored_run(f"{bare}/lr0.01", 1e-2, 3.0, 0.0)  # no sweep.json: no suite
  doc = tmp_path / "doc.md"
  doc.write_text(f"{early_warning.SCORED_BEGIN}\nkept\n{early_warning.SCORED_END}\n")
  (tmp_path / "figfile").write_text("a file where the figure's folder would go")
  cmd = [sys.executable, "-m", "analysis.early_warning", "--by_suite", str(held), f"--out={doc}",
         *(e.format(held=held, bare=bare, tmp=tmp_path) for e in extra)]
  result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
  message = message.format(tmp=tmp_path)
  assert result.returncode == 2 and result.stderr.startswith(message) and "\n" not in result.stderr.strip()
  assert "kept" in doc.read_text() and not (tmp_path / "doc").exists()  # nor the figure


def test_an_alarm_level_below_every_finite_score_reads_any():
  """Good tuning runs with no score yet (-inf, before the trend's first record): any score alarms, and the
  table says so rather than printing the float just above -inf."""
  from analysis import onset
  good, bad = onset.Outcome(False, None, ()), onset.Outcome(True, 30, ("rose",))
  scored = [early_warning.Scored("repro_cpu/a", "a", True, good, 100, [(60, 1.0)], None),
            early_warning.Scored("repro_cpu/b", "b", True, bad, 100, [(5, 2.0)], None)]
  rows = [l for l in early_warning.scored_table(scored, None) if l.startswith("| 10% | tuning")]
  # at 10% (step 10) the good run has no record yet (-inf), the bad one 2.0: AUROC 1, detected at any level
  assert rows == ["| 10% | tuning | 1 / 1 | 0 | 1.00 (1.00-1.00) | any | 1/1 (100%) | 0/1 (0%) | 25 |"]


def _config(lr, d_model=64, mup="none", mup_base_width=256):
  return {"train": {"steps": 100, "seed": 0}, "optimizer": {"lr": lr, "warmup_steps": 10},
          "model": {"vocab_size": 32, "d_model": d_model, "num_layers": 2, "num_heads": 1, "mup": mup,
                    "mup_base_width": mup_base_width}}


def test_each_experiment_counts_once_and_a_copy_of_a_tuning_run_is_not_held_out(tmp_path):
  """fig9_fit_cpu (tuning) and figE4_cpu (held out) both train the standard d=64 model at lr 0.1, figE4 once
  more as muParam at its base width (the same model); fig7_cpu and fig8_cpu (both held out) share lr 0.3.
  Kept: the tuning copy, fig7's lr 0.3 (fig7_cpu comes before fig8_cpu), and figE4's run of its own."""
  roots = {name: tmp_path / name for name in ("fig9_fit_cpu", "figE4_cpu", "fig7_cpu", "fig8_cpu")}
  for name, root in roots.items():
    _manifest(root, name)
  _scored_run(f"{roots['fig9_fit_cpu']}/lr0.1", 1e-1, 4.0, 0.2, config=_config(1e-1))
  _scored_run(f"{roots['figE4_cpu']}/none_lr0.1", 1e-1, 4.0, 0.2, config=_config(1e-1, mup_base_width=64))
  _scored_run(f"{roots['figE4_cpu']}/mup_lr0.1", 1e-1, 4.0, 0.2, config=_config(1e-1, mup="simple", mup_base_width=64))
  _scored_run(f"{roots['figE4_cpu']}/mup_d128_lr0.1", 1e-1, 4.0, 0.2,
              config=_config(1e-1, d_model=128, mup="simple", mup_base_width=64))
  _scored_run(f"{roots['fig8_cpu']}/lr0.3", 3e-1, 4.0, 0.2, config=_config(3e-1, mup_base_width=64))
  _scored_run(f"{roots['fig7_cpu']}/lr0.3", 3e-1, 4.0, 0.2, config=_config(3e-1))
  _scored_run(f"{roots['fig7_cpu']}/old", 1e-2, 3.0, 0.0)  # no resolved config: its own experiment
  paths = [str(r) for r in roots.values()]
  runs, _ = find_runs(paths)
  scored = early_warning.scored_runs(runs, paths, margin=0.1)
  kept = early_warning.distinct(scored)
  assert sorted(s.label for s in kept) == ["fig7_cpu/lr0.3", "fig7_cpu/old", "fig9_fit_cpu/lr0.1",
                                           "figE4_cpu/mup_d128_lr0.1"]
  line = early_warning.copies_line(scored, kept)
  assert "4 of 7 runs; dropped 0 tuning copies and 3 held-out ones" in line


def test_the_roc_figure_marks_the_alarm_levels_rates(tmp_path, monkeypatch):
  """The dot sits at (false-alarm rate, detection rate) of `score >= level`: here 1 of 4 good and 2 of 3 bad."""
  from analysis import roc_figure
  drawn = []
  monkeypatch.setattr(roc_figure, "save", lambda fig, out: drawn.extend(fig.axes[0].get_lines()) or [])
  curve = roc_figure.Curve("monitor", [3.0, 2.0, 0.5], [2.5, 1.0, 0.0, -math.inf], "-", level=2.0)
  roc_figure.draw([("at 10%", [curve])], str(tmp_path / "roc"))
  [dot] = [line for line in drawn if line.get_marker() == "o"]
  assert (list(dot.get_xdata()), list(dot.get_ydata())) == ([0.25], [pytest.approx(2 / 3)])
