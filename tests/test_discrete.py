"""Tests of klbook.discrete: values, units, shapes, bad input, accuracy, laws."""

from __future__ import annotations

import warnings

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


# --- the whole documented range (issue 15) ----------------------------------------------
#
# References from the exact float64 inputs, normalised exactly (the sums of floats spanning
# the double range need about 2100 bits, so the working precision is 2400 bits for sums
# and 400 for everything after), and written without cancellation: log(S/p_i) as
# log1p(rest_i / p_i) with rest_i the exact sum of the other entries, and the divergences
# in the phi form with offsets from exact cross products. DOCUMENTED is the accuracy the
# docstrings claim; errors are measured against max(|exact|, 2**-1022), as a result in
# the subnormal range cannot carry 53 bits.

DOCUMENTED = 1e-15
SMALLEST_NORMAL = 2.0**-1022


def _exact(values) -> list:
    return [mpmath.mpf(float(v)) for v in values]


def _exact_sum(values):
    with mpmath.workprec(2400):
        return mpmath.fsum(values)


@mpmath.workprec(400)
def exact_entropy(p):
    return exact_cross_entropy(p, p)


@mpmath.workprec(400)
def exact_cross_entropy(p, q):
    P, Q = _exact(p), _exact(q)
    p_total, q_total = _exact_sum(P), _exact_sum(Q)
    terms = []
    for i, (a, b) in enumerate(zip(P, Q)):
        if a == 0:
            continue
        if b == 0:
            return mpmath.inf
        rest = _exact_sum(Q[:i] + Q[i + 1:])
        log_ratio = mpmath.log1p(rest / b) if rest < b else mpmath.log(q_total / b)
        terms.append(a / p_total * log_ratio)
    return mpmath.fsum(terms)


@mpmath.workprec(400)
def exact_kl(p, q):
    """sum P phi(Q/P), with Q/P - 1 = (q Sp - p Sq) / (p Sq) exactly."""
    P, Q = _exact(p), _exact(q)
    p_total, q_total = _exact_sum(P), _exact_sum(Q)
    terms = []
    for a, b in zip(P, Q):
        if a == 0:
            terms.append(b / q_total)
        elif b == 0:
            return mpmath.inf
        else:
            ratio_num, ratio_den = b * p_total, a * q_total
            x = (ratio_num - ratio_den) / ratio_den
            log_ratio = mpmath.log1p(x) if abs(x) < 0.5 else mpmath.log(ratio_num / ratio_den)
            terms.append(a / p_total * (x - log_ratio))
    return mpmath.fsum(terms)


def error(value, exact) -> float:
    if exact == mpmath.inf:
        return 0.0 if value == np.inf else np.inf
    return float(abs(mpmath.mpf(float(value)) - exact) / max(abs(exact), SMALLEST_NORMAL))


from range_strategies import base_distributions, exponents, factors, scaled as _scale, usable as _usable  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(base_distributions, exponents, factors)
def test_entropy_keeps_its_digits_at_any_total(p, k, factor):
    p = _scale(p, k, factor)
    assume(_usable(p))
    assert error(entropy(p, normalize=True), exact_entropy(p)) <= DOCUMENTED


@settings(max_examples=80, deadline=None)
@given(base_distributions.flatmap(lambda p: st.tuples(st.just(p), base_distributions.filter(
           lambda q: q.size == p.size) | st.just(np.roll(p, 1)))),
       exponents, factors, exponents, factors)
def test_cross_entropy_and_kl_keep_their_digits_at_any_totals(pair, j, a, k, b):
    # the two totals moved independently: far apart (ratios up to 2**2000) as often as not
    p, q = _scale(pair[0], j, a), _scale(pair[1], k, b)
    assume(_usable(p, q))
    assert error(cross_entropy(p, q, normalize=True), exact_cross_entropy(p, q)) <= DOCUMENTED
    assert error(kl_divergence(p, q, normalize=True), exact_kl(p, q)) <= DOCUMENTED


@settings(max_examples=100, deadline=None)
@given(base_distributions, st.integers(1, 15), st.integers(0, 2**32 - 1),
       exponents, factors, exponents, factors)
def test_kl_of_pairs_moving_together_keeps_its_digits(p, digits, seed, j, a, k, b):
    # q = p (1 + t u), t = 10**-digits, u centred under p (q keeps p's total), then both
    # totals moved anywhere in the range, together or apart
    u = np.random.default_rng(seed).uniform(-1.0, 1.0, p.size)
    u -= np.dot(p, u)
    q = p * (1.0 + 10.0**-digits * u)
    exact = exact_kl(p, q)
    if exact > 0:  # (p and q may round to the same distribution)
        # as distributions (totals 1 up to rounding): the one-pass path
        assert error(kl_divergence(p, q), exact) <= DOCUMENTED
    p, q = _scale(p, j, a), _scale(q, k, b)
    assume(_usable(p, q))
    exact = exact_kl(p, q)
    assume(exact > 0)
    assert error(kl_divergence(p, q, normalize=True), exact) <= DOCUMENTED


near_point_masses = st.tuples(
    st.integers(1, 8).flatmap(
        lambda n: hnp.arrays(np.float64, n, elements=st.floats(1e-300, 1e-12))),
    st.integers(0, 4))


@settings(max_examples=80, deadline=None)
@given(near_point_masses, exponents, factors)
def test_entropy_of_a_near_point_mass_is_non_negative_and_keeps_its_digits(mass, k, factor):
    # 1 - (a few ulps) and tiny entries: the total is 1 only up to rounding, and the
    # entropy (about sum(t log(1/t))) is far below the rounding of the total
    tiny, ulps = mass
    p = np.concatenate([[1.0 - ulps * 2.0**-53], tiny])
    exact = exact_entropy(p)
    value = entropy(p)
    assert value >= 0
    assert error(value, exact) <= DOCUMENTED
    p = _scale(p, k, factor)
    assume(_usable(p))
    value = entropy(p, normalize=True)
    assert value >= 0
    assert error(value, exact_entropy(p)) <= DOCUMENTED


@pytest.mark.parametrize("total", [1.0, 1.0 - 1e-10, 1.0 + 2.0**-52, 2.0**-1074, 1.7e308])
def test_a_point_mass_with_any_total_has_entropy_exactly_zero(total):
    # once log S - sum(p log p) / S, two roundings that need not cancel: 2.5e-32 for
    # [1 + 2**-52], and log1p(-1e-10) - log(1 - 1e-10), zero only where the C library's
    # log1p and log round alike; -inf at 2**-1074 and NaN at 1.7e308
    normalize = abs(total - 1.0) > 1e-9
    assert entropy([total], normalize=normalize) == 0.0
    assert entropy([0.0, total, 0.0], normalize=normalize) == 0.0


@pytest.mark.parametrize("p, q", [
    ([1e-20, 3e-20], None),                            # was -inf (log1p(-1) of a tiny total)
    ([2e299, 3e299, 5e299], None),                     # was NaN (rint(p * 2**30) overflowed)
    ([2e-11, 3e-11, 5e-11], None),                     # was 8e-8 off
    ([0.01775932462182311, 6.711160936227612e-31, 1.9623146483356197e-32,
      8.399272595970644e-38], None),                   # was -2.7e-15, a negative entropy
    ([1e308, 1e308], None),                            # a total beyond the largest double
    ([5e-324, 1e-323, 0.0], None),                     # subnormal entries
    ([0.2, 0.3, 0.5], [3e-11, 3e-11, 4e-11]),          # cross-entropy was 8e-8 off
    ([0.2, 0.3, 0.5], [1e308, 1e308, 5e-324]),
])
def test_entropy_and_cross_entropy_at_the_ends_of_the_range(p, q):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no numpy warning on the way
        if q is None:
            assert error(entropy(p, normalize=True), exact_entropy(p)) <= DOCUMENTED
        else:
            value = cross_entropy(p, q, normalize=True)
            assert error(value, exact_cross_entropy(p, q)) <= DOCUMENTED


@pytest.mark.parametrize("p, q", [
    # totals 1e-120 and 1e135: the correction phi(Sq/Sp) was subtracted from logarithms
    # of both totals (log(q/p) - log(Sp/Sq), 590 each): 1.5e-13 off
    ([1.3557097416163064e-120, 1.7817019880376754e-121],
     [3.70399498074557e+135, 1.3403392116054935e+134]),
    # totals 3.6e-43 and 5.6e-51, in the one-pass path: phi(Sq/Sp) was taken from
    # 1 + Sd/Sp = 1.6e-8, which keeps only the absolute accuracy of Sd/Sp: 1.3e-12 off
    ([2.7322681328709226e-272, 3.587324068671532e-43],
     [5.612045926559364e-51, 7.731166368669598e-290]),
    ([2.0**-1074, 2.0**-1073, 2.0**-1074], [1.7e308, 1.7e308, 1.0]),
    ([1e308, 1e308, 1e308], [1e-300, 3e-300, 2e-300]),
    ([1.0, 2.0**-1074], [2.0**-1074, 1.0]),            # q/p beyond the double range
    ([0.5, 0.5], [2.0**1000, 2.0**-1000]),
])
def test_kl_at_the_ends_of_the_range(p, q):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact = exact_kl(p, q)
        assert error(kl_divergence(p, q, normalize=True), exact) <= DOCUMENTED
        # and as a row of a batch (the batch code path), next to a plain row
        batch = kl_divergence([p, [0.5] * len(p)], [q, [0.5] * len(q)], normalize=True)
        assert error(batch[0], exact) <= DOCUMENTED and batch[1] == 0


def test_rows_at_different_scales_are_computed_as_alone():
    rng = np.random.default_rng(17)
    P = rng.dirichlet(np.ones(5), size=4) * np.array([[1e-310], [1.0], [1e300], [3.0]])
    Q = rng.dirichlet(np.ones(5), size=4) * np.array([[1e300], [1e-5], [1.0], [1e308]])
    for function in (kl_divergence, cross_entropy):
        rows = function(P, Q, normalize=True)
        assert [rows[i] == function(P[i], Q[i], normalize=True) for i in range(4)] == [True] * 4
    rows = entropy(P, normalize=True)
    assert [rows[i] == entropy(P[i], normalize=True) for i in range(4)] == [True] * 4


# --- float32 input: the sum tolerance follows the dtype -------------------------------


def _softmax32(rng, n):
    z = (4.0 * rng.standard_normal(n)).astype(np.float32)
    e = np.exp(z - z.max())
    return e / e.sum()  # computed in float32, as a float32 model would


@pytest.mark.parametrize("n", [1, 2, 3, 10, 100, 1000, 10_000, 100_000])
def test_float32_softmax_outputs_are_accepted(n):
    rng = np.random.default_rng(n)
    p, q = _softmax32(rng, n), _softmax32(rng, n)
    assert p.dtype == q.dtype == np.float32
    p64, q64 = p.astype(np.float64), q.astype(np.float64)
    # the same numbers as float64 arrays would need normalize=True once n is large
    assert kl_divergence(p, q) == kl_divergence(p64, q64, normalize=True)
    assert entropy(p) == entropy(p64, normalize=True)
    assert cross_entropy(p, q) == cross_entropy(p64, q64, normalize=True)
    # outcomes along axis 0 of a batch: the tolerance counts the outcomes, not the rows
    P, Q = np.stack([p, q], axis=1), np.stack([q, p], axis=1)
    np.testing.assert_array_equal(kl_divergence(P, Q, axis=0),
                                  [kl_divergence(p, q), kl_divergence(q, p)])


def test_an_unnormalised_float32_vector_is_still_rejected():
    q = np.full(100, 0.01, dtype=np.float32)
    off = q * np.float32(1.001)  # total 1.001
    for function in (kl_divergence, cross_entropy):
        with pytest.raises(ValueError, match=r"p must sum to 1 .*within 2\.38e-05 for 100 float32"):
            function(off, q)
    with pytest.raises(ValueError, match="p must sum to 1"):
        entropy(off)
    # float64 keeps its 1e-9 (a float32 vector's offset is no excuse for a float64 one)
    with pytest.raises(ValueError, match=r"within 1e-09 for 100 float64"):
        kl_divergence(q.astype(np.float64) * 1.000001, q)
