"""Each detector on synthetic histories with hand-computed expectations; onset-only firing; replay."""

import dataclasses
import math
import random

import pytest

from instability.detectors import Monitor, Thresholds, replay

TH = Thresholds(window=2, baseline=3)


def logs(**series):
  """Records at steps 10, 20, ... with a flat train loss unless given."""
  n = len(next(iter(series.values())))
  series.setdefault("train/loss", [4.0] * n)
  return [{"step": 10 * (i + 1), **{k: v[i] for k, v in series.items()}} for i in range(n)]


def test_attention_logit_doubling_projects_the_step_it_passes_1e4():
  # 625 -> 1250 -> 2500: 4x over 20 steps, so doubling time 10 steps;
  # log2(1e4 / 2500) = 2 doublings -> projected step 30 + 20 = 50.
  _, ws = replay(logs(**{"attn/max_logit/block_0": [625.0, 1250.0, 2500.0]}), TH)
  assert len(ws) == 1
  w = ws[0]
  assert (w["step"], w["kind"], w["where"], w["value"]) == (30, "attention_logits", "block_0", 2500.0)
  assert w["trend"] == pytest.approx(10.0) and w["projected_step"] == 50
  assert w["message"] == ("step 30: block 0 max attention logit 2.5e+03, doubling every ~10 steps; "
                          "projected to pass 1e+04 near step 50")


def test_attention_logit_growing_below_the_level_or_slowly_is_silent():
  assert replay(logs(**{"attn/max_logit/block_0": [100.0, 300.0, 900.0]}), TH)[1] == []  # below 1e3
  # 1000 < 2 * 600 and 1500 < 2 * 800: past the level but not doubling within 2 logs
  assert replay(logs(**{"attn/max_logit/block_0": [600.0, 800.0, 1000.0, 1500.0]}), TH)[1] == []


def test_output_log_z_rise_and_mean_drop():
  ws = replay(logs(**{"logits/log_z": [10.0, 12.0, 16.0]}), TH)[1]
  assert [(w["step"], w["where"], w["value"]) for w in ws] == [(30, "log_z", 16.0)]
  assert ws[0]["trend"] == pytest.approx(0.3)  # (16 - 10) / 20 steps
  ws = replay(logs(**{"logits/mean": [0.0, -2.0, -4.0, -6.0]}), TH)[1]
  assert [(w["step"], w["where"]) for w in ws] == []  # drops of 4 over 2 logs stay under 5
  ws = replay(logs(**{"logits/mean": [0.0, -2.0, -5.5]}), TH)[1]
  assert [(w["step"], w["where"], w["trend"]) for w in ws] == [(30, "mean", pytest.approx(-0.275))]


def test_loss_spike_against_the_median_baseline_fires_once_per_excursion():
  # step 40: median(4, 5, 4) = 4 and 6.1 > 1.5 * 4; step 70: median(6.1, 4, 4) = 4 and 4 is not;
  # step 80: median(4, 4, 4) = 4 and 7 > 6.
  losses = [4.0, 5.0, 4.0, 6.1, 4.0, 4.0, 4.0, 7.0]
  _, ws = replay(logs(**{"train/loss": losses}), TH)
  assert [(w["step"], w["kind"], round(w["trend"], 4)) for w in ws] == [(40, "loss_spike", 1.525),
                                                                       (80, "loss_spike", 1.75)]


def test_a_sustained_condition_is_one_record_and_fires_again_after_it_clears():
  monitor = Monitor(TH)
  series = [4.0, 4.0, 4.0, 7.0, 7.0, 4.0, 4.0, 4.0, 7.0]
  new = [monitor.observe(r) for r in logs(**{"train/loss": series})]
  # step 50: 7 vs median(4, 4, 7) = 4 -> still spiking, same excursion; step 90: median(4,4,4) -> new onset
  assert [i for i, ws in enumerate(new) if ws] == [3, 8]
  assert monitor.status() == {"warnings": 2, "warning_kinds": {"loss_spike": 2}, "first_warning_step": 40}


def test_update_rms_spike_per_layer():
  key = "update/rms/block_0/mlp/dense_in/w"
  _, ws = replay(logs(**{key: [0.2, 0.2, 0.3, 0.9], "update/rms/head/w": [0.2, 0.2, 0.2, 0.3]}), TH)
  assert [(w["where"], w["value"], w["trend"]) for w in ws] == [("block_0/mlp/dense_in/w", 0.9,
                                                                 pytest.approx(4.5))]


def test_grad_rms_near_adam_eps_with_projected_step():
  th = Thresholds(window=2, baseline=3, adam_eps=1e-8, eps_margin=10.0)
  # 1e-6, 1e-6, 1e-7.5: below 1e-7 at step 30; -1.5 decades over 20 steps; 0.5 decades more -> ~7 steps.
  _, ws = replay(logs(**{"grad/rms/head/w": [1e-6, 1e-6, 10 ** -7.5]}), th)
  assert len(ws) == 1 and ws[0]["where"] == "head/w" and ws[0]["step"] == 30
  assert ws[0]["trend"] == pytest.approx(-0.075) and ws[0]["projected_step"] == 37
  assert "within 10x of AdamW eps 1e-08" in ws[0]["message"]


def test_eval_only_and_non_finite_values_are_ignored():
  recs = logs(**{"attn/max_logit/block_0": [500.0, math.nan, 2500.0]}) + [{"step": 35, "eval/loss": 3.0}]
  _, ws = replay(recs, TH)
  assert [w["step"] for w in ws] == [30]


def test_bad_thresholds_raise():
  with pytest.raises(ValueError, match="Thresholds.window=0"):
    Thresholds(window=0)


def test_a_resume_truncates_warnings_jsonl_with_metrics(tmp_path):
  from rundir.files import RunDir
  run_dir = RunDir(str(tmp_path))
  for step in (10, 30):
    run_dir.append_metrics({"step": step, "train/loss": 4.0})
    run_dir.append_metrics({"step": step, "kind": "loss_spike"}, name="warnings.jsonl")
  run_dir.truncate_metrics(20)
  assert [r["step"] for r in run_dir.metrics_records("warnings.jsonl")] == [10]
  assert [r["step"] for r in run_dir.metrics_records()] == [10]


def stream(max_logit, steps=200, warmup=20, lr=1e-2, log_every=10, dense_steps=50, log_z=lambda s: 8.0):
  """The records the trainer hands the monitor at the default cadence: every step up to dense_steps, then every
  log; linear warm-up to `lr`, then cosine decay to 0 (train/optimizer.py's schedule)."""
  out = []
  for step in range(1, steps + 1):
    if step > dense_steps and step % log_every:
      continue
    if step < warmup:
      eta = lr * step / warmup
    else:
      eta = lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))
    out.append({"step": step, "lr": eta, "train/loss": 4.0 + 4.0 * math.exp(-step / 20),
                "attn/max_logit/block_0": max_logit(step), "logits/log_z": log_z(step),
                "update/rms/block_0/attn/key/w": 0.3, "grad/rms/block_0/attn/key/w": 1e-3})
  return out


def defaults():
  return Thresholds(warmup_steps=20, steps=200)


@pytest.mark.parametrize("rate,warned", [(0.2, 13), (0.1, 25), (0.03, 70)])
def test_a_max_logit_growing_exponentially_from_step_1_is_warned_before_it_crosses_the_damage_level(rate, warned):
  # exp(rate * step) passes the damage level 50 at step ln(50) / rate: 20, 40 (every-step phase), 131 (first
  # logged at 140). The steps warned at are docs/early_warning.md's: a third to a half of the way ahead.
  recs = stream(lambda s: math.exp(rate * s))
  crossed = min(r["step"] for r in recs if r["attn/max_logit/block_0"] >= defaults().attn_damage)
  _, ws = replay(recs, defaults())
  assert ws, "no warning"
  first = min(ws, key=lambda w: w["step"])
  assert (first["kind"], first["where"]) == ("attention_trend", "block_0")
  assert first["step"] == warned < crossed


def test_a_log_z_climbing_from_its_start_is_warned_before_it_is_4_nats_up():
  recs = stream(lambda s: 5.0, log_z=lambda s: 8.0 + 0.1 * s)  # 4 nats up at step 40
  _, ws = replay(recs, defaults())
  assert [w["kind"] for w in ws][:1] == ["log_z_trend"] and ws[0]["step"] < 40


@pytest.mark.parametrize("max_logit", [lambda s: 5.0, lambda s: 8.0 - 6.0 * math.exp(-s / 10)],
                         ids=["flat", "saturating at 8"])
def test_a_flat_or_saturating_run_is_not_warned(max_logit):
  monitor, ws = replay(stream(max_logit), defaults())
  assert ws == []
  assert monitor.risk and max(r for _, r in monitor.risk) < 0


@pytest.mark.parametrize("seed", [0, 2])
def test_step_to_step_noise_at_a_low_lr_is_not_extrapolated_over_the_run(seed):
  # ln max logit = ln 4 + N(0, 0.15) per step at lr 1e-3: a fit over only the last 5 steps (trend_span 0)
  # projects a chance rise past 50 (seeds 0 and 2); over the last half of the LR spent it does not.
  rng = random.Random(seed)
  noise = {s: rng.gauss(0, 0.15) for s in range(1, 201)}
  recs = stream(lambda s: 4.0 * math.exp(noise[s]), lr=1e-3)
  assert replay(recs, dataclasses.replace(defaults(), trend_span=0.0))[1]
  monitor, ws = replay(recs, defaults())
  assert ws == [] and max(r for _, r in monitor.risk) < -1


def test_the_lr_sum_and_horizon_by_hand():
  th = Thresholds(warmup_steps=4, steps=10, lookahead=1.0)
  monitor = Monitor(th)
  for step, lr in ((1, 0.25), (2, 0.5), (5, 1.0)):  # right Riemann sum: 0.25 + 0.5 + 1.0 * 3 = 3.75
    monitor.observe({"step": step, "lr": lr, "train/loss": 4.0})
  assert monitor.lr_sum == pytest.approx(3.75)
  from instability.detectors import LR_SUM, horizon
  # step 2 of a 4-step warm-up at lr 0.5: 0.75 + 1.0 to come, then peak 1.0 x 6 steps; capped at 2 x 0.75
  assert horizon({"step": 2, "lr": 0.5, LR_SUM: 0.75}, th) == pytest.approx(1.5)
  # step 8 after warm-up at lr 0.4: 0.4 x 2 steps to come (under the cap of 10)
  assert horizon({"step": 8, "lr": 0.4, LR_SUM: 10.0}, th) == pytest.approx(10.8)


def test_the_trend_excess_by_hand():
  # ln(logit) rises 1 per unit of LR sum (e, e^2, e^3 at sums 1, 2, 3); horizon 3 + min(1 x 7, 1 x 3) = 6:
  # projected ln 3 + 3 = 6 against ln 50.
  th = Thresholds(trend_window=3, steps=10)
  monitor = Monitor(th)
  for step in (1, 2, 3):
    monitor.observe({"step": step, "lr": 1.0, "train/loss": 4.0, "attn/max_logit/block_0": math.exp(step)})
  assert monitor.risk == [(3, pytest.approx(6 - math.log(50)))]


def test_every_step_records_merge_with_the_logs():
  from instability.detectors import merged
  logs = [{"step": 10, "train/loss": 4.0, "eval/loss": 3.0}, {"step": 20, "train/loss": 3.9}]
  steps = [{"step": 9, "train/loss": 4.1}, {"step": 10, "train/loss": 4.0, "lr": 0.1}]
  assert merged(logs, steps) == [{"step": 9, "train/loss": 4.1},
                                 {"step": 10, "train/loss": 4.0, "lr": 0.1, "eval/loss": 3.0},
                                 {"step": 20, "train/loss": 3.9}]
