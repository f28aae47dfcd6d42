"""analysis/baselines.py: Fig 9's fit beside a log-log line and carry-forward, and as a classifier of bad
runs, on synthetic fits whose errors are computed by hand."""

import math

import pytest

from analysis import baselines

SIZES = (1e5, 1e6, 1e7)  # u = log10(params) = 5, 6, 7; predicted at u = 8
TARGET = 1e8


def test_exact_quadratic_data():
  # log10 y = (u - 5)^2 + 1: 10, 100, 1e5 -> 1e10 at u = 8, which the quadratic gives exactly. The line
  # through (5, 1), (6, 2), (7, 5): slope 2, intercept 8/3 - 12, so 20/3 at u = 8. Carry-forward: 1e5.
  points = [(x, 10.0 ** ((math.log10(x) - 5) ** 2 + 1)) for x in SIZES]
  got = baselines.predictions(points, TARGET)
  assert math.log10(got["quadratic"]) == pytest.approx(10.0, abs=1e-9)
  assert math.log10(got["linear"]) == pytest.approx(20 / 3, abs=1e-9)
  assert got["carry-forward"] == pytest.approx(1e5)


def test_exact_linear_data():
  # log10 y = 2 u - 8: 100, 1e4, 1e6 -> 1e8 by both fits; carry-forward 1e6, two decades short.
  points = [(x, 10.0 ** (2 * math.log10(x) - 8)) for x in SIZES]
  got = baselines.predictions(points, TARGET)
  assert math.log10(got["quadratic"]) == pytest.approx(8.0, abs=1e-9)
  assert math.log10(got["linear"]) == pytest.approx(8.0, abs=1e-9)
  assert got["carry-forward"] == pytest.approx(1e6)


def test_two_sizes_give_a_line_but_no_quadratic():
  got = baselines.predictions([(1e5, 10.0), (1e6, 100.0)], TARGET)
  assert got["quadratic"] is None and got["linear"] == pytest.approx(1e4) and got["carry-forward"] == 100.0
  assert baselines.predictions([], TARGET) == dict.fromkeys(baselines.PREDICTORS)


def test_points_by_lr_reads_the_committed_prediction_format():
  entries = [{"lr": 0.01, "points": [{"run": "a", "params": 1e5, "step": 50, "max_logit": 7.0},
                                     {"run": "b", "params": 4e5, "step": 50, "max_logit": 9.0}]}]
  assert baselines.points_by_lr(entries) == {0.01: [(1e5, 7.0), (4e5, 9.0)]}


def test_score_and_the_baselines_line():
  realised = [10.0, 1e3, 1e5, 1e6]
  # errors 0, 0, 0.30103 (2e5 vs 1e5), 1 (1e5 vs 1e6): median 0.150515; 1e5 vs 1e6 both cross: 4/4 agree
  fit = baselines.score([10.0, 1e3, 2e5, 1e5], realised)
  assert (fit.agree, fit.total) == (4, 4) and fit.median_error == pytest.approx(math.log10(2) / 2)
  # 3e4 at 1e3 crosses against a realised 1e3: 3/4; errors 0, 1.477, 0, 0: median 0. None disagrees.
  line = baselines.score([10.0, 3e4, 1e5, 1e6], realised)
  assert (line.agree, line.median_error) == (3, 0.0)
  carry = baselines.score([None, 1e3, 1e5, 1e4], realised)
  assert (carry.agree, carry.median_error) == (3, pytest.approx(0.0))  # errors 0, 0, 2: median of three 0
  verdict, line_text = baselines.against_baselines({"quadratic": fit, "linear": line, "carry-forward": carry})
  assert verdict == "no better than a baseline"  # 0.15 is not 0.1 below 0
  assert line_text.startswith("quadratic: 4/4 agree, median error 0.15 decades; linear: 3/4 agree")
  worse = baselines.Score(3, 4, 0.25)
  assert baselines.against_baselines({"quadratic": fit, "linear": worse})[0] == "no better than a baseline"
  far = baselines.Score(4, 4, 0.2506)
  assert baselines.against_baselines({"quadratic": fit, "linear": far})[0] == "the fit adds to the baselines"
  assert baselines.against_baselines({"quadratic": baselines.score([None], [1.0])})[0] == "not measured"


def test_classifier_of_bad_runs():
  # Fig 9's shape: the LR 1e-2 run goes bad at a predicted 1.9e3, under 1e4.
  predicted = [16.0, 14.0, 24.0, 1.9e3, 3.5e4, 1.8e5, 2.8e6]
  bad = [False, False, False, True, True, True, True]
  confusion = baselines.classify(predicted, bad)
  assert (confusion.true_positive, confusion.false_positive, confusion.false_negative,
          confusion.true_negative) == (3, 0, 1, 3)
  assert confusion.separating == (24.0, 1.9e3)
  verdict, text = baselines.as_classifier(confusion)
  assert verdict == "partly"
  assert text == ("at 1e4: 3 bad runs flagged, 1 missed, 0 good flagged, 3 good not; thresholds in "
                  "(2.4e1, 1.9e3] separate them")
  assert baselines.as_classifier(baselines.classify(predicted, [False] * 3 + [True] * 4, 1e3))[0] == "reproduced"
  # a good run predicted above a bad one: no threshold separates them
  overlap = baselines.classify([16.0, 5e3, 24.0, 1.9e3], [False, False, False, True])
  assert overlap.separating is None and (overlap.false_positive, overlap.false_negative) == (0, 1)
  assert baselines.as_classifier(overlap)[0] == "not reproduced"
  missing = baselines.classify([None, 2e4], [True, True])
  assert (missing.true_positive, missing.false_negative, missing.separating) == (1, 1, None)
