"""Rule PC (analysis/logit_divergence.py) on synthetic runs where it must say present, absent and between."""

import math
import os

import pytest

from analysis import logit_divergence as ld
from analysis import rules
from analysis.runs import find_runs
from analysis.synthetic import write_run

L0 = 7.6


def _run(root, *, vocab=2048, dtype="float32", z_loss=1e-4, lr=0.3, seed=0, final=4.0, mean_mid=-2.0,
         mean_end=-2.0, log_z_mid=3.0, log_z_end=3.0, diverge_at=None, steps=2000, train_loss=None):
  """A run whose logit mean and log Z move linearly from step steps/2 to `steps` (or to a divergence)."""
  records = [{"step": 0, "eval/loss": L0}]
  for step in range(50, steps + 1, 50):
    if diverge_at is not None and step > diverge_at:
      records.append({"step": step, "train/loss": math.nan, "logits/mean": math.nan, "logits/log_z": math.nan})
      break
    t = max(0.0, (step - steps / 2) / (steps / 2))
    records.append({"step": step, "train/loss": final if train_loss is None else train_loss(step),
                    "logits/mean": mean_mid + t * (mean_end - mean_mid),
                    "logits/log_z": log_z_mid + t * (log_z_end - log_z_mid)})
  config = {"model": {"vocab_size": vocab, "compute_dtype": dtype},
            "train": {"z_loss_coef": z_loss, "seed": seed}, "optimizer": {"lr": lr}}
  name = f"v{vocab}_{dtype}_z{z_loss}_lr{lr}_s{seed}"
  return write_run(os.path.join(root, name), lr=lr, config=config, init_loss=L0, final_loss=final,
                   state="diverged" if diverge_at is not None else "completed", step=steps, metrics=records)


def _pairs(tmp_path):
  return ld.pairs(find_runs([str(tmp_path)])[0])


def test_measures_against_hand_computed_values(tmp_path):
  _run(tmp_path, z_loss=0.0, final=4.5, mean_mid=-3.0, mean_end=-7.5, log_z_mid=2.0, log_z_end=2.4)
  _run(tmp_path, z_loss=1e-4, final=4.2, mean_mid=-3.0, mean_end=-4.0)
  (pair,) = _pairs(tmp_path)
  assert pair.setting == ld.Setting(2048, "float32")
  assert pair.dloss == pytest.approx(0.3)
  assert pair.drift == pytest.approx((-7.5 + 3.0) - (-4.0 + 3.0))  # -3.5
  assert pair.rise == pytest.approx(0.4)
  assert ld.verdicts([pair]) == {ld.Setting(2048, "float32"): rules.PRESENT}


@pytest.mark.parametrize("dloss, mean_end, log_z_end, expected", [
    (0.3, -2.0, 4.5, rules.PRESENT),        # harm and a rising log Z
    (0.3, -2.0, 3.5, rules.HARM_ONLY),      # log Z rises by 0.5 only, the mean does not fall
    (0.05, -4.0, 3.0, rules.SIGNATURE_ONLY),  # the mean falls by 2, the loss is barely hurt
    (0.05, -2.5, 3.2, rules.ABSENT),
])
def test_rule_outcomes(tmp_path, dloss, mean_end, log_z_end, expected):
  _run(tmp_path, z_loss=0.0, final=4.0 + dloss, mean_end=mean_end, log_z_end=log_z_end)
  _run(tmp_path, z_loss=1e-4, final=4.0)
  assert list(ld.verdicts(_pairs(tmp_path)).values()) == [expected]


def test_low_lr_pairs_do_not_count(tmp_path):
  _run(tmp_path, lr=0.03, z_loss=0.0, final=5.0, mean_end=-9.0)
  _run(tmp_path, lr=0.03, z_loss=1e-4, final=4.0)
  assert list(ld.verdicts(_pairs(tmp_path)).values()) == [rules.ABSENT]


def test_a_diverged_run_scores_l0_and_is_read_before_its_divergence(tmp_path):
  _run(tmp_path, z_loss=0.0, mean_end=-6.0, diverge_at=1600)
  _run(tmp_path, z_loss=1e-4, final=4.0)
  (pair,) = _pairs(tmp_path)
  assert pair.dloss == pytest.approx(L0 - 4.0)
  # T = 1600 (the last finite log), T/2 = 800: the mean moved from -2 at 800 to -2 - 4 * 600 / 1000.
  assert pair.drift == pytest.approx(-2.4)
  assert ld.verdict([pair]) == rules.PRESENT


def test_settings_are_paired_separately_and_the_mitigation_setting_is_chosen_by_the_fixed_order(tmp_path):
  for vocab, dtype, harmed in ((2048, "float32", False), (2048, "bfloat16", True),
                               (8192, "float32", True), (8192, "bfloat16", True)):
    _run(tmp_path, vocab=vocab, dtype=dtype, z_loss=0.0, final=4.5 if harmed else 4.0,
         log_z_end=5.0 if harmed else 3.0)
    _run(tmp_path, vocab=vocab, dtype=dtype, z_loss=1e-4, final=4.0)
  by_setting = ld.verdicts(_pairs(tmp_path))
  assert by_setting[ld.Setting(2048, "float32")] == rules.ABSENT
  assert by_setting[ld.Setting(8192, "float32")] == rules.PRESENT
  assert ld.mitigation_setting(by_setting) == ld.Setting(2048, "bfloat16")
  assert ld.mitigation_setting({ld.Setting(2048, "float32"): rules.ABSENT}) is None


def test_unpaired_and_other_z_loss_doses_are_left_out(tmp_path):
  _run(tmp_path, z_loss=0.0, seed=0)
  _run(tmp_path, z_loss=1e-4, seed=1)
  _run(tmp_path, z_loss=1e-3, seed=0)
  assert _pairs(tmp_path) == []


def _seeded_pairs(tmp_path, dlosses, rises, mean_ends=(-2.0, -2.0, -2.0), lr=1.0):
  """A no-z-loss run and its z-loss twin at each seed: dloss, rise of log Z and end logit mean per seed."""
  for seed, (dloss, rise, mean_end) in enumerate(zip(dlosses, rises, mean_ends)):
    _run(tmp_path, z_loss=0.0, seed=seed, lr=lr, final=4.0 + dloss, log_z_end=3.0 + rise, mean_end=mean_end)
    _run(tmp_path, z_loss=1e-4, seed=seed, lr=lr, final=4.0)
  return _pairs(tmp_path)


def test_pc_on_3_seeds_reads_the_seed_means(tmp_path):
  # seed 0 alone: signature only (dloss 0.05); the means: dloss 0.15, rise 1.5: present
  all_pairs = _seeded_pairs(tmp_path, (0.05, 0.2, 0.2), (1.5, 1.5, 1.5))
  assert ld.verdicts([p for p in all_pairs if p.seed == 0]) == {ld.Setting(2048, "float32"): rules.SIGNATURE_ONLY}
  assert ld.seeded_verdicts(all_pairs) == {ld.Setting(2048, "float32"): rules.PRESENT}
  (cell,) = ld.cells(all_pairs).values()
  assert ld.seed_means(cell) == pytest.approx((1.0, 0.15, 0.0, 1.5))


def test_pc_on_3_seeds_leaves_out_a_cell_without_every_seed(tmp_path):
  all_pairs = _seeded_pairs(tmp_path, (0.5, 0.5), (2.0, 2.0))
  assert ld.seeded_verdicts(all_pairs) == {}


def test_3a_proxy_on_a_hand_computed_t_interval(tmp_path):
  # dloss 0.3, 0.4, 0.5: mean 0.4, sd 0.1, half-width 4.303 * 0.1 / sqrt(3) = 0.2484: [0.1516, 0.6484]
  (cell,) = ld.cells(_seeded_pairs(tmp_path, (0.3, 0.4, 0.5), (0.0, 0.0, 0.0))).values()
  dloss = ld.comparison(cell, lambda p: p.dloss)
  assert dloss.interval == pytest.approx((0.4 - 0.24843, 0.4 + 0.24843), abs=1e-4)
  assert rules.z_loss_lowers_loss(dloss)[0] == "reproduced"


@pytest.mark.parametrize("values, expected", [
    ((0.3, 0.4, 0.5), "reproduced"),
    ((0.05, 0.06, 0.07), "not reproduced"),  # above 0 but under the harm of 0.1
    ((-0.2, 0.4, 0.5), "not reproduced (within noise)"),
    ((0.4,), "not measured"),
])
def test_3a_proxy_outcomes(values, expected):
  from analysis import paired  # pylint: disable=import-outside-toplevel
  assert rules.z_loss_lowers_loss(paired.per_seed(dict(enumerate(values)), (0.0,)))[0] == expected


@pytest.mark.parametrize("mean_ends, expected", [
    ((-4.0, -4.5, -5.0), "reproduced"),  # the no-z-loss mean ends 2-3 below its twin's -2
    ((-1.0, -1.1, -0.9), "not reproduced (reversed)"),
    ((-4.0, 0.0, -1.0), "not reproduced (within noise)"),
])
def test_3b_proxy_reads_the_final_logit_mean_gap(tmp_path, mean_ends, expected):
  (cell,) = ld.cells(_seeded_pairs(tmp_path, (0.0,) * 3, (0.0,) * 3, mean_ends)).values()
  gap = ld.comparison(cell, ld.final_mean_gap)
  assert [gap.values[s] for s in range(3)] == pytest.approx([m + 2.0 for m in mean_ends])
  assert rules.logit_mean_more_negative(gap)[0] == expected


def test_harm_horizon_extrapolates_the_train_loss_gap(tmp_path):
  # gap(t) = 2e-5 t: third quarter (1000, 1500] mean 0.0255, last (1500, 2000] 0.0355: 0.02 per 1000 steps,
  # so 0.1 is reached 3225 steps after step 2000.
  _run(tmp_path, z_loss=0.0, train_loss=lambda step: 4.0 + 2e-5 * step)
  _run(tmp_path, z_loss=1e-4)
  (pair,) = _pairs(tmp_path)
  assert ld.loss_gap_trend(pair) == pytest.approx((0.0355, 0.02))
  assert ld.harm_horizon(pair) == pytest.approx(5225.0)


def test_a_shrinking_gap_never_reaches_the_harm(tmp_path):
  _run(tmp_path, z_loss=0.0, train_loss=lambda step: 4.05 - 2e-5 * step)
  _run(tmp_path, z_loss=1e-4)
  (pair,) = _pairs(tmp_path)
  assert ld.loss_gap_trend(pair)[1] == pytest.approx(-0.02)
  assert ld.harm_horizon(pair) is None
