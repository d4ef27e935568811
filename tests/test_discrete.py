"""Tests of klbook.discrete: values, units, shapes, bad input, accuracy, laws."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from klbook import cross_entropy, entropy, kl_divergence

mpmath.mp.dps = 50
FUNCTIONS_OF_PAIRS = [kl_divergence, cross_entropy]


def reference_kl(p, q) -> mpmath.mpf:
    """KL(p/sum p || q/sum q) at 50 digits, from the exact float64 inputs."""
    P = [mpmath.mpf(float(v)) for v in p]
    Q = [mpmath.mpf(float(v)) for v in q]
    sp, sq = mpmath.fsum(P), mpmath.fsum(Q)
    return mpmath.fsum((a / sp) * mpmath.log((a / sp) / (b / sq)) for a, b in zip(P, Q) if a > 0)


def relative_error(value: float, reference: mpmath.mpf) -> float:
    return float(abs((mpmath.mpf(float(value)) - reference) / reference))


# --- known values --------------------------------------------------------------------


def test_coin_example_matches_exact_value():
    exact = mpmath.mpf(2) / 5 * mpmath.log(mpmath.mpf(4) / 5) + mpmath.mpf(3) / 5 * mpmath.log(
        mpmath.mpf(6) / 5
    )
    assert kl_divergence([0.4, 0.6], [0.5, 0.5]) == pytest.approx(float(exact), rel=1e-15)


def test_entropy_of_uniform_is_log_n():
    for n in [1, 2, 7, 1000]:
        assert entropy(np.full(n, 1 / n)) == pytest.approx(np.log(n), rel=1e-14, abs=1e-15)


def test_entropy_of_point_mass_is_zero():
    assert entropy([0.0, 1.0, 0.0]) == 0.0


def test_cross_entropy_known_value():
    # -(1/2 log 1/4 + 1/2 log 3/4) in bits = 1 - (1/2) log2(3/4) ... computed exactly
    exact = -(mpmath.log(mpmath.mpf(1) / 4, 2) + mpmath.log(mpmath.mpf(3) / 4, 2)) / 2
    assert cross_entropy([0.5, 0.5], [0.25, 0.75], base=2) == pytest.approx(float(exact), rel=1e-15)


def test_divergence_of_a_distribution_from_itself_is_exactly_zero():
    p = np.random.default_rng(1).dirichlet(np.ones(50))
    assert kl_divergence(p, p) == 0.0


# --- units ----------------------------------------------------------------------------


@pytest.mark.parametrize("function", [entropy, cross_entropy, kl_divergence])
@pytest.mark.parametrize("base", [2, 10, np.e, 0.5, 3.7])
def test_base_divides_by_log_base(function, base):
    p, q = [0.2, 0.3, 0.5], [0.1, 0.6, 0.3]
    args = (p,) if function is entropy else (p, q)
    assert function(*args, base=base) == pytest.approx(function(*args) / np.log(base), rel=1e-14)


def test_bits_and_hartleys_of_the_coin_example():
    nats = kl_divergence([0.4, 0.6], [0.5, 0.5])
    assert kl_divergence([0.4, 0.6], [0.5, 0.5], base=2) == pytest.approx(nats / np.log(2), rel=1e-15)
    assert kl_divergence([0.4, 0.6], [0.5, 0.5], base=10) == pytest.approx(nats / np.log(10), rel=1e-15)


# --- array-likes, broadcasting and axis -----------------------------------------------


@pytest.mark.parametrize("convert", [list, tuple, np.asarray])
def test_array_likes(convert):
    assert kl_divergence(convert([0.4, 0.6]), convert([0.5, 0.5])) == kl_divergence(
        np.array([0.4, 0.6]), np.array([0.5, 0.5])
    )


def test_integer_counts_with_normalize():
    assert kl_divergence([2, 3], [1, 1], normalize=True) == pytest.approx(
        kl_divergence([0.4, 0.6], [0.5, 0.5]), rel=1e-15
    )


def test_scalar_result_for_one_dimensional_input():
    result = kl_divergence([0.4, 0.6], [0.5, 0.5])
    assert np.ndim(result) == 0 and isinstance(result, float)


def test_broadcasting_rows_against_one_q():
    rng = np.random.default_rng(2)
    P = rng.dirichlet(np.ones(4), size=(3, 5))
    q = rng.dirichlet(np.ones(4))
    result = kl_divergence(P, q)
    assert result.shape == (3, 5)
    expected = [[kl_divergence(P[i, j], q) for j in range(5)] for i in range(3)]
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("function", [entropy, cross_entropy, kl_divergence])
def test_axis_zero_equals_transpose(function):
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(6), size=4)
    Q = rng.dirichlet(np.ones(6), size=4)
    args, args_t = ((P,), (P.T,)) if function is entropy else ((P, Q), (P.T, Q.T))
    np.testing.assert_allclose(function(*args_t, axis=0), function(*args), rtol=1e-15)
    np.testing.assert_allclose(function(*args_t, axis=-2), function(*args), rtol=1e-15)


# --- support conventions --------------------------------------------------------------


def test_q_zero_where_p_positive_gives_inf():
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert cross_entropy([0.5, 0.5], [1.0, 0.0]) == np.inf


def test_p_zero_terms_contribute_nothing_even_where_q_is_zero():
    assert kl_divergence([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert kl_divergence([0.5, 0.5, 0.0], [0.5, 0.5, 0.0]) == 0.0
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(np.log(2), rel=1e-15)


def test_inf_only_in_the_offending_row():
    result = kl_divergence([[0.5, 0.5], [0.5, 0.5]], [[1.0, 0.0], [0.5, 0.5]])
    assert result[0] == np.inf and result[1] == 0.0


def test_extreme_ratios_stay_finite():
    # q/p overflows double precision, but the divergence is finite
    p = np.array([1.0 - 1e-300, 1e-300])
    q = np.array([1e-300, 1.0 - 1e-300])
    reference = reference_kl(p, q)
    assert relative_error(kl_divergence(p, q), reference) < 1e-14
    p2 = np.array([5e-324, 1.0])  # subnormal p next to q of order one
    assert np.isfinite(kl_divergence(p2, [0.5, 0.5], normalize=True))


# --- bad input ------------------------------------------------------------------------

BAD_DISTRIBUTIONS = [
    ([0.5, -0.1, 0.6], ValueError, "negative"),
    ([0.5, np.nan, 0.5], ValueError, "NaN"),
    ([0.5, np.inf, 0.5], ValueError, "infinite"),
    ([-np.inf, 0.5, 0.5], ValueError, "infinite"),
    ([], ValueError, "empty"),
    (np.zeros((3, 0)), ValueError, "empty"),
    (0.5, ValueError, "at least one dimension"),
    ([0.2, 0.2, 0.2], ValueError, "sum to 1"),
    ([0.6, 0.6, 0.0], ValueError, "sum to 1"),
    ([[0.5, 0.5], [0.4, 0.4]], ValueError, "sum to 1"),
    (["a", "b"], TypeError, "numeric"),
    (["0.5", "0.5"], TypeError, "numeric"),    # text that numpy would parse
    (np.array([b"0.5", b"0.5"]), TypeError, "numeric"),
    ([None, 0.5], TypeError, "numeric"),
    ([1j, 0.5], TypeError, "complex"),
    ([True, False], TypeError, "boolean"),
    ([[0.5, 0.5], [1.0]], ValueError, "rectangular"),
]


def valid_partner(bad):
    """A valid distribution that broadcasts against `bad` wherever that is possible."""
    try:
        shape = np.shape(bad)
    except ValueError:  # ragged
        return [0.5, 0.5]
    if len(shape) == 0 or 0 in shape:
        return [0.5, 0.5]
    return np.full(shape, 1.0 / shape[-1])


@pytest.mark.parametrize("bad, error, message", BAD_DISTRIBUTIONS)
@pytest.mark.parametrize("function", FUNCTIONS_OF_PAIRS)
def test_bad_p_is_rejected_naming_p(function, bad, error, message):
    with pytest.raises(error, match=message) as info:
        function(bad, valid_partner(bad))
    assert str(info.value).startswith("p ")


@pytest.mark.parametrize("bad, error, message", BAD_DISTRIBUTIONS)
def test_bad_p_is_rejected_by_entropy(bad, error, message):
    with pytest.raises(error, match=message) as info:
        entropy(bad)
    assert str(info.value).startswith("p ")


@pytest.mark.parametrize("bad, error, message", BAD_DISTRIBUTIONS)
@pytest.mark.parametrize("function", FUNCTIONS_OF_PAIRS)
def test_bad_q_is_rejected_naming_q(function, bad, error, message):
    with pytest.raises(error, match=message) as info:
        function(valid_partner(bad), bad)
    assert str(info.value).startswith("q ")


def test_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"p with shape \(3,\) and q with shape \(4,\)"):
        kl_divergence([0.2, 0.3, 0.5], [0.25] * 4)


@pytest.mark.parametrize("base", [0, -2, 1, 1.0, np.nan, np.inf])
def test_invalid_base_value(base):
    with pytest.raises(ValueError, match="base"):
        kl_divergence([0.5, 0.5], [0.5, 0.5], base=base)


@pytest.mark.parametrize("base", ["2", True, [2]])
def test_invalid_base_type(base):
    with pytest.raises(TypeError, match="base"):
        entropy([0.5, 0.5], base=base)


def test_axis_out_of_range_and_wrong_type():
    with pytest.raises(ValueError, match="axis 2"):
        kl_divergence([0.5, 0.5], [0.5, 0.5], axis=2)
    with pytest.raises(TypeError, match="axis"):
        kl_divergence([0.5, 0.5], [0.5, 0.5], axis=0.0)


def test_normalize_rejects_all_zero_rows():
    with pytest.raises(ValueError, match="sums to 0"):
        kl_divergence([0.0, 0.0], [0.5, 0.5], normalize=True)


def test_sum_within_tolerance_is_accepted_and_outside_rejected():
    kl_divergence([0.5 + 4e-10, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="normalize=True"):
        kl_divergence([0.5 + 2e-9, 0.5], [0.5, 0.5])


# --- accuracy against a 50-digit reference --------------------------------------------


def near_identical_pairs(n: int, trials: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        p = rng.dirichlet(np.ones(n))
        q = p * (1 + 1e-8 * rng.standard_normal(n))
        yield p, q / q.sum()


def random_pairs(n: int, trials: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        concentration = rng.choice([0.1, 1.0, 10.0])
        yield rng.dirichlet(np.full(n, concentration)), rng.dirichlet(np.full(n, concentration))


@pytest.mark.parametrize("n, trials", [(10, 300), (1000, 20)])
def test_accuracy_near_identical(n, trials):
    errors = [relative_error(kl_divergence(p, q), reference_kl(p, q))
              for p, q in near_identical_pairs(n, trials, seed=n)]
    assert max(errors) <= 1e-15


@pytest.mark.parametrize("n, trials", [(10, 300), (1000, 20)])
def test_accuracy_random(n, trials):
    errors = []
    for p, q in random_pairs(n, trials, seed=n + 1):
        value = kl_divergence(p, q)
        assert value >= 0
        errors.append(relative_error(value, reference_kl(p, q)))
    assert max(errors) <= 1e-14


def test_rounding_of_the_totals_does_not_swamp_a_tiny_divergence():
    # Entries summing to 1 only up to rounding, and a divergence of about 1e-17.
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(10))
    q = p * (1 + 3e-9 * rng.standard_normal(10))
    assert abs(p.sum() - 1) > 0 or abs(q.sum() - 1) > 0
    reference = reference_kl(p, q)
    assert reference < 1e-15
    assert relative_error(kl_divergence(p, q), reference) <= 1e-15


def test_never_negative_where_the_textbook_formula_is():
    pairs = list(near_identical_pairs(10, 500, seed=11))
    naive = [np.sum(p * np.log(p / q)) for p, q in pairs]
    assert min(naive) < 0, "the comparison should exhibit the textbook formula's failure"
    assert min(kl_divergence(p, q) for p, q in pairs) > 0


def test_unnormalised_input_is_divided_out_accurately():
    for p, q in near_identical_pairs(10, 50, seed=13):
        value = kl_divergence(3.0 * p, 0.7 * q, normalize=True)
        assert relative_error(value, reference_kl(3.0 * p, 0.7 * q)) <= 1e-15


# --- laws (Hypothesis) ----------------------------------------------------------------


def distributions(n: int | None = None, min_value: float = 1e-6):
    size = st.integers(1, 30) if n is None else st.just(n)
    weights = size.flatmap(
        lambda k: hnp.arrays(np.float64, k, elements=st.floats(min_value, 1.0))
    )
    return weights.map(lambda w: w / w.sum())


pairs_of_distributions = st.integers(1, 30).flatmap(
    lambda k: st.tuples(distributions(k), distributions(k))
)


@settings(max_examples=200, deadline=None)
@given(pairs_of_distributions)
def test_gibbs_inequality(pair):
    p, q = pair
    assert kl_divergence(p, q) >= 0


@settings(max_examples=200, deadline=None)
@given(pairs_of_distributions)
def test_zero_iff_equal(pair):
    p, q = pair
    assert kl_divergence(p, p) == 0
    # Arrays that differ only by rounding may normalise to the same distribution.
    assume(np.max(np.abs(p - q)) > 1e-12)
    assert kl_divergence(p, q) > 0


@settings(max_examples=200, deadline=None)
@given(pairs_of_distributions)
def test_cross_entropy_decomposition(pair):
    p, q = pair
    h_pq = cross_entropy(p, q)
    assert entropy(p) + kl_divergence(p, q) == pytest.approx(h_pq, rel=1e-12, abs=1e-14)


@settings(max_examples=200, deadline=None)
@given(pairs_of_distributions, st.randoms(use_true_random=False))
def test_permutation_invariance(pair, random):
    p, q = pair
    order = list(range(p.size))
    random.shuffle(order)
    assert kl_divergence(p[order], q[order]) == pytest.approx(kl_divergence(p, q), rel=1e-13, abs=1e-300)
    assert entropy(p[order]) == pytest.approx(entropy(p), rel=1e-13, abs=1e-300)


@settings(max_examples=100, deadline=None)
@given(pairs_of_distributions, st.integers(-30, 30), st.integers(-30, 30))
def test_normalize_is_scale_invariant(pair, j, k):
    p, q = pair
    # Powers of two scale exactly, so both calls see the same two distributions.
    # Arrays that normalise to the same distribution (all entries equal, say) have
    # divergence 0; the rounding of their totals may leave ~1e-60 instead.
    assert kl_divergence(2.0**j * p, 2.0**k * q, normalize=True) == pytest.approx(
        kl_divergence(p, q), rel=1e-13, abs=1e-40
    )


@settings(max_examples=100, deadline=None)
@given(pairs_of_distributions, st.floats(0.01, 100), st.floats(0.01, 100))
def test_normalize_matches_reference_for_any_totals(pair, a, b):
    p, q = a * pair[0], b * pair[1]
    reference = reference_kl(p, q)
    assert float(reference) == pytest.approx(kl_divergence(p, q, normalize=True), rel=1e-13, abs=1e-40)
