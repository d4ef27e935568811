"""Tests of klbook.empirical: empirical distributions and log-likelihoods."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klbook import cross_entropy, kl_divergence
from klbook.empirical import empirical_distribution, log_likelihood


def test_empirical_distribution_counts_over_n():
    sample = [3, 0, 3, 3, 1]
    # counts by hand: 0 -> 1, 1 -> 1, 2 -> 0, 3 -> 3, 4 -> 0
    assert empirical_distribution(sample, 5).tolist() == [0.2, 0.2, 0.0, 0.6, 0.0]


def test_repeated_values_get_multiple_of_one_over_n():
    # "1/n for each observed point" is right only with multiplicity
    assert empirical_distribution([1, 1, 1, 1], 2).tolist() == [0.0, 1.0]


def test_integer_valued_floats_accepted():
    assert empirical_distribution(np.array([0.0, 1.0, 1.0, 1.0]), 2).tolist() == [0.25, 0.75]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=60))
def test_empirical_is_a_distribution_with_exact_fractions(sample):
    p_hat = empirical_distribution(sample, 7)
    for x in range(7):
        assert p_hat[x] == float(Fraction(sample.count(x), len(sample)))
    assert math.isclose(p_hat.sum(), 1.0, rel_tol=1e-15)


def test_log_likelihood_known_values():
    # log(1/2) + 2 log(1/4) ... by hand in bits: -1 - 2 - 2
    assert log_likelihood([0, 1, 1], [0.5, 0.25, 0.25], base=2) == -5.0
    assert log_likelihood([2], [0.5, 0.25, 0.25]) == pytest.approx(math.log(0.25), rel=1e-16)


def test_log_likelihood_is_minus_infinity_when_an_observation_is_impossible():
    assert log_likelihood([0, 2], [0.5, 0.5, 0.0]) == -np.inf
    # an impossible value that is not observed does not matter
    assert log_likelihood([0, 1], [0.5, 0.5, 0.0]) == pytest.approx(2 * math.log(0.5), rel=1e-16)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=80), st.data())
def test_log_likelihood_is_the_sum_over_observations(sample, data):
    raw = data.draw(st.lists(st.floats(0.01, 1.0), min_size=5, max_size=5))
    q = np.array(raw) / sum(raw)
    by_observation = math.fsum(math.log(q[x]) for x in sample)   # one term per x_i
    assert log_likelihood(sample, q) == pytest.approx(by_observation, rel=1e-13, abs=1e-13)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=80), st.data())
def test_average_negative_log_likelihood_is_cross_entropy_of_empirical(sample, data):
    # The MLE chapter's identity: -(1/n) sum_i log q(x_i) = H(p_hat, q) = H(p_hat) + D(p_hat || q)
    raw = data.draw(st.lists(st.floats(0.01, 1.0), min_size=5, max_size=5))
    q = np.array(raw) / sum(raw)
    p_hat = empirical_distribution(sample, 5)
    nll = -math.fsum(math.log(q[x]) for x in sample) / len(sample)
    assert cross_entropy(p_hat, q) == pytest.approx(nll, rel=1e-13, abs=1e-13)


def test_empirical_maximises_the_likelihood_among_random_models():
    # Gibbs: no categorical model beats q = p_hat on the sample that made p_hat
    rng = np.random.default_rng(21)
    sample = rng.integers(0, 6, size=40)
    p_hat = empirical_distribution(sample, 6)
    best = log_likelihood(sample, p_hat)
    others = rng.dirichlet(np.ones(6), size=2000)
    assert (log_likelihood(sample, others) <= best).all()
    # and the shortfall is n times the divergence from p_hat
    gap = best - log_likelihood(sample, others)
    assert np.allclose(gap, sample.size * kl_divergence(p_hat, others), rtol=1e-10, atol=1e-12)


def test_log_likelihood_over_a_grid_of_models_and_axis():
    theta = np.linspace(0.05, 0.95, 7)
    models = np.stack([1 - theta, theta], axis=-1)      # Bernoulli(theta), shape (7, 2)
    sample = [1, 1, 0, 1]
    expected = 3 * np.log(theta) + np.log(1 - theta)
    assert np.allclose(log_likelihood(sample, models), expected, rtol=1e-15, atol=0)
    assert np.allclose(log_likelihood(sample, models.T, axis=0), expected, rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    "sample, size, error, words",
    [
        ([], 3, ValueError, "sample is empty"),
        ([[0, 1]], 3, ValueError, "one-dimensional"),
        ([0, 3], 3, ValueError, "outcome 3, outside the alphabet 0..2"),
        ([-1, 0], 3, ValueError, "outcome -1"),
        ([0.5, 1], 3, TypeError, "integer outcomes"),
        (["a"], 3, TypeError, "integer outcomes"),
        ([True, False], 3, TypeError, "not booleans"),
        ([0], 0, ValueError, "alphabet_size must be at least 1"),
        ([0], 2.0, TypeError, "alphabet_size must be an integer"),
    ],
)
def test_empirical_bad_input(sample, size, error, words):
    with pytest.raises(error, match=words):
        empirical_distribution(sample, size)


def test_log_likelihood_bad_input():
    with pytest.raises(ValueError, match="q must sum to 1"):
        log_likelihood([0], [0.5, 0.6])
    with pytest.raises(ValueError, match="q has a negative entry"):
        log_likelihood([0], [-0.5, 1.5])
    with pytest.raises(ValueError, match="outside the alphabet 0..1"):
        log_likelihood([2], [0.5, 0.5])
    with pytest.raises(ValueError, match="base"):
        log_likelihood([0], [0.5, 0.5], base=-2)


@pytest.mark.parametrize("sample", [[1e308], [1e20], np.array([2**64 - 1], dtype=np.uint64),
                                    np.array([-(2**63)], dtype=np.int64), [-1.0]])
def test_outcomes_beyond_the_integer_range_are_named_not_wrapped(sample):
    # cast to intp first, 1e20 and 2**64 - 1 wrapped (with a numpy warning) to other numbers
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="outside the alphabet") as info:
            empirical_distribution(sample, 3)
        with pytest.raises(ValueError, match="outside the alphabet"):
            log_likelihood(sample, [0.5, 0.25, 0.25])
    assert str(np.asarray(sample)[0]) in str(info.value) or f"{np.asarray(sample)[0]:g}" in str(info.value)


def test_nan_in_a_sample_is_a_value_error():
    with pytest.raises(ValueError, match="sample contains NaN"):
        empirical_distribution([0.0, np.nan], 2)


def test_no_warning_on_edge_inputs():
    import warnings

    samples = [[0, 1, 1], [], [0.5], [np.nan], [np.inf], [1e308], [-1], [3], [[0, 1]], [1e20],
               np.array([2**63], dtype=np.uint64)]
    models = [[0.5, 0.5, 0.0], [5e-324, 0.5, 0.5], [1, 0, 0], [np.nan, 0.5, 0.5], [1e308, 0, 0],
              [1.7e308, 1.7e308, 0.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for sample in samples:
            try:
                assert np.isclose(empirical_distribution(sample, 3).sum(), 1)
            except (ValueError, TypeError):
                pass
            for q in models:
                try:
                    value = log_likelihood(sample, q)
                except (ValueError, TypeError):
                    continue
                assert value <= 0
