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
         mean_end=-2.0, log_z_mid=3.0, log_z_end=3.0, diverge_at=None, steps=2000):
  """A run whose logit mean and log Z move linearly from step steps/2 to `steps` (or to a divergence)."""
  records = [{"step": 0, "eval/loss": L0}]
  for step in range(50, steps + 1, 50):
    if diverge_at is not None and step > diverge_at:
      records.append({"step": step, "train/loss": math.nan, "logits/mean": math.nan, "logits/log_z": math.nan})
      break
    t = max(0.0, (step - steps / 2) / (steps / 2))
    records.append({"step": step, "train/loss": final,
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
