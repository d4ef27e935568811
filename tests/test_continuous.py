"""Tests of klbook.continuous: accuracy against mpmath, validation, mathematical laws."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klbook.continuous import (kl_bernoulli, kl_beta, kl_exponential, kl_gamma, kl_mvnormal,
                               kl_normal, kl_poisson)
from klbook.distributions import Bernoulli, Beta, Exponential, Gamma, Normal, Poisson
from klbook.montecarlo import kl_monte_carlo

mp.mp.dps = 50
M = mp.mpf

# ------------------------------------------------------------------ references
# The textbook formulas, evaluated at 50 digits on the exact double inputs.


def ref_normal(m1, s1, m2, s2):
    m1, s1, m2, s2 = map(M, (m1, s1, m2, s2))
    return mp.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - M(1) / 2


def ref_exponential(l1, l2):
    l1, l2 = M(l1), M(l2)
    return mp.log(l1 / l2) + l2 / l1 - 1


def ref_poisson(l1, l2):
    l1, l2 = M(l1), M(l2)
    return l1 * mp.log(l1 / l2) - l1 + l2


def ref_bernoulli(a, b):
    a, b = M(a), M(b)
    return a * mp.log(a / b) + (1 - a) * mp.log((1 - a) / (1 - b))


def ref_gamma(a1, b1, a2, b2):
    a1, b1, a2, b2 = map(M, (a1, b1, a2, b2))
    return ((a1 - a2) * mp.digamma(a1) - mp.loggamma(a1) + mp.loggamma(a2)
            + a2 * (mp.log(b1) - mp.log(b2)) + a1 * (b2 - b1) / b1)


def ref_beta(a1, b1, a2, b2):
    a1, b1, a2, b2 = map(M, (a1, b1, a2, b2))

    def log_beta(a, b):
        return mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(a + b)

    return (log_beta(a2, b2) - log_beta(a1, b1) + (a1 - a2) * mp.digamma(a1)
            + (b1 - b2) * mp.digamma(b1) + (a2 - a1 + b2 - b1) * mp.digamma(a1 + b1))


def ref_mvnormal(m1, c1, m2, c2):
    m1, m2 = mp.matrix(m1.tolist()), mp.matrix(m2.tolist())
    c1, c2 = mp.matrix(c1.tolist()), mp.matrix(c2.tolist())
    inv2 = c2**-1
    k = c1.rows
    trace = sum((inv2 * c1)[i, i] for i in range(k))
    gap = m2 - m1
    maha = (gap.T * inv2 * gap)[0, 0]
    return (trace - k + mp.log(mp.det(c2) / mp.det(c1)) + maha) / 2


def rel_error(value, reference):
    return float(abs((M(float(value)) - reference) / reference))


# ----------------------------------------------------------- accuracy near equality
OFFSETS = [1e-3, 1e-6, 1e-9]
TARGET = 1e-15


def _near_pairs(offset, low, high, seed, n=40):
    """n pairs (x, x * (1 + e)) with |e| within a factor 1.5 of offset, both signs."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, n)
    e = offset * rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n)
    return x, x * (1.0 + e)


@pytest.mark.parametrize("offset", OFFSETS)
def test_normal_scale_ratio_near_one(offset):
    s2, s1 = _near_pairs(offset, 0.1, 10.0, seed=1)
    errors = [rel_error(kl_normal(0.5, a, 0.5, b), ref_normal(0.5, a, 0.5, b)) for a, b in zip(s1, s2)]
    assert max(errors) <= TARGET


@pytest.mark.parametrize("offset", OFFSETS)
def test_normal_mean_and_scale_near(offset):
    s2, s1 = _near_pairs(offset, 0.1, 10.0, seed=2)
    errors = [rel_error(kl_normal(0.5, a, 0.5 + offset * b, b), ref_normal(0.5, a, 0.5 + offset * b, b))
              for a, b in zip(s1, s2)]
    assert max(errors) <= TARGET


def test_normal_sigma_ratio_one_plus_1e_minus_9():
    """The case where the textbook formula keeps only about 8 digits."""
    s1, s2 = 1.0 + 1e-9, 1.0
    textbook = np.log(s2 / s1) + s1**2 / (2 * s2**2) - 0.5
    reference = ref_normal(0.0, s1, 0.0, s2)
    assert rel_error(kl_normal(0.0, s1, 0.0, s2), reference) <= TARGET
    assert rel_error(textbook, reference) > 1e-9          # the loss being avoided


@pytest.mark.parametrize("offset", OFFSETS)
def test_exponential_rates_near(offset):
    r1, r2 = _near_pairs(offset, 0.01, 100.0, seed=3)
    errors = [rel_error(kl_exponential(a, b), ref_exponential(a, b)) for a, b in zip(r1, r2)]
    assert max(errors) <= TARGET


@pytest.mark.parametrize("offset", OFFSETS)
def test_poisson_rates_near(offset):
    r1, r2 = _near_pairs(offset, 0.01, 100.0, seed=4)
    errors = [rel_error(kl_poisson(a, b), ref_poisson(a, b)) for a, b in zip(r1, r2)]
    assert max(errors) <= TARGET


@pytest.mark.parametrize("offset", OFFSETS)
def test_bernoulli_probabilities_near(offset):
    a, b = _near_pairs(offset, 1e-6, 0.999, seed=5)
    b = np.minimum(b, 1.0)
    errors = [rel_error(kl_bernoulli(x, y), ref_bernoulli(x, y)) for x, y in zip(a, b)]
    assert max(errors) <= TARGET


@pytest.mark.parametrize("offset", OFFSETS)
def test_gamma_rates_near(offset):
    r1, r2 = _near_pairs(offset, 0.1, 10.0, seed=6)
    errors = [rel_error(kl_gamma(2.5, a, 2.5, b), ref_gamma(2.5, a, 2.5, b)) for a, b in zip(r1, r2)]
    assert max(errors) <= TARGET


@pytest.mark.parametrize("offset", OFFSETS)
def test_gamma_shapes_near(offset):
    a1, a2 = _near_pairs(offset, 0.1, 10.0, seed=7)
    errors = [rel_error(kl_gamma(a, 1.7, b, 1.7), ref_gamma(a, 1.7, b, 1.7)) for a, b in zip(a1, a2)]
    assert max(errors) <= TARGET


BETA_DIRECTIONS = {"both": (1.0, 1.0), "opposite": (1.0, -1.0), "a only": (1.0, 0.0),
                   "b only": (0.0, 1.0)}


@pytest.mark.parametrize("direction", BETA_DIRECTIONS)
@pytest.mark.parametrize("offset", OFFSETS)
def test_beta_shapes_near(offset, direction):
    """Shapes spread over 0.1 .. 100, moved together, oppositely, or one at a time.

    Moving both shapes in proportion is the hard case for the textbook form: its
    log-gamma Bregman terms are each about (a + b) times the divergence there.
    """
    rng = np.random.default_rng(8)
    a1, b1 = 10.0 ** rng.uniform(-1, 2, (2, 30))
    e = offset * rng.uniform(0.5, 1.5, 30) * rng.choice([-1.0, 1.0], 30)
    da, db = BETA_DIRECTIONS[direction]
    a2, b2 = a1 * (1 + da * e), b1 * (1 + db * e)
    values = kl_beta(a1, b1, a2, b2)          # one vectorised call
    errors = [rel_error(v, ref_beta(*p)) for v, p in zip(values, zip(a1, b1, a2, b2))]
    assert max(errors) <= TARGET


def test_beta_textbook_form_loses_digits_near_equality():
    """The loss being avoided: the literal formula, evaluated in doubles."""
    from scipy import special as sc
    a1, b1 = 40.0, 60.0
    a2, b2 = a1 * (1 + 1e-6), b1 * (1 + 1e-6)
    textbook = (sc.betaln(a2, b2) - sc.betaln(a1, b1) + (a1 - a2) * sc.digamma(a1)
                + (b1 - b2) * sc.digamma(b1) + (a2 - a1 + b2 - b1) * sc.digamma(a1 + b1))
    reference = ref_beta(a1, b1, a2, b2)
    assert rel_error(kl_beta(a1, b1, a2, b2), reference) <= TARGET
    assert rel_error(textbook, reference) > 1e-6


def test_beta_extreme_parameters():
    rng = np.random.default_rng(17)
    params = 10.0 ** rng.uniform(-8, 8, (40, 4))
    with mp.workdps(80):
        for row in params:
            assert rel_error(kl_beta(*row), ref_beta(*row)) <= 1e-10
    # near equality at extreme scales (the references need more digits there)
    for x in (1e-100, 1e-8, 1e8, 1e100):
        for y in (1e-8, 1.0, 1e8):
            with mp.workdps(300):
                reference = ref_beta(x, y, x * (1 + 1e-9), y)
            assert rel_error(kl_beta(x, y, x * (1 + 1e-9), y), reference) <= TARGET
    huge = kl_beta(1e-300, 1e300, 1e300, 1e-300)      # beyond the double range
    assert not np.isnan(huge) and huge > 0


@pytest.mark.parametrize("offset", OFFSETS)
def test_mvnormal_near(offset):
    rng = np.random.default_rng(9)
    k = 3
    root = rng.normal(size=(k, k))
    cov2 = root @ root.T + k * np.eye(k)
    root1 = np.eye(k) + offset * rng.normal(size=(k, k))
    cov1 = root1 @ cov2 @ root1.T
    cov1 = 0.5 * (cov1 + cov1.T)
    mean2 = rng.normal(size=k)
    mean1 = mean2 + offset * rng.normal(size=k)
    reference = ref_mvnormal(mean1, cov1, mean2, cov2)
    # the eigensolver's error is about k ulps of the largest offset
    assert rel_error(kl_mvnormal(mean1, cov1, mean2, cov2), reference) <= 1e-13


def test_mvnormal_far_and_diagonal_agree_with_univariate():
    sigmas1, sigmas2 = np.array([0.5, 2.0, 3.0]), np.array([1.0, 1.5, 0.2])
    means1, means2 = np.array([0.0, 1.0, -2.0]), np.array([0.3, 0.0, 4.0])
    value = kl_mvnormal(means1, np.diag(sigmas1**2), means2, np.diag(sigmas2**2))
    reference = sum(ref_normal(a, b, c, d) for a, b, c, d in zip(means1, sigmas1, means2, sigmas2))
    assert rel_error(value, reference) <= 1e-14


def test_far_values_agree_with_references():
    rng = np.random.default_rng(10)
    for _ in range(30):
        a, b, c, d = rng.uniform(0.05, 20.0, 4)
        assert rel_error(kl_normal(a - 3, b, c, d), ref_normal(a - 3, b, c, d)) <= 1e-14
        assert rel_error(kl_exponential(a, b), ref_exponential(a, b)) <= 1e-14
        assert rel_error(kl_poisson(a, b), ref_poisson(a, b)) <= 1e-14
        assert rel_error(kl_gamma(a, b, c, d), ref_gamma(a, b, c, d)) <= 1e-12
        assert rel_error(kl_beta(a, b, c, d), ref_beta(a, b, c, d)) <= 1e-14
        p, q = rng.uniform(0.001, 0.999, 2)
        assert rel_error(kl_bernoulli(p, q), ref_bernoulli(p, q)) <= 1e-14


# ----------------------------------------------------------------- edge values
def test_bernoulli_edges():
    assert kl_bernoulli(0.5, 0.0) == np.inf
    assert kl_bernoulli(0.5, 1.0) == np.inf
    assert kl_bernoulli(0.0, 0.0) == 0.0
    assert kl_bernoulli(1.0, 1.0) == 0.0
    # D(Bern(0) || Bern(b)) = -log(1 - b),  D(Bern(1) || Bern(b)) = -log b
    assert kl_bernoulli(0.0, 0.25) == pytest.approx(-np.log(0.75), rel=1e-15)
    assert kl_bernoulli(1.0, 0.25) == pytest.approx(np.log(4.0), rel=1e-15)


def test_small_probabilities_keep_their_digits():
    # the failure probabilities 1 - a, 1 - b are equal in floating point here
    a, b = 1e-10, 1.000001e-10
    assert rel_error(kl_bernoulli(a, b), ref_bernoulli(a, b)) <= TARGET


def test_extreme_ratios_are_finite_and_accurate():
    assert rel_error(kl_normal(0, 1e-200, 0, 1), ref_normal(0, 1e-200, 0, 1)) <= 1e-14
    assert rel_error(kl_exponential(1e-300, 1e300), ref_exponential(1e-300, 1e300)) <= 1e-14 or \
        kl_exponential(1e-300, 1e300) == np.inf
    assert rel_error(kl_poisson(1e-300, 1.0), ref_poisson(1e-300, 1.0)) <= 1e-14


def test_units_and_broadcasting():
    value = kl_normal(0.0, 1.0, 1.0, 2.0)
    assert kl_normal(0.0, 1.0, 1.0, 2.0, base=2) == pytest.approx(value / np.log(2), rel=1e-15)
    grid = kl_normal(np.zeros((2, 1)), 1.0, np.array([0.0, 1.0, 2.0]), [[1.0], [2.0]])
    assert grid.shape == (2, 3)
    assert grid[1, 1] == value
    assert isinstance(kl_poisson(1.0, 2.0), np.floating)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("call, name", [
    (lambda: kl_normal(0, 0.0, 0, 1), "sigma1"),
    (lambda: kl_normal(0, 1, 0, -1.0), "sigma2"),
    (lambda: kl_normal(np.nan, 1, 0, 1), "mu1"),
    (lambda: kl_normal(0, 1, np.inf, 1), "mu2"),
    (lambda: kl_exponential(0.0, 1.0), "rate1"),
    (lambda: kl_poisson(1.0, -2.0), "rate2"),
    (lambda: kl_bernoulli(1.5, 0.5), "a"),
    (lambda: kl_bernoulli(0.5, -0.1), "b"),
    (lambda: kl_gamma(1.0, 1.0, 0.0, 1.0), "shape2"),
    (lambda: kl_beta(1.0, np.nan, 1.0, 1.0), "b1"),
    (lambda: kl_mvnormal([0, 0], [[1, 2], [2, 1]], [0, 0], np.eye(2)), "cov1"),
    (lambda: kl_mvnormal([0, 0], np.eye(2), [0, 0], [[1, 0.5], [0, 1]]), "cov2"),
    (lambda: kl_mvnormal([0, 0, 0], np.eye(2), [0, 0], np.eye(2)), "mean1"),
    (lambda: kl_normal([0, 0], 1, [0, 0, 0], 1), "mu1"),
])
def test_bad_values_raise_value_error_naming_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("call, name", [
    (lambda: kl_normal("zero", 1, 0, 1), "mu1"),
    (lambda: kl_normal(0, "1e-3", 0, 1), "sigma1"),     # text that numpy would parse
    (lambda: kl_normal(0, 1, np.array(["2020-01-01"], dtype="M8[D]"), 1), "mu2"),
    (lambda: kl_exponential(1.0, True), "rate2"),
    (lambda: kl_bernoulli(0.5, 1j), "b"),
])
def test_non_numbers_raise_type_error(call, name):
    with pytest.raises(TypeError, match=name):
        call()


def test_bad_base():
    with pytest.raises(ValueError, match="base"):
        kl_normal(0, 1, 0, 1, base=1)


# ------------------------------------------------------------ mathematical laws
positive = st.floats(0.05, 20.0)
real = st.floats(-10.0, 10.0)
prob = st.floats(0.0, 1.0)


@given(real, positive, real, positive)
def test_normal_nonnegative_and_zero_at_equality(m1, s1, m2, s2):
    assert kl_normal(m1, s1, m2, s2) >= 0
    assert kl_normal(m1, s1, m1, s1) == 0


@given(positive, positive)
def test_rates_nonnegative_and_zero_at_equality(r1, r2):
    for fn in (kl_exponential, kl_poisson):
        assert fn(r1, r2) >= 0
        assert fn(r1, r1) == 0


@given(prob, prob)
def test_bernoulli_nonnegative_and_zero_at_equality(a, b):
    assert kl_bernoulli(a, b) >= 0
    assert kl_bernoulli(a, a) == 0


@given(positive, positive, positive, positive)
def test_gamma_beta_nonnegative_and_zero_at_equality(a, b, c, d):
    assert kl_gamma(a, b, c, d) >= 0
    assert kl_gamma(a, b, a, b) == 0
    assert kl_beta(a, b, c, d) >= 0
    assert kl_beta(a, b, a, b) == 0


wide_positive = st.floats(1e-3, 1e3)


@given(wide_positive, wide_positive, st.floats(-0.9, 0.9), st.floats(-0.9, 0.9),
       st.integers(0, 12))
def test_beta_nonnegative_near_equality_and_zero_at_it(a, b, da, db, digits):
    # offsets from 0.9 down to 1e-12: series, crossover and direct regimes
    a2, b2 = a * (1 + da * 10.0**-digits), b * (1 + db * 10.0**-digits)
    assert kl_beta(a, b, a2, b2) >= 0
    assert kl_beta(a2, b2, a, b) >= 0
    assert kl_beta(a2, b2, a2, b2) == 0


@given(st.lists(st.floats(0.2, 5.0), min_size=2, max_size=2),
       st.lists(st.floats(0.2, 5.0), min_size=2, max_size=2),
       st.floats(-0.9, 0.9))
def test_mvnormal_nonnegative_and_zero_at_equality(scales1, scales2, correlation):
    cov1 = np.diag(scales1)
    off = correlation * np.sqrt(scales2[0] * scales2[1])
    cov2 = np.array([[scales2[0], off], [off, scales2[1]]])
    assert kl_mvnormal([0.0, 1.0], cov1, [1.0, 0.0], cov2) >= 0
    assert kl_mvnormal([0.0, 1.0], cov2, [0.0, 1.0], cov2) == 0


@given(positive, positive)
def test_exponential_is_gamma_of_shape_one(r1, r2):
    assert kl_gamma(1.0, r1, 1.0, r2) == pytest.approx(kl_exponential(r1, r2), rel=1e-14, abs=1e-300)


# Agreement with Monte Carlo: seeded samples, derandomized examples, 4 standard errors.
# k1 = log(p/q) has finite variance for every pair below; k3 = r - 1 - log r need not
# (its variance involves E_p[r**2] = integral of q**2/p, infinite e.g. for
# D(Beta(2, 3) || Beta(1, 1))), and then its standard error cannot be trusted.
moderate = st.floats(0.5, 2.0)
MC_SAMPLES = 20_000


def _within_four_stderr(p, q, closed_form, seed):
    est = kl_monte_carlo(p, q, MC_SAMPLES, rng=np.random.default_rng(seed), estimator="k1")
    assert abs(est.estimate - closed_form) <= 4 * est.stderr + 1e-12


@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.floats(-1.0, 1.0), moderate, st.floats(-1.0, 1.0), moderate)
def test_normal_agrees_with_monte_carlo(m1, s1, m2, s2):
    _within_four_stderr(Normal(m1, s1), Normal(m2, s2), kl_normal(m1, s1, m2, s2), 11)


@settings(derandomize=True, max_examples=25, deadline=None)
@given(moderate, moderate)
def test_exponential_and_poisson_agree_with_monte_carlo(r1, r2):
    _within_four_stderr(Exponential(r1), Exponential(r2), kl_exponential(r1, r2), 12)
    _within_four_stderr(Poisson(r1), Poisson(r2), kl_poisson(r1, r2), 13)


@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.floats(0.05, 0.95), st.floats(0.05, 0.95))
def test_bernoulli_agrees_with_monte_carlo(a, b):
    _within_four_stderr(Bernoulli(a), Bernoulli(b), kl_bernoulli(a, b), 14)


@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.floats(1.0, 4.0), moderate, st.floats(1.0, 4.0), moderate)
def test_gamma_and_beta_agree_with_monte_carlo(a, b, c, d):
    _within_four_stderr(Gamma(a, b), Gamma(c, d), kl_gamma(a, b, c, d), 15)
    _within_four_stderr(Beta(a, b * 2), Beta(c, d * 2), kl_beta(a, b * 2, c, d * 2), 16)


@pytest.mark.parametrize("a, b", [(1e-320, 0.5), (5e-324, 0.9), (1e-310, 1e-5), (2e-308, 0.3)])
def test_bernoulli_with_a_subnormal_success_probability_is_finite_and_accurate(a, b):
    # b / a overflows a double; the divergence is about log(1/(1 - b)), not inf.
    with mp.workdps(50):
        A, B = mp.mpf(a), mp.mpf(b)
        exact = A * mp.log(A / B) + (1 - A) * mp.log((1 - A) / (1 - B))
    assert float(kl_bernoulli(a, b)) == pytest.approx(float(exact), rel=4e-16)


@pytest.mark.parametrize("rate1, rate2", [(1e-320, 1.0), (5e-324, 3.0), (1e-310, 1e-3)])
def test_poisson_with_a_subnormal_rate_is_finite_and_accurate(rate1, rate2):
    with mp.workdps(50):
        L1, L2 = mp.mpf(rate1), mp.mpf(rate2)
        exact = L1 * mp.log(L1 / L2) - L1 + L2
    assert float(kl_poisson(rate1, rate2)) == pytest.approx(float(exact), rel=4e-16)


# =============================================================== kl_gamma (issue 15)
# kl_gamma moved toward equality along every direction (shape and rate together, with the
# mean or the log-mean fixed, one at a time) and far apart, across the double range. The
# reference is the textbook formula in mpmath on the exact double inputs; its terms (about
# shape * log(shape), or a shape times a rate ratio) can exceed the divergence by 30 orders
# of magnitude near equality and by hundreds far from it, so it is evaluated with 30 digits
# beyond that ratio, and again with 20 more: the two must agree.
import warnings  # noqa: E402

from hypothesis import assume  # noqa: E402
from scipy import special as sc  # noqa: E402

from klbook.special import (_FAST_COEFFICIENTS, _stirling_fast,  # noqa: E402
                            _stirling_fit_coefficients)

GAMMA_TOLERANCE = 2e-15                                # the bound stated in kl_gamma's Notes
SMALLEST_NORMAL = np.finfo(np.float64).tiny
BEYOND_DOUBLES = mp.mpf(2) ** 1024 - mp.mpf(2) ** 970  # the values that round to inf


def _gamma_textbook_sum(a1, b1, a2, b2):
    return ((a1 - a2) * mp.digamma(a1) - mp.loggamma(a1) + mp.loggamma(a2)
            + a2 * (mp.log(b1) - mp.log(b2)) + a1 * (b2 - b1) / b1)


def gamma_reference(a1, b1, a2, b2, guess):
    """The textbook divergence at enough digits; ``guess`` (any estimate) only sets the start."""
    args = [mp.mpf(float(v)) for v in (a1, b1, a2, b2)]
    with mp.workdps(20):
        terms = ((args[0] - args[2]) * mp.digamma(args[0]), mp.loggamma(args[0]),
                 mp.loggamma(args[2]), args[2] * (mp.log(args[1]) - mp.log(args[3])),
                 args[0] * (args[3] - args[1]) / args[1])
        largest = max(abs(term) for term in terms)
        if largest == 0:                                   # equal parameters
            return mp.mpf(0)
        size = mp.mpf(min(max(abs(float(guess)), 5e-324), 1.7976931348623157e308))
        digits = 30 + max(0, int(mp.log10(largest / size)))
    while True:
        with mp.workdps(digits):
            first = _gamma_textbook_sum(*args)
        with mp.workdps(digits + 20):
            second = _gamma_textbook_sum(*args)
        if abs(first - second) <= abs(second) * mp.mpf(10) ** -25:
            return second
        digits *= 2


def assert_gamma_accurate(a1, b1, a2, b2, tolerance=GAMMA_TOLERANCE):
    value = float(kl_gamma(a1, b1, a2, b2))
    reference = gamma_reference(a1, b1, a2, b2, value)
    if reference >= BEYOND_DOUBLES:
        assert value == np.inf, (a1, b1, a2, b2, value)
        return
    # below the smallest normal double the result has fewer digits: an absolute bound there
    error = abs(mp.mpf(value) - reference) / max(abs(reference), mp.mpf(SMALLEST_NORMAL))
    assert error <= tolerance, (a1, b1, a2, b2, value, float(reference), float(error))


def log_uniform(low=-300.0, high=300.0):
    return st.floats(low, high).map(lambda exponent: float(10.0**exponent))


GAMMA_DIRECTIONS = ("free", "mean fixed", "log-mean fixed", "shape only", "rate only")


@st.composite
def joint_moves(draw, low=-300.0, high=300.0):
    """(a1, b1, a2, b2) with a2 = a1 (1 + t u1), b2 = b1 (1 + t u2), t = 10**-k, k = 1 .. 15."""
    a1, b1 = draw(log_uniform(low, high)), draw(log_uniform(low, high))
    t = 10.0 ** -draw(st.integers(1, 15))
    u1 = draw(st.sampled_from([-1.0, 1.0])) * draw(st.floats(0.1, 3.0))
    u2 = draw(st.sampled_from([-1.0, 1.0])) * draw(st.floats(0.1, 3.0))
    direction = draw(st.sampled_from(GAMMA_DIRECTIONS))
    if direction == "mean fixed":            # a/b fixed: the first-order terms cancel
        u2 = u1
    elif direction == "log-mean fixed":      # psi(a) - log b fixed to first order
        with np.errstate(over="ignore"):
            u2 = float(a1 * sc.polygamma(1, a1)) * u1
    elif direction == "shape only":
        u2 = 0.0
    elif direction == "rate only":
        u1 = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        a2, b2 = a1 * (1.0 + t * u1), b1 * (1.0 + t * u2)
    assume(all(np.isfinite(v) and v > 0 for v in (a2, b2)))
    return a1, b1, a2, b2


@pytest.mark.parametrize("a1, b1, a2, b2, exact", [
    # shape and rate moved together: the old form returned 1.2e-24 (error 1.1e-4)
    (2.0, 3.7, 2.000000000002, 3.70000000000037, "1.1001155560788518e-24"),
    # tiny shapes: polygamma overflowed against an underflowing power (NaN)
    (1e-9, 1.0, 1.25e-9, 1.0, "0.026856448685790235"),
])
def test_gamma_issue_examples(a1, b1, a2, b2, exact):
    assert_gamma_accurate(a1, b1, a2, b2)
    assert float(kl_gamma(a1, b1, a2, b2)) == pytest.approx(float(exact), rel=GAMMA_TOLERANCE)


def test_gamma_textbook_form_loses_every_digit_where_kl_gamma_does_not():
    a1, b1, a2, b2 = 2.0, 3.7, 2.000000000002, 3.70000000000037
    textbook = (a1 - a2) * sc.digamma(a1) - sc.gammaln(a1) + sc.gammaln(a2) \
        + a2 * np.log(b1 / b2) + a1 * (b2 - b1) / b1
    reference = gamma_reference(a1, b1, a2, b2, kl_gamma(a1, b1, a2, b2))
    assert rel_error(textbook, reference) > 1.0          # not even the sign
    assert rel_error(kl_gamma(a1, b1, a2, b2), reference) <= GAMMA_TOLERANCE


@settings(max_examples=150, deadline=None)
@given(joint_moves())
def test_gamma_joint_moves_toward_equality_across_the_double_range(params):
    assert_gamma_accurate(*params)


@settings(max_examples=100, deadline=None)
@given(joint_moves(-4.0, 4.0))
def test_gamma_joint_moves_toward_equality_at_moderate_parameters(params):
    assert_gamma_accurate(*params)


@settings(max_examples=60, deadline=None)
@given(log_uniform(), log_uniform(), log_uniform(), log_uniform())
def test_gamma_far_pairs_across_the_double_range(a1, b1, a2, b2):
    assert_gamma_accurate(a1, b1, a2, b2)


@settings(max_examples=100, deadline=None)
@given(log_uniform(-4.0, 4.0), log_uniform(-2.0, 2.0), st.floats(-1.3, 1.3),
       st.sampled_from([0.0, 0.03, -0.3]))
def test_gamma_shapes_apart_with_means_nearly_equal(shape, rate, log_ratio, rate_tilt):
    """Shape ratios 1/20 .. 20 (across every regime boundary), means equal or close.

    With the means equal, only the shape terms remain: the test reaches each of the
    methods kl_gamma chooses between (series, quadrature, the recurrence, direct).
    """
    ratio = 10.0**log_ratio
    assert_gamma_accurate(shape, rate, shape * ratio, rate * ratio * 10.0**rate_tilt)


@pytest.mark.parametrize("shape", [0.2, 0.25, 0.5, 1.0, 2.0, 7.9, 8.0, 8.1])
@pytest.mark.parametrize("ratio", [0.5, 0.499, 0.501, 2.0, 1.999, 2.001, 1 / 3, 3.0, 1e-6, 1e6])
def test_gamma_at_the_regime_boundaries(shape, ratio):
    for rates in ((1.0, ratio), (2.5, 2.5)):            # means equal, and rates equal
        assert_gamma_accurate(shape, rates[0], shape * ratio, rates[1])


@settings(max_examples=150, deadline=None)
@given(log_uniform(), log_uniform(), log_uniform(), log_uniform())
def test_gamma_is_nonnegative_finite_or_inf_and_zero_at_equality(a1, b1, a2, b2):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no numpy warning reaches the user
        value = kl_gamma(a1, b1, a2, b2)
        assert value >= 0 and not np.isnan(value)
        assert kl_gamma(a1, b1, a1, b1) == 0
        assert kl_gamma(a2, b2, a2, b2) == 0


def test_gamma_beyond_the_double_range_is_inf_and_subnormal_values_keep_their_digits():
    assert kl_gamma(1e-300, 1.0, 1e300, 1.0) == np.inf          # about 1e300 * 690
    assert_gamma_accurate(1e-300, 1.0, 1e300, 1.0)
    for params in [(5e-324, 1.0, 1e-323, 1.0), (1e-310, 1e-300, 1e-310, 2e-300),
                   (1e-300, 1.0, 1e-300, 1.0 + 1e-6), (1.7976931348623157e308, 1.0, 1e308, 1.0)]:
        assert_gamma_accurate(*params)


def test_gamma_vectorised_agrees_with_elementwise():
    rng = np.random.default_rng(18)
    a1, b1 = 10.0 ** rng.uniform(-5, 5, (2, 60))
    a2 = a1 * np.exp(rng.choice([1e-9, 0.1, 0.6, 2.0, 9.0], 60) * rng.choice([-1.0, 1.0], 60))
    b2 = b1 * a2 / a1 * rng.choice([1.0, 1.5], 60)
    values = kl_gamma(a1, b1, a2, b2)             # every regime in one call
    single = [float(kl_gamma(*p)) for p in zip(a1, b1, a2, b2)]
    np.testing.assert_allclose(values, single, rtol=4e-16, atol=0)
    # long arrays go through in blocks: the same values in any block
    tiled = kl_gamma(*(np.tile(p, 300) for p in (a1, b1, a2, b2)))
    np.testing.assert_allclose(tiled.reshape(300, 60), np.broadcast_to(values, (300, 60)),
                               rtol=4e-16, atol=0)
    grid = kl_gamma(a1[:3, None], 1.0, a2[None, :4], 2.0)
    assert grid.shape == (3, 4)


def _stirling_reference(x, derivative):
    """x**m mu^(m)(x) from log-gamma and its derivatives, Stirling's terms removed."""
    # Stirling's terms cancel lnG's to about 2 log10(x) digits for large x, not for small
    with mp.workdps(60 + int(2 * max(0.0, np.log10(x)))):
        X = mp.mpf(float(x))
        if derivative == 0:
            value = mp.loggamma(X) - (X - 0.5) * mp.log(X) + X - mp.log(2 * mp.pi) / 2
        elif derivative == 1:
            value = mp.digamma(X) - mp.log(X) + 1 / (2 * X)
        else:
            value = mp.psi(1, X) - 1 / X - 1 / (2 * X**2)
        return value * X**derivative


def _stirling_series_reference(x, derivative):
    """x**m mu^(m)(x) from its asymptotic series, for x >= 1e30 (six terms: 1e-360 relative)."""
    with mp.workdps(40):
        X = mp.mpf(float(x))
        total = mp.mpf(0)
        for j in range(1, 7):
            total += (mp.bernoulli(2 * j) * mp.factorial(2 * j + derivative - 2)
                      / mp.factorial(2 * j) / X ** (2 * j - 1))
        return (-1) ** derivative * total


@pytest.mark.parametrize("derivative, bound_fit, bound_tiny", [(0, 4e-16, 1.2e-15),
                                                                (1, 4e-16, 4e-16),
                                                                (2, 4e-16, 4e-16)])
def test_fast_stirling_remainder_accuracy(derivative, bound_fit, bound_tiny):
    """The fit on [1/4, 8], the series beyond, the recurrence below: the docstring's bounds."""
    rng = np.random.default_rng(19 + derivative)
    tiny = 10.0 ** rng.uniform(-300, np.log10(0.25), 100)
    fit_and_series = 10.0 ** rng.uniform(np.log10(0.25), 30, 150)
    huge = 10.0 ** rng.uniform(30, 300, 30)
    for xs, bound, reference in ((tiny, bound_tiny, _stirling_reference),
                                 (fit_and_series, bound_fit, _stirling_reference),
                                 (huge, bound_fit, _stirling_series_reference)):
        values = _stirling_fast(xs, derivative)
        errors = [rel_error(v, reference(x, derivative)) for v, x in zip(values, xs)]
        assert max(errors) <= bound


@pytest.mark.parametrize("derivative", [0, 1, 2])
def test_fast_stirling_coefficients_are_what_mpmath_gives(derivative):
    regenerated = _stirling_fit_coefficients(derivative, len(_FAST_COEFFICIENTS[derivative]))
    np.testing.assert_allclose(regenerated, _FAST_COEFFICIENTS[derivative], rtol=0, atol=1e-17)
