"""Tests of klbook.distances against the definition as a maximum over events."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from klbook import kl_divergence
from klbook.distances import total_variation


def max_over_events(p, q):
    """max_A |P(A) - Q(A)| by brute force over all subsets A."""
    outcomes = range(len(p))
    return max(abs(sum(p[k] - q[k] for k in event))
               for r in range(len(p) + 1) for event in itertools.combinations(outcomes, r))


weights = arrays(np.float64, st.integers(1, 6), elements=st.floats(0.01, 10))


def pair():
    return st.integers(1, 6).flatmap(lambda n: st.tuples(
        arrays(np.float64, n, elements=st.floats(0.0, 10)).filter(lambda a: a.sum() > 0.1),
        arrays(np.float64, n, elements=st.floats(0.0, 10)).filter(lambda a: a.sum() > 0.1)))


@settings(max_examples=200, deadline=None)
@given(pair())
def test_equals_the_largest_difference_over_events(pq):
    p, q = (a / a.sum() for a in pq)
    assert total_variation(p, q) == pytest.approx(max_over_events(p, q), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(pair())
def test_metric_range_and_pinsker(pq):
    p, q = (a / a.sum() for a in pq)
    tv = total_variation(p, q)
    assert 0 <= tv <= 1 + 1e-15
    assert tv == total_variation(q, p)
    # rows that differ only by rounding (|p - q| ~ 1e-16) have D and 2 TV^2 ~ 1e-32,
    # below what the rounded inputs determine: allow that absolute slack
    assert kl_divergence(p, q) >= 2 * tv ** 2 * (1 - 1e-12) - 1e-28


def test_known_values_and_normalize():
    assert float(total_variation([1, 0], [0, 1])) == 1.0
    assert float(total_variation([0.25, 0.75], [0.25, 0.75])) == 0.0
    assert float(total_variation([1, 3], [2, 2], normalize=True)) == pytest.approx(0.25)
    rows = total_variation([[1, 0], [0, 1]], [0.5, 0.5])
    assert rows.shape == (2,) and np.allclose(rows, 0.5)


@pytest.mark.parametrize("p, q, error, message", [
    ([0.5, 0.5], [0.5, 0.6], ValueError, "q must sum to 1"),
    ([0.5, -0.5, 1.0], [0.5, 0.25, 0.25], ValueError, "p has a negative entry"),
    ([0.5, 0.5], [1.0, 0.0, 0.0], ValueError, "do not broadcast"),
    (["a", "b"], [0.5, 0.5], TypeError, "p must be numeric"),
])
def test_bad_input(p, q, error, message):
    with pytest.raises(error, match=message):
        total_variation(p, q)


MAX = float(np.finfo(np.float64).max)


def test_normalize_takes_totals_from_subnormal_to_beyond_the_largest_double():
    # the totals 2e308 and 4e-320 are beyond the doubles or subnormal; scaling by a power
    # of two is exact, so the distance is that of the proportions, exactly
    expected = float(total_variation([1, 1], [1, 3], normalize=True))
    assert expected == 0.25
    assert float(total_variation([1e308, 1e308], [1, 3], normalize=True)) == expected
    assert float(total_variation([2.0**-1070, 2.0**-1070], [1, 3], normalize=True)) == expected
    assert float(total_variation([MAX, MAX], [2.0**-1074, 3 * 2.0**-1074], normalize=True)) == expected
    # without normalize, such a vector is not a distribution: an error, no overflow warning
    with pytest.raises(ValueError, match="p must sum to 1"):
        total_variation([1e308, 1e308], [0.5, 0.5])


def test_no_warning_on_edge_inputs():
    import warnings

    vectors = [[0.5, 0.5], [1, 0], [5e-324, 1], [1e308, 1e308], [MAX, MAX], [0, 0], [np.nan, 1],
               [np.inf, 1], [1e-320, 1e-320], [], [1 / 3] * 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for p, q in itertools.product(vectors, vectors):
            for normalize in (False, True):
                try:
                    value = total_variation(p, q, normalize=normalize)
                except (ValueError, TypeError):
                    continue
                assert 0 <= value <= 1
