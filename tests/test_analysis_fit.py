"""analysis/fit.py: the log-log quadratic of Section 3.3 against numpy."""

import numpy as np
import pytest

from analysis.fit import fit_log_quadratic


def test_matches_numpy_polyfit_in_log_log_axes():
  rng = np.random.default_rng(0)
  params = np.geomspace(1e6, 1e9, 6)
  logits = 10 ** (0.05 * np.log10(params) ** 2 - 0.3 * np.log10(params) + 1) * rng.uniform(0.8, 1.2, 6)
  fitted = fit_log_quadratic(params, logits)
  expected = np.polyfit(np.log10(params), np.log10(logits), 2)
  np.testing.assert_allclose(fitted.coeffs, expected, rtol=1e-10)
  assert fitted(4.8e9) == pytest.approx(10 ** np.polyval(expected, np.log10(4.8e9)), rel=1e-10)


def test_recovers_an_exact_quadratic_and_extrapolates():
  u = np.array([5.0, 6.0, 7.0])
  fitted = fit_log_quadratic(10**u, 10 ** (0.1 * u**2 + 0.2 * u - 1))
  np.testing.assert_allclose(fitted.coeffs, (0.1, 0.2, -1.0), atol=1e-9)
  assert fitted(1e9) == pytest.approx(10 ** (8.1 + 1.8 - 1), rel=1e-9)


@pytest.mark.parametrize("x, y, match", [
    ([1e6, 1e6, 1e7], [1.0, 2.0, 3.0], "3 distinct model sizes"),
    ([1e6, 1e7, 1e8], [1.0, 0.0, 3.0], "finite positive"),
    ([1e6, 1e7, 1e8], [1.0, np.nan, 3.0], "finite positive"),
    ([1e6, 1e7], [1.0, 2.0, 3.0], "one length"),
])
def test_rejects_unfittable_points(x, y, match):
  with pytest.raises(ValueError, match=match):
    fit_log_quadratic(x, y)
