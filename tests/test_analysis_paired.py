"""analysis/paired.py: the paired t interval and the 'within noise' label against values computed by hand."""

import math

import pytest

from analysis import paired


@pytest.mark.parametrize("dof, table", [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (9, 2.262), (30, 2.042)])
def test_t_critical_matches_the_printed_t_table(dof, table):
  assert paired.t_critical(dof) == pytest.approx(table, abs=1e-3)


def test_t_critical_at_another_level():
  assert paired.t_critical(2, 0.90) == pytest.approx(2.920, abs=1e-3)
  with pytest.raises(ValueError, match="dof=0"):
    paired.t_critical(0)


def test_paired_difference_by_hand():
  # B - A per seed: 0.05, 0.02, 0.03 (seed 3 only in A: unpaired). mean 0.1/3; deviations 1/60, -1/75, -1/300:
  # s^2 = (1/3600 + 1/5625 + 1/90000) / 2 = 0.0002333..., s = 0.0152753; half = 4.302653 s / sqrt(3) = 0.0379460.
  a = {0: 0.40, 1: 0.50, 2: 0.45, 3: 0.1}
  b = {0: 0.45, 1: 0.52, 2: 0.48}
  comparison = paired.difference(b, a, [0.02])
  assert comparison.values == pytest.approx({0: 0.05, 1: 0.02, 2: 0.03})
  assert comparison.unpaired == (3,)
  assert comparison.mean == pytest.approx(0.1 / 3)
  low, high = comparison.interval
  assert (low, high) == pytest.approx((0.1 / 3 - 0.0379460, 0.1 / 3 + 0.0379460), abs=1e-6)
  assert comparison.within_noise  # 0.02 lies in [-0.0046, 0.0713]
  assert paired.label("reproduced", [comparison]) == "reproduced (within noise)"
  assert comparison.text() == "0.0333 [-0.00461, 0.0713], 3 seeds (0.05, 0.02, 0.03); unpaired seeds [3]"


def test_a_clear_comparison_keeps_its_verdict_word_alone():
  # q = 0.10, 0.11, 0.12: mean 0.11, s 0.01, half 4.302653 * 0.01 / sqrt(3) = 0.024841: [0.0852, 0.1348].
  clear = paired.per_seed({0: 0.10, 1: 0.11, 2: 0.12}, [0.02, 0.0])
  assert clear.interval == pytest.approx((0.11 - 0.024841, 0.11 + 0.024841), abs=1e-6)
  assert not clear.within_noise
  noisy = paired.per_seed({0: 0.0, 1: 0.01, 2: 0.05}, [0.02])
  assert paired.label("not reproduced", [clear]) == "not reproduced"
  assert paired.label("not reproduced", [clear, noisy]) == "not reproduced (within noise)"
  assert paired.label("not measured", [noisy]) == "not measured"


def test_one_seed_has_no_interval_and_non_finite_values_are_not_paired():
  one = paired.difference({0: 1.0, 1: math.nan}, {0: 0.5, 1: 0.2}, [0.02])
  assert one.values == {0: 0.5} and one.unpaired == (1,)
  assert one.interval is None and not one.within_noise
  assert one.text() == "0.5, 1 seed (0.5); unpaired seeds [1]"
  assert paired.difference({}, {}, [0.02]).text() == "no paired seed"
