"""Tests of klbook.special.log1pmx against a 50-digit reference."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klbook.special import log1pmx

mpmath.mp.dps = 50


def reference(x: float) -> mpmath.mpf:
    # log1p(x) and x agree to about -2 log10|x| digits, so work with enough of them
    with mpmath.workdps(50 + int(max(0.0, -2 * np.log10(abs(x) + 1e-320)))):
        x = mpmath.mpf(float(x))
        return +(mpmath.log1p(x) - x)


def relative_error(value: float, x: float) -> float:
    ref = reference(x)
    return float(abs((mpmath.mpf(float(value)) - ref) / ref))


@pytest.mark.parametrize("magnitude", [1e-150, 1e-100, 1e-20, 1e-9, 1e-4, 1e-2, 0.1, 0.3])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_small_arguments_keep_full_precision(magnitude, sign):
    x = sign * magnitude
    assert relative_error(log1pmx(x), x) <= 4e-16


def test_accuracy_over_the_whole_domain():
    rng = np.random.default_rng(0)
    xs = np.concatenate([
        rng.uniform(-1, 2, 2000),
        -1 + 10.0 ** rng.uniform(-15, 0, 500),        # just above -1
        10.0 ** rng.uniform(-12, 12, 500),
        -(10.0 ** rng.uniform(-12, -0.5, 500)),
    ])
    values = log1pmx(xs)
    worst = max(relative_error(v, x) for v, x in zip(values, xs) if x != 0)
    assert worst <= 1e-15


def test_vectorised_result_equals_elementwise():
    xs = np.array([[-0.9, -1e-5, 0.0], [1e-12, 0.7, 30.0]])
    values = log1pmx(xs)
    assert values.shape == xs.shape
    np.testing.assert_array_equal(values, [[log1pmx(x) for x in row] for row in xs])


def test_special_values():
    assert log1pmx(0.0) == 0.0
    assert log1pmx(-1.0) == -np.inf
    assert log1pmx(np.inf) == -np.inf
    with np.errstate(invalid="ignore"):
        assert np.isnan(log1pmx(-2.0))
        assert np.isnan(log1pmx(np.nan))


def test_scalar_in_scalar_out():
    assert np.ndim(log1pmx(0.5)) == 0


@settings(max_examples=300, deadline=None)
@given(st.floats(-0.999, 1e6))
def test_never_positive(x):
    # log(1 + x) - x <= 0 for all x > -1 (the inequality ln t <= t - 1)
    assert log1pmx(x) <= 0


# ------------------------------------------------------------ stirling_remainder
from klbook.special import stirling_remainder  # noqa: E402


def stirling_reference(x: float, derivative: int) -> mpmath.mpf:
    """mu^(m)(x) from log-gamma and its derivatives at 60 digits (Stirling terms removed)."""
    with mpmath.workdps(60):
        x = mpmath.mpf(float(x))
        if derivative == 0:
            return +(mpmath.loggamma(x) - (x - 0.5) * mpmath.log(x) + x - mpmath.log(2 * mpmath.pi) / 2)
        if derivative == 1:
            return +(mpmath.digamma(x) - mpmath.log(x) + 1 / (2 * x))
        m = derivative
        return +(mpmath.polygamma(m - 1, x) - (-1) ** m * (mpmath.factorial(m - 2) / x ** (m - 1)
                                                             + mpmath.factorial(m - 1) / (2 * x ** m)))


@pytest.mark.parametrize("derivative", [0, 1, 2, 3, 4, 5, 8])
def test_stirling_remainder_accuracy(derivative):
    xs = 10.0 ** np.random.default_rng(derivative).uniform(-4, 4, 120)
    values = stirling_remainder(xs, derivative)
    errors = [float(abs(mpmath.mpf(float(v)) / stirling_reference(x, derivative) - 1))
              for v, x in zip(values, xs)]
    assert max(errors) <= 2e-15


def test_stirling_remainder_beats_subtracting_from_gammaln():
    from scipy.special import gammaln
    x = 300.0
    naive = gammaln(x) - (x - 0.5) * np.log(x) + x - 0.5 * np.log(2 * np.pi)
    reference = stirling_reference(x, 0)
    assert abs(stirling_remainder(x) / reference - 1) <= 4e-16
    assert abs(naive / reference - 1) > 1e-12


def test_stirling_remainder_signs_and_shapes():
    xs = np.array([[1e-300, 0.3], [7.0, 1e300]])
    for m in range(5):
        values = stirling_remainder(xs, m)
        assert values.shape == xs.shape
        assert np.all(np.sign(values[values != 0]) == (-1.0) ** m)   # completely monotone
    assert np.ndim(stirling_remainder(2.0)) == 0


@pytest.mark.parametrize("x, derivative, error", [
    (0.0, 0, ValueError), (-1.0, 0, ValueError), (np.nan, 1, ValueError),
    (1.0, -1, ValueError), (1.0, 1.5, TypeError), (1.0, True, TypeError),
])
def test_stirling_remainder_rejects_bad_input(x, derivative, error):
    with pytest.raises(error, match="x|derivative"):
        stirling_remainder(x, derivative)
