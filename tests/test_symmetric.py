"""Tests of klbook.symmetric: Jeffreys and Jensen–Shannon divergences.

Reference values come from mpmath, computed from the definitions with the exact
float64 inputs normalised exactly, never from klbook itself. They are written
without cancellation (offsets from exact cross products, ``t - log1p(t)`` rather
than the difference of logarithms) and at 400 bits: the textbook form at 50
digits loses every digit of a divergence of 1e-48 (issue 15), and with it the
test its meaning.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from klbook import jeffreys_divergence, js_divergence, kl_divergence

# mpmath's precision is global; the references raise it locally (mpmath.workprec)
# so that no test module changes it for another.
PRECISION_BITS = 400
SYMMETRIC = [jeffreys_divergence, js_divergence]
EPS = np.finfo(float).eps
#: The accuracy the docstrings claim, relative (against 2**-1022 in the subnormal range).
DOCUMENTED = 1e-15


def _exact(values) -> list:
    return [mpmath.mpf(float(v)) for v in values]


def _exact_sum(values):
    with mpmath.workprec(2400):  # a sum of doubles spanning the whole range is exact here
        return mpmath.fsum(values)


def _offset(a, b, a_total, b_total):
    """(b / b_total) / (a / a_total) - 1 from exact cross products."""
    return (b * a_total - a * b_total) / (a * b_total)


def _log1p_offset(x, a, b, a_total, b_total):
    return mpmath.log1p(x) if abs(x) < 0.5 else mpmath.log((b * a_total) / (a * b_total))


@mpmath.workprec(PRECISION_BITS)
def reference_js(p, q) -> mpmath.mpf:
    """(D(P||M) + D(Q||M)) / 2 as sum P phi(M/P) + Q phi(M/Q), M/P - 1 = (Q/P - 1) / 2."""
    P, Q = _exact(p), _exact(q)
    p_total, q_total = _exact_sum(P), _exact_sum(Q)
    terms = []
    for a, b, a_total, b_total in ((x, y, p_total, q_total) for x, y in zip(P, Q)):
        for first, second, first_total, second_total in ((a, b, a_total, b_total),
                                                          (b, a, b_total, a_total)):
            if first == 0:
                terms.append(second / second_total / 2)  # the limit of P phi(M/P): M
                continue
            t = _offset(first, second, first_total, second_total) / 2
            terms.append(first / first_total * (t - mpmath.log1p(t)))
    return mpmath.fsum(terms) / 2


@mpmath.workprec(PRECISION_BITS)
def reference_jeffreys(p, q) -> mpmath.mpf:
    """sum (P - Q) log(P/Q), each term non-negative."""
    P, Q = _exact(p), _exact(q)
    p_total, q_total = _exact_sum(P), _exact_sum(Q)
    terms = []
    for a, b in zip(P, Q):
        if a == 0 and b == 0:
            continue
        if a == 0 or b == 0:
            return mpmath.inf
        x = _offset(a, b, p_total, q_total)  # Q/P - 1
        terms.append(a / p_total * x * _log1p_offset(x, a, b, p_total, q_total))
    return mpmath.fsum(terms)


@mpmath.workprec(PRECISION_BITS)
def relative_error(value: float, reference: mpmath.mpf) -> float:
    if reference == mpmath.inf:
        return 0.0 if value == math.inf else math.inf
    return float(abs(mpmath.mpf(float(value)) - reference) / max(abs(reference), 2.0**-1022))


# --- known values ------------------------------------------------------------------------


@mpmath.workprec(PRECISION_BITS)
def test_two_point_example_exact_values():
    # p = (1/2, 1/2), q = (1/10, 9/10): D(p||q) = log(5/3), D(q||p) = (9/5) log 3 - log 5
    half, tenth = mpmath.mpf(1) / 2, mpmath.mpf(1) / 10
    jeffreys = mpmath.log(mpmath.mpf(5) / 3) + mpmath.mpf(9) / 5 * mpmath.log(3) - mpmath.log(5)
    m = [(half + tenth) / 2, (half + 9 * tenth) / 2]          # (3/10, 7/10)
    js = (half * mpmath.log(half / m[0]) + half * mpmath.log(half / m[1])
          + tenth * mpmath.log(tenth / m[0]) + 9 * tenth * mpmath.log(9 * tenth / m[1])) / 2
    assert jeffreys_divergence([0.5, 0.5], [0.1, 0.9]) == pytest.approx(float(jeffreys), rel=2e-16)
    assert js_divergence([0.5, 0.5], [0.1, 0.9]) == pytest.approx(float(js), rel=2e-16)


def test_disjoint_supports():
    p, q = [0.25, 0.75, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]
    assert js_divergence(p, q) == pytest.approx(math.log(2), rel=4 * EPS)
    assert js_divergence(p, q, base=2) == pytest.approx(1.0, rel=4 * EPS)
    assert jeffreys_divergence(p, q) == math.inf


@mpmath.workprec(PRECISION_BITS)
def test_jeffreys_of_counts_with_normalize():
    # p' = (1/4, 3/4), q' = (1/2, 1/2): J = sum (p' - q') log(p' / q')
    exact = (mpmath.mpf(-1) / 4 * mpmath.log(mpmath.mpf(1) / 2)
             + mpmath.mpf(1) / 4 * mpmath.log(mpmath.mpf(3) / 2))
    value = jeffreys_divergence([1, 3], [1, 1], normalize=True)
    assert value == pytest.approx(float(exact), rel=4 * EPS)


def test_jeffreys_is_infinite_iff_supports_differ():
    assert jeffreys_divergence([0.5, 0.5, 0.0], [0.4, 0.4, 0.2]) == math.inf
    assert jeffreys_divergence([0.4, 0.4, 0.2], [0.5, 0.5, 0.0]) == math.inf
    assert np.isfinite(jeffreys_divergence([0.5, 0.5, 0.0], [0.3, 0.7, 0.0]))


def test_js_is_finite_with_partial_overlap():
    value = js_divergence([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
    assert value == pytest.approx(float(reference_js([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])), rel=4 * EPS)


def test_js_of_a_tiny_probability_against_a_large_one():
    # q/p overflows a double here; the term must not become inf or nan
    p, q = [5e-324, 1.0], [1.0, 0.0]
    value = js_divergence(p, q, normalize=True)
    assert value == pytest.approx(float(reference_js(p, q)), rel=4 * EPS)


# --- accuracy against mpmath ---------------------------------------------------------------


def _near_pairs(seed: int, count: int):
    """Pairs with relative perturbations from 1e-16 to 1, sizes 2..40, mixed concentrations.

    The same pairs on every platform: the generator's uniform and normal draws are, its
    Dirichlet draws and numpy's exp and power are not (they call the C library), so the
    transformations are done in mpmath and rounded once."""
    rng = np.random.default_rng(seed)
    to_float = np.vectorize(float)
    for _ in range(count):
        n = int(rng.integers(2, 41))
        concentration = float(rng.choice([0.1, 1.0, 10.0]))
        # u ** (1/a) over its sum: a stand-in for a Dirichlet(a) draw, as concentrated on a
        # few entries for a = 0.1 and as even for a = 10
        weights = [mpmath.power(mpmath.mpf(float(u)), 1 / mpmath.mpf(concentration))
                   for u in rng.random(n)]
        p = np.maximum(to_float(weights), 1e-300)
        p /= p.sum()
        scale = mpmath.power(10, mpmath.mpf(float(rng.uniform(-16, 0))))
        q = p * to_float([mpmath.exp(scale * float(z)) for z in rng.standard_normal(n)])
        q /= q.sum()
        yield p, q


@pytest.mark.parametrize("function, reference", [(js_divergence, reference_js),
                                                 (jeffreys_divergence, reference_jeffreys)])
def test_accuracy_against_mpmath_including_near_identical_pairs(function, reference):
    worst = 0.0
    for p, q in _near_pairs(seed=2026, count=300):
        exact = reference(p, q)
        if exact == 0:
            assert function(p, q) == 0
            continue
        worst = max(worst, relative_error(function(p, q), exact))
    assert worst < 1e-14


def test_js_accuracy_with_normalize_and_totals_far_from_one():
    # (the Jeffreys divergence inherits this from kl_divergence, tested with the core)
    rng = np.random.default_rng(7)
    worst = 0.0
    for p, q in _near_pairs(seed=11, count=150):
        a, b = 10.0 ** rng.uniform(-3, 3, size=2)
        value = js_divergence(a * p, b * q, normalize=True)
        worst = max(worst, relative_error(value, reference_js(a * p, b * q)))
    assert worst < 1e-14


def test_forming_the_mixture_would_lose_the_digits():
    # Why js_divergence never forms m: when p and q agree to ~14 digits, the
    # rounding of (p + q) / 2 is comparable to p - q, even with an accurate KL.
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(10))
    q = p * (1 + 1e-14 * rng.standard_normal(10))
    q /= q.sum()
    exact = reference_js(p, q)
    m = (p + q) / 2
    naive = (kl_divergence(p, m) + kl_divergence(q, m)) / 2
    assert relative_error(naive, exact) > 1e-6
    assert relative_error(js_divergence(p, q), exact) < 4 * EPS


# --- units, shapes, normalisation -----------------------------------------------------------


@pytest.mark.parametrize("function", SYMMETRIC)
def test_units(function):
    p, q = [0.2, 0.3, 0.5], [0.4, 0.4, 0.2]
    nats = function(p, q)
    assert function(p, q, base=2) == pytest.approx(nats / math.log(2), rel=1e-15)
    assert function(p, q, base=10) == pytest.approx(nats / math.log(10), rel=1e-15)


@pytest.mark.parametrize("function", SYMMETRIC)
def test_broadcasting_and_axis(function):
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(4), size=5)            # (5, 4)
    q = rng.dirichlet(np.ones(4))                    # (4,)
    rows = function(p, q)
    assert rows.shape == (5,)
    for i in range(5):
        assert rows[i] == function(p[i], q)
    assert np.array_equal(function(p.T, q[:, None], axis=0), rows)


@pytest.mark.parametrize("function", SYMMETRIC)
def test_scalar_result_for_one_dimensional_input(function):
    assert isinstance(function([0.5, 0.5], [0.25, 0.75]), float)


# --- bad input: the same errors as the core --------------------------------------------------


@pytest.mark.parametrize("function", SYMMETRIC)
@pytest.mark.parametrize(
    "p, q, kwargs, error, words",
    [
        ([0.5, 0.5], [1.5, -0.5], {}, ValueError, "q has a negative entry"),
        ([0.5, np.nan], [0.5, 0.5], {}, ValueError, "p contains NaN"),
        ([0.5, 0.6], [0.5, 0.5], {}, ValueError, "p must sum to 1"),
        ([0.5, 0.5], [0.0, 0.0], {"normalize": True}, ValueError, "q sums to 0"),
        ([0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], {}, ValueError, "do not broadcast"),
        ([0.5, 0.5], [0.5, 0.5], {"base": 1}, ValueError, "base must be positive"),
        ([0.5, 0.5], [0.5, 0.5], {"base": "2"}, TypeError, "base must be a real number"),
        ([0.5, 0.5], [0.5, 0.5], {"axis": 1}, ValueError, "axis 1 is out of range"),
        ([0.5, 0.5], [0.5, 0.5], {"axis": 0.0}, TypeError, "axis must be an integer"),
        ([True, False], [0.5, 0.5], {}, TypeError, "p must hold numbers"),
        (0.5, [0.5, 0.5], {}, ValueError, "p must have at least one dimension"),
        ([0.5, 0.5], [], {}, ValueError, "q is empty"),
    ],
)
def test_bad_input(function, p, q, kwargs, error, words):
    with pytest.raises(error, match=words):
        function(p, q, **kwargs)


# --- laws (Hypothesis) ----------------------------------------------------------------------


def distributions(n: int, min_value: float = 0.0):
    weights = hnp.arrays(np.float64, n, elements=st.floats(min_value, 1.0))
    return weights.filter(lambda w: w.sum() > 0).map(lambda w: w / w.sum())


pairs = st.integers(1, 25).flatmap(lambda k: st.tuples(distributions(k), distributions(k)))
positive_pairs = st.integers(1, 25).flatmap(
    lambda k: st.tuples(distributions(k, 1e-6), distributions(k, 1e-6)))


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_js_is_symmetric_non_negative_and_at_most_log_2(pair):
    p, q = pair
    value = js_divergence(p, q)
    assert value == js_divergence(q, p)
    assert 0 <= value <= math.log(2) * (1 + 4 * EPS)
    assert js_divergence(p, q, base=2) <= 1 + 4 * EPS


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_jeffreys_is_symmetric_and_the_sum_of_both_kl_divergences(pair):
    p, q = pair
    value = jeffreys_divergence(p, q)
    assert value == jeffreys_divergence(q, p)
    both = kl_divergence(p, q) + kl_divergence(q, p)
    if math.isinf(both):
        assert value == math.inf
    else:
        assert value == pytest.approx(both, rel=1e-14, abs=0)


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_zero_iff_equal(pair):
    p, q = pair
    assert js_divergence(p, p) == 0
    assert jeffreys_divergence(p, p) == 0
    assume(np.max(np.abs(p - q)) > 1e-6)
    assert js_divergence(p, q) > 0
    assert jeffreys_divergence(p, q) > 0


@settings(max_examples=300, deadline=None)
@given(positive_pairs)
def test_js_is_at_most_a_quarter_of_jeffreys(pair):
    # D(P||M) <= (D(P||P) + D(P||Q)) / 2 by convexity of D in its second argument
    p, q = pair
    assert js_divergence(p, q) <= jeffreys_divergence(p, q) / 4 * (1 + 8 * EPS)


@settings(max_examples=100, deadline=None)
@given(positive_pairs, st.floats(0.01, 100), st.floats(0.01, 100))
def test_js_normalize_is_scale_invariant(pair, a, b):
    # a * p rounds each entry (relative 1e-16), which moves a divergence by ~1e-32
    p, q = pair
    assert js_divergence(a * p, b * q, normalize=True) == pytest.approx(
        js_divergence(p, q), rel=1e-12, abs=1e-28)


def test_js_normalize_far_totals_keeps_its_digits():
    # Found by test_js_normalize_is_scale_invariant with fresh Hypothesis examples. It
    # compared with the divergence of p and q, but 3.0 * p rounds each entry: the pair
    # normalize=True sees differs from (p, q) by 1e-16 per entry, which moves this
    # divergence (of offsets 5e-6) by 3e-11. The reference is that of the inputs.
    p, q = 3.0 * np.array([0.5000025, 0.4999975]), np.array([0.5, 0.5])
    assert relative_error(js_divergence(p, q, normalize=True), reference_js(p, q)) < 1e-15


def test_js_of_a_near_pair_with_a_tiny_entry_keeps_its_digits():
    # Found by drawing more pairs like those of the accuracy test above (seed 2033). The
    # totals are 1 + 9e-18, which rounds to 1.0, and the divergence 7.9e-49: the former
    # reference (the textbook form at 50 digits) cancelled all its digits and was 8e-4 off.
    p = np.array([float.fromhex("0x1.58f9ae24c1449p-57"), 1.0])
    q = np.array([float.fromhex("0x1.58f9ae24c1444p-57"), 1.0])
    assert relative_error(js_divergence(p, q), reference_js(p, q)) < 1e-15
    assert relative_error(jeffreys_divergence(p, q), reference_jeffreys(p, q)) < 1e-15


# --- the whole documented range (issue 15) ------------------------------------------------


from range_strategies import base_distributions, exponents, factors, scaled as _scale, usable as _usable  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(base_distributions.flatmap(lambda p: st.tuples(st.just(p), base_distributions.filter(
           lambda q: q.size == p.size) | st.just(np.roll(p, 1)))),
       exponents, factors, exponents, factors)
def test_js_and_jeffreys_keep_their_digits_at_any_totals(pair, j, a, k, b):
    p, q = _scale(pair[0], j, a), _scale(pair[1], k, b)
    assume(_usable(p, q))
    assert relative_error(js_divergence(p, q, normalize=True), reference_js(p, q)) <= DOCUMENTED
    assert relative_error(jeffreys_divergence(p, q, normalize=True),
                          reference_jeffreys(p, q)) <= DOCUMENTED


@settings(max_examples=100, deadline=None)
@given(base_distributions, st.integers(1, 16), st.integers(0, 2**32 - 1),
       exponents, factors, exponents, factors)
def test_js_of_pairs_moving_together_keeps_its_digits(p, digits, seed, j, a, k, b):
    # q = p (1 + t u), t = 10**-digits (down to below the rounding of the entries), u
    # centred under p, then both totals moved anywhere in the range, together or apart
    u = np.random.default_rng(seed).uniform(-1.0, 1.0, p.size)
    u -= np.dot(p, u)
    q = p * (1.0 + 10.0**-digits * u)
    p, q = _scale(p, j, a), _scale(q, k, b)
    assume(_usable(p, q))
    exact = reference_js(p, q)
    assume(exact > 0)
    assert relative_error(js_divergence(p, q, normalize=True), exact) <= DOCUMENTED


@pytest.mark.parametrize("p, q", [
    ([2.910716870307447e+265, 3.2597636175237093e+266],   # was inf
     [4.505144182151465e-43, 3.0396547204720873e-43]),
    ([1e308, 1e308], [0.25, 0.75]),                        # total beyond the doubles: was NaN
    ([5e-324, 1e-323], [1e-323, 5e-324]),                  # subnormal entries: was 0.0
    ([0.2, 0.8], [1e-310, 3e-310]),                        # was 5.9e-13 off
    ([1.0, 2.0**-1074], [2.0**-1074, 1.0]),
])
def test_js_at_the_ends_of_the_range(p, q):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no numpy warning on the way
        assert relative_error(js_divergence(p, q, normalize=True), reference_js(p, q)) <= DOCUMENTED


@pytest.mark.parametrize("n", [2, 100, 10_000])
def test_float32_distributions_are_accepted(n):
    # a float32 softmax sums to 1 only within about n float32 roundings
    rng = np.random.default_rng(n)
    p, q = ((e / e.sum()) for e in (np.exp((4 * rng.standard_normal(n)).astype(np.float32))
                                    for _ in range(2)))
    assert p.dtype == np.float32
    for function in SYMMETRIC:
        assert function(p, q) == function(p.astype(float), q.astype(float), normalize=True)
    with pytest.raises(ValueError, match="p must sum to 1"):
        js_divergence(p * np.float32(1.01), q)
