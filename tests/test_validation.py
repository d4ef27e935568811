"""Tests of klbook._validation: the sum tolerance that follows the input's dtype (issue 15)."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

from klbook import _validation

EPS32 = float(np.finfo(np.float32).eps)
EPS16 = float(np.finfo(np.float16).eps)


@pytest.mark.parametrize("value, dtype", [
    (np.zeros(3, dtype=np.float32), np.float32),
    (np.zeros(3, dtype=np.float16), np.float16),
    (np.zeros(3), np.float64),
    ([np.float32(0.5), np.float32(0.5)], np.float32),  # numpy scalars keep their type
    ([0.5, 0.5], np.float64),                          # Python floats are doubles
    ([1, 0], np.float64),                              # integers are exact
    (np.array([1, 0], dtype=np.int8), np.float64),
    ([Fraction(1, 2), Fraction(1, 2)], np.float64),    # object arrays
    ([[0.5, 0.5], [1.0]], np.float64),                 # ragged: reported elsewhere
])
def test_source_dtype(value, dtype):
    assert _validation.source_dtype(value) == np.dtype(dtype)


def test_the_float64_tolerance_is_1e_9_until_millions_of_outcomes():
    for n in (1, 2, 10, 1000, 2_000_000):
        assert _validation.sum_tolerance(n) == 1e-9
    # beyond, twice n roundings of the sum: 2 n eps exceeds 1e-9 from n = 2.26e6 on
    assert _validation.sum_tolerance(10_000_000) > 4e-9


def test_the_float32_tolerance_grows_with_n():
    assert _validation.sum_tolerance(1, np.float32) == pytest.approx(2 * EPS32)
    assert _validation.sum_tolerance(1000, np.float32) == pytest.approx(2000 * EPS32)
    assert _validation.sum_tolerance(10, np.float16) == pytest.approx(20 * EPS16)
    # longdouble input is rounded to float64: 1e-9 again
    assert _validation.sum_tolerance(10, np.longdouble) == 1e-9


def _float32_total(n: int, offset_in_eps: float) -> np.ndarray:
    """n equal float32 entries whose float64 total is 1 + offset_in_eps * n * eps32."""
    target = 1.0 + offset_in_eps * n * EPS32
    arr = np.full(n, np.float32(1.0 / n))
    arr[0] = np.float32(target - float(arr[1:].astype(np.float64).sum()))
    return arr


@pytest.mark.parametrize("n", [2, 10, 300])
def test_float32_totals_within_two_n_eps_pass_and_beyond_fail(n):
    inside, outside = _float32_total(n, 1.5), _float32_total(n, 3.0)
    assert abs(float(inside.astype(np.float64).sum()) - 1) < 2 * n * EPS32
    assert abs(float(outside.astype(np.float64).sum()) - 1) > 2 * n * EPS32
    _validation.totals(inside.astype(np.float64), "p", normalize=False, dtype=np.float32)
    with pytest.raises(ValueError, match=f"p must sum to 1 along axis .* {n} float32 entries"):
        _validation.totals(outside.astype(np.float64), "p", normalize=False, dtype=np.float32)
    # the same values declared float64 must sum to 1 within 1e-9
    with pytest.raises(ValueError, match="within 1e-09"):
        _validation.totals(inside.astype(np.float64), "p", normalize=False)


def test_a_total_that_overflows_is_inf_without_a_warning():
    arr = np.array([[1e308, 1e308], [0.5, 0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = _validation.totals(arr, "p", normalize=True)
        assert total[0, 0] == np.inf and total[1, 0] == 1.0
        with pytest.raises(ValueError, match="a sum is inf"):
            _validation.totals(arr, "p", normalize=False)


def test_a_zero_row_cannot_be_normalised():
    with pytest.raises(ValueError, match="q sums to 0"):
        _validation.totals(np.array([[0.5, 0.5], [0.0, 0.0]]), "q", normalize=True)
