"""The rules of analysis/rules.py (written out as docs/reproduction_rules.md) on hand-made numbers: each case's
verdict worked out by hand from the rule's text."""

import os

import pytest

from analysis import rules
from tests.trainer_utils import REPO

LRS = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)


def test_slope_is_least_squares():
  assert rules.slope([0.0, 1.0, 2.0], [1.0, 2.0, 4.0]) == pytest.approx(1.5)  # hand: sxy 3 / sxx 2


@pytest.mark.parametrize("depth, expected", [
    ((0.1, 0.2, 0.3), "reproduced"),  # per decade: depth 0.1 vs width 0.02 (0.01 -> 0.03 over 2 decades)
    ((0.1, 0.13, 0.16), "partly"),  # 0.03 > 0.02 by 0.01 < 0.05
    ((0.1, 0.1, 0.1), "not reproduced"),  # 0 < 0.02
    ((0.1, None, 0.3), "not measured")])
def test_width_vs_depth_slope(depth, expected):
  width = [(1e5, 0.01), (1e6, 0.02), (1e7, 0.03)]
  assert rules.depth_vs_width_slope(width, list(zip((1e5, 1e6, 1e7), depth)))[0] == expected


@pytest.mark.parametrize("width_best, depth_best, expected", [
    (4.0, 3.98, "reproduced"), (4.0, 3.99, "partly"), (4.0, 4.01, "partly"), (3.97, 4.0, "not reproduced"),
    (None, 4.0, "not measured")])
def test_width_vs_depth_loss(width_best, depth_best, expected):
  assert rules.depth_vs_width_loss(width_best, depth_best)[0] == expected


def test_mup_check_is_exact():
  assert rules.mup_matches_standard([4.0, 5.0], [4.0, 5.0]) is True
  assert rules.mup_matches_standard([4.0, 5.0], [4.0, 5.0 + 1e-12]) is False
  assert rules.mup_matches_standard([4.0, None], [4.0, 5.0]) is None


@pytest.mark.parametrize("standard, mup, expected", [
    ((1e-2, 3e-3, 1e-3), (1e-2, 1e-2, 3e-3), "reproduced"),  # spreads 2 vs 1
    ((1e-2, 3e-3, 3e-3), (3e-3, 1e-2, 1e-2), "partly"),  # 1 vs 1
    ((1e-2, 1e-2, 1e-2), (1e-2, 1e-2, 1e-2), "not reproduced"),  # both 0
    ((1e-2, 1e-2, 1e-2), (1e-2, 3e-3, 1e-2), "not reproduced"),  # 1 > 0
    ((1e-2, None, 1e-2), (1e-2, 3e-3, 1e-2), "not measured")])
def test_mup_best_lr_spread(standard, mup, expected):
  spreads = [rules.best_lr_spread(lrs, LRS) for lrs in (standard, mup)]
  assert rules.mup_stabilises_lr(*spreads)[0] == expected


@pytest.mark.parametrize("standard, mup, expected", [
    (1.0, 0.98, "not reproduced"), (1.0, 0.99, "reproduced"), (1.0, 1.5, "reproduced"), (None, 1.0, "not measured")])
def test_mup_does_not_lower(standard, mup, expected):
  assert rules.mup_not_lower(standard, mup, "l*")[0] == expected


@pytest.mark.parametrize("pairs, expected", [
    ([(0.5, 1.0), (0.6, 1.2)], "reproduced"), ([(0.5, 1.0), (1.19, 1.2)], "partly"),
    ([(1.0, 1.0), (1.2, 1.2)], "not reproduced"), ([(0.5, None), (0.6, 1.2)], "not measured")])
def test_mup_needs_qkln(pairs, expected):
  assert rules.mup_needs_qkln(pairs)[0] == expected


@pytest.mark.parametrize("predicted, realised, expected", [
    ([1e2] * 5 + [2e4, 5e4], [2e2] * 5 + [3e4, 4e4], "reproduced"),  # all agree, median log10 2 = 0.3
    ([1e2] * 5 + [2e4, 5e4], [5e3] * 5 + [3e4, 4e4], "partly"),  # all agree, median log10 50 = 1.7 > 0.5
    ([1e2] * 5 + [None, 5e4], [2e2] * 5 + [3e4, 4e4], "partly"),  # no fit at one LR: 6 of 7
    ([2e4] * 3 + [1e2] * 4, [1e2] * 3 + [1e2] * 4, "not reproduced"),  # 4 of 7
    ([1e2] * 7, [None] * 7, "not measured")])
def test_held_out(predicted, realised, expected):
  assert rules.held_out(predicted, realised, 1e4)[0] == expected


@pytest.mark.parametrize("losses, expected", [
    ({1: 4.0, 10: 4.0, 1e2: 4.05, 1e3: 4.2, 1e4: 6.0}, "reproduced"),  # kappa* = 1e3
    ({1: 4.0, 10: 4.15, 1e2: 4.2, 1e3: 5.0, 1e4: 6.0}, "partly"),  # kappa* = 10
    ({1: 4.0, 10: 4.0, 1e2: 4.0, 1e3: 4.0, 1e4: 4.05}, "not reproduced"),  # no onset
    ({1: 4.5, 10: 4.0, 1e2: 4.0, 1e3: 4.0, 1e4: 4.0}, "not reproduced"),  # kappa* = 1 < 10
    ({1: 4.0, 10: None}, "not measured")])
def test_kappa_onset(losses, expected):
  assert rules.kappa_onset(losses)[0] == expected


@pytest.mark.parametrize("losses, bigram, expected", [
    ({1: 4.0, 10: 4.0, 1e2: 4.1, 1e3: 5.0, 1e4: 6.0}, 5.5, "reproduced"),
    ({1: 4.0, 10: 4.0, 1e2: 5.6, 1e3: 5.0, 1e4: 6.0}, 5.5, "partly"),  # kappa 1e2 above the bigram
    ({1: 4.0, 10: 4.0, 1e2: 4.1, 1e3: 5.0, 1e4: 5.5}, 5.5, "not reproduced"),  # equal is not above
    ({1: 4.0, 1e4: 6.0}, None, "not measured")])
def test_kappa_vs_bigram(losses, bigram, expected):
  assert rules.kappa_vs_bigram(losses, bigram)[0] == expected


@pytest.mark.parametrize("loss_8, loss_15, g, expected", [
    (4.0, 3.98, 3e-6, "reproduced"), (4.0, 3.99, 3e-6, "not reproduced, scale"),
    (4.0, 3.99, 5e-8, "not reproduced"),  # g = 5 eps: epsilon's order is reached
    (4.0, 4.05, 3e-6, "not reproduced"), (4.0, None, 3e-6, "not measured")])
def test_small_eps(loss_8, loss_15, g, expected):
  assert rules.small_eps_helps(loss_8, loss_15, g)[0] == expected


@pytest.mark.parametrize("args, expected", [
    ((True, None, 4.0, None, None), "reproduced"), ((False, 4.1, 4.0, 1e-3, 1e-3), "reproduced"),
    ((False, 4.05, 4.0, 4e-4, 1e-3), "partly"), ((False, 4.05, 4.0, 6e-4, 1e-3), "not reproduced"),
    ((None, 4.0, 4.0, 1e-3, 1e-3), "not measured")])
def test_large_eps(args, expected):
  assert rules.large_eps_hurts(*args)[0] == expected


def test_the_rules_doc_is_the_rules_module_written_out():
  with open(os.path.join(REPO, "docs", "reproduction_rules.md")) as f:
    assert f.read() == rules.markdown()


def test_every_figure_section_states_its_rules():
  expected = {"fig7": ["7a", "7b"], "fig8": ["Check first", "8a", "8b", "8c", "8d"], "fig9": ["9"],
              "fig10": ["10a", "10b"], "fig12_13": ["12a", "12b"]}
  for key, ids in expected.items():
    section = rules.section(key)
    assert section.paper and [r.id for r in section.rules] == ids, key
    assert f"\n- {section.rules[-1].bullet} " in rules.markdown()
  assert rules.R7B.text.startswith("At the matched largest size, depth's best scored loss l* below width's by >= 0.02")
  assert rules.R7B.predicate is rules.depth_vs_width_loss and rules.R7B.predicate(4.0, 3.9)[0] == "reproduced"
